"""`embodied train algo=ppo`: the on-policy residual over the motion prior, end to end on tiny
real runs (training, run folder, loading, resume, export parity, prior overrides, bad input)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from test_training import QUICK

from embodied.cli import main
from embodied.learning.catalogue import prior_layout, skill_config
from embodied.learning.checkpoints import load_policy

TINY = [
    "algo=ppo",
    *QUICK,
    "algo.kwargs.n_steps=128",  # 256 transitions per update
    "algo.kwargs.batch_size=64",
    "algo.kwargs.n_epochs=2",
    "algo.policy.net_arch={pi:[32,32],vf:[32,32]}",
    "eval.every=256",
    "eval.video_episodes=0",
]


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory):
    """One tiny real PPO run on Push with its prior, under the default randomisation."""
    run_dir = tmp_path_factory.mktemp("ppo") / "push"
    assert (
        main(["train", "skill=push", "seed=2", "randomize=true", "total_steps=512", f"run_dir={run_dir}", *TINY]) == 0
    )
    return run_dir


def _observations(n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` real reset observations of the push env (batch-first, float32)."""
    from embodied.learning.envs import make_env

    env = make_env(skill_config("push"))
    rows = [env.reset(seed=seed + i)[0] for i in range(n)]
    env.close()
    return {k: np.stack([r[k] for r in rows]).astype(np.float32) for k in rows[0]}


def _prior(batch: dict[str, np.ndarray], **overrides) -> np.ndarray:
    from embodied.learning.priors import ObsLayout, PriorConfig, prior_action

    cfg = skill_config("push")
    prior = PriorConfig(**{**dict(cfg.prior), **overrides})
    obs, goal = (torch.as_tensor(batch[k]) for k in ("observation", "desired_goal"))
    return prior_action(obs, goal, ObsLayout(**prior_layout(cfg)), prior, 3).numpy()


def test_ppo_run_folder_has_a_model_and_no_replay_buffer(ppo_run):
    for name in ("config.yaml", "best.zip", "last.zip", "evaluations.json", "model_card.md", "card.json"):
        assert (ppo_run / name).is_file(), name
    assert not (ppo_run / "last_replay_buffer.pkl").exists()
    card = json.loads((ppo_run / "card.json").read_text())
    assert card["algo"] == "ppo" and card["steps"] == 512 and card["randomization"]["delay"] == [0, 3]
    assert (ppo_run / "model_card.md").read_text().startswith("# push skill (PPO, prior: push)")
    header = (ppo_run / "logs" / "progress.csv").read_text().splitlines()[0].split(",")
    assert "train/approx_kl" in header  # PPO's own update ran and was logged


def test_the_untrained_ppo_policy_acts_as_its_prior_and_training_moves_it(ppo_run):
    from stable_baselines3 import PPO

    from embodied.learning.policies import ResidualPPOPolicy

    batch = _observations(6, 31)
    model = load_policy("push", ppo_run / "last.zip")
    assert isinstance(model, PPO) and isinstance(model.policy, ResidualPPOPolicy)
    prior = _prior(batch)
    # A fresh policy of the same kind: its deterministic action is exactly the prior's.
    fresh = ResidualPPOPolicy(
        model.observation_space,
        model.action_space,
        lambda _: 1e-4,
        prior=dict(skill_config("push").prior),
        layout=prior_layout(skill_config("push")),
        net_arch={"pi": [32, 32], "vf": [32, 32]},
    )
    np.testing.assert_allclose(fresh.predict(batch, deterministic=True)[0], np.clip(prior, -1, 1), atol=1e-6)
    assert np.allclose(np.exp(fresh.log_std.detach().numpy()), 0.05)
    # The trained one has moved off it, by no more than the residual bound.
    trained = model.predict(batch, deterministic=True)[0]
    gap = np.abs(trained - np.clip(prior, -1, 1)).max()
    assert 1e-6 < gap <= 0.3 + 1e-6, gap


def test_ppo_checkpoint_exports_with_parity(ppo_run, tmp_path):
    from embodied.learning.export import collect_observations, export_policy, run_exported, torch_actions

    model = load_policy("push", ppo_run / "last.zip")
    batch = collect_observations(skill_config("push"), model, 2, 5)
    noisy = {
        k: v + np.float32(0.05) * np.random.default_rng(0).normal(size=v.shape).astype(np.float32)
        for k, v in batch.items()
    }
    both = {k: np.concatenate([batch[k], noisy[k]]) for k in batch}
    path = export_policy(model, tmp_path / "push.onnx", "onnx", {k: v[0] for k, v in both.items()})
    assert np.abs(run_exported(path, both) - torch_actions(model, both)).max() < 1e-5


def test_ppo_without_the_residual_exports_too(tmp_path):
    run = tmp_path / "plain"
    assert main(["train", "skill=reach", "total_steps=256", "algo.residual=false", f"run_dir={run}", *TINY]) == 0
    from embodied.learning.export import collect_observations, export_policy, run_exported, torch_actions

    model = load_policy("reach", run / "last.zip")
    batch = collect_observations(skill_config("reach"), model, 1, 3)
    path = export_policy(model, tmp_path / "reach.onnx", "onnx", {k: v[0] for k, v in batch.items()})
    assert np.abs(run_exported(path, batch) - torch_actions(model, batch)).max() < 1e-5


def test_ppo_resumes_without_a_replay_buffer(ppo_run, tmp_path):
    run = tmp_path / "resumed"
    shutil.copytree(ppo_run, run)
    assert main(["train", "skill=push", f"resume={run}", "randomize=true", "total_steps=768", *TINY]) == 0
    assert load_policy("push", run / "last.zip").num_timesteps == 768
    history = json.loads((run / "evaluations.json").read_text())
    assert history[-1]["steps"] == 768 and any(h["steps"] == 512 for h in history)


def test_execution_prior_overrides_reach_the_ppo_prior(ppo_run):
    from embodied.learning.compiled_policy import apply_prior_overrides
    from embodied.learning.policies import prior_owner

    model = load_policy("push", ppo_run / "last.zip")
    batch = _observations(8, 70)
    before = model.predict(batch, deterministic=True)[0]
    apply_prior_overrides(model, "push", {"gain": 0.2})
    assert prior_owner(model).prior_config.gain == 0.2
    after = model.predict(batch, deterministic=True)[0]
    # The residual is unchanged: the whole difference is the prior's.
    shift = np.clip(_prior(batch, gain=0.2), -1, 1) - np.clip(_prior(batch), -1, 1)
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after - before, shift, atol=0.31)
    with pytest.raises(ValueError, match="bad prior override"):
        apply_prior_overrides(model, "push", {"gain": "fast"})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["algo=ppo", "algo.her={n_sampled_goal:4,goal_selection_strategy:future}"], "ppo is on-policy"),
        (["algo=sac", "algo.her=null"], "sac needs HER settings"),
        (["algo=ppo", "algo.policy.residual_scale=2"], "residual_scale"),
    ],
)
def test_algorithm_and_replay_mismatch_is_one_clear_error(argv, message, capsys):
    assert main(["train", "skill=push", "total_steps=256", "progress=false", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
