"""A simulated arm: the :class:`Robot` interface on top of any :class:`ArmPhysics` engine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robots.description import RobotDescription
from robots.inverse_kinematics import TOP_DOWN, EndEffectorIK
from robots.physics import ArmPhysics
from robots.robot import Robot, RobotAction, RobotObservation, validate_action

__all__ = ["SimulatedArm", "TOP_DOWN"]


class SimulatedArm(Robot):
    """An arm from a :class:`RobotDescription`, loaded into a physics engine.

    Args:
        physics: the engine (e.g. ``sims.client.PyBulletClient``).
        description: joint names, limits, home pose, control period.
        urdf_path: resolved path of the URDF to load.
        base_position: (3,) base position in the world frame, m.
        name: body name in the engine.
    """

    def __init__(
        self,
        physics: ArmPhysics,
        description: RobotDescription,
        urdf_path: str,
        base_position: Sequence[float] = (0.0, 0.0, 0.0),
        name: str = "robot",
    ) -> None:
        self.physics = physics
        self.description = description
        self.name = name
        self._urdf_path = urdf_path
        self._base_position = tuple(float(v) for v in base_position)
        self._connected = False
        self._cache_revision = -1
        self._cache: tuple[np.ndarray, ...] = ()
        self._n = description.n_joints
        d = description
        self._lower = d.lower_limits
        self._upper = d.upper_limits
        self._home = np.asarray(d.home, dtype=np.float64)
        self._max_width = d.gripper.max_width
        self._ik = EndEffectorIK(d)
        self._width_target = d.gripper.max_width
        self._forces = list(d.max_efforts) + [d.gripper.max_effort] * len(d.gripper.joints)

    # -- Robot -----------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        if self._connected:
            return
        d = self.description
        self.physics.load_urdf(self.name, self._urdf_path, self._base_position, (0.0, 0.0, 0.0, 1.0), True)
        self._arm = self.physics.joint_indices(self.name, d.joint_names)
        self._fingers = self.physics.joint_indices(self.name, d.gripper.joints)
        self._all = self._arm + self._fingers
        self._ee = self.physics.link_index(self.name, d.ee_link)
        if len(self._fingers) == 2:
            # The real hand's fingers are mechanically coupled; mirror that.
            self.physics.couple_joints(self.name, self._fingers[0], self._fingers[1], -1.0, 50.0)
        self._connected = True
        self.reset()

    @property
    def arm_joints(self) -> list[int]:
        """Engine indices of the arm's joints (no fingers), in description order."""
        self._require_connected()
        return list(self._arm)

    def disconnect(self) -> None:
        if self._connected:
            self.physics.remove_body(self.name)
            self._connected = False

    def _read_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(q, qd) of all joints (arm then fingers), EE position, quaternion, velocity.

        Cached per physics revision: the observation at the end of one step and the action
        at the start of the next read the same state, so it is fetched once.
        """
        revision = self.physics.revision
        if self._cache_revision != revision:
            q, qd = self.physics.joint_states(self.name, self._all)
            pos, quat, vel = self.physics.link_state(self.name, self._ee)
            self._cache = (q, qd, pos, quat, vel)
            self._cache_revision = revision
        return self._cache

    def get_observation(self) -> RobotObservation:
        self._require_connected()
        q, qd, pos, quat, vel = self._read_state()
        n = self._n
        return RobotObservation(
            joint_positions=q[:n],
            joint_velocities=qd[:n],
            ee_position=pos,
            ee_orientation=quat,
            ee_velocity=vel,
            gripper_width=sum(q[n:].tolist()),
            timestamp=self.physics.time,
        )

    def send_action(self, action: RobotAction) -> RobotAction:
        self._require_connected()
        action = validate_action(action, self._n)
        q_all, _, pos, quat, _ = self._read_state()
        q = q_all[: self._n]
        delta = None
        if action.ee_delta is not None:
            jac = self.physics.jacobian(self.name, self._ee, self._all, q_all)[:, : self._n]
            targets, delta = self._ik.targets(q, pos, quat, jac, action.ee_delta)
        elif action.joint_positions is not None:
            targets = action.joint_positions
        else:
            targets = q
        targets = np.minimum(np.maximum(targets, self._lower), self._upper)
        if action.gripper_width is not None:
            self._width_target = min(max(action.gripper_width, 0.0), self._max_width)
        finger = self._width_target / len(self._fingers)
        self.physics.set_joint_targets(
            self.name, self._all, targets.tolist() + [finger] * len(self._fingers), self._forces
        )
        self.physics.advance(self.description.control_period)
        return RobotAction(
            joint_positions=targets,
            ee_delta=delta,
            gripper_width=self._width_target,
        )

    def command(self, joint_positions: Sequence[float], gripper_width: float | None = None) -> None:
        """Set joint position targets (clipped to the limits) without stepping physics.

        For a driver loop that steps physics itself (the stand-in ROS 2 arm runs at 100 Hz).
        """
        self._require_connected()
        targets = np.minimum(np.maximum(np.asarray(joint_positions, dtype=np.float64), self._lower), self._upper)
        if gripper_width is not None:
            self._width_target = min(max(float(gripper_width), 0.0), self._max_width)
        finger = self._width_target / len(self._fingers)
        self.physics.set_joint_targets(
            self.name, self._all, targets.tolist() + [finger] * len(self._fingers), self._forces
        )

    def stop(self) -> None:
        self._require_connected()
        q, _, _, _, _ = self._read_state()
        self.physics.set_joint_targets(self.name, self._all, q.tolist(), self._forces)

    # -- simulation only -------------------------------------------------------------
    def reset(self, joint_positions: Sequence[float] | None = None, gripper_width: float | None = None) -> None:
        """Teleport to a pose (home by default) with zero velocity and hold it there.

        Simulation only: a real arm cannot teleport. ``description.ready`` is the usual
        start of a skill episode.
        """
        self._require_connected()
        q = self._home if joint_positions is None else np.asarray(joint_positions, dtype=np.float64)
        width = self.description.gripper.max_width if gripper_width is None else float(gripper_width)
        self._width_target = width
        finger = width / len(self._fingers)
        positions = [*q, *([finger] * len(self._fingers))]
        self.physics.reset_joints(self.name, self._all, positions)
        self.physics.set_joint_targets(self.name, self._all, positions, self._forces)

    def joint_displacement(self, ee_displacement: Sequence[float]) -> np.ndarray:
        """The joint change (n,), rad, that moves the hand by ``ee_displacement`` (3,), m, world
        frame, from where it is now: what the same displacement as an end-effector command
        adds to the joint targets (one damped least-squares step, orientation held).

        Simulation only: the stand-in cell turns execution noise drawn in the skills' action
        units into the joint offset it puts on a trajectory.
        """
        self._require_connected()
        q_all, _, pos, quat, _ = self._read_state()
        q = q_all[: self._n]
        jac = self.physics.jacobian(self.name, self._ee, self._all, q_all)[:, : self._n]
        moved, _ = self._ik.targets(q, pos, quat, jac, np.asarray(ee_displacement, dtype=np.float64))
        still, _ = self._ik.targets(q, pos, quat, jac, np.zeros(3))
        return moved - still

    def _require_connected(self) -> None:
        if not self._connected:
            raise RuntimeError(f"robot {self.name!r} is not connected; call connect() first")
