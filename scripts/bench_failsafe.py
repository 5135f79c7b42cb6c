"""How `embodied deploy` fails safe, through the command itself against the stand-in arm.

    python scripts/bench_failsafe.py --trials 20          # ~25 min on 2 cores
    python scripts/bench_failsafe.py --only sigint estop --trials 5

Every trial starts `embodied fake-arm` and `embodied deploy target=ros2 confirm=true
dry_run=false "put the red cube on the blue cube"` as real processes over loopback DDS (one
domain per trial), waits until the first sub-goal is moving, and then:

- sigkill: kills deploy with SIGKILL; the stand-in's own command timeout must hold within 120 ms;
- stall: deploy hangs its control loop for 1 s (fault injection); our watchdog's hold must
  reach the stand-in within 120 ms of the hang (monotonic clock shared by the processes);
- sigint: sends SIGINT; the hold must reach the stand-in within 50 ms, deploy exits 130 with
  its reports;
- driver_lost: kills the stand-in; a bystander DDS reader counts trajectory commands sent
  after the state went stale (must be 0), deploy must exit 1 within 1 s of staleness;
- foreign: a second process commands joint 1 elsewhere (the stand-in accepts two writers
  here); deploy must latch its e-stop within 100 ms of the first joint state that leaves
  its commanded motion by more than the tolerance (``safety.path_tolerance``), as a
  bystander sees it; the time from the first state that moved at all is reported too;
- estop: `embodied estop` mid-motion; the stand-in and deploy must hold within 50 ms.

Prints a table and writes runs/bench/failsafe.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from robots.ros2.discovery import keep_on_loopback  # noqa: E402

keep_on_loopback()  # every DDS participant of this benchmark, and of the processes it starts

FOREIGN = """
import json, sys, time
from cyclonedds.core import Policy, Qos
from cyclonedds.util import duration
from robots.ros2.dds import Node, wait_for_match
from robots.ros2.messages import Duration, JointTrajectory, JointTrajectoryPoint
writer = Node(int(sys.argv[1])).writer(
    "/joint_trajectory_controller/joint_trajectory",
    JointTrajectory,
    Qos(Policy.Reliability.Reliable(duration(seconds=1)), Policy.History.KeepLast(10)),
)
wait_for_match(writer)
point = JointTrajectoryPoint(positions=json.loads(sys.argv[2]), time_from_start=Duration.from_seconds(0.5))
names = [f"panda_joint{i}" for i in range(1, 8)]
for _ in range(250):
    writer.write(JointTrajectory(joint_names=names, points=[point]))
    time.sleep(0.02)
"""
"""A second commander, in its own process: joint 1 (and the others) toward another pose."""

CASES = ("sigkill", "stall", "sigint", "driver_lost", "foreign", "estop")
JOINTS = [f"panda_joint{i}" for i in range(1, 8)]


def start_stand_in(domain: int, stats: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "embodied.cli",
            "fake-arm",
            f"domain={domain}",
            "duration=300",
            f"stats={stats}",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )


def start_deploy(domain: int, run_dir: Path, *extra: str) -> tuple[subprocess.Popen, threading.Event]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "embodied.cli", "deploy", "target=ros2", "put the red cube on the blue cube"]
        + ["seed=0", f"domain={domain}", "video=false", "confirm=true", "dry_run=false", "connect_timeout=60"]
        + [f"run_dir={run_dir}", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    moving = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            if line.lstrip().startswith("1. pick_place"):
                moving.set()

    threading.Thread(target=read, daemon=True).start()
    return proc, moving


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


class Bystander:
    """A DDS reader on the command topic and the joint states, stamping arrivals (monotonic)."""

    def __init__(self, domain: int) -> None:
        from cyclonedds.core import Listener

        from robots.ros2.dds import COMMAND_QOS, SENSOR_QOS, Node, take
        from robots.ros2.messages import JointState, JointTrajectory

        self.commands: list[float] = []
        self.states: list[tuple[float, np.ndarray]] = []
        node = Node(domain)

        self.targets: list[tuple[float, np.ndarray, float]] = []  # (arrival, positions, time_from_start)

        def on_command(reader) -> None:  # noqa: ANN001
            for msg in take(reader):
                now = time.monotonic()
                self.commands.append(now)
                if msg.points and list(msg.joint_names) == JOINTS:
                    p = msg.points[-1]
                    self.targets.append((now, np.array(p.positions), p.time_from_start.to_seconds()))

        def on_state(reader) -> None:  # noqa: ANN001
            for msg in take(reader):
                names = list(msg.name)
                if all(j in names for j in JOINTS):
                    q = np.array([msg.position[names.index(j)] for j in JOINTS])
                    self.states.append((time.monotonic(), q))

        self._keep = (
            node,
            node.reader(
                "/joint_trajectory_controller/joint_trajectory",
                JointTrajectory,
                COMMAND_QOS,
                Listener(on_data_available=on_command),
            ),
            node.reader("/joint_states", JointState, SENSOR_QOS, Listener(on_data_available=on_state)),
        )


def trial(case: str, domain: int, tmp: Path) -> dict:
    stats = tmp / f"stand_in_{case}_{domain}.json"
    run_dir = tmp / f"deploy_{case}_{domain}"
    stand_extra = ["max_writers=2"] if case == "foreign" else []
    deploy_extra = ["fault_injection.stall_after=30", "fault_injection.stall_seconds=1.0"] if case == "stall" else []
    stand_in = start_stand_in(domain, stats, *stand_extra)
    bystander = Bystander(domain)
    proc, moving = start_deploy(domain, run_dir, *deploy_extra)
    out: dict = {"case": case, "domain": domain}
    try:
        if not moving.wait(120):
            return {**out, "error": "deploy never started moving"}
        if case != "stall":
            time.sleep(0.8)
        t0 = time.monotonic()
        if case == "sigkill":
            proc.kill()
            proc.wait()
            time.sleep(0.5)
            stop(stand_in)
            s = json.loads(stats.read_text())
            last = max(t for t in s["command_times"] if t < t0 + 0.05)
            out["hold_after_last_command_ms"] = round(1000 * s["hold_delays"][-1], 1) if s["hold_delays"] else None
            out["ok"] = out["hold_after_last_command_ms"] is not None and out["hold_after_last_command_ms"] <= 120
            out["last_command_before_kill_ms"] = round(1000 * (t0 - last), 1)
        elif case == "sigint":
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(60)
            stop(stand_in)
            after = [t for t in bystander.commands if t >= t0]
            out["hold_ms"] = round(1000 * (after[0] - t0), 1) if after else None
            out["commands_after_signal"] = len(after)
            out["exit_code"] = rc
            out["reports"] = (run_dir / "deploy.json").exists() and (run_dir / "hardware" / "report.json").exists()
            out["ok"] = rc == 130 and out["reports"] and out["hold_ms"] is not None and out["hold_ms"] <= 50
        elif case == "driver_lost":
            stand_in.kill()
            stand_in.wait()
            last_state = max(t for t, _ in bystander.states)
            rc = proc.wait(60)
            ended = time.monotonic()
            summary = json.loads((run_dir / "deploy.json").read_text())
            stale_at = last_state + 0.2  # safety.stale_after
            out["commands_after_stale"] = sum(t > stale_at for t in bystander.commands)
            out["exit_code"] = rc
            out["exit_after_stale_s"] = round(ended - stale_at, 3)
            written = (run_dir / "deploy.json").stat().st_mtime - time.time() + time.monotonic()
            out["reports_after_stale_s"] = round(written - stale_at, 3)
            out["halted"] = summary["halted"]["kind"] if summary.get("halted") else None
            out["ok"] = rc == 1 and out["commands_after_stale"] == 0 and out["halted"] == "driver_lost"
        elif case == "foreign":
            q_before = bystander.states[-1][1]
            target = [0.6, -0.3, 0.0, -2.2, 0.0, 2.0, 0.8]
            t0 = time.monotonic()
            foreign = subprocess.Popen([sys.executable, "-c", FOREIGN, str(domain), json.dumps(target)], cwd=ROOT)
            try:
                proc.wait(60)
            finally:
                stop(foreign)
            rc = proc.returncode
            stop(stand_in)
            summary = json.loads((run_dir / "deploy.json").read_text())
            estop = next((i for i in summary["interventions"] if i["kind"] == "estop"), None)
            # the first joint state in which joint 1 has moved toward the foreign target by > 0.01 rad
            direction = np.sign(target[0] - q_before[0])
            deviating = next(
                (t for t, q in bystander.states if t >= t0 and direction * (q[0] - q_before[0]) > 0.01), None
            )
            # The first joint state outside deploy's own commanded motion by more than the
            # tolerance (what the safety layer checks: its commands have a 40 ms time_from_start,
            # the foreign ones 0.5 s), as a bystander sees it.
            ours = [(t, q) for t, q, dt in bystander.targets if dt < 0.1]
            beyond = None
            for t, q in bystander.states:
                if t < t0:
                    continue
                before = [qq for tt, qq in ours if tt <= t]
                recent = [qq for tt, qq in ours if t - 0.3 <= tt <= t] or before[-1:]
                if not recent:
                    continue
                lo, hi = np.min(recent, axis=0), np.max(recent, axis=0)
                if np.max(np.maximum(lo - q, q - hi)) > 0.15:
                    beyond = t
                    break
            if estop:
                at = summary["monotonic_at_connect"] + estop["t"]
                if deviating is not None:
                    out["estop_after_first_moved_state_ms"] = round(1000 * (at - deviating), 1)
                if beyond is not None:
                    out["estop_after_first_state_beyond_tolerance_ms"] = round(1000 * (at - beyond), 1)
            out["exit_code"] = rc
            out["halted"] = summary["halted"]["kind"] if summary.get("halted") else None
            latency = out.get("estop_after_first_state_beyond_tolerance_ms", 1e9)
            out["ok"] = out["halted"] == "unexpected_motion" and latency <= 100
        elif case == "estop":
            subprocess.run(
                [sys.executable, "-m", "embodied.cli", "estop", f"domain={domain}"],
                capture_output=True,
                cwd=ROOT,
                timeout=60,
            )
            rc = proc.wait(60)
            stop(stand_in)
            s = json.loads(stats.read_text())
            summary = json.loads((run_dir / "deploy.json").read_text())
            out["stand_in_hold_after_arrival_ms"] = round(1000 * s["estop_delays"][0], 1) if s["estop_delays"] else None
            out["exit_code"] = rc
            out["halted"] = summary["halted"]["kind"] if summary.get("halted") else None
            out["ok"] = out["halted"] == "estop" and (out["stand_in_hold_after_arrival_ms"] or 1e9) <= 50
        elif case == "stall":
            rc = proc.wait(180)
            stop(stand_in)
            summary = json.loads((run_dir / "deploy.json").read_text())
            stalled = summary["monotonic_at_connect"] + summary["stalled_at"]
            holds = [t for t in bystander.commands if stalled <= t < stalled + 1.0]
            out["hold_at_stand_in_ms"] = round(1000 * (holds[0] - stalled), 1) if holds else None
            out["exit_code"] = rc
            out["ok"] = out["hold_at_stand_in_ms"] is not None and out["hold_at_stand_in_ms"] <= 120
        return out
    finally:
        stop(proc)
        stop(stand_in)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=CASES, nargs="+")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--domain", type=int, default=180, help="first DDS domain; one per trial, wrapping in 180..229")
    parser.add_argument("--out", default="runs/bench/failsafe.json")
    args = parser.parse_args()
    results: dict = {"hardware": f"{platform.machine()}, {os.cpu_count()} CPUs", "python": platform.python_version()}
    k = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.only or CASES:
            rows = []
            for n in range(args.trials):
                domain = 180 + (args.domain - 180 + k) % 50
                k += 1
                rows.append(trial(case, domain, Path(tmp)))
                print(case, n, json.dumps(rows[-1]), flush=True)
            results[case] = {"trials": rows, "ok": sum(bool(r.get("ok")) for r in rows), "n": len(rows)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print("\n| case | passed | figures (median / max) |\n| --- | ---: | --- |")
    for case in args.only or CASES:
        r = results[case]
        figures = []
        for key in sorted({key for t in r["trials"] for key in t if key.endswith(("_ms", "_s"))}):
            vals = [t[key] for t in r["trials"] if isinstance(t.get(key), (int, float))]
            if vals:
                figures.append(f"{key} {np.median(vals):g} / {max(vals):g}")
        print(f"| {case} | {r['ok']}/{r['n']} | {'; '.join(figures)} |")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
