"""The `embodied` command: the demo job end to end, bad input, help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import pytest

from embodied.cli import main


def test_demo_writes_video_pictures_and_summary(tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = main(["demo", "seed=3", f"run_dir={run_dir}", "video_camera.width=160", "video_camera.height=120"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert out[-1] == str(run_dir / "summary.json")  # the last line is the path
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["success"] is True and summary["seed"] == 3
    red, blue = summary["objects"]["red_cube"]["position"], summary["objects"]["blue_cube"]["position"]
    assert abs(red[2] - blue[2] - 0.04) < 0.005  # really stacked, judged from positions
    assert summary["table"] == {"center": [0.5, 0.0, 0.0], "size": [0.5, 0.7]}
    frames = imageio.mimread(run_dir / "demo.mp4", memtest=False)
    assert len(frames) == summary["control_steps"] and frames[0].shape == (120, 160, 3)
    for name in ("scene.png", "depth.png", "segmentation.png", "final.png", "config.yaml"):
        assert (run_dir / name).stat().st_size > 0


def test_demo_is_deterministic_by_seed(tmp_path, capsys):
    results = []
    for k in range(2):
        assert main(["demo", "seed=5", "video=false", f"run_dir={tmp_path / str(k)}"]) == 0
        results.append(json.loads((tmp_path / str(k) / "summary.json").read_text())["objects"])
    assert results[0] == results[1]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "pick=purple_cube"], "pick='purple_cube' is not a cube"),
        (["demo", "place_on=red_cube"], "cannot stack red_cube on itself"),
        (["demo", "sim.timestep=oops"], "sim.timestep must be a finite number, got 'oops'"),
        (["demo", "scene.cube_size=-1"], "scene.cube_size must be a positive number"),
        (["demo", "camera.near=9"], "camera.far must be greater than near (9"),
        (["demo", "no_such_key=1"], "unknown key 'no_such_key'"),
        (["demo", "seed"], "not of the form key=value"),
        (["demo", "sim.substeps=3"], "control period"),
    ],
)
def test_bad_input_exits_2_with_a_specific_message(argv, message, capsys, tmp_path):
    assert main([*argv, f"run_dir={tmp_path}"] if argv[-1] != "seed" else argv) == 2
    assert message in capsys.readouterr().err.replace("\n", "")


def test_cfg_prints_the_composed_config(capsys):
    assert main(["demo", "--cfg", "seed=9"]) == 0
    out = capsys.readouterr().out
    assert "seed: 9" in out and "timestep: 0.005" in out and "video_camera:" in out


def test_envs_lists_every_env_as_json(capsys):
    assert main(["envs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in rows} == {"embodied/Reach-v0", "embodied/Push-v0", "embodied/PickPlace-v0"}


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "embodied.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "demo" in out.stdout and "key=value" in out.stdout
    out = subprocess.run([sys.executable, "-m", "embodied.cli"], capture_output=True, text=True)
    assert out.returncode == 2


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("run", ["seed=0", "planner=grounded", "config group: grounded | llm | vlm", "video=true", "write run.mp4"]),
        ("deploy", ["target=ros2", "robot=panda", "dds.domain=null", "DDS domain 0..232"]),
        ("export", ["format=onnx", "tolerance=1e-05", "largest action difference accepted"]),
    ],
)
def test_subcommand_help_lists_main_options_with_defaults(command, expected, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "main options" in text
    for piece in expected:
        assert piece in text, (piece, text)


def test_configs_restate_the_schema_defaults():
    """configs/*.yaml and the schema models' defaults must not drift apart."""
    import yaml

    from embodied.learning.prior_config import PriorConfig
    from robots.safety import SafetyConfig
    from sims.config import CameraConfig, SceneConfig, SimConfig
    from sims.randomization import RandomizationConfig

    root = Path(__file__).resolve().parent.parent / "configs"
    for path, cls in [
        ("sim/default.yaml", SimConfig),
        ("scene/tabletop.yaml", SceneConfig),
        ("camera/default.yaml", CameraConfig),
        ("randomization/default.yaml", RandomizationConfig),
    ]:
        data = yaml.safe_load((root / path).read_text())
        defaults = cls().model_dump(mode="json")  # tuples -> lists
        if path == "sim/default.yaml":
            # The one deliberate difference: the jobs sort contact pairs, the skill envs and the
            # stand-in keep the physics they were measured in (SimConfig.sort_contact_pairs).
            assert data.pop("sort_contact_pairs") is True and defaults.pop("sort_contact_pairs") is False
        assert data == defaults, path
    deploy = yaml.safe_load((root / "deploy.yaml").read_text())["safety"]
    assert deploy == SafetyConfig().model_dump()
    for path in (root / "skill").glob("*.yaml"):  # every prior setting a skill states is a known key
        PriorConfig(**yaml.safe_load(path.read_text())["prior"])
