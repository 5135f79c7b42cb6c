"""Domain randomisation, noise, actuation delay (sims/randomization.py) and `eval-skill randomize=true`."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import sims  # noqa: F401  (registers the env ids)
from embodied.cli import main
from sims.randomization import RandomizationConfig, RandomizedEnv


def _env(**overrides) -> RandomizedEnv:
    return RandomizedEnv(gym.make("embodied/PickPlace-v0"), overrides)


def test_same_seed_same_physics_and_noise_other_seed_differs():
    a, b = _env(), _env()
    obs_a, info_a = a.reset(seed=7)
    obs_b, info_b = b.reset(seed=7)
    assert info_a["randomization"] == info_b["randomization"]
    for _ in range(5):
        action = np.array([0.3, -0.2, 0.1, 1.0], dtype=np.float32)
        obs_a, *_ = a.step(action)
        obs_b, *_ = b.step(action)
    np.testing.assert_array_equal(obs_a["observation"], obs_b["observation"])
    _, info_c = a.reset(seed=8)
    assert info_c["randomization"] != info_a["randomization"]
    a.close(), b.close()


def test_drawn_physics_reaches_the_engine():
    env = _env(mass_scale=(2.0, 3.0), friction_scale=(0.5, 0.6))
    _, info = env.reset(seed=1)
    world = env.unwrapped.world
    draw = info["randomization"]
    for name, scale in draw["mass_scale"].items():
        dyn = world.client.dynamics(name)
        assert 2.0 <= scale <= 3.0
        assert dyn["mass"] == pytest.approx(world.scene.config.cube_mass * scale)
        assert dyn["lateral_friction"] == pytest.approx(world.scene.config.cube_friction * draw["friction_scale"])
    assert world.client.gain_scale == draw["actuator_gain_scale"]
    env.close()


def test_delay_drawn_per_episode_delays_the_arm_by_whole_control_periods():
    quiet = {"jitter": 0.0, "lag": (0.0, 0.0), "observation_delay": (0, 0), "action_noise": 0.0}
    env = _env(delay=(0, 3), observation_noise=0.0, **quiet)
    drawn = {env.reset(seed=s)[1]["randomization"]["delay"] for s in range(40)}
    assert drawn == {0, 1, 2, 3}
    seed = next(s for s in range(50) if env.reset(seed=s)[1]["randomization"]["delay"] == 2)
    obs, _ = env.reset(seed=seed)
    start = obs["observation"][:3].copy()
    move = np.array([0.0, 0.0, 1.0, 1.0], dtype=np.float32)  # 5 cm up per period
    moved = []
    for _ in range(4):
        obs, *_ = env.step(move)
        moved.append(float(obs["observation"][2] - start[2]))
    assert abs(moved[0]) < 2e-3 and abs(moved[1]) < 2e-3, moved  # the first two periods replay "hold"
    assert moved[2] > 0.01 and moved[3] > moved[2], moved
    env.close()


def test_observation_noise_leaves_reward_and_success_on_the_true_state():
    env = _env(observation_noise=0.05, action_noise=0.0)
    clean = gym.make("embodied/PickPlace-v0")
    obs, _ = env.reset(seed=3)
    clean_obs, _ = clean.reset(seed=3)
    noise = np.abs(obs["observation"] - clean_obs["observation"])
    assert noise.max() > 0.01  # the policy sees noise ...
    np.testing.assert_array_equal(obs["desired_goal"], clean_obs["desired_goal"])  # ... but the goal is exact
    _, reward, terminated, _, info = env.step(np.zeros(4, dtype=np.float32))
    true = env.unwrapped.observe()
    distance = np.linalg.norm(true["achieved_goal"] - true["desired_goal"])
    assert reward == pytest.approx(env.unwrapped.task.reward_from_distance(distance))
    assert info["is_success"] == terminated
    env.close(), clean.close()


@pytest.mark.parametrize(
    "field, value",
    [
        ("mass_scale", (1.5, 1.0)),
        ("friction_scale", (0.0, 1.0)),
        ("delay", (2, 1)),
        ("delay", (-1, 0)),
        ("lag", (0.0, 5.0)),
        ("jitter", 1.5),
        ("action_noise", -0.1),
    ],
)
def test_bad_ranges_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        RandomizationConfig(**{field: value})


def test_rejects_bad_actions_and_foreign_envs():
    env = _env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.array([np.nan, 0, 0, 0], dtype=np.float32))
    env.close()
    with pytest.raises(TypeError, match="skill envs"):
        RandomizedEnv(gym.make("CartPole-v1"))


def test_eval_skill_reports_clean_and_randomized_success(capsys):
    assert main(["eval-skill", "reach", "episodes=3", "randomize=true", "randomization.delay=[1,1]"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # The shipped reach succeeds on these clean episodes; both numbers count the same 3 seeds.
    assert report["episodes"] == 3 and report["successes"] == 3 and report["success_rate"] == 1.0
    r = report["randomized"]
    assert r["successes"] == round(r["success_rate"] * 3) and r["mean_episode_length"] >= report["mean_episode_length"]
    assert report["randomized"]["config"]["delay"] == [1, 1]


def test_eval_skill_bad_randomization_exits_2(capsys):
    assert main(["eval-skill", "reach", "episodes=3", "randomize=true", "randomization.action_noise=-1"]) == 2
    assert "randomization.action_noise" in capsys.readouterr().err


def test_the_stand_in_cell_draws_the_physics_of_a_randomised_run_of_its_seed():
    """`embodied fake-arm randomize=true seed=S` and `embodied run randomize=true seed=S` draw
    the same physics, and it reaches the cell's engine; without randomize the cell is nominal."""
    import os

    from embodied.common.config_loader import load_config
    from embodied.execution.session import Session
    from sims.fake_arm import FakeArm

    domain = 100 + os.getpid() % 120
    cfg = load_config("run", ["seed=4", "randomize=true", "skills=scripted", "video=false"])
    session = Session(cfg)
    try:
        run_draw = session.draw
    finally:
        session.close()
    cell = FakeArm("panda", domain=domain, seed=4, estop_topic=None, randomization={})
    nominal = FakeArm("panda", domain=domain, seed=4, estop_topic=None)
    try:
        drawn = cell.physics
        assert drawn is not None and nominal.physics is None
        for field in ("friction_scale", "mass_scale", "object_damping", "joint_damping", "actuator_gain_scale"):
            assert getattr(drawn, field) == getattr(run_draw, field), field
        assert drawn.friction_scale != 1.0
        scene = cell.world.scene
        cube = scene.object_names[0]
        got = cell.world.client.dynamics(cube)
        base = nominal.world.client.dynamics(cube)
        assert got["lateral_friction"] == pytest.approx(scene.config.cube_friction * drawn.friction_scale)
        assert got["mass"] == pytest.approx(scene.config.cube_mass * drawn.mass_scale[cube])
        assert base["lateral_friction"] == pytest.approx(scene.config.cube_friction)
    finally:
        cell.close()
        nominal.close()


def _bench_latency():
    """scripts/bench_latency.py as a module (scripts/ is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "bench_latency.py"
    spec = importlib.util.spec_from_file_location("bench_latency", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_latency_benchmark_names_its_conditions_and_refuses_unknown_ones():
    bench = _bench_latency()
    base = {"delay": [0, 3], "jitter": 0.1}
    # The table's six by default; a stress delay beyond the default range only when named.
    assert list(bench.conditions(base)) == ["clean", "randomised", "delay 0", "delay 1", "delay 2", "delay 3"]
    stress = bench.conditions(base, ["delay 4", "clean"])
    assert stress == {"delay 4": {"delay": [4, 4], "jitter": 0.1}, "clean": None}
    assert base["delay"] == [0, 3]  # the base randomisation is not modified
    RandomizationConfig(**stress["delay 4"])
    with pytest.raises(ValueError, match="'delay 11' is not one of"):
        bench.conditions(base, ["randomised", "delay 11"])
    with pytest.raises(ValueError, match="'noisy' is not one of"):
        bench.conditions(base, ["noisy"])


def test_the_latency_benchmark_compares_steps_only_over_episodes_both_won():
    bench = _bench_latency()
    prior = {"successes": [True, True, False, True], "steps": [40, 30, 100, 50]}
    policy = {"successes": [True, False, True, True], "steps": [36, 100, 60, 44]}
    steps = bench.paired_steps(prior, policy)
    # Episodes 0 and 3 only: -4 and -6 steps; a lost episode's 100 steps count for neither.
    assert steps["episodes"] == 2 and steps["mean"] == pytest.approx(-5.0)
    assert steps["ci95"][0] < -5.0 < steps["ci95"][1]
    assert bench.paired_steps(prior, {"successes": [False] * 4, "steps": [100] * 4}) is None


def test_the_failure_breakdown_records_each_episode_with_its_draw(tmp_path):
    """scripts/skill_failures.py runs the latency benchmark's episodes and keeps, per episode,
    the draw it ran under (here the delay fixed at 3) and how far off it ended."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "failures.json"
    cmd = [sys.executable, str(root / "scripts/skill_failures.py"), "--skill", "push", "--condition", "delay 3"]
    done = subprocess.run([*cmd, "--episodes", "3", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["episode"] for r in rows] == [0, 1, 2]
    for r in rows:
        assert r["delay"] == 3 and r["observation_delay"] in (0, 1), r
        assert 0.0 <= r["closest_distance"] <= r["final_distance"] and 0 <= r["closest_step"] < r["steps"] <= 100, r
    bad = subprocess.run([*cmd[:-1], "delay 99"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "not one of" in bad.stderr and "Traceback" not in bad.stderr
