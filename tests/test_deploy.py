"""`embodied deploy`: the whole stack against the stand-in arm, in separate processes over DDS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from embodied.cli import main
from embodied.common.config_loader import ConfigError
from embodied.jobs.arguments import deploy_overrides, instruction_and_overrides


def _domain(offset: int) -> int:
    return 60 + (os.getpid() + offset) % 40


@pytest.fixture
def stand_in(tmp_path):
    """The stand-in cell (arm, cubes of seed 0, camera topics) in its own process; its
    statistics, written when it stops, hold where its cubes really are."""
    domain = _domain(0)
    stats = tmp_path / "cell.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "embodied.cli", "fake-arm", f"domain={domain}", "duration=120", f"stats={stats}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield StandIn(domain, proc, stats)
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)


class StandIn(int):
    """The stand-in's DDS domain, which can also stop it and read its statistics."""

    def __new__(cls, domain: int, proc: subprocess.Popen, stats: Path):  # noqa: ANN204
        self = super().__new__(cls, domain)
        self.proc, self.stats = proc, stats
        return self

    def stop(self) -> dict:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return json.loads(self.stats.read_text())


def _deploy(tmp_path: Path, domain: int, answer: str, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    run_dir = tmp_path / "deploy"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "embodied.cli",
            "deploy",
            "target=ros2",
            "put the red cube on the blue cube",
            "seed=0",
            f"domain={domain}",
            "video=false",
            f"run_dir={run_dir}",
            *extra,
        ],
        input=answer,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    summary = json.loads((run_dir / "deploy.json").read_text()) if (run_dir / "deploy.json").exists() else {}
    return proc, summary


def test_deploy_dry_runs_asks_and_then_moves_the_stand_in(stand_in, tmp_path):
    proc, summary = _deploy(tmp_path, stand_in, "y\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Move the real arm?" in proc.stdout + proc.stderr
    assert summary["dry_run"]["success"] and summary["confirmed"]
    hardware = summary["hardware"]
    assert hardware["success"] and hardware["plan"] == summary["dry_run"]["plan"]
    # The arm really moved over DDS: the twin's red cube (moved only by the mirrored arm) is on blue.
    red = next(o for o in hardware["perceived"] if o["name"] == "red_cube")
    blue = next(o for o in hardware["perceived"] if o["name"] == "blue_cube")
    assert abs(red["position"][0] - blue["position"][0]) < 0.02 and red["position"][2] > blue["position"][2] + 0.03
    assert (tmp_path / "deploy" / "safety.log").exists()
    # Everything came from the cell's camera topics: the scene, and the tracker's frames.
    assert {o["name"] for o in summary["perceived_from_camera"]} >= {"red_cube", "blue_cube"}
    assert summary["camera_to_estimate_ms"]["frames"] > 5
    # And in the cell itself (its ground truth, which deploy never saw) red is on blue.
    truth = stand_in.stop()["objects"]
    red, blue = truth["red_cube"], truth["blue_cube"]
    assert abs(red[0] - blue[0]) < 0.02 and abs(red[1] - blue[1]) < 0.02 and red[2] > blue[2] + 0.03


def test_deploy_without_confirmation_does_not_move(stand_in, tmp_path):
    proc, summary = _deploy(tmp_path, stand_in, "n\n")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert summary["dry_run"]["success"] and not summary["confirmed"] and summary["hardware"] is None
    assert "not moved" in proc.stdout + proc.stderr


def test_deploy_without_a_driver_fails_clearly(tmp_path, capsys):
    code = main(
        ["deploy", "target=ros2", "put the red cube on the blue cube", "domain=232", "connect_timeout=0.5"]
        + [f"run_dir={tmp_path}", "video=false"]
    )
    assert code == 2
    out = capsys.readouterr()
    assert "is the driver" in out.out + out.err


def test_deploy_refuses_loose_safety_settings_on_hardware(tmp_path, capsys):
    code = main(["deploy", "put the red cube on the blue cube", "safety.velocity_scale=1.0", f"run_dir={tmp_path}"])
    assert code == 2
    out = capsys.readouterr()
    assert "looser than a real robot allows" in out.out + out.err


def test_deploy_arguments():
    instruction, overrides = instruction_and_overrides(["target=ros2", "stack it", "robot=ur5e", "domain=4"])
    assert instruction == "stack it"
    assert deploy_overrides(overrides) == ["target=ros2", "robot=ur5e", "dds.domain=4"]
    with pytest.raises(ConfigError, match="one instruction"):
        instruction_and_overrides(["a b", "c d"])
    # The names of the previous release say what to write instead, rather than meaning something else.
    with pytest.raises(ConfigError, match="say target=ros2"):
        deploy_overrides(["robot=ros2"])
    with pytest.raises(ConfigError, match="robot=ur5e"):
        deploy_overrides(["arm=ur5e"])
