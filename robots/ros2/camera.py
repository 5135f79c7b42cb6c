"""An RGB-D camera over ROS 2: the topics a driver publishes, a publisher (the stand-in cell)
and a subscriber that pairs colour, aligned depth, calibration and the camera's pose.

Topic names default to what Intel's ``realsense2_camera`` (ROS 2 wrapper 4.x, camera
``camera`` in namespace ``camera``) publishes with ``align_depth.enable:=true``:

* ``/camera/camera/color/image_raw``: ``sensor_msgs/Image``, rgb8;
* ``/camera/camera/aligned_depth_to_color/image_raw``: depth registered to the colour
  image, 16UC1 millimetres (or 32FC1 metres), same stamp as its colour frame;
* ``/camera/camera/color/camera_info``: ``sensor_msgs/CameraInfo`` (rectified: no distortion);
* ``/tf_static``: ``tf2_msgs/TFMessage``, the world -> optical frame transform, published
  once, transient local (tf2's static broadcaster QoS), as a calibration node would.

Images use best effort on the reader (matches reliable and best-effort publishers).
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

import numpy as np
from cyclonedds.core import Listener, Policy, Qos
from cyclonedds.util import duration

from robots.robot import MotionHalted
from robots.ros2 import images
from robots.ros2 import messages as m
from robots.ros2.dds import Node, take

IMAGE_QOS = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(2), Policy.Durability.Volatile)
"""Images: best effort, keep the last 2 (an old frame is worth nothing)."""

STATIC_QOS = Qos(
    Policy.Reliability.Reliable(duration(milliseconds=100)),
    Policy.History.KeepLast(1),
    Policy.Durability.TransientLocal,
)
"""/tf_static: reliable, transient local, keep last 1 (late joiners get the calibration)."""


@dataclass(frozen=True)
class CameraTopics:
    """Where a cell's camera publishes, and the frames its pose relates (all configurable per cell)."""

    colour: str = "/camera/camera/color/image_raw"
    depth: str = "/camera/camera/aligned_depth_to_color/image_raw"
    info: str = "/camera/camera/color/camera_info"
    tf_static: str = "/tf_static"
    world_frame: str = "world"
    optical_frame: str = "camera_color_optical_frame"
    depth_encoding: str = "16UC1"


@dataclass(frozen=True)
class CameraImages:
    """One RGB-D frame as received.

    Attributes:
        stamp: exposure time, s (the header stamp; the publisher's clock).
        rgb: (H, W, 3) uint8.
        depth: (H, W) float32 depth along the optical axis, m; NaN where none.
        intrinsics: (3, 3) K, pixels (centres at integer coordinates, as CameraInfo has it).
        camera_to_world: (4, 4) optical-frame pose in the world frame.
    """

    stamp: float
    rgb: np.ndarray
    depth: np.ndarray
    intrinsics: np.ndarray
    camera_to_world: np.ndarray


class CameraPublisher:
    """Publishes colour, aligned depth and camera info per frame, and the pose once on /tf_static."""

    def __init__(self, node: Node, topics: CameraTopics, camera_to_world: np.ndarray) -> None:
        if topics.depth_encoding not in images.DEPTH_ENCODINGS:
            raise ValueError(
                f"depth_encoding must be one of {', '.join(images.DEPTH_ENCODINGS)}, got {topics.depth_encoding!r}"
            )
        self.topics = topics
        self.colour = node.writer(topics.colour, m.Image, IMAGE_QOS)
        self.depth = node.writer(topics.depth, m.Image, IMAGE_QOS)
        self.info = node.writer(topics.info, m.CameraInfo, IMAGE_QOS)
        self.tf = node.writer(topics.tf_static, m.TFMessage, STATIC_QOS)
        pose = images.pose_transform(
            camera_to_world, topics.world_frame, topics.optical_frame, m.Time.from_seconds(time.time())
        )
        self.tf.write(m.TFMessage([pose]))
        self.published = 0

    def publish(self, rgb: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, stamp: float) -> None:
        """One frame: ``rgb`` (H, W, 3) uint8, ``depth`` (H, W) m (NaN: none), exposed at ``stamp`` s."""
        t = m.Time.from_seconds(stamp)
        frame = self.topics.optical_frame
        h, w = depth.shape
        self.colour.write(images.colour_image(rgb, t, frame))
        self.depth.write(images.depth_image(depth, t, frame, self.topics.depth_encoding))
        self.info.write(images.camera_info(intrinsics, w, h, t, frame))
        self.published += 1


class CameraLost(MotionHalted):
    """No (fresh) frame from the camera in time: the job ends without another motion, as
    when the driver is lost (acting blind is not an option on a real cell)."""

    kind = "camera_lost"


class CameraSubscriber:
    """Receives a camera's topics and pairs colour and depth frames of the same stamp.

    Frames arrive on DDS threads; :meth:`frames_since` and :meth:`wait_newer` hand them out.
    """

    def __init__(self, node: Node, topics: CameraTopics) -> None:
        self.topics = topics
        self._lock = threading.Condition()
        self._colour: dict[float, np.ndarray] = {}
        self._depth: dict[float, np.ndarray] = {}
        self._info: np.ndarray | None = None
        self._pose: np.ndarray | None = None
        self._frames: list[CameraImages] = []  # newest last, a few kept
        self.received = 0

        # The node keeps listeners alive for the process's life (see Node.reader); a callback
        # holding the subscriber would keep it, its readers and their decoding of every frame
        # alive too, long after it was dropped (a benchmark's 80 deployments in one process
        # slowed from 13 to over 100 s each). A weak reference lets it go.
        me = weakref.ref(self)

        def listener(name: str):  # noqa: ANN202
            def on_data(reader) -> None:  # noqa: ANN001 (DDS listener thread)
                subscriber = me()
                if subscriber is not None and subscriber._readers is not None:
                    getattr(subscriber, name)(reader)

            return Listener(on_data_available=on_data)

        self._readers: list | None = None

        self._readers = []
        for topic, msg_type, qos, handler in (
            (topics.colour, m.Image, IMAGE_QOS, "_on_colour"),
            (topics.depth, m.Image, IMAGE_QOS, "_on_depth"),
            (topics.info, m.CameraInfo, IMAGE_QOS, "_on_info"),
            (topics.tf_static, m.TFMessage, STATIC_QOS, "_on_tf"),
        ):
            self._readers.append(node.reader(topic, msg_type, qos, listener(handler)))

    def close(self) -> None:
        """Stop receiving: the readers leave the domain (frames already paired stay readable)."""
        self._readers = None

    # -- DDS threads -------------------------------------------------------------------------
    def _on_colour(self, reader) -> None:  # noqa: ANN001
        for msg in take(reader):
            with self._lock:
                self._colour[msg.header.stamp.to_seconds()] = images.image_array(msg)
                self._pair()

    def _on_depth(self, reader) -> None:  # noqa: ANN001
        for msg in take(reader):
            with self._lock:
                self._depth[msg.header.stamp.to_seconds()] = images.image_array(msg)
                self._pair()

    def _on_info(self, reader) -> None:  # noqa: ANN001
        for msg in take(reader):
            k = images.intrinsics_of(msg)
            with self._lock:
                self._info = k
                self._pair()

    def _on_tf(self, reader) -> None:  # noqa: ANN001
        for msg in take(reader):
            for t in msg.transforms:
                if t.header.frame_id == self.topics.world_frame and t.child_frame_id == self.topics.optical_frame:
                    with self._lock:
                        self._pose = images.transform_pose(t)
                        self._pair()

    def _pair(self) -> None:
        """Under the lock: turn colour + depth of one stamp into a frame once calibration and pose are known."""
        if self._info is None or self._pose is None:
            return
        for stamp in sorted(set(self._colour) & set(self._depth)):
            rgb, depth = self._colour.pop(stamp), self._depth.pop(stamp)
            if rgb.shape[:2] != depth.shape:
                continue  # not aligned to the colour image: unusable
            self._frames = [*self._frames[-3:], CameraImages(stamp, rgb, depth, self._info, self._pose)]
            self.received += 1
        # Unpaired halves older than the newest frame will never pair: drop them.
        newest = self._frames[-1].stamp if self._frames else -np.inf
        for store in (self._colour, self._depth):
            for stamp in [s for s in store if s <= newest or len(store) > 8]:
                store.pop(stamp, None)
        self._lock.notify_all()

    # -- consumers ---------------------------------------------------------------------------
    def frames_since(self, stamp: float) -> list[CameraImages]:
        """Frames exposed after ``stamp`` s, oldest first."""
        with self._lock:
            return [f for f in self._frames if f.stamp > stamp]

    def wait_newer(self, stamp: float, timeout: float) -> CameraImages:
        """The newest frame exposed after ``stamp``, waiting up to ``timeout`` s for one.

        Raises:
            CameraLost: none came (the message says which topics were silent).
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while not (self._frames and self._frames[-1].stamp > stamp):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CameraLost(self._silence(timeout))
                self._lock.wait(left)
            return self._frames[-1]

    def _silence(self, timeout: float) -> str:
        t = self.topics
        missing = [
            name
            for name, ok in (
                (t.info, self._info is not None),
                (f"{t.tf_static} ({t.world_frame} -> {t.optical_frame})", self._pose is not None),
            )
            if not ok
        ]
        if missing:
            return f"no camera calibration within {timeout:.1f} s: nothing on {', '.join(missing)}"
        return f"no fresh camera frame (colour {t.colour} + depth {t.depth} of one stamp) within {timeout:.1f} s"
