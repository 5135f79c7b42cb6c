"""Robot descriptions: joint names, limits, home pose and control period, read from YAML.

A description is hardware-neutral data. The simulated arm and (later) the ROS 2 arm both
read it, so nothing about a robot's kinematic limits is hard-coded in Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DESCRIPTIONS_DIR = Path(__file__).parent / "descriptions"


class JointSpec(BaseModel):
    """One revolute arm joint. Angles in rad, velocity in rad/s, effort in N·m."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    lower: float
    upper: float
    max_velocity: float = Field(gt=0)
    max_effort: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> JointSpec:
        if not self.lower < self.upper:
            raise ValueError(f"joint {self.name}: lower limit {self.lower} must be below upper {self.upper}")
        return self


class GripperSpec(BaseModel):
    """A parallel gripper; widths in metres between the finger pads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    joints: list[str] = Field(min_length=1)
    max_width: float = Field(gt=0)
    max_effort: float = Field(gt=0)
    max_speed: float = Field(gt=0)


class Workspace(BaseModel):
    """Axis-aligned box (world frame, metres) that end-effector targets are clipped to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lower: tuple[float, float, float]
    upper: tuple[float, float, float]

    @model_validator(mode="after")
    def _ordered(self) -> Workspace:
        if not all(lo < hi for lo, hi in zip(self.lower, self.upper, strict=True)):
            raise ValueError(f"workspace lower {self.lower} must be below upper {self.upper} on every axis")
        return self


class IKSpec(BaseModel):
    """Differential inverse kinematics settings (see robots/inverse_kinematics.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    damping: float = Field(0.01, gt=0)
    nullspace_gain: float = Field(0.1, ge=0, le=1)


class Ros2Spec(BaseModel):
    """How the robot's ROS 2 driver (ros2_control) names things."""

    joint_states_topic: str = "/joint_states"
    controller: str = "joint_trajectory_controller"
    command: Literal["trajectory", "position"] = "trajectory"
    gripper_controller: str | None = None
    state_rate: float = Field(100.0, gt=0, description="Hz at which the driver publishes joint states")
    late_commands: int = Field(
        2,
        ge=0,
        le=10,
        description="commands in a row that may reach the driver too late to run (a later one replaces them); "
        "each trajectory is timed to stay within rated velocity from the target of any of the last "
        "late_commands + 1 commands (2: one late command plus the last one unfinished when the next arrives)",
    )

    @property
    def command_topic(self) -> str:
        """``/<controller>/joint_trajectory`` (JointTrajectory) or ``/<controller>/commands`` (Float64MultiArray)."""
        return (
            f"/{self.controller}/joint_trajectory" if self.command == "trajectory" else f"/{self.controller}/commands"
        )

    @property
    def gripper_topic(self) -> str | None:
        return f"/{self.gripper_controller}/commands" if self.gripper_controller else None


class KinematicsSpec(BaseModel):
    """A kinematic model for hardware, where no simulator computes forward kinematics.

    ``dh`` rows are (a, d, alpha) per arm joint in the ``convention`` given (Craig's
    ``modified`` or the classic ``standard`` Denavit-Hartenberg), or (a, d, alpha, theta
    offset) where a joint's zero is not the DH zero (the xArm6's joints 2 and 3); ``tool`` is
    the distance from the last frame to the end-effector point along its z axis, m.
    """

    dh: list[tuple[float, float, float] | tuple[float, float, float, float]]
    convention: Literal["modified", "standard"] = "modified"
    tool: float = 0.0
    tool_yaw: float = 0.0
    """Rotation of the end-effector frame about the last frame's z axis, rad."""


class RobotDescription(BaseModel):
    """Everything the software needs to know about an arm, independent of simulator or driver."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    urdf: str | None = None
    control_period: float = Field(gt=0, description="seconds per control step")
    arm_joints: list[JointSpec] = Field(min_length=1)
    gripper: GripperSpec
    ee_link: str
    home: list[float]
    ready: list[float]
    workspace: Workspace
    max_ee_step: float = Field(gt=0, description="largest end-effector move per control step, metres")
    ik: IKSpec = IKSpec()
    ros2: Ros2Spec = Ros2Spec()
    kinematics: KinematicsSpec | None = None

    @field_validator("home", "ready")
    @classmethod
    def _finite_home(cls, v: list[float]) -> list[float]:
        if not np.all(np.isfinite(v)):
            raise ValueError("poses must be finite")
        return v

    @model_validator(mode="after")
    def _poses_inside_limits(self) -> RobotDescription:
        for pose_name in ("home", "ready"):
            pose = getattr(self, pose_name)
            if len(pose) != len(self.arm_joints):
                raise ValueError(f"{pose_name} has {len(pose)} values but the arm has {len(self.arm_joints)} joints")
            for q, j in zip(pose, self.arm_joints, strict=True):
                if not j.lower <= q <= j.upper:
                    raise ValueError(f"{pose_name} value {q} of {j.name} is outside [{j.lower}, {j.upper}]")
        return self

    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self.arm_joints]

    @property
    def n_joints(self) -> int:
        return len(self.arm_joints)

    @property
    def lower_limits(self) -> np.ndarray:
        """(n_joints,) lower position limits in rad."""
        return np.array([j.lower for j in self.arm_joints])

    @property
    def upper_limits(self) -> np.ndarray:
        """(n_joints,) upper position limits in rad."""
        return np.array([j.upper for j in self.arm_joints])

    @property
    def max_velocities(self) -> np.ndarray:
        """(n_joints,) velocity limits in rad/s."""
        return np.array([j.max_velocity for j in self.arm_joints])

    @property
    def max_efforts(self) -> np.ndarray:
        """(n_joints,) effort limits in N·m."""
        return np.array([j.max_effort for j in self.arm_joints])


def available_descriptions() -> list[str]:
    """Names of the descriptions shipped with the package."""
    return sorted(p.stem for p in DESCRIPTIONS_DIR.glob("*.yaml"))


def load_description(name_or_path: str | Path) -> RobotDescription:
    """Load a shipped description by name (``"panda"``) or any YAML file by path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = DESCRIPTIONS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"no robot description {str(name_or_path)!r}; shipped ones: {', '.join(available_descriptions())}"
        )
    with path.open() as f:
        data = yaml.safe_load(f)
    return RobotDescription.model_validate(data)
