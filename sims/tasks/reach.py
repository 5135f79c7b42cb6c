"""Reach: move the end effector to a point above the table."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from robots.robot import RobotObservation
from sims.tasks.base import Task, TaskConfig


class ReachConfig(TaskConfig):
    """Reach settings (no object; cubes appear only as distractors)."""

    goal_z_range: tuple[float, float] = Field((0.03, 0.3), description="goal height range above the table, m")
    """Goal height range above the table top, m."""


class Reach(Task):
    """Bring the end effector within ``distance_threshold`` of a goal over the table."""

    name = "reach"
    env_name = "Reach"
    config_class = ReachConfig
    uses_object = False
    config: ReachConfig

    def _sample_goal(self, rng: np.random.Generator) -> np.ndarray:
        margin = self.scene.config.edge_margin
        lo = self.scene.table_lower + margin
        hi = self.scene.table_upper - margin
        xy = rng.uniform(lo, hi)
        z = rng.uniform(*self.config.goal_z_range)
        return np.array([xy[0], xy[1], z])

    def achieved_goal(self, robot: RobotObservation) -> np.ndarray:
        return robot.ee_position
