"""SAC/TQC/PPO policies for the skills: observation normalisation and a residual over a motion prior.

Two additions to stable-baselines3's ``MultiInputPolicy``, both inside the network so that a
saved zip, ``predict`` and an exported ONNX file all behave the same:

* :class:`NormalizedExtractor` flattens the goal-conditioned observation dict and applies a
  fixed per-dimension normalisation measured before training (stored with the policy).
* The residual actors output ``action = clip(prior(s, g) + scale * tanh(mu(s, g) + noise))``:
  the scripted prior's action (``embodied.learning.priors``) plus a learned residual bounded by
  ``scale``. The replay buffer stores this whole action and the critic scores it, and the
  prior is recomputed inside the actor for every sampled observation, so HER's relabelled
  goals stay consistent (the actor proposes the prior's action *for the relabelled goal*).
  ``mu`` starts at zero, so the untrained policy is exactly the prior; the bound keeps a
  poorly trained critic from dragging the policy far from it. (A first version shifted the
  Gaussian mean by ``atanh(prior)``: SAC's entropy term then pulled saturated prior actions
  toward zero and push success fell from 100 % to 0 % within 2k steps.)
* :class:`ResidualPPOPolicy` is the on-policy counterpart: a Gaussian whose *mean* is
  ``prior(s, g) + scale * tanh(mu(s, g))`` with a learned state-independent std, ``mu``'s output
  layer zeroed. PPO needs no relabelling; its advantages come from the episodes' own returns,
  so the steps a faster action saves are what it sees (docs/sim-to-real.md, "Speed").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from gymnasium import spaces
from sb3_contrib.tqc.policies import Actor as TQCActor
from sb3_contrib.tqc.policies import MultiInputPolicy as TQCMultiInputPolicy
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import MultiInputActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.sac.policies import Actor as SACActor
from stable_baselines3.sac.policies import MultiInputPolicy as SACMultiInputPolicy
from torch import nn

from embodied.learning.priors import ObsLayout, PriorConfig, prior_action

OBS_KEYS = ("achieved_goal", "desired_goal", "observation")
"""Order in which the dict observation is flattened (SB3's CombinedExtractor order)."""


class NormalizedExtractor(BaseFeaturesExtractor):
    """Flatten ``achieved_goal, desired_goal, observation`` and normalise: ``clip((x - mean) / std, ±clip)``.

    ``mean`` and ``std`` (lists, one entry per flat dimension) are measured from rollouts
    before training and saved with the policy; None means identity.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        clip: float = 10.0,
    ) -> None:
        for key in OBS_KEYS:
            if key not in observation_space.spaces:
                raise ValueError(f"observation space lacks {key!r}; skills need a goal-conditioned env")
        dim = sum(int(observation_space[k].shape[0]) for k in OBS_KEYS)
        super().__init__(observation_space, features_dim=dim)
        mean_t = torch.zeros(dim) if mean is None else torch.as_tensor(mean, dtype=torch.float32)
        std_t = torch.ones(dim) if std is None else torch.as_tensor(std, dtype=torch.float32)
        if mean_t.shape != (dim,) or std_t.shape != (dim,):
            raise ValueError(f"normalisation has {mean_t.shape[0]}/{std_t.shape[0]} entries, observation has {dim}")
        self.register_buffer("mean", mean_t)
        self.register_buffer("std", std_t.clamp_min(1e-3))
        self.clip = clip

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        x = torch.cat([observations[k].flatten(1) for k in OBS_KEYS], dim=1)
        return torch.clamp((x - self.mean) / self.std, -self.clip, self.clip)


def _prior_parameters(module: Any) -> dict[str, Any]:
    """The constructor arguments that rebuild ``module``'s prior and residual (saved in the zip)."""
    return {
        "prior": dict(vars(module.prior_config)),
        "layout": dict(vars(module.layout)),
        "initial_std": module.initial_std,
        "residual_scale": module.residual_scale,
    }


class _PriorShift:
    """Mixin for SB3 actors: the action is the prior's plus a bounded learned residual."""

    def __init__(
        self, *args: Any, prior=None, layout=None, initial_std: float = 0.3, residual_scale: float = 0.3, **kwargs: Any
    ) -> None:  # noqa: ANN001
        super().__init__(*args, **kwargs)
        self._init_prior(prior, layout, initial_std, residual_scale)

    def _init_prior(
        self, prior: dict[str, Any] | None, layout: dict[str, Any] | None, initial_std: float, residual_scale: float
    ) -> None:
        self.prior_config = PriorConfig(**(prior or {}))
        self.layout = ObsLayout(**(layout or {}))
        self.initial_std = initial_std
        self.residual_scale = residual_scale
        if not 0 < residual_scale <= 1:
            raise ValueError(f"residual_scale must be in (0, 1], got {residual_scale}")
        # Without a prior the "residual" is the whole action: plain SAC/TQC.
        self.scale = 1.0 if self.prior_config.kind == "none" else residual_scale
        if self.prior_config.kind != "none":
            # Zero output layer: the untrained policy's deterministic action is exactly the prior.
            nn.init.zeros_(self.mu.weight)
            nn.init.zeros_(self.mu.bias)
        # A state-independent initial exploration noise; SAC tunes it from here.
        nn.init.zeros_(self.log_std.weight)
        nn.init.constant_(self.log_std.bias, math.log(initial_std))

    def compose(self, obs: dict[str, torch.Tensor], residual: torch.Tensor) -> torch.Tensor:
        """Prior action plus ``scale`` times the residual in [-1, 1], clipped to the action box."""
        if self.prior_config.kind == "none":
            return residual
        prior = prior_action(
            obs["observation"], obs["desired_goal"], self.layout, self.prior_config, self.action_space.shape[0]
        )
        return torch.clamp(prior + self.scale * residual, -1.0, 1.0)

    def forward(self, obs, deterministic: bool = False) -> torch.Tensor:  # noqa: ANN001 (SB3 signature)
        return self.compose(obs, super().forward(obs, deterministic))

    def action_log_prob(self, obs) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001 (SB3 signature)
        residual, log_prob = super().action_log_prob(obs)
        # Density of prior + scale * r: shifted (no change) and scaled by `scale` per dimension.
        log_prob = log_prob - residual.shape[-1] * math.log(self.scale)
        return self.compose(obs, residual), log_prob

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), **_prior_parameters(self)}


class SACResidualActor(_PriorShift, SACActor):
    """SAC actor with a motion prior (see module docstring)."""


class TQCResidualActor(_PriorShift, TQCActor):
    """TQC actor with a motion prior (see module docstring)."""


class _ResidualPolicyMixin:
    actor_class: type

    def __init__(
        self, *args: Any, prior=None, layout=None, initial_std: float = 0.3, residual_scale: float = 0.3, **kwargs: Any
    ) -> None:  # noqa: ANN001
        self._prior_kwargs = {
            "prior": prior,
            "layout": layout,
            "initial_std": initial_std,
            "residual_scale": residual_scale,
        }
        kwargs.setdefault("features_extractor_class", NormalizedExtractor)
        super().__init__(*args, **kwargs)

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None):  # noqa: ANN201
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return self.actor_class(**actor_kwargs, **self._prior_kwargs).to(self.device)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(self._prior_kwargs)
        return data


class SACResidualPolicy(_ResidualPolicyMixin, SACMultiInputPolicy):
    """``MultiInputPolicy`` for SAC with a normalising extractor and a motion-prior actor."""

    actor_class = SACResidualActor


class TQCResidualPolicy(_ResidualPolicyMixin, TQCMultiInputPolicy):
    """``MultiInputPolicy`` for TQC with a normalising extractor and a motion-prior actor."""

    actor_class = TQCResidualActor


class ResidualPPOPolicy(MultiInputActorCriticPolicy):
    """Actor-critic for PPO whose Gaussian mean is the prior's action plus a bounded residual.

    ``mean = prior(s, g) + residual_scale * tanh(mu(s, g))`` (action units), ``mu`` zeroed at
    the start so the untrained mean is exactly the prior; the std starts at ``initial_std``
    (action units, state-independent, learned). ``predict(deterministic=True)`` returns the
    mean clipped to the action box, as SB3 does for any Gaussian policy. Without a prior
    (``kind: none``) this is SB3's ``MultiInputPolicy`` with our normalisation.
    """

    def __init__(
        self, *args: Any, prior=None, layout=None, initial_std: float = 0.05, residual_scale: float = 0.3, **kwargs: Any
    ) -> None:  # noqa: ANN001
        if not 0 < residual_scale <= 1 or initial_std <= 0:
            raise ValueError(f"need 0 < residual_scale <= 1 and initial_std > 0, got {residual_scale}, {initial_std}")
        self.prior_config = PriorConfig(**(prior or {}))
        self.layout = ObsLayout(**(layout or {}))
        self.initial_std = initial_std
        self.residual_scale = residual_scale
        kwargs.setdefault("features_extractor_class", NormalizedExtractor)
        kwargs.setdefault("log_std_init", math.log(initial_std))
        super().__init__(*args, **kwargs)
        if self.prior_config.kind != "none":
            nn.init.zeros_(self.action_net.weight)
            nn.init.zeros_(self.action_net.bias)

    def _latents(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The policy's and the value function's latent codes, as SB3's ``forward`` computes them."""
        features = self.extract_features(obs)
        if self.share_features_extractor:
            return self.mlp_extractor(features)
        pi_features, vf_features = features
        return self.mlp_extractor.forward_actor(pi_features), self.mlp_extractor.forward_critic(vf_features)

    def _mean(self, obs: dict[str, torch.Tensor], latent_pi: torch.Tensor) -> torch.Tensor:
        if self.prior_config.kind == "none":
            return self.action_net(latent_pi)
        prior = prior_action(
            obs["observation"], obs["desired_goal"], self.layout, self.prior_config, self.action_space.shape[0]
        )
        return prior + self.residual_scale * torch.tanh(self.action_net(latent_pi))

    def mean_actions(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The Gaussian's mean (B, A) in action units, before clipping: the deterministic action."""
        return self._mean(obs, self._latents(obs)[0])

    def _distribution(self, obs: dict[str, torch.Tensor], latent_pi: torch.Tensor) -> Distribution:
        return self.action_dist.proba_distribution(self._mean(obs, latent_pi), self.log_std)

    def forward(self, obs, deterministic: bool = False):  # noqa: ANN001, ANN201 (SB3 signature)
        latent_pi, latent_vf = self._latents(obs)
        dist = self._distribution(obs, latent_pi)
        actions = dist.get_actions(deterministic=deterministic)
        return actions, self.value_net(latent_vf), dist.log_prob(actions)

    def evaluate_actions(self, obs, actions: torch.Tensor):  # noqa: ANN001, ANN201 (SB3 signature)
        latent_pi, latent_vf = self._latents(obs)
        dist = self._distribution(obs, latent_pi)
        return self.value_net(latent_vf), dist.log_prob(actions), dist.entropy()

    def get_distribution(self, obs) -> Distribution:  # noqa: ANN001 (SB3 signature)
        return self._distribution(obs, self._latents(obs)[0])

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), **_prior_parameters(self)}


POLICIES = {"sac": SACResidualPolicy, "tqc": TQCResidualPolicy, "ppo": ResidualPPOPolicy}
"""Policy class per algorithm name."""


def prior_owner(model: Any) -> Any:
    """The module of ``model``'s policy that holds its motion prior (``prior_config``): the
    actor of SAC/TQC, the policy itself for PPO; None for a policy without one."""
    policy = model.policy
    owner = getattr(policy, "actor", policy)
    return owner if hasattr(owner, "prior_config") else None
