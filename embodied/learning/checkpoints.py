"""Loading a skill's stable-baselines3 checkpoint, with every way it can be wrong said in one line.

Everything that loads a checkpoint goes through :func:`load_policy`, which turns SB3's deep
errors into one :class:`~embodied.learning.catalogue.SkillError` that says what is wrong and
what to do.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import gymnasium as gym

from embodied.learning.catalogue import SkillError, algorithms, checkpoint_path, skill_config
from embodied.learning.envs import make_env

BEST, LAST, BUFFER = "best.zip", "last.zip", "last_replay_buffer.pkl"
"""File names in a training run folder: best evaluated policy, latest policy, its replay buffer."""


def _space_shapes(space: gym.spaces.Space) -> dict[str, tuple]:
    if isinstance(space, gym.spaces.Dict):
        return {k: tuple(s.shape) for k, s in space.spaces.items()}
    return {"": tuple(space.shape)}


MOVED_MODULES = {"embodied.policies": "embodied.learning.policies"}
"""Where the residual policies of checkpoints saved by earlier releases live now (0.1 kept
them in ``embodied/policies.py``); SB3 pickles the policy class by module path."""


def _moved_policy_class(path: Path) -> dict | None:
    """``custom_objects`` for SB3's loader when ``path`` names its policy class by a moved module."""
    import json

    try:
        with zipfile.ZipFile(path) as z:
            saved = json.loads(z.read("data")).get("policy_class", {})
    except (KeyError, ValueError, OSError, zipfile.BadZipFile):
        return None  # the loader below reports what is wrong with the file
    moved = MOVED_MODULES.get(saved.get("__module__", "")) if isinstance(saved, dict) else None
    if moved is None:
        return None
    import importlib

    policies = importlib.import_module(moved)
    actor = str(saved.get("actor_class", ""))
    name = "TQCResidualPolicy" if "TQCResidualActor" in actor else "SACResidualPolicy"
    return {"policy_class": getattr(policies, name)}


def algorithm_of(policy_class: object) -> str:
    """The algorithm name (``ALGORITHMS`` key) whose checkpoints have this policy class."""
    from sb3_contrib.tqc.policies import TQCPolicy
    from stable_baselines3.common.policies import ActorCriticPolicy

    if isinstance(policy_class, type) and issubclass(policy_class, TQCPolicy):
        return "tqc"
    if isinstance(policy_class, type) and issubclass(policy_class, ActorCriticPolicy):
        return "ppo"
    return "sac"


def load_policy(skill: str, checkpoint: str | Path | None = None, env: gym.Env | None = None, device: str = "cpu"):  # noqa: ANN201
    """Load a skill's SB3 model (the shipped one unless ``checkpoint`` is given).

    Checks that the checkpoint exists, is a readable SB3 zip, and was trained for the same
    observation and action spaces as ``env`` (built from the skill's config when None).

    Raises:
        SkillError: with what is wrong and what to do.
    """
    cfg = skill_config(skill)
    path = checkpoint_path(skill, checkpoint)
    if not zipfile.is_zipfile(path):
        raise SkillError(
            f"checkpoint {path} is not a stable-baselines3 zip (corrupt or wrong file); retrain or re-copy it"
        )
    from stable_baselines3.common.save_util import load_from_zip_file

    custom = _moved_policy_class(path)
    try:
        data, _, _ = load_from_zip_file(path, device="cpu", load_data=True, custom_objects=custom)
        saved_obs, saved_act = data["observation_space"], data["action_space"]
    except Exception as exc:  # noqa: BLE001 (SB3 raises many kinds for a damaged zip)
        raise SkillError(f"checkpoint {path} could not be loaded ({type(exc).__name__}: {exc}); retrain it") from exc
    env = env if env is not None else make_env(cfg)
    want, got = _space_shapes(env.observation_space), _space_shapes(saved_obs)
    layout = getattr(env.unwrapped, "layout", None)
    if layout is not None and want != got and env.action_space.shape == saved_act.shape and "observation" in got:
        size = got["observation"][0]
        if layout.latency_of(size) is not None or layout.history_of(size) not in (None, layout.action_history):
            raise SkillError(f"checkpoint {path}: {layout.mismatch(size)}")
    if want != got or env.action_space.shape != saved_act.shape:
        raise SkillError(
            f"checkpoint {path} was trained for observations {got} and actions {saved_act.shape}, but skill "
            f"{skill!r} ({cfg.env_id}, task {dict(cfg.get('task') or {})}) gives {want} and {env.action_space.shape}: "
            "it belongs to another skill or scene; pass the matching skill or retrain"
        )
    name = algorithm_of(data.get("policy_class"))
    try:
        # HER replay buffers need an env at load time, even when only predicting; an on-policy
        # model loaded with a different number of envs resizes its rollout buffer to it.
        return algorithms()[name].load(path, env=env, device=device, custom_objects=custom)
    except Exception as exc:  # noqa: BLE001 (SB3 raises many kinds)
        raise SkillError(f"checkpoint {path} could not be loaded as {name.upper()} ({exc}); retrain it") from exc
