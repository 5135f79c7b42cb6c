"""Run a command in a network namespace of its own and count the packets that try to leave loopback.

Usage (as root, or with user namespaces allowed):

    python scripts/netns_capture.py -- embodied fake-arm duration=3
    python scripts/netns_capture.py --json -- python -m pytest -q tests/test_ros2.py

The script re-executes itself under ``unshare -n`` (a fresh namespace holding only ``lo``),
brings ``lo`` up, adds a veth pair (``emb0`` with 10.213.0.1/24, peer ``emb1``) so that a
non-loopback, multicast-capable interface exists, and counts with raw packet sockets what
goes out of ``emb0`` (read at its peer) and what travels on ``lo``, while the command runs.
Nothing can leave the namespace: the veth's other end is in it too. It prints one JSON line
``{"rc": ..., "veth": {"packets", "udp", "multicast"}, "lo": {...}}`` on stdout (after the
command's own output) and exits with the command's status.

Used by ``tests/test_discovery.py`` to prove that DDS stays on loopback by default, and by
hand to check that a whole test run or benchmark does (see docs in the README).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ETH_P_ALL = 0x0003
VETH, PEER, ADDRESS = "emb0", "emb1", "10.213.0.1/24"


def _count(iface: str, counts: dict, stop: threading.Event, outgoing_only: bool = False) -> None:
    """Count frames on ``iface`` until ``stop``: all, UDP (IPv4/IPv6), and IP multicast."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((iface, 0))
    sock.settimeout(0.1)
    while not stop.is_set():
        try:
            frame, addr = sock.recvfrom(65535)
        except TimeoutError:
            continue
        if outgoing_only and addr[2] != socket.PACKET_OUTGOING:
            continue  # on lo every frame is seen twice (out and in): count it once
        counts["packets"] += 1
        ethertype = int.from_bytes(frame[12:14], "big")
        if ethertype == 0x0800 and len(frame) >= 34:
            proto, first_octet = frame[23], frame[30]
            counts["udp"] += proto == 17
            counts["multicast"] += 224 <= first_octet <= 239
        elif ethertype == 0x86DD and len(frame) >= 54:
            counts["udp"] += frame[20] == 17
            counts["multicast"] += frame[38] == 0xFF


def _inside(command: list[str]) -> int:
    """In the new namespace: set up the interfaces, run ``command``, print the counts."""
    for args in (
        ["ip", "link", "set", "lo", "up"],
        ["ip", "link", "add", VETH, "type", "veth", "peer", "name", PEER],
        ["ip", "addr", "add", ADDRESS, "dev", VETH],
        ["ip", "link", "set", VETH, "up"],
        ["ip", "link", "set", PEER, "up"],
    ):
        subprocess.run(args, check=True)
    for iface in (VETH, PEER):
        # No IPv6 on the veth: its neighbour discovery would be counted as traffic nobody sent
        # (the tests count UDP only, so this matters for the "packets" figure alone).
        knob = Path(f"/proc/sys/net/ipv6/conf/{iface}/disable_ipv6")
        if knob.exists():
            knob.write_text("1")
    time.sleep(0.2)
    counts = {name: {"packets": 0, "udp": 0, "multicast": 0} for name in ("veth", "lo")}
    stop = threading.Event()
    threads = [
        threading.Thread(target=_count, args=(PEER, counts["veth"], stop), daemon=True),
        threading.Thread(target=_count, args=("lo", counts["lo"], stop, True), daemon=True),
    ]
    for t in threads:
        t.start()
    time.sleep(0.1)
    rc = subprocess.run(command).returncode
    time.sleep(0.3)  # what the command sent last is still on its way
    stop.set()
    for t in threads:
        t.join()
    print(json.dumps({"rc": rc, **counts}), flush=True)
    return rc


def available() -> str | None:
    """None if network namespaces can be made here; else why not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare (util-linux) and ip (iproute2)"
    probe = subprocess.run(
        ["unshare", "-n", "ip", "link", "add", VETH, "type", "veth", "peer", "name", PEER],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"cannot create a network namespace with a veth pair here: {probe.stderr.strip() or probe.returncode}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    if args.inside:
        return _inside(command)
    why = available()
    if why is not None:
        print(f"error: {why}", file=sys.stderr)
        return 2
    return subprocess.run(
        ["unshare", "-n", sys.executable, os.path.abspath(__file__), "--inside", "--", *command]
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
