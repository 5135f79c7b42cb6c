"""The cell's camera over ROS 2 as the controller's camera: fresh frames for perception and a
frame stream for the camera tracker (``embodied deploy``)."""

from __future__ import annotations

import time

from robots.ros2.camera import CameraImages, CameraLost, CameraSubscriber
from sims.camera import CameraFrame

__all__ = ["CameraLost", "RemoteCamera", "RemoteStream"]


def as_frame(images: CameraImages) -> CameraFrame:
    """A received frame in the form perception reads (no segmentation: a real camera has none)."""
    return CameraFrame(images.rgb, images.depth, None, {}, images.intrinsics, images.camera_to_world)


class RemoteStream:
    """Frames as the subscriber receives them; exposure times are their header stamps (s)."""

    def __init__(self, subscriber: CameraSubscriber, rate: float, ages: list[float] | None = None) -> None:
        self.subscriber, self.rate = subscriber, rate
        self.ages: list[float] = ages if ages is not None else []
        self._last = time.time()

    def now(self) -> float:
        return time.time()

    def poll(self) -> list[tuple[float, CameraFrame]]:
        frames = self.subscriber.frames_since(self._last)
        if frames:
            self._last = frames[-1].stamp
        return [(f.stamp, as_frame(f)) for f in frames]


class RemoteCamera:
    """``render()`` is the first frame exposed after the call (the scene as it is now).

    Args:
        subscriber: the camera's topics.
        timeout: seconds to wait for that frame.
        rate: the camera's frame rate, Hz (how often the tracker may expect frames).
    """

    def __init__(self, subscriber: CameraSubscriber, timeout: float, rate: float) -> None:
        self.subscriber, self.timeout, self.rate = subscriber, timeout, rate
        self.ages: list[float] = []  # of every frame any of its streams' trackers used, s

    def render(self, segmentation: bool = False) -> CameraFrame:
        """The next frame. Raises :class:`CameraLost` when none comes within the timeout."""
        return as_frame(self.subscriber.wait_newer(time.time(), self.timeout))

    def stream(self) -> RemoteStream:
        return RemoteStream(self.subscriber, self.rate, self.ages)
