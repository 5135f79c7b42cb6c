"""What a goal-conditioned task is: it samples a goal, reports what was achieved, and scores it.

A task never steps physics and never moves the robot; the environment composes it with a
robot and a scene (the split panda-gym uses), so adding a task is one file in this folder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, StrictBool, StrictInt

from robots.robot import RobotObservation
from sims.config import ConfigModel
from sims.observation import ObjectState, ObservationLayout, object_state
from sims.scene import TabletopScene


class TaskConfig(ConfigModel):
    """Settings shared by every goal-conditioned task (``task:`` in ``configs/skill/*.yaml``)."""

    distance_threshold: float = Field(0.05, gt=0.0, le=1.0, description="success distance, m")
    """Success when the achieved goal is within this distance of the desired goal, m."""
    reward_type: Literal["sparse", "dense"] = Field("sparse", description="sparse | dense")
    """"sparse": 0 on success else -1 (what HER expects); "dense": minus the distance in m."""
    max_episode_steps: StrictInt = Field(50, ge=1, le=100_000, description="control steps before truncation")
    """Control steps (25 Hz) before the episode is truncated."""
    object: str = Field("red_cube", min_length=1, description="the cube the task is about, or random")
    """Cube the task is about, or "random" for any cube present, drawn each episode."""
    distractors: StrictInt = Field(0, ge=0, le=16, description="other cubes on the table")
    """Other cubes on the table (0-3), placed by seed; their positions join the observation."""
    action_history: StrictInt = Field(0, ge=0, le=16, description="past actions in the observation")
    """How many of the skill's past actions join the observation (at least the largest
    actuation delay, so that the actions still in flight are known)."""
    observe_latency: StrictBool = Field(False, description="the arm's latency (control periods) in the observation")
    """The arm's latency joins the observation, so the skill knows how many of its past
    actions are still in flight (the randomisation's draw in training; the arm's
    :attr:`robots.robot.Robot.latency` at run time)."""


class Task(ABC):
    """A goal-conditioned task on the tabletop scene.

    Subclasses set ``name`` (config key), ``env_name`` (gymnasium id stem), whether the
    gripper is used, and implement goal sampling and the achieved goal.
    """

    name: ClassVar[str]
    env_name: ClassVar[str]
    config_class: ClassVar[type[TaskConfig]] = TaskConfig
    uses_gripper: ClassVar[bool] = False
    uses_object: ClassVar[bool] = True

    def __init__(self, scene: TabletopScene, config: TaskConfig) -> None:
        self.scene = scene
        self.config = config
        self.desired_goal = np.zeros(3)
        self.object = scene.object_names[0] if self.uses_object else None
        self.others: list[str] = []

    @classmethod
    def scene_objects(cls, config: TaskConfig, all_cubes: list[str]) -> list[str]:
        """Cubes the scene must create for this task: the object(s) and the distractors."""
        wanted = (1 if cls.uses_object else 0) + config.distractors
        if wanted > len(all_cubes):
            raise ValueError(f"{cls.name}: needs {wanted} cubes but the scene defines {len(all_cubes)}")
        if cls.uses_object and config.object not in ("random", *all_cubes):
            raise ValueError(f"{cls.name}: unknown object {config.object!r}; cubes: {all_cubes}")
        if cls.uses_object and config.object != "random":
            rest = [c for c in all_cubes if c != config.object]
            return [config.object, *rest[: config.distractors]]
        return all_cubes[:wanted]

    # -- episode -----------------------------------------------------------------------
    def reset(self, rng: np.random.Generator) -> None:
        """Pick this episode's object (if random) and goal. The scene is already placed."""
        names = self.scene.object_names
        if self.uses_object:
            self.object = names[int(rng.integers(len(names)))] if self.config.object == "random" else self.config.object
            self.others = [n for n in names if n != self.object]
        else:
            self.others = list(names)
        self.desired_goal = self._sample_goal(rng)

    @abstractmethod
    def _sample_goal(self, rng: np.random.Generator) -> np.ndarray:
        """(3,) goal position, world frame, m."""

    @abstractmethod
    def achieved_goal(self, robot: RobotObservation) -> np.ndarray:
        """(3,) what the agent has achieved so far, comparable with ``desired_goal``."""

    def object_state(self) -> ObjectState | None:
        """The moved object's pose and twist (None for tasks without an object)."""
        return None if self.object is None else object_state(self.scene.client, self.object)

    def other_positions(self) -> list[np.ndarray]:
        """(3,) positions of the other objects, in scene order."""
        return [self.scene.client.base_pose(n)[0] for n in self.others]

    @classmethod
    def layout(cls, config: TaskConfig) -> ObservationLayout:
        """The layout of this task's flat observation (:mod:`sims.observation`)."""
        return ObservationLayout(
            uses_object=cls.uses_object,
            distractors=config.distractors,
            action_dim=4 if cls.uses_gripper else 3,
            action_history=config.action_history,
            observe_latency=config.observe_latency,
        )

    # -- scoring (vectorised for HER) ------------------------------------------------
    def is_success(self, achieved_goal: np.ndarray, desired_goal: np.ndarray) -> np.ndarray:
        """Bool array over leading dims: within ``distance_threshold``."""
        d = np.linalg.norm(np.asarray(achieved_goal) - np.asarray(desired_goal), axis=-1)
        return d < self.config.distance_threshold

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any = None) -> np.ndarray:
        """Reward for (batches of) goals; shapes (..., 3) -> (...,) float32."""
        d = np.linalg.norm(np.asarray(achieved_goal) - np.asarray(desired_goal), axis=-1)
        return self.reward_from_distance(d)

    def reward_from_distance(self, distance: np.ndarray | float) -> np.ndarray:
        """Sparse (0 / -1) or dense (-distance) reward for goal distances in m."""
        d = np.asarray(distance)
        if self.config.reward_type == "sparse":
            return -(d >= self.config.distance_threshold).astype(np.float32)
        return -d.astype(np.float32)

    # -- helpers for subclasses --------------------------------------------------------
    def _table_goal(self, rng: np.random.Generator, avoid_object: bool = True) -> np.ndarray:
        """A resting position on the table, clear of distractors (and of the object if asked)."""
        avoid = [self.scene.object_position(n) for n in self.others]
        if avoid_object and self.object is not None:
            avoid.append(self.scene.object_position(self.object))
        return self.scene.sample_positions(rng, 1, avoid=avoid)[0]
