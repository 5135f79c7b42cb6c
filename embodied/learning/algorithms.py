"""SAC and TQC with a slower, delayed actor: the residual-RL recipe that keeps a good prior.

With a motion prior the untrained policy already succeeds; a randomly initialised critic
would drag it away within a few hundred updates (measured: push success 100 % -> 0 % after
500 steps with plain SAC). The fix from residual policy learning (Silver et al. 2018) is a
critic burn-in: the actor's learning rate is 0 for the first ``actor_delay`` env steps, then
``actor_lr_scale`` times the critic's.

A burn-in alone was not enough for push: once the actor moved, it chased the critic's
over-estimates of actions the prior never took, and success fell from 93 % to 40 % within
20k steps. :class:`ResidualSAC` therefore anchors the actor to its prior as TD3+BC anchors
an offline actor to its data (Fujimoto & Gu 2021): the actor loss gains
``prior_weight * mean|Q| * mean(r**2)``, where ``r`` in [-1, 1] is the deterministic residual.
Scaling by ``mean|Q|`` makes the weight independent of the reward scale; the residual moves
only where the critic's advantage outweighs the penalty. :class:`ResidualTQC` has the same
anchor. With ``prior_weight=0`` (the default) the update is exactly stable-baselines3's SAC
(sb3-contrib's TQC).

PPO is stable-baselines3's own, unchanged: its residual lives in the policy
(:class:`embodied.learning.policies.ResidualPPOPolicy`), and a small learning rate, a KL stop
and large rollouts keep each update close to the prior (``configs/algo/ppo.yaml``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sb3_contrib import TQC
from sb3_contrib.common.utils import quantile_huber_loss
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.utils import polyak_update
from torch.nn import functional as F


class _DelayedActor:
    """Mixin: scale the actor optimizer's learning rate after SB3 sets it each ``train()``."""

    actor_delay: int
    actor_lr_scale: float

    def _init_delay(self, actor_delay: int, actor_lr_scale: float) -> None:
        if actor_delay < 0 or not 0 < actor_lr_scale <= 1:
            raise ValueError(f"need actor_delay >= 0 and 0 < actor_lr_scale <= 1, got {actor_delay}, {actor_lr_scale}")
        self.actor_delay = actor_delay
        self.actor_lr_scale = actor_lr_scale

    def _update_learning_rate(self, optimizers: Any) -> None:
        super()._update_learning_rate(optimizers)
        scale = 0.0 if self.num_timesteps < self.actor_delay else self.actor_lr_scale
        for group in self.actor.optimizer.param_groups:
            group["lr"] *= scale


class _AnchoredResidual(_DelayedActor):
    """Mixin: the off-policy update (critic, temperature, actor, Polyak) with the prior anchor
    on the actor (see the module docstring); the critic's loss and its value of the actor's
    action come from the algorithm (:meth:`_critic_loss`, :meth:`_q_pi`)."""

    prior_weight: float

    def __init__(
        self,
        *args: Any,
        actor_delay: int = 0,
        actor_lr_scale: float = 1.0,
        prior_weight: float = 0.0,
        **kwargs: Any,
    ) -> None:
        self._init_delay(actor_delay, actor_lr_scale)
        if prior_weight < 0:
            raise ValueError(f"prior_weight must be >= 0, got {prior_weight}")
        self.prior_weight = prior_weight
        super().__init__(*args, **kwargs)

    def _critic_loss(self, batch: Any, discounts: Any, ent_coef: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _q_pi(self, observations: Any, actions: torch.Tensor) -> torch.Tensor:
        """The critic's value of ``actions``: (B, 1)."""
        raise NotImplementedError

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """The algorithm's update plus the prior anchor on the actor."""
        if self.prior_weight == 0 or self.use_sde:
            return super().train(gradient_steps, batch_size)
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers.append(self.ent_coef_optimizer)
        self._update_learning_rate(optimizers)
        logs: dict[str, list[float]] = {k: [] for k in ("ent_coef", "actor_loss", "critic_loss", "residual")}
        for step in range(gradient_steps):
            batch = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            discounts = batch.discounts if batch.discounts is not None else self.gamma
            actions_pi, log_prob = self.actor.action_log_prob(batch.observations)
            log_prob = log_prob.reshape(-1, 1)
            if self.ent_coef_optimizer is not None:
                ent_coef = torch.exp(self.log_ent_coef.detach())
                ent_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
                self.ent_coef_optimizer.zero_grad()
                ent_loss.backward()
                self.ent_coef_optimizer.step()
            else:
                ent_coef = self.ent_coef_tensor
            critic_loss = self._critic_loss(batch, discounts, ent_coef)
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            q_pi = self._q_pi(batch.observations, actions_pi)
            mean_actions, _, _ = self.actor.get_action_dist_params(batch.observations)
            residual_sq = torch.tanh(mean_actions).pow(2).mean()
            anchor = self.prior_weight * q_pi.abs().mean().detach() * residual_sq
            actor_loss = (ent_coef * log_prob - q_pi).mean() + anchor
            self.actor.optimizer.zero_grad()
            actor_loss.backward()
            self.actor.optimizer.step()
            if step % self.target_update_interval == 0:
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)
            for key, value in (
                ("ent_coef", ent_coef.item()),
                ("actor_loss", actor_loss.item()),
                ("critic_loss", critic_loss.item()),
                ("residual", residual_sq.sqrt().item()),
            ):
                logs[key].append(value)
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        for key, values in logs.items():
            self.logger.record(f"train/{key}", float(np.mean(values)))


class ResidualSAC(_AnchoredResidual, SAC):
    """``stable_baselines3.SAC`` with a critic burn-in, a scaled actor learning rate and an
    optional pull of the residual toward zero (``prior_weight``, see the module docstring)."""

    def _critic_loss(self, batch: Any, discounts: Any, ent_coef: torch.Tensor) -> torch.Tensor:
        """Clipped double-Q: the smaller of the two target critics."""
        with torch.no_grad():
            next_actions, next_log_prob = self.actor.action_log_prob(batch.next_observations)
            next_q = torch.cat(self.critic_target(batch.next_observations, next_actions), dim=1)
            next_q = next_q.min(dim=1, keepdim=True).values - ent_coef * next_log_prob.reshape(-1, 1)
            target_q = batch.rewards + (1 - batch.dones) * discounts * next_q
        return 0.5 * sum(F.mse_loss(q, target_q) for q in self.critic(batch.observations, batch.actions))

    def _q_pi(self, observations: Any, actions: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.critic(observations, actions), dim=1).min(dim=1, keepdim=True).values


class ResidualTQC(_AnchoredResidual, TQC):
    """``sb3_contrib.TQC`` with a critic burn-in, a scaled actor learning rate and the same
    optional prior anchor as :class:`ResidualSAC`. TQC's critics are distributions of
    quantiles whose top ones are dropped from the target (Kuznetsov et al. 2020): less
    over-estimation of actions the prior never took, which is what the anchor guards against."""

    def _critic_loss(self, batch: Any, discounts: Any, ent_coef: torch.Tensor) -> torch.Tensor:
        """Quantile Huber loss against the target's quantiles, the top ones of each net dropped."""
        n = batch.rewards.shape[0]
        with torch.no_grad():
            next_actions, next_log_prob = self.actor.action_log_prob(batch.next_observations)
            next_quantiles = self.critic_target(batch.next_observations, next_actions)
            kept = self.critic.quantiles_total - self.top_quantiles_to_drop_per_net * self.critic.n_critics
            next_quantiles = torch.sort(next_quantiles.reshape(n, -1)).values[:, :kept]
            target = next_quantiles - ent_coef * next_log_prob.reshape(-1, 1)
            target = (batch.rewards + (1 - batch.dones) * discounts * target).unsqueeze(1)
        current = self.critic(batch.observations, batch.actions)
        return quantile_huber_loss(current, target, sum_over_quantiles=False)

    def _q_pi(self, observations: Any, actions: torch.Tensor) -> torch.Tensor:
        return self.critic(observations, actions).mean(dim=2).mean(dim=1, keepdim=True)


ALGORITHMS = {"sac": ResidualSAC, "tqc": ResidualTQC, "ppo": PPO}
"""Algorithm classes by config name (with the defaults they are plain SAC / TQC; PPO is SB3's)."""
