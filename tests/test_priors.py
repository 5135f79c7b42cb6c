"""The scripted motion priors and the residual policy built on them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import sims  # noqa: F401
from embodied.learning.priors import ObsLayout, PriorConfig, prior_action


def run_prior(env_id: str, kind: str, episodes: int, task: dict | None = None) -> float:
    env = gym.make(env_id, task_config=task or {})
    cfg, layout = PriorConfig(kind=kind), ObsLayout()
    wins = 0
    for ep in range(episodes):
        obs, _ = env.reset(seed=500 + ep)
        done = False
        while not done:
            o = torch.as_tensor(obs["observation"])[None]
            g = torch.as_tensor(obs["desired_goal"])[None]
            obs, _, terminated, truncated, info = env.step(
                prior_action(o, g, layout, cfg, env.action_space.shape[0])[0]
            )
            done = terminated or truncated
        wins += bool(info["is_success"])
    env.close()
    return wins / episodes


@pytest.mark.parametrize(
    ("env_id", "kind", "task"),
    [
        ("embodied/Push-v0", "push", {}),
        ("embodied/PickPlace-v0", "pick_place", {}),
        ("embodied/PickPlace-v0", "pick_place", {"distractors": 3, "object": "random", "on_cube_goal_prob": 0.5}),
    ],
)
def test_prior_alone_solves_most_episodes_in_real_physics(env_id, kind, task):
    assert run_prior(env_id, kind, 8, task) >= 0.75


def test_prior_is_batched_row_by_row():
    rng = np.random.default_rng(0)
    obs = torch.as_tensor(rng.uniform(-0.3, 0.6, (16, 20)), dtype=torch.float32)
    goal = torch.as_tensor(rng.uniform(-0.3, 0.6, (16, 3)), dtype=torch.float32)
    for kind, dim in (("reach", 3), ("push", 3), ("pick_place", 4)):
        cfg = PriorConfig(kind=kind)
        batch = prior_action(obs, goal, ObsLayout(), cfg, dim)
        rows = torch.cat([prior_action(obs[i : i + 1], goal[i : i + 1], ObsLayout(), cfg, dim) for i in range(16)])
        assert torch.allclose(batch, rows)
        assert batch.abs().max() <= 1.0


def test_prior_rejects_unknown_kind_and_wrong_action_size():
    with pytest.raises(ValueError, match="kind"):
        PriorConfig(kind="juggle")
    with pytest.raises(ValueError, match="action dims"):
        prior_action(torch.zeros(1, 20), torch.zeros(1, 3), ObsLayout(), PriorConfig(kind="push"), 4)


def test_untrained_residual_policy_acts_exactly_like_the_prior_and_stays_in_bounds():
    from stable_baselines3 import HerReplayBuffer

    from embodied.learning.algorithms import ResidualSAC
    from embodied.learning.policies import SACResidualPolicy

    env = gym.make("embodied/PickPlace-v0")
    model = ResidualSAC(
        SACResidualPolicy,
        env,
        replay_buffer_class=HerReplayBuffer,
        policy_kwargs={"prior": {"kind": "pick_place"}, "net_arch": [16], "residual_scale": 0.3},
        seed=0,
    )
    obs, _ = env.reset(seed=3)
    expected = prior_action(
        torch.as_tensor(obs["observation"])[None],
        torch.as_tensor(obs["desired_goal"])[None],
        ObsLayout(),
        PriorConfig(kind="pick_place"),
        4,
    )[0].numpy()
    action, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(action, expected, atol=1e-6)
    # Stochastic actions: the prior plus at most residual_scale, within the action box.
    tensors, _ = model.policy.obs_to_tensor(obs)
    samples, log_prob = model.policy.actor.action_log_prob({k: v.repeat(256, 1) for k, v in tensors.items()})
    assert samples.abs().max() <= 1.0
    assert (samples - torch.as_tensor(expected)).abs().max() <= 0.3 + 1e-6
    assert torch.isfinite(log_prob).all()
    env.close()
