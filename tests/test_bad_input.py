"""Bad input gets one clear line (key, value, what is allowed) and exit status 2, before anything
is built or moved: the configuration schema (embodied/schema.py), unknown keys, odd instructions."""

from __future__ import annotations

import json

import pytest

from embodied.cli import main
from embodied.planning.planner import MAX_INSTRUCTION_CHARS, screen_instruction

STACK = "put the red cube on the blue cube"

CASES = [
    (["run", STACK, "seed=abc"], "seed must be an integer, got 'abc'"),
    (["run", STACK, "seed="], "seed must be an integer"),
    (["deploy", STACK, "seed=abc"], "seed must be an integer"),
    (["train", "seed=abc"], "seed must be an integer"),
    (["demo", "seed="], "seed must be an integer"),
    (["plan", STACK, "seed=-1"], "seed must be a non-negative integer"),
    (["run", STACK, "video_camera.width=0"], "video_camera.width must be >= 16"),
    (["run", STACK, "video_camera.width=-3"], "video_camera.width must be >= 16"),
    (["run", STACK, "camera.far=0.01"], "camera.far must be greater than near"),
    (["run", STACK, "run_dir=/etc/hostname"], "run_dir must be a folder, not an existing file"),
    (["run", STACK, "run_dir=/proc/no/such"], "run_dir must be writable"),
    (["run", STACK, "controller.push_leg=0"], "controller.push_leg must be >= 0.01"),
    (["run", STACK, "controller.push_leg=1e-9"], "controller.push_leg must be >= 0.01"),
    (["run", STACK, "controller.approach_height=-0.1"], "controller.approach_height must be a non-negative number"),
    (["run", STACK, "controller.retreat_height=-1"], "controller.retreat_height must be a non-negative"),
    (["run", STACK, "controller.max_steps=abc"], "controller.max_steps must be an integer"),
    (["run", STACK, "controller.move_gain=0"], "controller.move_gain must be a positive number"),
    (["run", STACK, "video=maybe"], "video must be true or false"),
    (["run", STACK, "planner.threshold=abc"], "planner.threshold must be a finite number"),
    (["run", STACK, "sede=3"], "unknown key 'sede' in 'sede=3'; did you mean seed"),
    (["run", STACK, "+sede=3"], "adding or deleting keys is not supported"),
    (["eval", "limit=-1"], "limit must be a non-negative integer"),
    (["eval", "chains=-1"], "chains must be a non-negative integer"),
    (["eval", "chain_length=0"], "chain_length must be a positive integer"),
    (["eval", "seeds=[]"], "seeds must have at least 1 entries"),
    (["train", "threads=0"], "threads must be a positive integer"),
    (["train", "checkpoint_every=0"], "checkpoint_every must be a positive integer"),
    (["fake-arm", "rate=0"], "rate must be >= 1"),
    (["fake-arm", "stats=/proc/no/such.json"], "stats must be writable"),
    (["fake-arm", "stats="], "stats must be a file path"),
    (["fake-arm", "max_writers=0"], "max_writers must be a positive integer"),
    (["fake-arm", "command_timeout=0"], "command_timeout must be a positive number"),
    (["fake-arm", "jitter=2"], "jitter must be <= 1.0"),
    (["fake-arm", "lag=-1"], "lag must be a non-negative number"),
    (["fake-arm", "action_noise=2"], "action_noise must be <= 1.0"),
    (["fake-arm", "observation_delay=-0.04"], "observation_delay must be a non-negative number"),
    (["deploy", STACK, "target=moon", "confirm=true"], "target must be one of ros2, sim"),
    (["deploy", STACK, "robot=moon", "confirm=true"], "robot=moon: no such choice; choose one of panda, ur5e, xarm6"),
    (["run", STACK, "planner=gpt9"], "planner=gpt9: no such choice; choose one of grounded, llm, vlm"),
    (["deploy", STACK, "connect_timeout=-1"], "connect_timeout must be a positive number"),
    (["deploy", STACK, "command_latency=-1"], "command_latency must be a non-negative number"),
    (["deploy", STACK, "safety.velocity_scale=1.0"], "looser than a real robot allows"),
    (["deploy", STACK, "safety.path_tolerance=0"], "safety.path_tolerance must be a positive number"),
    (["deploy", STACK, "domain=233"], "dds.domain must be an integer in 0..232"),
    (["estop", "wait=0"], "wait must be a positive number"),
    (["eval-skill", "push", "episodes=0"], "episodes must be a positive integer"),
    (["export", "push", "format=zip"], "format must be one of onnx or torchscript"),
]


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(a[-1:]) + f"-{a[0]}" for a, _ in CASES])
def test_bad_value_is_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written: any run folder would appear here
    assert main(argv) == 2
    out = capsys.readouterr()
    lines = [ln for ln in out.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0], out.err
    assert out.out == "" and "Traceback" not in out.err
    assert not any(tmp_path.iterdir())  # nothing built, nothing written


def test_the_table_covers_at_least_forty_bad_inputs():
    # the instruction cases below bring the table to 40+
    assert len(CASES) + len(ODD) >= 40


ODD = [
    ("put the red cube\x00 on the blue cube", "control character (U+0000)"),
    ("put the red cube \udcff on the blue cube", "not valid UTF-8"),
    ("put the red cube \u202e on the blue cube", "text-direction control character (U+202E)"),
    ("put the red cube \u2066 on the blue cube", "text-direction control character (U+2066)"),
    ("put the red cube \x1b[31m on the blue cube", "control character (U+001B)"),
    ("red " * 2000, f"at most {MAX_INSTRUCTION_CHARS} are planned"),
]


@pytest.mark.parametrize(("text", "reason"), ODD)
def test_odd_instructions_are_refused_by_the_screen(text, reason):
    assert reason in screen_instruction(text)


def test_plain_instructions_pass_the_screen():
    for text in (STACK, "Schieb den grünen Würfel nach links, bitte!", "push the red cube left\tnow\n"):
        assert screen_instruction(text) is None


def test_oversized_instruction_is_refused_moves_nothing_and_is_shown_once_truncated(capsys, tmp_path):
    text = "put the red cube on the blue cube " * 3000  # ~100 kB
    code = main(["run", text, "video=false", f"run_dir={tmp_path}"])
    assert code == 2
    out = capsys.readouterr()
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["steps"] == [] and "at most" in report["error"]
    assert len(report["instruction"]) <= MAX_INSTRUCTION_CHARS and len((tmp_path / "report.json").read_bytes()) < 10_000
    assert len(out.err) < 2_000 and len(out.out) < 500


def test_plan_refuses_an_undecodable_instruction_as_json(capsys):
    assert main(["plan", "put the red cube \udcff on the blue cube"]) == 2
    result = json.loads(capsys.readouterr().out)
    assert result["plan"] == [] and "UTF-8" in result["error"]
