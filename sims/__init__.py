"""The PyBullet world: client, tabletop scene, camera, tasks and gymnasium environments.

Importing ``sims`` registers one versioned gymnasium id per task, e.g. ``embodied/Push-v0``;
``ENV_IDS`` lists them so tests can parametrise over every environment.
"""

from __future__ import annotations

import gymnasium as gym

from sims.tasks import TASKS


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

__all__ = ["ENV_IDS"]
