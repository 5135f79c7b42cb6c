"""A simulated tabletop world: physics client, scene, arm and camera, built together.

Both the skill environments and the command-line jobs use this, so there is one place
where a robot is put into a scene.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from robots.description import RobotDescription, load_description
from robots.sim_arm import SimulatedArm
from sims.camera import Camera
from sims.client import PyBulletClient, resolve_data_path
from sims.config import CameraConfig, SceneConfig, SimConfig, from_mapping
from sims.scene import TabletopScene

SETTLE_STEPS = 20
"""Physics steps that let freshly placed cubes settle before the reset snapshot is taken."""

FINGER_FRICTION = 1.0
"""Lateral friction of the finger pads (rubber-like), as panda-gym uses."""


class TabletopWorld:
    """Client + ``tabletop`` scene + simulated arm + camera.

    Args:
        sim: physics settings (``SimConfig`` or dict).
        scene: scene settings (``SceneConfig`` or dict).
        camera: camera settings (``CameraConfig`` or dict).
        robot: description name (``"panda"``), YAML path, or a loaded description.
        objects: cube names to create (default: every cube of the scene config).
    """

    def __init__(
        self,
        sim: SimConfig | Mapping[str, Any] | None = None,
        scene: SceneConfig | Mapping[str, Any] | None = None,
        camera: CameraConfig | Mapping[str, Any] | None = None,
        robot: str | RobotDescription = "panda",
        objects: Sequence[str] | None = None,
    ) -> None:
        self.sim_config = from_mapping(SimConfig, sim)
        self.description = robot if isinstance(robot, RobotDescription) else load_description(robot)
        if abs(self.sim_config.control_period - self.description.control_period) > 1e-9:
            raise ValueError(
                f"sim.timestep * sim.substeps = {self.sim_config.control_period:.4f} s must equal the robot's "
                f"control period {self.description.control_period} s"
            )
        if self.description.urdf is None:
            raise ValueError(f"robot {self.description.name!r} has no URDF, so it cannot be simulated")
        self.client = PyBulletClient(self.sim_config)
        try:
            self.scene = TabletopScene(self.client, from_mapping(SceneConfig, scene), objects)
            self.robot = SimulatedArm(self.client, self.description, resolve_data_path(self.description.urdf))
            self.robot.connect()  # leaves the arm at its home pose
            self.robot_body = self.robot.name
            """Engine body name of the arm (``robot`` may later be wrapped, e.g. by a safety layer)."""
            self.home_ee_position = self.robot.get_observation().ee_position.copy()
            """(3,) end-effector position at the home pose, world frame, m."""
            for joint in self.client.joint_indices(self.robot.name, self.description.gripper.joints):
                self.client.set_friction(self.robot.name, joint, FINGER_FRICTION)
            self.camera = Camera(self.client, from_mapping(CameraConfig, camera))
        except Exception:
            self.client.close()
            raise
        # Snapshot with the cubes resting on the table. Restoring a snapshot in which the
        # cube-table contacts already exist makes every reset bit-for-bit repeatable; one
        # taken with the cubes in the air leaves PyBullet's contact caches history-dependent
        # (the same seed then gives observations that differ by ~1e-7 m to 1e-3 m).
        self.scene.reset(np.random.default_rng(0))
        self.client.step(SETTLE_STEPS)
        self._initial_state = self.client.save_state()

    def reset(self, rng: np.random.Generator, gripper_width: float | None = None, pose: str = "home") -> None:
        """Back to the initial snapshot (clears contact caches), cubes placed by ``rng``.

        Args:
            rng: generator that places the cubes.
            gripper_width: gripper opening, m (default fully open).
            pose: arm pose from the description, "home" (retracted) or "ready" (over the table).
        """
        if pose not in ("home", "ready"):
            raise ValueError(f"pose must be 'home' or 'ready', got {pose!r}")
        self.client.restore_state(self._initial_state)
        self.robot.reset(getattr(self.description, pose), gripper_width=gripper_width)
        self.scene.reset(rng)
        self.camera.restart()

    def settle(self) -> None:
        """Let the freshly placed cubes come to rest (``scene.settle_steps`` physics steps)."""
        self.client.step(self.scene.config.settle_steps)

    def close(self) -> None:
        self.client.close()
