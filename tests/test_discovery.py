"""DDS discovery stays on loopback unless a network is named (robots/ros2/discovery.py).

The namespace tests run the real stand-in (`embodied fake-arm`) inside a network namespace
that holds ``lo`` and a veth pair, and count the UDP packets that go out of the veth with a
raw packet socket (scripts/netns_capture.py): none with the defaults, some with SUBNET.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from robots.ros2.discovery import (
    RANGES,
    Discovery,
    DiscoveryError,
    cyclone_xml,
    loopback_environment,
    parse_domain,
    resolve,
)

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "scripts" / "netns_capture.py"


# -- settings ----------------------------------------------------------------------------
def test_defaults_are_loopback_and_ros_env_is_honoured():
    s = resolve(env={})
    assert (s.range, s.domain, s.peers, s.user_uri) == ("LOCALHOST", 0, (), None)
    assert s.loopback_only and s.static_peers() == ("127.0.0.1",)
    env = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "subnet", "ROS_STATIC_PEERS": "10.0.0.2; robot-1.lab", "ROS_DOMAIN_ID": "7"}
    s = resolve(env=env)
    assert (s.range, s.peers, s.domain) == ("SUBNET", ("10.0.0.2", "robot-1.lab"), 7)
    assert not s.loopback_only
    # config wins over the environment
    s = resolve(discovery_range="OFF", peers=["10.0.0.9"], domain=3, env=env)
    assert (s.range, s.peers, s.domain) == ("OFF", ("10.0.0.9",), 3)
    # naming an interface asks for that network
    assert resolve(interface="eth1", env={}).range == "SUBNET"


@pytest.mark.parametrize("value", [-1, 233, "abc", "", "1.5", True, "-0"])
def test_bad_domain_ids_are_refused(value):
    with pytest.raises(DiscoveryError, match=r"0\.\.232"):
        parse_domain(value)


def test_good_domain_ids():
    assert [parse_domain(v) for v in (0, "232", " 42 ")] == [0, 232, 42]


def test_bad_range_peer_and_env_are_named():
    with pytest.raises(DiscoveryError, match="ROS_AUTOMATIC_DISCOVERY_RANGE"):
        resolve(env={"ROS_AUTOMATIC_DISCOVERY_RANGE": "LAN"})
    with pytest.raises(DiscoveryError, match="ROS_DOMAIN_ID"):
        resolve(env={"ROS_DOMAIN_ID": "abc"})
    with pytest.raises(DiscoveryError, match="dds.peers"):
        resolve(peers=["not a host"], env={})
    with pytest.raises(DiscoveryError, match="SYSTEM_DEFAULT"):
        resolve(discovery_range="SYSTEM_DEFAULT", interface="eth0", env={})


def test_cyclone_xml_per_range():
    local = cyclone_xml(Discovery("LOCALHOST"))
    assert '<NetworkInterface name="lo' in local and "<AllowMulticast>false" in local
    assert '<Peer address="127.0.0.1"/>' in local
    off = cyclone_xml(Discovery("OFF", peers=("10.0.0.2",)))
    assert "<AllowMulticast>false" in off and "127.0.0.1" not in off and '"10.0.0.2"' in off
    subnet = cyclone_xml(Discovery("SUBNET", interface="192.168.5.2"))
    assert '<NetworkInterface address="192.168.5.2"/>' in subnet and "<AllowMulticast>true" in subnet
    assert '<NetworkInterface name="eth1"/>' in cyclone_xml(Discovery("SUBNET", interface="eth1"))
    assert cyclone_xml(Discovery("SYSTEM_DEFAULT")) is None
    assert set(RANGES) == {"LOCALHOST", "SUBNET", "OFF", "SYSTEM_DEFAULT"}


def test_users_own_cyclone_uri_is_used_and_said():
    s = resolve(env={"CYCLONEDDS_URI": "file:///etc/cyclone.xml"})
    assert s.user_uri == "file:///etc/cyclone.xml" and not s.loopback_only
    assert "CYCLONEDDS_URI" in s.describe()
    # our own loopback XML handed down to a child process is not "the user's"
    assert resolve(env=loopback_environment({})).user_uri is None


def test_the_suite_enforces_loopback_for_everything_it_starts():
    """conftest.py sets this before any participant exists; children inherit it."""
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert os.environ["CYCLONEDDS_URI"] == cyclone_xml(Discovery("LOCALHOST"))
    assert "ROS_STATIC_PEERS" not in os.environ


# -- the command line --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["fake-arm", "domain=-1"], {}, "dds.domain must be an integer in 0..232"),
        (["fake-arm", "domain=233"], {}, "dds.domain must be an integer in 0..232"),
        (["fake-arm", "domain=abc"], {}, "dds.domain must be an integer in 0..232"),
        (["fake-arm"], {"ROS_DOMAIN_ID": "abc"}, "ROS_DOMAIN_ID must be an integer in 0..232"),
        (["fake-arm", "dds.discovery_range=LAN"], {}, "dds.discovery_range must be one of"),
        (["deploy", "put the red cube on the blue cube", "domain=-1", "confirm=true"], {}, "dds.domain"),
    ],
)
def test_cli_refuses_bad_discovery_settings(args, env, message):
    proc = subprocess.run(
        [sys.executable, "-m", "embodied.cli", *args, "duration=1"]
        if args[0] == "fake-arm"
        else [sys.executable, "-m", "embodied.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


# -- what goes on the wire ---------------------------------------------------------------
def _capture(*overrides: str, env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            str(CAPTURE),
            "--",
            sys.executable,
            "-m",
            "embodied.cli",
            "fake-arm",
            "duration=2",
            *overrides,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def netns():
    sys.path.insert(0, str(CAPTURE.parent))
    try:
        import netns_capture
    finally:
        sys.path.pop(0)
    why = netns_capture.available()
    if why is not None:
        pytest.skip(f"network namespaces are not permitted here ({why}): the wire test cannot run")


def test_stand_in_stays_on_loopback_by_default(netns):
    # No CYCLONEDDS_URI and no ROS_* variables: the project's own defaults must keep it on lo.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROS_", "CYCLONEDDS_"))}
    counts = _capture("domain=41", env=env)
    assert counts["veth"]["udp"] == 0, counts
    assert counts["lo"]["udp"] > 0, counts  # it did run discovery, on loopback


def test_stand_in_goes_out_with_subnet(netns):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROS_", "CYCLONEDDS_"))}
    counts = _capture("domain=42", "dds.discovery_range=SUBNET", env=env)
    assert counts["veth"]["udp"] > 0, counts


def test_a_bare_participant_started_by_a_test_stays_on_loopback(netns):
    """A process that bypasses robots.ros2.discovery still inherits the suite's loopback config."""
    code = "import time; from cyclonedds.domain import DomainParticipant; p = DomainParticipant(43); time.sleep(1.5)"
    proc = subprocess.run(
        [sys.executable, str(CAPTURE), "--", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
        timeout=60,
    )
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert counts["rc"] == 0 and counts["veth"]["udp"] == 0, counts
