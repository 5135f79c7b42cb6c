"""`embodied train`, resume, `eval-skill`, `export` and their errors, on tiny real training runs."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from embodied.cli import main
from embodied.common.config_loader import load_config
from embodied.learning.catalogue import SkillError, skill_config
from embodied.learning.checkpoints import load_policy

QUICK = [
    "n_envs=2",
    "skill.task.max_episode_steps=50",  # HER's first sample needs a finished episode per env
    "eval.episodes=2",
    "normalization_episodes=1",
    "progress=false",
]
"""Settings that keep any tiny training run short (shared with tests/test_ppo.py)."""
TINY = [
    "total_steps=300",
    *QUICK,
    "algo.kwargs.learning_starts=100",
    "algo.kwargs.batch_size=32",
    "algo.kwargs.actor_delay=150",
    "algo.policy.net_arch=[32,32]",
    "eval.every=150",
    "eval.video_episodes=1",
]


@pytest.fixture(scope="module")
def push_run(tmp_path_factory):
    """One tiny real SAC + HER training run on Push (with its prior), shared by the tests below."""
    run_dir = tmp_path_factory.mktemp("train") / "push"
    assert main(["train", "skill=push", "seed=3", f"run_dir={run_dir}", *TINY]) == 0
    return run_dir


def test_train_writes_a_complete_run_folder(push_run):
    for name in (
        "config.yaml",
        "command.txt",
        "best.zip",
        "last.zip",
        "last_replay_buffer.pkl",
        "eval.mp4",
        "evaluations.json",
        "model_card.md",
        "card.json",
    ):
        assert (push_run / name).is_file(), name
    assert list((push_run / "logs").glob("events.out.tfevents.*")), "TensorBoard log missing"
    card = json.loads((push_run / "card.json").read_text())
    assert card["steps"] == 300 and card["seed"] == 3 and card["skill"] == "push"
    assert [h["steps"] for h in card["history"]][0] <= 2 and card["history"][-1]["steps"] == 300
    # The card reports the last evaluation of evaluations.json, over its held-out episodes.
    history = json.loads((push_run / "evaluations.json").read_text())
    assert card["success_rate"] == history[-1]["success_rate"] and card["history"] == history
    # The resolved config repeats the run: same skill, seed and budget.
    cfg = load_config("train", [])
    saved = type(cfg)(__import__("omegaconf").OmegaConf.load(push_run / "config.yaml"))
    assert saved.seed == 3 and saved.total_steps == 300 and saved.skill.name == "push"


def test_checkpoint_loads_and_is_deterministic(push_run):
    import gymnasium as gym

    import sims  # noqa: F401

    model = load_policy("push", push_run / "last.zip")
    env = gym.make("embodied/Push-v0", task_config=dict(skill_config("push").task))
    obs, _ = env.reset(seed=1)
    a1, _ = model.predict(obs, deterministic=True)
    assert a1.shape == (3,) and np.all(np.abs(a1) <= 1)
    # The same checkpoint loaded again gives the same action, and so does a second call.
    np.testing.assert_array_equal(a1, load_policy("push", push_run / "last.zip").predict(obs, deterministic=True)[0])
    np.testing.assert_array_equal(a1, model.predict(obs, deterministic=True)[0])
    # A run folder means its best.zip.
    best, _ = load_policy("push", push_run / "best.zip").predict(obs, deterministic=True)
    np.testing.assert_array_equal(best, load_policy("push", push_run).predict(obs, deterministic=True)[0])


def test_resume_keeps_the_replay_buffer_and_step_count(push_run, tmp_path):
    import shutil

    run = tmp_path / "resumed"
    shutil.copytree(push_run, run)
    assert main(["train", "skill=push", f"resume={run}", *TINY[1:], "total_steps=450"]) == 0
    model = load_policy("push", run / "last.zip")
    assert model.num_timesteps == 450
    model.load_replay_buffer(run / "last_replay_buffer.pkl")
    buffer = model.replay_buffer
    assert buffer.size() * buffer.n_envs >= 440  # the first 300 steps were kept
    history = json.loads((run / "evaluations.json").read_text())
    assert history[-1]["steps"] == 450 and any(h["steps"] == 300 for h in history)


def test_eval_skill_prints_summary_and_json_last_line(push_run, capsys):
    assert main(["eval-skill", "push", "episodes=3", "seed=7", f"checkpoint={push_run / 'best.zip'}"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    report = json.loads(out[-1])
    assert report["skill"] == "push" and report["episodes"] == 3
    # The job's number is evaluate() on the same checkpoint and seeds, nothing else.
    from embodied.learning.envs import make_env
    from embodied.learning.evaluation import evaluate

    env = make_env(skill_config("push"))
    direct = evaluate(load_policy("push", push_run / "best.zip", env=env), env, 3, 7)
    env.close()
    assert report["successes"] == sum(direct.successes) and report["success_rate"] == direct.success_rate


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_matches_torch_within_1e5(push_run, tmp_path, fmt):
    from embodied.learning.catalogue import skill_config
    from embodied.learning.export import collect_observations, export_policy, run_exported, torch_actions

    model = load_policy("push", push_run / "last.zip")
    batch = collect_observations(skill_config("push"), model, 2, 11)
    path = export_policy(model, tmp_path / f"push.{fmt}", fmt, {k: v[0] for k, v in batch.items()})
    exported = run_exported(path, batch)
    assert exported.shape == (len(batch["observation"]), 3)
    assert np.abs(exported - torch_actions(model, batch)).max() < 1e-5


def test_export_command_checks_parity(push_run, tmp_path, capsys):
    out = tmp_path / "p.onnx"
    assert main(["export", "push", f"checkpoint={push_run / 'last.zip'}", f"out={out}", "check_episodes=1"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out) and out.stat().st_size > 0


def test_wandb_logger_works_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_dir = tmp_path / "wb"
    args = [
        "train",
        "skill=reach",
        "logger=wandb",
        f"run_dir={run_dir}",
        *TINY,
        "total_steps=150",
        "eval.video_episodes=0",
    ]
    assert main(args) == 0
    assert list((run_dir / "wandb").glob("offline-run-*")), "no offline wandb run written"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "skill=juggle"], "skill"),
        (["train", "algo=ddpg"], "algo"),
        (["train", "total_steps=-5"], "total_steps must be a positive integer"),
        (["train", "n_envs=0"], "n_envs must be a positive integer"),
        (["train", "device=tpu"], "device must be"),
        (["train", "skill=push", "algo.kwargs.learning_starts=50"], "learning_starts=50 must be at least"),
        (["train", "algo.her.n_steps=0"], "algo.her.n_steps must be a positive integer, got '0'"),
        (["train", "algo.her.goal_selection_strategy=past"], "algo.her.goal_selection_strategy"),
        (["train", "algo.kwargs.gamma=2"], "algo.kwargs.gamma must be <= 1.0, got '2'"),
        (["train", "resume=/nonexistent/run"], "no checkpoint"),
        (["eval-skill", "juggle"], "unknown skill 'juggle'"),
        (["eval-skill"], "name a skill"),
        (["eval-skill", "push", "checkpoint=/nonexistent/x.zip"], "not found"),
        (["eval-skill", "push", "episodes=-1"], "episodes must be a positive integer"),
        (["export", "push", "format=tflite"], "format must be one of"),
    ],
)
def test_bad_input_gets_one_clear_error_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_corrupt_checkpoint_is_reported(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    with pytest.raises(SkillError, match="not a stable-baselines3 zip"):
        load_policy("push", bad)
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("data", "{not json")
    with pytest.raises(SkillError, match="could not be loaded"):
        load_policy("push", broken)


def test_checkpoint_for_another_observation_space_is_refused(push_run):
    # Push (3 distractors) observations are 29 long; the default PickPlace env has no distractors.
    with pytest.raises(SkillError, match="trained for observations"):
        load_policy("pick_place", push_run / "last.zip")


def test_the_prior_anchor_runs_and_logs_the_residual(push_run):
    """The default recipe (prior_weight > 0) trains through ResidualSAC's anchored update."""
    header = (push_run / "logs" / "progress.csv").read_text().splitlines()[0].split(",")
    assert "train/residual" in header


@pytest.mark.parametrize(
    ("weight", "prior", "anchored"), [(2.0, "reach", True), (0.0, "reach", False), (2.0, "none", False)]
)
def test_tqc_takes_the_prior_anchor_too(tmp_path, weight, prior, anchored):
    """algo=tqc trains through the same anchored update (the residual is logged) with
    prior_weight > 0, and is sb3-contrib's own TQC update with 0, or with no prior to anchor to."""
    run_dir = tmp_path / "tqc"
    args = ["train", "skill=reach", "algo=tqc", f"algo.kwargs.prior_weight={weight}", f"skill.prior.kind={prior}"]
    assert main([*args, f"run_dir={run_dir}", *TINY, "eval.video_episodes=0"]) == 0
    header = (run_dir / "logs" / "progress.csv").read_text().splitlines()[0].split(",")
    assert "train/critic_loss" in header and ("train/residual" in header) == anchored


def test_train_under_randomization_records_it(tmp_path):
    run_dir = tmp_path / "rand"
    args = ["train", "skill=reach", "randomize=true", "randomization.delay=[1,1]", f"run_dir={run_dir}", *TINY]
    assert main([*args, "total_steps=150", "eval.video_episodes=0"]) == 0
    card = json.loads((run_dir / "card.json").read_text())
    assert card["randomization"]["delay"] == [1, 1]
    assert "randomisation (training and evaluation)" in (run_dir / "model_card.md").read_text()


def test_train_with_past_actions_and_run_it_only_with_them(tmp_path, capsys):
    """A short training run with the action history under delay; the checkpoint then runs
    with the same history and is refused, in one line, without it."""
    run_dir = tmp_path / "history"
    args = ["train", "skill=reach", "skill.task.action_history=3", "randomize=true", "randomization.delay=[2,2]"]
    assert main([*args, f"run_dir={run_dir}", *TINY, "total_steps=150", "eval.video_episodes=0"]) == 0
    card = json.loads((run_dir / "card.json").read_text())
    assert card["task"]["action_history"] == 3 and card["randomization"]["delay"] == [2, 2]
    checkpoint = f"checkpoint={run_dir / 'last.zip'}"
    assert main(["eval-skill", "reach", "episodes=2", checkpoint, "skill.task.action_history=3"]) == 0
    capsys.readouterr()
    assert main(["eval-skill", "reach", "episodes=2", checkpoint]) == 2
    err = capsys.readouterr().err
    assert "trained with its last 3 actions" in err and "task.action_history=3" in err and "Traceback" not in err


def test_train_with_the_latency_and_run_it_only_with_it(tmp_path, capsys):
    """A short training run with the arm's latency in the observation, drawn per episode;
    the checkpoint runs with it and is refused, in one line, by a config without it."""
    run_dir = tmp_path / "latency"
    task = ["skill.task.action_history=4", "skill.task.observe_latency=true", "skill.prior.lead_reference=3"]
    args = ["train", "skill=reach", *task, "randomize=true", "randomization.delay=[0,3]"]
    assert main([*args, f"run_dir={run_dir}", *TINY, "total_steps=150", "eval.video_episodes=0"]) == 0
    card = json.loads((run_dir / "card.json").read_text())
    assert card["task"]["observe_latency"] is True
    checkpoint = f"checkpoint={run_dir / 'last.zip'}"
    assert main(["eval-skill", "reach", "episodes=2", checkpoint, *task[:2], "randomize=true"]) == 0
    capsys.readouterr()
    assert main(["eval-skill", "reach", "episodes=2", checkpoint]) == 2
    err = capsys.readouterr().err
    assert "trained with the arm's latency" in err and "task.observe_latency=true" in err and "Traceback" not in err


def test_benchmark_recipes_train_on_panda_gym(tmp_path):
    """scripts/bench_training.py's two recipes (ours and the zoo's TQC) run end to end on panda-gym."""
    pytest.importorskip("panda_gym")
    for algo in ("sac", "tqc_zoo"):
        run_dir = tmp_path / algo
        # the zoo's TQC has no actor delay; panda-gym's envs have their own 50-step episodes
        tiny = [a for a in TINY if "actor_delay" not in a and "skill.task" not in a]
        args = ["train", "skill=panda_push", f"algo={algo}", f"run_dir={run_dir}", *tiny]
        assert main([*args, "total_steps=150", "eval.video_episodes=0", "algo.policy.net_arch=[16]"]) == 0
        card = json.loads((run_dir / "card.json").read_text())
        assert card["env_id"] == "PandaPush-v3" and card["task"] == {}
        assert card["prior"] == ("push" if algo == "sac" else "none")


def test_panda_gym_episodes_follow_the_seed():
    """panda-gym re-seeds from OS entropy on every unseeded reset; our wrapper makes it follow the seed."""
    pytest.importorskip("panda_gym")
    from embodied.learning.catalogue import skill_config
    from embodied.learning.envs import make_env

    def goals(seed: int) -> np.ndarray:
        env = make_env(skill_config("panda_push"))
        out = [env.reset(seed=seed)[0]["desired_goal"]]
        out += [env.reset()[0]["desired_goal"] for _ in range(3)]
        env.close()
        return np.array(out)

    first = goals(5)
    assert np.array_equal(first, goals(5))
    assert not np.array_equal(first, goals(6))
    assert len({tuple(g) for g in first}) == 4  # each episode still gets a new goal


def _start_training(run_dir, total: int, every: int):
    import subprocess
    import sys

    args = ["train", "skill=push", "seed=5", f"run_dir={run_dir}", *TINY[1:], "eval.every=0", "eval.video_episodes=0"]
    return subprocess.Popen(
        [sys.executable, "-m", "embodied.cli", *args, f"total_steps={total}", f"checkpoint_every={every}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path, proc, timeout: float = 120) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "training ended before its first checkpoint"
        time.sleep(0.2)


@pytest.mark.parametrize("kill", ["SIGKILL", "SIGINT"])
def test_interrupted_training_resumes_to_its_total(tmp_path, kill):
    """Killed at any point, a run keeps a checkpoint at most `checkpoint_every` steps old (SIGKILL)
    or saves where it stopped (Ctrl-C, exit 130); resuming reaches the total and appends the logs."""
    import csv
    import signal
    import time

    run = tmp_path / "run"
    proc = _start_training(run, total=4000, every=200)
    _wait_for(run / "last.zip", proc)
    time.sleep(0.5)
    proc.send_signal(getattr(signal, kill))
    _, err = proc.communicate(timeout=60)
    if kill == "SIGINT":
        assert proc.returncode == 130 and "Traceback" not in err and "stopped at" in err, err
    assert proc.returncode != 0  # it really was stopped before its total
    saved = load_policy("push", run / "last.zip").num_timesteps
    rows_before = list(csv.DictReader((run / "logs" / "progress.csv").open()))
    assert 200 <= saved < 4000 and rows_before
    total = saved + 300
    assert main(["train", "skill=push", f"resume={run}", *TINY[1:], "eval.every=0", f"total_steps={total}"]) == 0
    assert load_policy("push", run / "last.zip").num_timesteps == total
    rows = list(csv.DictReader((run / "logs" / "progress.csv").open()))
    steps = [int(r["time/total_timesteps"]) for r in rows if r.get("time/total_timesteps")]
    assert len(rows) > len(rows_before) and steps[0] <= saved < steps[-1]  # earlier rows kept, new ones after


def test_train_with_n_step_returns_uses_them(tmp_path):
    """`algo.her.n_steps` reaches the replay buffer through `embodied train`: the saved buffer
    samples n-step discounts (gamma**m, m <= n), and the run completes."""
    import pickle

    run_dir = tmp_path / "nstep"
    args = ["train", "skill=reach", "algo.her.n_steps=3", f"run_dir={run_dir}", *TINY]
    assert main([*args, "total_steps=150", "eval.video_episodes=0"]) == 0
    with open(run_dir / "last_replay_buffer.pkl", "rb") as f:
        buffer = pickle.load(f)
    assert buffer.n_steps == 3
    from stable_baselines3.common.vec_env import DummyVecEnv

    from embodied.learning.envs import make_env

    buffer.set_env(DummyVecEnv([lambda: make_env(skill_config("reach"))]))
    gamma = load_config("train", ["skill=reach"]).algo.kwargs.gamma
    discounts = buffer.sample(64).discounts.numpy().ravel()
    allowed = np.array([gamma**m for m in (1, 2, 3)])
    assert np.isclose(discounts[:, None], allowed[None, :]).any(axis=1).all()
    assert np.isclose(discounts, gamma**3).mean() > 0.5  # most transitions have 3 steps left
