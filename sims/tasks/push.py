"""Push: slide a cube across the table to a goal, gripper held closed."""

from __future__ import annotations

import numpy as np

from robots.robot import RobotObservation
from sims.tasks.base import Task


class Push(Task):
    """Move the object to a goal on the table without grasping it (the gripper is blocked)."""

    name = "push"
    env_name = "Push"

    def _sample_goal(self, rng: np.random.Generator) -> np.ndarray:
        return self._table_goal(rng)

    def achieved_goal(self, robot: RobotObservation) -> np.ndarray:
        return self.scene.object_position(self.object)
