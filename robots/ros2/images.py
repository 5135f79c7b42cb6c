"""A camera's frames, calibration and pose as ROS 2 messages, and back, in NumPy.

Encodings follow REP 118 and sensor_msgs' image_encodings: colour as ``rgb8`` (``bgr8``
is read too, as many drivers send it); depth as ``32FC1`` in metres (NaN: no reading) or
``16UC1`` in millimetres (0: no reading). Intrinsics go into ``CameraInfo`` as ``k`` and
``p`` for an undistorted pinhole camera (``plumb_bob`` with zero distortion), and the
camera's pose as a ``TransformStamped`` from the world frame to its optical frame (x right,
y down, z forward: REP 103's ``*_optical_frame``), which ``/tf_static`` carries.
"""

from __future__ import annotations

import numpy as np

from robots.forward_kinematics import quat_from_matrix
from robots.ros2 import messages as m

DEPTH_ENCODINGS = ("32FC1", "16UC1")
COLOUR_ENCODINGS = ("rgb8", "bgr8")
MAX_DEPTH_16UC1 = 65.535
"""Largest depth a 16-bit millimetre image can hold, m."""


def colour_image(rgb: np.ndarray, stamp: m.Time, frame_id: str) -> m.Image:
    """``rgb8`` image of an (H, W, 3) uint8 array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"a colour image must be (H, W, 3), got {rgb.shape}")
    h, w, _ = rgb.shape
    return m.Image(m.Header(stamp, frame_id), h, w, "rgb8", 0, 3 * w, rgb.tobytes())


def depth_image(depth: np.ndarray, stamp: m.Time, frame_id: str, encoding: str = "32FC1") -> m.Image:
    """Depth image of an (H, W) array in metres; non-finite or non-positive values are "no reading"."""
    depth = np.asarray(depth, dtype=np.float64)
    if depth.ndim != 2:
        raise ValueError(f"a depth image must be (H, W), got {depth.shape}")
    valid = np.isfinite(depth) & (depth > 0)
    h, w = depth.shape
    if encoding == "32FC1":
        data = np.where(valid, depth, np.nan).astype("<f4")
        step = 4 * w
    elif encoding == "16UC1":
        mm = np.where(valid & (depth <= MAX_DEPTH_16UC1), np.round(depth * 1000.0), 0.0)
        data = mm.astype("<u2")
        step = 2 * w
    else:
        raise ValueError(f"depth encoding must be one of {', '.join(DEPTH_ENCODINGS)}, got {encoding!r}")
    return m.Image(m.Header(stamp, frame_id), h, w, encoding, 0, step, data.tobytes())


def image_array(msg: m.Image) -> np.ndarray:
    """The pixels of ``msg``: (H, W, 3) uint8 RGB for colour, (H, W) float32 metres (NaN: none) for depth.

    Raises:
        ValueError: an encoding other than rgb8, bgr8, 32FC1, 16UC1, or data that does not
            fit ``height`` x ``step``.
    """
    kinds = {"rgb8": ("u1", 3), "bgr8": ("u1", 3), "32FC1": ("f4", 1), "16UC1": ("u2", 1)}
    if msg.encoding not in kinds:
        raise ValueError(f"image encoding {msg.encoding!r} is not supported; use one of {', '.join(kinds)}")
    code, channels = kinds[msg.encoding]
    item = np.dtype(code).itemsize
    if msg.step < msg.width * channels * item or len(msg.data) < msg.height * msg.step:
        raise ValueError(
            f"image {msg.width}x{msg.height} {msg.encoding}: step {msg.step} and {len(msg.data)} bytes do not fit"
        )
    order = ">" if msg.is_bigendian else "<"
    rows = np.frombuffer(msg.data, dtype=np.uint8, count=msg.height * msg.step).reshape(msg.height, msg.step)
    pixels = rows[:, : msg.width * channels * item].copy().view(np.dtype(order + code))
    if channels == 3:
        pixels = pixels.reshape(msg.height, msg.width, 3)
        return pixels[..., ::-1].copy() if msg.encoding == "bgr8" else pixels
    if msg.encoding == "16UC1":
        metres = pixels.astype(np.float32) / 1000.0
        metres[pixels == 0] = np.nan
        return metres
    out = pixels.astype(np.float32)
    out[~np.isfinite(out) | (out <= 0)] = np.nan
    return out


def camera_info(intrinsics: np.ndarray, width: int, height: int, stamp: m.Time, frame_id: str) -> m.CameraInfo:
    """``CameraInfo`` of an undistorted pinhole camera with (3, 3) ``intrinsics`` K in pixels."""
    k = np.asarray(intrinsics, dtype=np.float64)
    p = np.zeros((3, 4))
    p[:, :3] = k
    return m.CameraInfo(
        header=m.Header(stamp, frame_id),
        height=int(height),
        width=int(width),
        distortion_model="plumb_bob",
        d=[0.0] * 5,
        k=[float(v) for v in k.ravel()],
        r=[float(v) for v in np.eye(3).ravel()],
        p=[float(v) for v in p.ravel()],
    )


def intrinsics_of(info: m.CameraInfo) -> np.ndarray:
    """(3, 3) K of ``info``; a camera with distortion is refused (the images must be rectified)."""
    if any(abs(v) > 1e-12 for v in info.d):
        raise ValueError(
            f"camera {info.header.frame_id!r} reports distortion {list(info.d)}; subscribe to its rectified images"
        )
    k = np.asarray(info.k, dtype=np.float64).reshape(3, 3)
    if k[0, 0] <= 0 or k[1, 1] <= 0:
        raise ValueError(f"camera {info.header.frame_id!r} has no calibration (K = {list(info.k)})")
    return k


def pose_transform(pose: np.ndarray, parent: str, child: str, stamp: m.Time) -> m.TransformStamped:
    """The (4, 4) pose of ``child`` in ``parent`` as a ``TransformStamped``."""
    pose = np.asarray(pose, dtype=np.float64)
    t, q = pose[:3, 3], quat_from_matrix(pose[:3, :3])
    return m.TransformStamped(
        m.Header(stamp, parent),
        child,
        m.Transform(m.Vector3(*map(float, t)), m.Quaternion(*map(float, q))),
    )


def transform_pose(msg: m.TransformStamped) -> np.ndarray:
    """(4, 4) pose of ``msg.child_frame_id`` in ``msg.header.frame_id``."""
    x, y, z, w = msg.transform.rotation.x, msg.transform.rotation.y, msg.transform.rotation.z, msg.transform.rotation.w
    n = np.sqrt(x * x + y * y + z * z + w * w)
    x, y, z, w = x / n, y / n, z / n, w / n
    pose = np.eye(4)
    pose[:3, :3] = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    v = msg.transform.translation
    pose[:3, 3] = [v.x, v.y, v.z]
    return pose
