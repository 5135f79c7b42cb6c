"""ROS 2 message types as DDS types, byte-compatible with what ROS 2 puts on the wire.

ROS 2 maps a message ``pkg/msg/T`` to the DDS type ``pkg::msg::dds_::T_``, a ``@final``
struct serialised as plain CDR; these classes declare exactly those names and field
layouts (checked byte for byte against ``rosbags`` in the tests). Only what the arm path
needs: time, header, joint states, joint trajectories, multi-arrays, the e-stop flag.

Annotations here must stay real types, not postponed (string) ones: cyclonedds reads them
to build the IDL layout, and postponed evaluation breaks that.
"""

from dataclasses import dataclass, field

import cyclonedds.idl.annotations as annotate
import cyclonedds.idl.types as types
from cyclonedds.idl import IdlStruct


class _Seconds:
    """Conversion to and from seconds for the (sec, nanosec) pairs of Time and Duration."""

    @classmethod
    def from_seconds(cls, t: float):  # noqa: ANN206
        sec = int(t // 1)
        return cls(sec=sec, nanosec=int(round((t - sec) * 1e9)) % 1_000_000_000)

    def to_seconds(self) -> float:
        return self.sec + self.nanosec * 1e-9


@dataclass
@annotate.final
class Time(IdlStruct, _Seconds, typename="builtin_interfaces::msg::dds_::Time_"):
    """builtin_interfaces/msg/Time: seconds and nanoseconds since the epoch."""

    sec: types.int32 = 0
    nanosec: types.uint32 = 0


@dataclass
@annotate.final
class Duration(IdlStruct, _Seconds, typename="builtin_interfaces::msg::dds_::Duration_"):
    """builtin_interfaces/msg/Duration (e.g. time_from_start of a trajectory point)."""

    sec: types.int32 = 0
    nanosec: types.uint32 = 0


@dataclass
@annotate.final
class Header(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    """std_msgs/msg/Header: stamp and frame id."""

    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@dataclass
@annotate.final
class JointState(IdlStruct, typename="sensor_msgs::msg::dds_::JointState_"):
    """sensor_msgs/msg/JointState: names with positions (rad or m), velocities and efforts."""

    header: Header = field(default_factory=Header)
    name: types.sequence[str] = field(default_factory=list)
    position: types.sequence[types.float64] = field(default_factory=list)
    velocity: types.sequence[types.float64] = field(default_factory=list)
    effort: types.sequence[types.float64] = field(default_factory=list)


@dataclass
@annotate.final
class JointTrajectoryPoint(IdlStruct, typename="trajectory_msgs::msg::dds_::JointTrajectoryPoint_"):
    """trajectory_msgs/msg/JointTrajectoryPoint."""

    positions: types.sequence[types.float64] = field(default_factory=list)
    velocities: types.sequence[types.float64] = field(default_factory=list)
    accelerations: types.sequence[types.float64] = field(default_factory=list)
    effort: types.sequence[types.float64] = field(default_factory=list)
    time_from_start: Duration = field(default_factory=Duration)


@dataclass
@annotate.final
class JointTrajectory(IdlStruct, typename="trajectory_msgs::msg::dds_::JointTrajectory_"):
    """trajectory_msgs/msg/JointTrajectory: joint names and timed points."""

    header: Header = field(default_factory=Header)
    joint_names: types.sequence[str] = field(default_factory=list)
    points: types.sequence[JointTrajectoryPoint] = field(default_factory=list)


@dataclass
@annotate.final
class MultiArrayDimension(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayDimension_"):
    """std_msgs/msg/MultiArrayDimension."""

    label: str = ""
    size: types.uint32 = 0
    stride: types.uint32 = 0


@dataclass
@annotate.final
class MultiArrayLayout(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayLayout_"):
    """std_msgs/msg/MultiArrayLayout."""

    dim: types.sequence[MultiArrayDimension] = field(default_factory=list)
    data_offset: types.uint32 = 0


@dataclass
@annotate.final
class Float64MultiArray(IdlStruct, typename="std_msgs::msg::dds_::Float64MultiArray_"):
    """std_msgs/msg/Float64MultiArray (a forward position controller's commands)."""

    layout: MultiArrayLayout = field(default_factory=MultiArrayLayout)
    data: types.sequence[types.float64] = field(default_factory=list)


@dataclass
@annotate.final
class Bool(IdlStruct, typename="std_msgs::msg::dds_::Bool_"):
    """std_msgs/msg/Bool (the e-stop topic: true = stop)."""

    data: bool = False


ROS_TYPES = {
    "builtin_interfaces/msg/Time": Time,
    "builtin_interfaces/msg/Duration": Duration,
    "std_msgs/msg/Header": Header,
    "sensor_msgs/msg/JointState": JointState,
    "trajectory_msgs/msg/JointTrajectoryPoint": JointTrajectoryPoint,
    "trajectory_msgs/msg/JointTrajectory": JointTrajectory,
    "std_msgs/msg/MultiArrayDimension": MultiArrayDimension,
    "std_msgs/msg/MultiArrayLayout": MultiArrayLayout,
    "std_msgs/msg/Float64MultiArray": Float64MultiArray,
    "std_msgs/msg/Bool": Bool,
}
"""ROS 2 type name -> our DDS class."""
