"""The gymnasium environment that composes a world, a robot, a scene and a task.

Observation: ``Dict(observation, achieved_goal, desired_goal)`` (goal-conditioned, so HER
works). ``observation`` is built by :mod:`sims.observation` (robot, object, distractors),
the same builder the skill executors use at run time.
Action: end-effector displacement in [-1, 1]^3, scaled by the robot's ``max_ee_step``
(5 cm for the Panda) per 25 Hz step, plus a gripper command in [-1, 1] (-1 closed,
+1 open) for tasks that use the gripper. Every action passes through the env's
:class:`sims.actuation.Actuation` (unchanged unless randomisation sets a delay, jitter, lag
or noise); the observation's ``past_actions`` are the actions as sent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from robots.description import RobotDescription
from robots.robot import RobotAction
from sims.actuation import Actuation
from sims.config import CameraConfig, SceneConfig, SimConfig, from_mapping
from sims.observation import ActionHistory, hold_action
from sims.tasks import get_task
from sims.world import TabletopWorld


class RobotTaskEnv(gym.Env):
    """A goal-conditioned manipulation environment.

    Args:
        task: task name ("reach", "push", "pick_place").
        task_config: overrides of the task's config fields (e.g. ``{"distractors": 3}``).
        sim: physics settings (``SimConfig`` or a dict of its fields).
        scene: scene settings (``SceneConfig`` or a dict).
        camera: camera for ``render()`` (``CameraConfig`` or a dict).
        robot: robot description name or YAML path.
        render_mode: None, "rgb_array" (camera image) or "human" (PyBullet GUI).
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 25}

    def __init__(
        self,
        task: str = "reach",
        task_config: Mapping[str, Any] | None = None,
        sim: SimConfig | Mapping[str, Any] | None = None,
        scene: SceneConfig | Mapping[str, Any] | None = None,
        camera: CameraConfig | Mapping[str, Any] | None = None,
        robot: str | RobotDescription = "panda",
        render_mode: str | None = None,
    ) -> None:
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.render_mode = render_mode
        task_cls = get_task(task)
        self.task_config = from_mapping(task_cls.config_class, task_config)
        sim_config = from_mapping(SimConfig, sim)
        if render_mode == "human":
            sim_config.gui = True
        scene_config = from_mapping(SceneConfig, scene)
        objects = task_cls.scene_objects(self.task_config, [c.name for c in scene_config.cubes])
        self.world = TabletopWorld(sim_config, scene_config, camera, robot, objects)
        self.client, self.scene, self.robot = self.world.client, self.world.scene, self.world.robot
        self.description = self.world.description
        self.task = task_cls(self.scene, self.task_config)

        self._uses_gripper = task_cls.uses_gripper
        self._max_width = self.description.gripper.max_width
        self._step_size = self.description.max_ee_step
        self.layout = task_cls.layout(self.task_config)
        self.history = ActionHistory(self.layout.action_history, self.layout.action_dim)
        self.actuation = Actuation(self._hold(), self.description.control_period)
        self.latency = 0.0  # control periods (the observation's ``latency`` part); randomisation sets it
        n_obs = self.layout.size
        self.action_space = spaces.Box(-1.0, 1.0, shape=(4 if self._uses_gripper else 3,), dtype=np.float32)
        goal_space = spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)
        self.observation_space = spaces.Dict(
            {
                "observation": spaces.Box(-np.inf, np.inf, shape=(n_obs,), dtype=np.float32),
                "achieved_goal": goal_space,
                "desired_goal": goal_space,
            }
        )

    # -- gymnasium API -----------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        # The world restores a snapshot (contact caches included), so a reset with the same
        # seed reproduces the same episode bit for bit.
        # Tasks that do not use the gripper keep it closed (panda-gym blocks it the same way).
        self.world.reset(self.np_random, self._max_width if self._uses_gripper else 0.0, pose="ready")
        self.task.reset(self.np_random)
        self.history.reset(self._hold())
        self.actuation.reset(self._hold())
        obs = self.observe()
        return obs, {"is_success": bool(self.task.is_success(obs["achieved_goal"], obs["desired_goal"]))}

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        action = self._check_action(action)
        action = np.minimum(np.maximum(action, -1.0), 1.0)
        self.history.push(action)
        # What the arm executes now: the action itself, or (randomised) an earlier one, late and smoothed.
        action = self.actuation.send(action)
        width = None
        if self._uses_gripper:
            width = (float(action[3]) + 1.0) / 2.0 * self._max_width
        self.robot.send_action(RobotAction(ee_delta=action[:3] * self._step_size, gripper_width=width))
        obs = self.observe()
        # One scalar distance serves both the reward and success (same rule as compute_reward).
        distance = math.dist(obs["achieved_goal"], obs["desired_goal"])
        success = distance < self.task_config.distance_threshold
        reward = float(self.task.reward_from_distance(distance))
        return obs, reward, success, False, {"is_success": success}

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> np.ndarray:
        """Vectorised reward, as HER's relabelling needs: (..., 3), (..., 3) -> (...,)."""
        return self.task.compute_reward(achieved_goal, desired_goal, info)

    def render(self) -> np.ndarray | None:
        """RGB image (H, W, 3) from the configured camera in "rgb_array" mode."""
        if self.render_mode == "rgb_array":
            return self.world.camera.render(segmentation=False).rgb
        return None

    def close(self) -> None:
        self.world.close()

    # -- internals ---------------------------------------------------------------------
    def _hold(self) -> np.ndarray:
        """The action that keeps the arm still as reset leaves it (gripper open for gripper tasks)."""
        return hold_action(self.layout.action_dim, self._max_width if self._uses_gripper else 0.0, self._max_width)

    def _check_action(self, action: Any) -> np.ndarray:
        arr = np.asarray(action, dtype=np.float64)
        expected = self.action_space.shape
        if arr.shape != expected:
            raise ValueError(f"action must have shape {expected}, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"action contains NaN or inf: {arr.tolist()}")
        return arr

    def observe(self) -> dict[str, np.ndarray]:
        """The current observation dict (no physics step): what ``reset`` and ``step`` return."""
        r = self.robot.get_observation()
        return {
            "observation": self.layout.build(
                r, self.task.object_state(), self.task.other_positions(), self.history, self.latency
            ),
            "achieved_goal": self.task.achieved_goal(r).astype(np.float32),
            "desired_goal": self.task.desired_goal.astype(np.float32),
        }
