"""Export a skill policy as a self-contained ONNX or TorchScript file.

The exported graph takes the three parts of the goal-conditioned observation (batch-first,
float32, metres / world frame as the env gives them) and returns the deterministic action in
the env's units. It contains everything between them: the observation normalisation, the
motion prior, the actor network and the squashing, so nothing else from this package is
needed to run it (e.g. ``onnxruntime`` on the robot's computer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from embodied.learning.envs import make_env
from embodied.learning.evaluation import evaluate
from embodied.learning.policies import OBS_KEYS

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
"""Export formats and their file suffixes."""


class DeterministicActor(nn.Module):
    """``(achieved_goal, desired_goal, observation) -> action``, as ``model.predict(deterministic=True)``."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        # SAC/TQC: a squashed actor; PPO: an actor-critic whose Gaussian mean is the action.
        self.actor = getattr(model.policy, "actor", None)
        self.policy = model.policy if self.actor is None else None
        space = model.action_space
        self.register_buffer("low", torch.as_tensor(space.low, dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(space.high, dtype=torch.float32))

    def forward(
        self, achieved_goal: torch.Tensor, desired_goal: torch.Tensor, observation: torch.Tensor
    ) -> torch.Tensor:
        obs = {"achieved_goal": achieved_goal, "desired_goal": desired_goal, "observation": observation}
        if self.policy is not None:
            # SB3 clips an unsquashed Gaussian's action to the box (predict); so does this.
            mean = self.policy.mean_actions(obs) if hasattr(self.policy, "mean_actions") else self._plain_mean(obs)
            return torch.clamp(mean, self.low, self.high)
        # The deterministic action without building a torch distribution (its argument checks
        # are data-dependent branches that torch.export cannot trace): tanh of the mean, plus
        # the prior for our residual actors. The parity check compares it with predict().
        mean, _, _ = self.actor.get_action_dist_params(obs)
        squashed = torch.tanh(mean)
        if hasattr(self.actor, "compose"):
            squashed = self.actor.compose(obs, squashed)
        return self.low + 0.5 * (squashed + 1.0) * (self.high - self.low)

    def _plain_mean(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """SB3's own actor-critic (``algo.residual: false``): ``action_net`` of the policy latent."""
        features = self.policy.extract_features(obs, self.policy.pi_features_extractor)
        return self.policy.action_net(self.policy.mlp_extractor.forward_actor(features))


def export_policy(model: Any, path: Path, fmt: str, example: dict[str, np.ndarray]) -> Path:
    """Write ``model``'s deterministic actor to ``path`` in ``fmt`` ("onnx" or "torchscript").

    ``example`` is one observation dict (used for tracing; the batch axis stays dynamic).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    module = DeterministicActor(model).to("cpu").eval()
    # Two identical rows: torch.export fixes any axis whose example size is 1, the batch included.
    args = tuple(
        torch.as_tensor(np.asarray(example[k], dtype=np.float32)).reshape(1, -1).repeat(2, 1) for k in OBS_KEYS
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        if fmt == "torchscript":
            torch.jit.trace(module, args).save(str(path))
        else:
            # torch's current exporter (torch.export + dynamo); the batch axis stays dynamic.
            batch = torch.export.Dim("batch", min=1)
            program = torch.onnx.export(
                module,
                args,
                input_names=list(OBS_KEYS),
                output_names=["action"],
                dynamic_shapes={k: {0: batch} for k in OBS_KEYS},
                dynamo=True,
                optimize=True,
                verbose=False,
            )
            program.save(str(path))
    return path


def run_exported(path: Path, batch: dict[str, np.ndarray]) -> np.ndarray:
    """Actions from an exported file for a batch of observations (B, ...) -> (B, action_dim)."""
    inputs = {k: np.asarray(batch[k], dtype=np.float32) for k in OBS_KEYS}
    if path.suffix == ".onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(["action"], inputs)[0]
    module = torch.jit.load(str(path))
    with torch.no_grad():
        return module(*(torch.as_tensor(inputs[k]) for k in OBS_KEYS)).numpy()


def torch_actions(model: Any, batch: dict[str, np.ndarray]) -> np.ndarray:
    """The same actions from the SB3 model itself (``predict``, deterministic)."""
    actions, _ = model.predict({k: np.asarray(batch[k], dtype=np.float32) for k in OBS_KEYS}, deterministic=True)
    return actions


def collect_observations(skill: Any, model: Any, episodes: int, seed: int) -> dict[str, np.ndarray]:
    """Observations (stacked per key) from ``episodes`` policy rollouts, for parity checks."""
    env = make_env(skill)
    rows: dict[str, list] = {k: [] for k in OBS_KEYS}

    def act(obs: dict) -> np.ndarray:
        for k in OBS_KEYS:
            rows[k].append(obs[k])
        return model.predict(obs, deterministic=True)[0]

    evaluate(act, env, episodes, seed)
    env.close()
    return {k: np.asarray(v, dtype=np.float32) for k, v in rows.items()}
