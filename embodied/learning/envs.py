"""The gymnasium env of a skill config, optionally randomised, time-featured or rendering."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig, OmegaConf

from embodied.learning.catalogue import SkillError


class SeededResets(gym.Wrapper):
    """Makes every reset of a panda-gym env follow the first seed.

    panda-gym re-seeds its task from OS entropy on each ``reset(seed=None)``, so after the
    first episode goals and cube positions no longer depend on the seed. This wrapper draws
    each later episode's seed from a generator seeded by the first one.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._episode_seeds = np.random.default_rng(0)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        if seed is not None:
            self._episode_seeds = np.random.default_rng(seed)
        return self.env.reset(seed=int(self._episode_seeds.integers(2**31 - 1)), options=options)


def episode_steps(env_id: str, task: dict) -> int | None:
    """The skill's ``task.max_episode_steps`` (None for an unknown id: gym.make says why)."""
    from sims import ENV_IDS, task_class
    from sims.config import from_mapping

    if env_id not in ENV_IDS:
        return None
    try:
        return from_mapping(task_class(env_id).config_class, task).max_episode_steps
    except ValueError:
        return None  # the env's own construction reports the bad setting


def make_env(
    skill: DictConfig | dict,
    render_mode: str | None = None,
    camera: dict | None = None,
    time_feature: bool = False,
    randomization: dict | None = None,
) -> gym.Env:
    """One env for a skill config; panda-gym ids (``Panda*``) work too (for the benchmark).

    ``randomization`` (fields of :class:`sims.randomization.RandomizationConfig`) wraps the
    env in domain randomisation, noise and latency; our envs only.
    """
    import sims  # noqa: F401  (registers the embodied/* ids)

    env_id = str(skill["env_id"])
    kwargs: dict[str, Any] = {}
    if env_id.startswith("Panda"):
        import panda_gym  # noqa: F401  (registers the Panda* ids)
    else:
        task = skill.get("task")
        kwargs["task_config"] = OmegaConf.to_container(task) if isinstance(task, DictConfig) else dict(task or {})
        # The registered time limit is the schema's default; the skill's own one wins.
        kwargs["max_episode_steps"] = episode_steps(env_id, kwargs["task_config"])
        if camera is not None:
            kwargs["camera"] = camera
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.Error as exc:
        raise SkillError(f"skill {skill.get('name')!r}: cannot make env {env_id!r}: {exc}") from exc
    if env_id.startswith("Panda"):
        env = SeededResets(env)
    if randomization is not None:
        from sims.randomization import RandomizedEnv

        if env_id.startswith("Panda"):
            raise SkillError(f"randomization works on our embodied/* envs, not on {env_id}")
        try:
            env = RandomizedEnv(env, dict(randomization))
        except ValueError as exc:
            raise SkillError(str(exc)) from exc
    if time_feature:
        from sb3_contrib.common.wrappers import TimeFeatureWrapper

        env = TimeFeatureWrapper(env)
    return env
