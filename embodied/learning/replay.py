"""HER replay with n-step returns: credit for actions whose effect arrives periods later.

With an actuation delay of d control periods, the action chosen at step t first moves the
arm at step t + d: the next d rewards do not depend on it at all. A one-step critic target
``r_t + gamma * Q(s_{t+1}, pi(s_{t+1}))`` then learns how Q depends on the action only
through d chained bootstraps, each adding its own error, and the actor follows those errors
(Bouteiller et al., ICLR 2021, make the same argument for delayed MDPs). An n-step target
with n > d puts the rewards the action actually changes into the target itself:

    y_t = sum_{k<m} gamma**k r_{t+k} + gamma**m * Q(s_{t+m}, pi(s_{t+m})),   m = min(n, steps left)

The actions in between come from the behaviour policy, so the target is slightly off-policy;
for a residual policy anchored to its prior they are close to the current policy's.

stable-baselines3 ships n-step returns for flat observations (``NStepReplayBuffer``) but not
for HER's dict observations; this class adds them to ``HerReplayBuffer``. Rewards of
relabelled (virtual) transitions are recomputed for every step of the window with the new
goal. ``n_steps=1`` is exactly ``HerReplayBuffer``. On push under the default randomisation
``n_steps=4`` made no measurable difference against a one-step control (docs/sim-to-real.md),
so the shipped recipe keeps 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3 import HerReplayBuffer
from stable_baselines3.common.type_aliases import DictReplayBufferSamples
from stable_baselines3.common.vec_env import VecNormalize


class NStepHerReplayBuffer(HerReplayBuffer):
    """``HerReplayBuffer`` whose samples carry n-step returns and their bootstrap discounts.

    :param n_steps: env steps summed into each target (1 = plain HER).
    :param gamma: the algorithm's discount (the sampled ``discounts`` are ``gamma**m``).
    Other arguments are ``HerReplayBuffer``'s.
    """

    def __init__(self, *args: Any, n_steps: int = 1, gamma: float = 0.99, **kwargs: Any) -> None:
        if int(n_steps) != n_steps or n_steps < 1:
            raise ValueError(f"n_steps must be a whole number >= 1, got {n_steps}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma}")
        super().__init__(*args, **kwargs)
        self.n_steps = int(n_steps)
        self.gamma = float(gamma)
        self._discounts: list[torch.Tensor] = []

    def sample(self, batch_size: int, env: VecNormalize | None = None) -> DictReplayBufferSamples:  # type: ignore[override]
        """HER's sample (real transitions first, then relabelled ones), with their discounts."""
        self._discounts = []
        samples = super().sample(batch_size, env)
        if self.n_steps == 1:
            return samples
        # HerReplayBuffer.sample concatenates the real and the virtual part in this order.
        return samples._replace(discounts=torch.cat(self._discounts))

    def _get_real_samples(
        self, batch_indices: np.ndarray, env_indices: np.ndarray, env: VecNormalize | None = None
    ) -> DictReplayBufferSamples:
        if self.n_steps == 1:
            return super()._get_real_samples(batch_indices, env_indices, env)
        goals = self.observations["desired_goal"][batch_indices, env_indices]
        return self._n_step_samples(batch_indices, env_indices, goals, relabelled=False, env=env)

    def _get_virtual_samples(
        self, batch_indices: np.ndarray, env_indices: np.ndarray, env: VecNormalize | None = None
    ) -> DictReplayBufferSamples:
        if self.n_steps == 1:
            return super()._get_virtual_samples(batch_indices, env_indices, env)
        goals = self._sample_goals(batch_indices, env_indices)
        return self._n_step_samples(batch_indices, env_indices, goals, relabelled=True, env=env)

    def window(self, batch_indices: np.ndarray, env_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Buffer indices of the n transitions from each sampled one, clipped at its episode's
        last transition: ``(indices (B, n), valid (B, n) bool)``. Only whole episodes are
        sampled (HER's rule), so every episode's end is known."""
        start = self.ep_start[batch_indices, env_indices]
        length = self.ep_length[batch_indices, env_indices]
        in_episode = (batch_indices - start) % self.buffer_size
        offsets = in_episode[:, None] + np.arange(self.n_steps)[None, :]
        valid = offsets < length[:, None]
        # A transition that ended the episode by termination (not a timeout) also ends the window.
        indices = (start[:, None] + np.minimum(offsets, length[:, None] - 1)) % self.buffer_size
        terminal = self.dones[indices, env_indices[:, None]] * (1 - self.timeouts[indices, env_indices[:, None]])
        ended_before = np.cumsum(terminal, axis=1) - terminal > 0
        return indices, valid & ~ended_before

    def _n_step_samples(
        self,
        batch_indices: np.ndarray,
        env_indices: np.ndarray,
        goals: np.ndarray,
        relabelled: bool,
        env: VecNormalize | None,
    ) -> DictReplayBufferSamples:
        indices, valid = self.window(batch_indices, env_indices)
        envs = env_indices[:, None]
        if relabelled:
            achieved = self.next_observations["achieved_goal"][indices, envs]  # (B, n, goal)
            flat = achieved.reshape(-1, achieved.shape[-1])
            repeated = np.repeat(goals, self.n_steps, axis=0)
            assert self.env is not None, "NStepHerReplayBuffer needs its VecEnv to compute relabelled rewards"
            rewards = self.env.env_method("compute_reward", flat, repeated, [{}] * len(flat), indices=[0])[0]
            rewards = np.asarray(rewards, dtype=np.float32).reshape(indices.shape)
        else:
            rewards = self.rewards[indices, envs].astype(np.float32)
        steps = valid.sum(axis=1)  # m >= 1: the sampled transition itself is always valid
        discount_k = self.gamma ** np.arange(self.n_steps, dtype=np.float32)[None, :]
        returns = (self._normalize_reward(rewards, env) * discount_k * valid).sum(axis=1, keepdims=True)
        last = indices[np.arange(len(indices)), steps - 1]

        obs = {key: value[batch_indices, env_indices] for key, value in self.observations.items()}
        next_obs = {key: value[last, env_indices] for key, value in self.next_observations.items()}
        obs["desired_goal"] = goals
        next_obs["desired_goal"] = goals
        obs = self._normalize_obs(obs, env)  # type: ignore[assignment]
        next_obs = self._normalize_obs(next_obs, env)  # type: ignore[assignment]
        dones = self.dones[last, env_indices] * (1 - self.timeouts[last, env_indices])
        discounts = self.to_torch((self.gamma**steps).astype(np.float32).reshape(-1, 1))
        self._discounts.append(discounts)
        return DictReplayBufferSamples(
            observations={key: self.to_torch(value) for key, value in obs.items()},
            actions=self.to_torch(self.actions[batch_indices, env_indices]),
            next_observations={key: self.to_torch(value) for key, value in next_obs.items()},
            dones=self.to_torch(dones).reshape(-1, 1),
            rewards=self.to_torch(returns.astype(np.float32)),
            discounts=discounts,
        )
