"""`embodied plan`: JSON on stdout and nothing else, refusals exit 2, every planner by config."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from embodied.cli import main


def run_plan(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "embodied.cli", "plan", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_plan_prints_only_json_on_stdout_with_punctuation_in_the_instruction():
    proc = run_plan("put the red cube on the blue cube, then push the green one to the left!", "seed=3")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "plan": [
            {"skill": "pick_place", "object": "red_cube", "target": {"on": "blue_cube"}},
            {"skill": "push", "object": "green_cube", "target": {"region": "left"}},
        ],
        "error": None,
    }


def test_plan_shows_how_a_mistyped_and_corrected_instruction_was_read():
    proc = run_plan("plcae the red cube on the bleu cube, no wait, on the yelow one", "seed=3")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["plan"] == [
        {"skill": "pick_place", "object": "red_cube", "target": {"on": "yellow_cube"}}
    ]
    assert "read as: place the red cube on the yellow one" in proc.stderr


def test_refusal_is_json_with_exit_status_2(capsys):
    code = main(["plan", "put the purple cube on the red cube", "seed=1", "show_scene=false"])
    out = json.loads(capsys.readouterr().out)
    assert code == 2 and out["plan"] == [] and "no purple cube" in out["error"]


def test_hidden_cube_is_refused_because_perception_does_not_see_it(capsys):
    code = main(["plan", "put the yellow cube on the red cube", "hide=[yellow_cube]"])
    assert code == 2 and "no yellow cube" in json.loads(capsys.readouterr().out)["error"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["seed=3"], "give an instruction"),
        (["x", "planner=vlm"], "needs a model"),
        (["x", "hide=[pink_cube]"], "unknown cube"),
        (["x", "seed=-1"], "non-negative"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, capsys):
    assert main(["plan", *args]) == 2
    assert message in capsys.readouterr().err


def test_vlm_planner_end_to_end_on_a_tiny_model(tmp_path, capsys):
    from tiny_models import build_tiny_vlm

    path = build_tiny_vlm(tmp_path / "vlm")
    code = main(["plan", "put the red cube on the blue cube", "planner=vlm", f"planner.model={path}"])
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"plan", "error"}
    assert code == (0 if out["error"] is None else 2)
    # The command gives exactly what the planner gives on the scene the camera saw: the
    # loading path, the screening and the JSON are the same whether it plans or refuses.
    from embodied.common.config_loader import load_config
    from embodied.jobs.plan import plan_instruction
    from embodied.planning.language_model_planner import LanguageModelPlanner

    cfg = load_config("plan", ["planner=vlm", f"planner.model={path}"])
    direct = plan_instruction(cfg, "put the red cube on the blue cube", LanguageModelPlanner(str(path), kind="vlm"))
    assert direct.result.to_json() == out
