"""ROS 2 message types as DDS types, byte-compatible with what ROS 2 puts on the wire.

ROS 2 maps a message ``pkg/msg/T`` to the DDS type ``pkg::msg::dds_::T_``, a ``@final``
struct serialised as plain CDR; these classes declare exactly those names and field
layouts (checked byte for byte against ``rosbags`` in the tests). Only what the arm path
needs: time, header, joint states, joint trajectories, multi-arrays, the e-stop flag, and a
camera's images, calibration and pose (``sensor_msgs/Image``, ``CameraInfo``,
``tf2_msgs/TFMessage`` of ``geometry_msgs/TransformStamped``).

Annotations here must stay real types, not postponed (string) ones: cyclonedds reads them
to build the IDL layout, and postponed evaluation breaks that.
"""

from dataclasses import dataclass, field
from typing import get_args

import cyclonedds.idl.annotations as annotate
import cyclonedds.idl.types as types
from cyclonedds.idl import IdlStruct
from cyclonedds.idl._xt_builder import XTBuilder

_type_identifier = XTBuilder._xt_type_identifier.__func__
_UINT8_SEQUENCE = get_args(types.sequence[types.uint8])[1]  # the builder's own form of uint8[]


def _bytes_are_uint8_sequences(cls, name, entity, minimal):  # noqa: ANN001, ANN202
    """cyclonedds serialises a ``bytes`` field as a CDR ``sequence<uint8>`` (fast: one copy),
    but cannot describe it in the XTypes type object a topic needs; describe it as what it is
    on the wire, ROS 2's ``uint8[]``."""
    return _type_identifier(cls, name, _UINT8_SEQUENCE if entity is bytes else entity, minimal)


XTBuilder._xt_type_identifier = classmethod(_bytes_are_uint8_sequences)


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


@dataclass
@annotate.final
class Image(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    """sensor_msgs/msg/Image: ``height`` x ``width`` pixels, rows of ``step`` bytes in ``data``.

    ``data`` is declared as ``bytes``: on the wire exactly ROS 2's ``uint8[]`` (a 4-byte
    length, then the bytes), and ~15x faster to serialise than a list of ints at 640x480.
    """

    header: Header = field(default_factory=Header)
    height: types.uint32 = 0
    width: types.uint32 = 0
    encoding: str = ""
    is_bigendian: types.uint8 = 0
    step: types.uint32 = 0
    data: bytes = b""


@dataclass
@annotate.final
class RegionOfInterest(IdlStruct, typename="sensor_msgs::msg::dds_::RegionOfInterest_"):
    """sensor_msgs/msg/RegionOfInterest (all zero: the full image)."""

    x_offset: types.uint32 = 0
    y_offset: types.uint32 = 0
    height: types.uint32 = 0
    width: types.uint32 = 0
    do_rectify: bool = False


@dataclass
@annotate.final
class CameraInfo(IdlStruct, typename="sensor_msgs::msg::dds_::CameraInfo_"):
    """sensor_msgs/msg/CameraInfo: intrinsics ``k`` (3x3, row-major, pixels), distortion
    ``d``, rectification ``r`` and projection ``p`` (3x4) of the image of the same header."""

    header: Header = field(default_factory=Header)
    height: types.uint32 = 0
    width: types.uint32 = 0
    distortion_model: str = ""
    d: types.sequence[types.float64] = field(default_factory=list)
    k: types.array[types.float64, 9] = field(default_factory=lambda: [0.0] * 9)
    r: types.array[types.float64, 9] = field(default_factory=lambda: [0.0] * 9)
    p: types.array[types.float64, 12] = field(default_factory=lambda: [0.0] * 12)
    binning_x: types.uint32 = 0
    binning_y: types.uint32 = 0
    roi: RegionOfInterest = field(default_factory=RegionOfInterest)


@dataclass
@annotate.final
class Vector3(IdlStruct, typename="geometry_msgs::msg::dds_::Vector3_"):
    """geometry_msgs/msg/Vector3, m."""

    x: types.float64 = 0.0
    y: types.float64 = 0.0
    z: types.float64 = 0.0


@dataclass
@annotate.final
class Quaternion(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    """geometry_msgs/msg/Quaternion (x, y, z, w)."""

    x: types.float64 = 0.0
    y: types.float64 = 0.0
    z: types.float64 = 0.0
    w: types.float64 = 1.0


@dataclass
@annotate.final
class Transform(IdlStruct, typename="geometry_msgs::msg::dds_::Transform_"):
    """geometry_msgs/msg/Transform: the child frame's pose in the parent frame."""

    translation: Vector3 = field(default_factory=Vector3)
    rotation: Quaternion = field(default_factory=Quaternion)


@dataclass
@annotate.final
class TransformStamped(IdlStruct, typename="geometry_msgs::msg::dds_::TransformStamped_"):
    """geometry_msgs/msg/TransformStamped: ``header.frame_id`` is the parent, ``child_frame_id`` the child."""

    header: Header = field(default_factory=Header)
    child_frame_id: str = ""
    transform: Transform = field(default_factory=Transform)


@dataclass
@annotate.final
class TFMessage(IdlStruct, typename="tf2_msgs::msg::dds_::TFMessage_"):
    """tf2_msgs/msg/TFMessage (``/tf_static``: the camera's mounting, latched)."""

    transforms: types.sequence[TransformStamped] = field(default_factory=list)


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
    "sensor_msgs/msg/Image": Image,
    "sensor_msgs/msg/RegionOfInterest": RegionOfInterest,
    "sensor_msgs/msg/CameraInfo": CameraInfo,
    "geometry_msgs/msg/Vector3": Vector3,
    "geometry_msgs/msg/Quaternion": Quaternion,
    "geometry_msgs/msg/Transform": Transform,
    "geometry_msgs/msg/TransformStamped": TransformStamped,
    "tf2_msgs/msg/TFMessage": TFMessage,
}
"""ROS 2 type name -> our DDS class."""
