"""The one arm interface shared by simulation and hardware.

Verbs follow LeRobot's robot class: ``connect``, ``get_observation``, ``send_action``,
``stop``, ``disconnect``, usable as a context manager. ``send_action`` returns the action
that was really sent, after clipping, so callers can see what the limits changed.

Timing contract: one ``send_action`` call covers one control period
(``description.control_period``). A simulated arm advances physics by that much; a
hardware arm paces its command stream to it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from robots.description import RobotDescription


@dataclass(frozen=True)
class RobotObservation:
    """What the arm reports about itself. World frame, metres, radians, seconds.

    Attributes:
        joint_positions: (n_joints,) arm joint angles, rad.
        joint_velocities: (n_joints,) arm joint speeds, rad/s.
        ee_position: (3,) end-effector position, m.
        ee_orientation: (4,) end-effector orientation as a quaternion (x, y, z, w).
        ee_velocity: (3,) end-effector linear velocity, m/s.
        gripper_width: distance between the finger pads, m.
        timestamp: time of the reading, s (simulated time for a simulated arm).
    """

    joint_positions: np.ndarray
    joint_velocities: np.ndarray
    ee_position: np.ndarray
    ee_orientation: np.ndarray
    ee_velocity: np.ndarray
    gripper_width: float
    timestamp: float


@dataclass(frozen=True)
class RobotAction:
    """One command for one control period: either joint targets or an end-effector step.

    Attributes:
        joint_positions: (n_joints,) absolute joint targets, rad; or None.
        ee_delta: (3,) end-effector displacement in the world frame, m; or None. The
            orientation is held pointing down (top-down grasping), solved by inverse
            kinematics.
        gripper_width: target distance between the finger pads, m; None keeps the last.
    """

    joint_positions: np.ndarray | None = None
    ee_delta: np.ndarray | None = None
    gripper_width: float | None = None


def _check_finite_vector(name: str, value: object, size: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf: {arr.tolist()}")
    return arr


def validate_action(action: RobotAction, n_joints: int) -> RobotAction:
    """Check shapes and finiteness; return the action with float64 arrays.

    Raises:
        ValueError: naming the offending field, if the action is malformed.
    """
    if not isinstance(action, RobotAction):
        raise ValueError(f"expected a RobotAction, got {type(action).__name__}")
    if action.joint_positions is not None and action.ee_delta is not None:
        raise ValueError("a RobotAction takes joint_positions or ee_delta, not both")
    if action.joint_positions is None and action.ee_delta is None and action.gripper_width is None:
        raise ValueError("empty RobotAction: give joint_positions, ee_delta or gripper_width")
    joints = (
        None
        if action.joint_positions is None
        else _check_finite_vector("joint_positions", action.joint_positions, n_joints)
    )
    delta = None if action.ee_delta is None else _check_finite_vector("ee_delta", action.ee_delta, 3)
    width = action.gripper_width
    if width is not None:
        width = float(width)
        if not math.isfinite(width):
            raise ValueError(f"gripper_width must be finite, got {action.gripper_width}")
    return RobotAction(joint_positions=joints, ee_delta=delta, gripper_width=width)


class MotionHalted(RuntimeError):
    """The arm must not be commanded again in this job: it ends now, without further motion.

    Raised out of ``send_action`` (and out of a job on a signal) so that every loop above
    (scripted motions, skill executors, the controller) unwinds at once. ``kind`` names the
    cause in reports; ``exit_code`` is the command's exit status for it.
    """

    kind = "halted"
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmergencyStop(MotionHalted):
    """The e-stop is latched (operator topic, signal, or the safety layer's own trigger)."""

    kind = "estop"


class UnexpectedMotion(MotionHalted):
    """The measured joints left the commanded motion: something else is moving the arm."""

    kind = "unexpected_motion"


class Interrupted(MotionHalted):
    """SIGINT or SIGTERM: hold, keep the record, exit 128 + signal number (130 / 143)."""

    kind = "interrupted"

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(f"interrupted by {name}")
        self.exit_code = 128 + signum


class Robot(ABC):
    """An arm with a parallel gripper, simulated or real."""

    description: RobotDescription

    @property
    @abstractmethod
    def is_connected(self) -> bool:
        """True between ``connect`` and ``disconnect``."""

    @abstractmethod
    def connect(self) -> None:
        """Open the link to the arm (load it into the simulator, or open the driver)."""

    @abstractmethod
    def get_observation(self) -> RobotObservation:
        """Read the arm's current state."""

    @abstractmethod
    def send_action(self, action: RobotAction) -> RobotAction:
        """Apply ``action`` for one control period; return what was actually sent.

        Raises:
            ValueError: if the action has the wrong shape or non-finite values; the arm's
                state is left untouched.
        """

    @abstractmethod
    def stop(self) -> None:
        """Hold the current joint positions (a controlled stop, not an emergency stop)."""

    def observation_age(self) -> float:
        """Seconds since the state ``get_observation`` returns arrived, measured on this
        machine's monotonic clock. 0 for a simulated arm, whose state is always current."""
        return 0.0

    @property
    def latency(self) -> float:
        """Seconds from a command leaving to its motion showing in ``get_observation``: the
        actuation delay (network, driver cycle) plus the age of the state read. The skills
        that observe it credit that much of their recent commands as still in flight.
        0 for a simulated arm, which moves within the step and is read at once."""
        return 0.0

    @abstractmethod
    def disconnect(self) -> None:
        """Close the link; safe to call twice."""

    def __enter__(self) -> Robot:
        if not self.is_connected:
            self.connect()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.is_connected:
            self.stop()
            self.disconnect()


class RobotWrapper(Robot):
    """A :class:`Robot` around another that forwards every verb (override the ones you change),
    like gymnasium's ``Wrapper``."""

    def __init__(self, robot: Robot) -> None:
        self.robot = robot
        self.description = robot.description

    @property
    def is_connected(self) -> bool:
        return self.robot.is_connected

    def connect(self) -> None:
        self.robot.connect()

    def get_observation(self) -> RobotObservation:
        return self.robot.get_observation()

    def send_action(self, action: RobotAction) -> RobotAction:
        return self.robot.send_action(action)

    def stop(self) -> None:
        self.robot.stop()

    def disconnect(self) -> None:
        self.robot.disconnect()

    def observation_age(self) -> float:
        return self.robot.observation_age()

    @property
    def latency(self) -> float:
        return self.robot.latency
