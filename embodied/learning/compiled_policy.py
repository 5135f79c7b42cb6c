"""A skill's policy as the controller runs it by default: its ONNX export, from the cache.

Loading a stable-baselines3 checkpoint imports torch and SB3 and builds the whole algorithm
(optimisers, replay buffer settings) to call one small actor: ~3 s of every command's start.
The first use exports the deterministic actor (prior, normalisation, network, squashing; see
:mod:`embodied.learning.export`) with the execution-time prior overrides applied, checks it
against the SB3 model's ``predict`` on real and random observations, and caches it (see
:mod:`embodied.common.artifact_cache`); later commands run it with onnxruntime alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

PARITY_TOLERANCE = 1e-4
"""Largest action difference (normalised units) allowed between the export and SB3's predict."""
GRAPH_SOURCES = ("priors.py", "policies.py", "export.py")
"""The modules (next to this one) whose code the exported graph contains: part of the cache key."""


def apply_prior_overrides(model: Any, skill: str, overrides: dict) -> None:
    """Change the policy's motion-prior settings in place (execution-time overrides).

    Raises:
        ValueError: an override the prior's config does not accept.
    """
    from embodied.learning.policies import prior_owner

    owner = prior_owner(model)
    if overrides and owner is not None:
        try:
            owner.prior_config = type(owner.prior_config)(**{**owner.prior_config.model_dump(), **overrides})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad prior override for {skill}: {exc}") from exc


def _build(skill: str, checkpoint: str | None, overrides: dict, out: Path) -> None:
    from embodied.common.artifact_cache import quiet_export
    from embodied.learning.checkpoints import load_policy
    from embodied.learning.export import export_policy, torch_actions

    model = load_policy(skill, checkpoint)
    env = model.get_env()
    apply_prior_overrides(model, skill, overrides)
    # Parity data: observations of real resets plus random ones around them.
    real = [env.reset() for _ in range(8)]
    keys = list(real[0])
    rng = np.random.default_rng(0)
    batch = {}
    for k in keys:
        rows = np.concatenate([r[k] for r in real]).astype(np.float32)
        noisy = rows + rng.normal(0.0, 0.05, rows.shape).astype(np.float32)
        batch[k] = np.concatenate([rows, noisy])
    env.close()
    with quiet_export():
        export_policy(model, out, "onnx", {k: v[0] for k, v in batch.items()})
    got = CompiledPolicy(out)(batch)
    want = torch_actions(model, batch)
    if not np.allclose(got, want, atol=PARITY_TOLERANCE):
        raise ValueError(f"the ONNX export of {skill} differs from its SB3 model (max {np.abs(got - want).max():.2e})")


class CompiledPolicy:
    """An exported skill policy: ``{achieved_goal, desired_goal, observation} (B, ·) -> (B, A)`` actions."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1  # a small MLP per control step: threads only add overhead
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_dims = {i.name: int(i.shape[-1]) for i in self.session.get_inputs()}

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: np.asarray(batch[k], dtype=np.float32).reshape(-1, d) for k, d in self.input_dims.items()}
        return self.session.run(["action"], feed)[0]


def compiled_policy(skill: str, checkpoint: str | None, overrides: dict) -> CompiledPolicy:
    """The cached ONNX policy for ``skill`` (the shipped checkpoint unless ``checkpoint``),
    exported and checked on first use.

    Raises:
        SkillError: the checkpoint is missing, damaged or does not fit the skill (from
            :func:`embodied.learning.checkpoints.load_policy`, on first use).
    """
    from omegaconf import OmegaConf

    from embodied.common.artifact_cache import cached, file_fingerprint
    from embodied.learning.catalogue import checkpoint_path, skill_config

    path = checkpoint_path(skill, checkpoint)

    parts = {
        "skill": skill,
        "config": OmegaConf.to_container(skill_config(skill), resolve=True),
        "checkpoint": file_fingerprint(path),
        "overrides": overrides,
        # The prior is code inside the exported graph: a changed prior must not reuse an old export.
        "code": {name: file_fingerprint(Path(__file__).with_name(name)) for name in GRAPH_SOURCES},
    }
    onnx = cached(
        "policies",
        parts,
        ".onnx",
        lambda out: _build(skill, str(path), overrides, out),
        f"the {skill} policy ({path.name})",
    )
    return CompiledPolicy(onnx)
