"""`embodied run` (the main job), its interactive mode, and `embodied eval`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest

from embodied.cli import main
from embodied.common.config_loader import load_config
from embodied.execution.goal_geometry import Geometry, holds
from embodied.jobs.eval import evaluate, plot
from embodied.planning.subgoals import PlanError
from embodied.planning.suites import load_eval_suite, predicate

FAST = ["skills=scripted", "video_camera.width=160", "video_camera.height=120"]
CONTRACT = {"instruction", "seed", "plan", "steps", "success", "error", "objects", "table"}


def judged(report: dict) -> bool:
    """Success judged from the report's final object positions alone."""
    positions = {k: np.array(v["position"]) for k, v in report["objects"].items()}
    goals = [predicate({"object": g["object"], **g["target"]}) for g in report["plan"]]
    return all(holds(g, positions, Geometry()) for g in goals)


def interactive(tmp_path: Path, stdin: str, seed: int) -> subprocess.CompletedProcess:
    """``embodied run`` without an instruction, in a fresh process, fed ``stdin``; must exit 0."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "embodied.cli",
            "run",
            f"seed={seed}",
            "video=false",
            "skills=scripted",
            f"run_dir={tmp_path}",
        ],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_run_executes_writes_report_and_video_and_prints_the_path_last(tmp_path, capsys):
    instruction = "put the red cube on the blue cube, then push the green cube to the left"
    code = main(["run", instruction, "seed=3", f"run_dir={tmp_path}", *FAST])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == str(tmp_path / "report.json")
    report = json.loads((tmp_path / "report.json").read_text())
    assert CONTRACT <= set(report)
    assert report["instruction"] == instruction and report["seed"] == 3 and report["error"] is None
    assert code == 0 and report["success"] is True
    assert report["success"] == judged(report)  # the claim agrees with the final positions
    assert len(report["steps"]) == 2
    for step in report["steps"]:
        assert step["outcome"] == "success" and step["sim_steps"] > 0 and step["seconds"] >= 0
        assert "retries" in step
    frames = imageio.mimread(tmp_path / report["video"], memtest=False)
    assert len(frames) > 50 and frames[0].shape == (120, 160, 3)
    assert frames[0][:14].mean() < 80  # the caption bar with the current sub-goal


def test_refused_instruction_moves_nothing_and_exits_2(tmp_path, capsys):
    code = main(["run", "put the purple cube on the red cube", "seed=4", f"run_dir={tmp_path}", *FAST])
    assert code == 2
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["steps"] == [] and report["success"] is False and "purple" in report["error"]
    from embodied.execution.world_builder import build_world

    world = build_world(load_config("run", ["seed=4"]))
    try:
        for name, obj in world.scene.describe()["objects"].items():
            assert np.allclose(report["objects"][name]["position"], obj["position"], atol=1e-4)
    finally:
        world.close()


def test_a_skills_checkpoint_is_chosen_on_the_command_line(tmp_path, capsys):
    """``skills.checkpoints.SKILL=PATH`` (documented in configs/skills/learned.yaml) reaches the executor."""
    from embodied.common.config_loader import ConfigError
    from embodied.common.config_schema import Skills

    missing = tmp_path / "no_such_policy.zip"
    code = main(["run", "put the red cube on the blue cube", "seed=4", f"run_dir={tmp_path / 'a'}", "video=false",
                 f"skills.checkpoints.pick_place={missing}"])  # fmt: skip
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert code == 2 and report["steps"] == [] and str(missing) in report["error"]
    assert load_config("run", [f"skills.checkpoints.push={missing}"]).skills.checkpoints.push == str(missing)
    with pytest.raises(ConfigError, match="skills.checkpoints.lift"):
        load_config("run", ["skills.checkpoints.lift=x.zip"])
    with pytest.raises(ValueError, match="no skill named 'lift'"):
        Skills(source="learned", checkpoints={"lift": "x.zip"})


def test_learned_skills_end_to_end(tmp_path, capsys):
    code = main(["run", "stack the yellow cube on the green cube", "seed=2", f"run_dir={tmp_path}", "video=false"])
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["skills"] == "learned"
    assert code == 0 and report["success"] and judged(report)


def test_interactive_mode_keeps_one_scene(tmp_path):
    stdin = "put the red cube on the blue cube\nscene\nput the green cube on the red cube\nquit\n"
    proc = interactive(tmp_path, stdin, 1)
    paths = [Path(p) for p in proc.stdout.split()]
    assert [p.parent.name for p in paths] == ["001", "002"]
    second = json.loads(paths[1].read_text())
    pos = {k: np.array(v["position"]) for k, v in second["objects"].items()}
    # A three-cube tower: the second command built on the first one's result.
    assert pos["green_cube"][2] > pos["red_cube"][2] > pos["blue_cube"][2] + 0.03
    assert second["success"] and "blue_cube" in proc.stderr  # 'scene' listed what is seen


def test_eval_runs_a_suite_and_chains_and_writes_a_plot(tmp_path):
    suite = tmp_path / "suite.jsonl"
    entries = [
        {
            "instruction": "put the red cube on the blue cube",
            "family": "on",
            "goal": [{"object": "red_cube", "on": "blue_cube"}],
        },
        {
            "instruction": "push the green cube to the left",
            "family": "push",
            "goal": [{"object": "green_cube", "region": "left"}],
        },
    ]
    suite.write_text("".join(json.dumps(e) + "\n" for e in entries))
    cfg = load_config("eval", [f"suite={suite}", "seeds=[0]", "chains=1", "chain_length=2", "skills=scripted"])
    results = evaluate(cfg)
    assert results["runs"] == 2 and results["plan_success"] == 1.0
    assert set(results["by_family"]) == {"on", "push"}
    assert results["claims_agree_with_truth"] == 1.0
    assert results["chains"] == 1 and 0 <= results["average_chain_length"] <= 2
    png = plot(results, tmp_path / "plot.png")
    assert imageio.imread(png).shape[0] > 100


def test_shipped_suite_has_at_least_100_instructions_with_predicates():
    entries = load_eval_suite("tabletop")
    assert len(entries) >= 100 and all(e["goal"] for e in entries)


def test_bad_suite_is_refused(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "x", "goal": [{"object": "red_cube"}]}\n')
    with pytest.raises(PlanError, match="bad suite entry"):
        load_eval_suite(str(bad))
    with pytest.raises(PlanError, match="not found"):
        load_eval_suite("no_such_suite")
    # Through the command: one line, exit 2, nothing run.
    assert main(["eval", f"suite={bad}", f"run_dir={tmp_path / 'run'}"]) == 2


def test_eval_writes_as_it_goes_and_continues_a_killed_evaluation(tmp_path):
    """Every finished run and chain is journalled at once; resuming runs only what is missing."""
    from embodied.cli import main

    suite = tmp_path / "suite.jsonl"
    entries = [
        {"instruction": "push the green cube to the left", "goal": [{"object": "green_cube", "region": "left"}]},
        {"instruction": "push the red cube to the right", "goal": [{"object": "red_cube", "region": "right"}]},
    ]
    suite.write_text("".join(json.dumps(e) + "\n" for e in entries))
    args = [f"suite={suite}", "seeds=[0]", "chains=2", "chain_length=1", "skills=scripted"]
    run = tmp_path / "eval"
    assert main(["eval", *args, f"run_dir={run}"]) == 0
    journal = (run / "journal.jsonl").read_text().splitlines()
    assert len(journal) == 4  # two runs, two chains
    first = json.loads((run / "eval.json").read_text())
    # As if killed after the first run: keep one line, mark it so a re-run would be visible.
    kept = json.loads(journal[0])
    kept["reason"] = "from the journal"
    (run / "journal.jsonl").write_text(json.dumps(kept) + "\n")
    (run / "eval.json").unlink()
    assert main(["eval", *args, f"resume={run}"]) == 0
    lines = [json.loads(line) for line in (run / "journal.jsonl").read_text().splitlines()]
    assert len(lines) == 4 and lines[0]["reason"] == "from the journal"  # kept, not run again
    again = json.loads((run / "eval.json").read_text())
    assert again["runs"] == first["runs"] and again["chains"] == first["chains"]
    assert again["chain_success_at"] == first["chain_success_at"]  # chains are per-(seed, chain) deterministic
    assert main(["eval", *args, "chains=3", f"resume={run}"]) == 2  # other settings: refused


def test_interactive_conversation_context_and_suggestions(tmp_path):
    """Across turns of one session: "it" is the object last moved, a refusal's suggestion is
    a yes/no question executed on yes (and not on no), "again" and "do the same with" reuse
    the last command. Each turn's plan is read from its report."""
    stdin = (
        "put the yellow cube on the blue cube\n"
        "now put the red one on top of it\n"  # it = the yellow cube
        "please toss the green cube to the left\n"  # refused, with a suggestion
        "n\n"  # declined: nothing runs
        "toss the green cube to the left\n"
        "yes\n"  # accepted: the suggestion runs
        "again\n"
        "do the same with the blue cube\n"
        "quit\n"
    )
    proc = interactive(tmp_path, stdin, 3)
    reports = [json.loads(Path(p).read_text()) for p in proc.stdout.split()]
    plans = [[(g["object"], g["target"]) for g in r["plan"]] for r in reports]
    assert plans[0] == [("yellow_cube", {"on": "blue_cube"})]
    assert plans[1] == [("red_cube", {"on": "yellow_cube"})]
    assert (
        plans[2] == [] and "toss" in reports[2]["error"] and "Did you mean: put the green cube" in reports[2]["error"]
    )
    assert plans[3] == [] and "Did you mean" in reports[3]["error"]  # the "n" ran nothing in between
    assert plans[4] == [("green_cube", {"region": "left"})]  # the suggestion, after "yes"
    assert plans[5] == plans[4]  # again
    assert plans[6] == [("blue_cube", {"region": "left"})]  # the same with the blue cube
    assert len(reports) == 7 and "did you mean: put the green cube to the left?" in proc.stderr


def test_interactive_undo_puts_back_what_the_last_command_moved(tmp_path):
    """Driven through stdin: one command moves two cubes, "undo" plans them back to where the
    camera saw them before (checked like any sub-goal), and the objects end there; a second
    "undo" has nothing left and is refused."""
    stdin = "scene\nput the red cube on the blue cube, then push the green cube to the left\nundo\nundo\nquit\n"
    proc = interactive(tmp_path, stdin, 5)
    seen = {
        m.group(1): np.array([float(m.group(2)), float(m.group(3))])
        for m in re.finditer(r"(\w+_cube): \(([-+.\d]+), ([-+.\d]+), [-+.\d]+\)", proc.stdout + proc.stderr)
    }
    assert set(seen) >= {"red_cube", "green_cube", "blue_cube"}
    first, undo, again = [json.loads(Path(p).read_text()) for p in proc.stdout.split() if p.endswith(".json")]
    assert first["success"]
    moved = {g["object"]: g["target"] for g in undo["plan"]}
    assert set(moved) == {"red_cube", "green_cube"} and all(set(t) == {"at"} for t in moved.values())
    for name, target in moved.items():
        np.testing.assert_allclose(target["at"], seen[name], atol=0.003)  # where the camera saw it
    assert undo["success"] and undo["error"] is None
    for name, xy in seen.items():
        final = np.array(undo["objects"][name]["position"][:2])
        assert np.linalg.norm(final - xy) < 0.025, (name, final, xy)  # everything back (and blue never moved)
    assert again["plan"] == [] and "nothing left to undo" in again["error"]
