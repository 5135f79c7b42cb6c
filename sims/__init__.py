"""The PyBullet world: client, tabletop scene, camera, tasks and gymnasium environments.

Importing ``sims`` registers one versioned gymnasium id per task, e.g. ``embodied/Push-v0``;
``ENV_IDS`` lists them so tests can parametrise over every environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from sims.observation import ObservationLayout
from sims.tasks import TASKS
from sims.tasks.base import Task


def _register_all() -> list[str]:
    ids = []
    for name, task_cls in TASKS.items():
        env_id = f"embodied/{task_cls.env_name}-v0"
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point="sims.env:RobotTaskEnv",
                kwargs={"task": name},
                max_episode_steps=task_cls.config_class().max_episode_steps,
            )
        ids.append(env_id)
    return ids


ENV_IDS: list[str] = _register_all()
"""Every registered environment id."""


def task_class(env_id: str) -> type[Task]:
    """The task behind one of our env ids (its ``config_class`` is the schema of the skill's ``task``).

    Raises:
        ValueError: not one of :data:`ENV_IDS`.
    """
    if env_id not in ENV_IDS:
        raise ValueError(f"{env_id!r} is not one of our envs ({', '.join(ENV_IDS)})")
    return TASKS[gym.spec(env_id).kwargs["task"]]


def observation_layout(env_id: str, task_config: Mapping[str, Any] | None = None) -> ObservationLayout:
    """The observation layout of one of our env ids with ``task_config`` (the skill's ``task``).

    Raises:
        ValueError: not one of :data:`ENV_IDS`, or a bad task setting.
    """
    from sims.config import from_mapping

    task = task_class(env_id)
    return task.layout(from_mapping(task.config_class, dict(task_config or {})))


__all__ = ["ENV_IDS", "observation_layout", "task_class"]
