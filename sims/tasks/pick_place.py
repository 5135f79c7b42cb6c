"""PickPlace: grasp a cube and put it at a goal on the table, in the air, or on another cube."""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from robots.robot import RobotObservation
from sims.tasks.base import Task, TaskConfig


class PickPlaceConfig(TaskConfig):
    """Where PickPlace goals are drawn from."""

    table_goal_prob: float = Field(0.3, ge=0.0, le=1.0, description="chance the goal rests on the table")
    """Chance that the goal rests on the table (the rest are in the air or on a cube)."""
    on_cube_goal_prob: float = Field(0.0, ge=0.0, le=1.0, description="chance the goal is on a distractor")
    """Chance that the goal is on top of a distractor cube (needs distractors >= 1)."""
    goal_z_max: float = Field(0.2, gt=0.0, le=1.0, description="highest goal in the air above the table, m")
    """Highest goal in the air: object centre height above the table top, m."""

    @model_validator(mode="after")
    def _consistent(self) -> PickPlaceConfig:
        if self.table_goal_prob + self.on_cube_goal_prob > 1:
            raise ValueError("table_goal_prob + on_cube_goal_prob must be <= 1")
        if self.on_cube_goal_prob > 0 and self.distractors < 1:
            raise ValueError("on_cube_goal_prob > 0 needs distractors >= 1 (a cube to stack on)")
        return self


class PickPlace(Task):
    """Bring the object's centre within ``distance_threshold`` of the goal; the gripper is used."""

    name = "pick_place"
    env_name = "PickPlace"
    config_class = PickPlaceConfig
    uses_gripper = True
    config: PickPlaceConfig

    def _sample_goal(self, rng: np.random.Generator) -> np.ndarray:
        c = self.config
        u = rng.random()
        if u < c.on_cube_goal_prob:
            base = self.scene.object_position(self.others[int(rng.integers(len(self.others)))])
            return base + np.array([0.0, 0.0, self.scene.config.cube_size])
        goal = self._table_goal(rng)
        if u >= c.on_cube_goal_prob + c.table_goal_prob:
            goal[2] = rng.uniform(self.scene.rest_height, c.goal_z_max)
        return goal

    def achieved_goal(self, robot: RobotObservation) -> np.ndarray:
        return self.scene.object_position(self.object)
