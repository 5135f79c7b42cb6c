"""SAC and TQC with a slower, delayed actor: the residual-RL recipe that keeps a good prior.

With a motion prior the untrained policy already succeeds; a randomly initialised critic
would drag it away within a few hundred updates (measured: push success 100 % -> 0 % after
500 steps with plain SAC). The fix from residual policy learning (Silver et al. 2018) is a
critic burn-in: the actor's learning rate is 0 for the first ``actor_delay`` env steps, then
``actor_lr_scale`` times the critic's. Everything else is stable-baselines3's algorithm.
"""

from __future__ import annotations

from typing import Any

from sb3_contrib import TQC
from stable_baselines3 import SAC


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


class ResidualSAC(_DelayedActor, SAC):
    """``stable_baselines3.SAC`` with a critic burn-in and a scaled actor learning rate."""

    def __init__(self, *args: Any, actor_delay: int = 0, actor_lr_scale: float = 1.0, **kwargs: Any) -> None:
        self._init_delay(actor_delay, actor_lr_scale)
        super().__init__(*args, **kwargs)


class ResidualTQC(_DelayedActor, TQC):
    """``sb3_contrib.TQC`` with a critic burn-in and a scaled actor learning rate."""

    def __init__(self, *args: Any, actor_delay: int = 0, actor_lr_scale: float = 1.0, **kwargs: Any) -> None:
        self._init_delay(actor_delay, actor_lr_scale)
        super().__init__(*args, **kwargs)


ALGORITHMS = {"sac": ResidualSAC, "tqc": ResidualTQC}
"""Algorithm classes by config name (with the defaults they are plain SAC / TQC)."""
