"""Object tracking while a skill runs: where the moved object is, step by step.

Two trackers give a skill executor the same three things (the moved object's state, the
other objects' positions, and an ``update`` after every control step):

* :class:`SimTracker` (``perception.tracking=sim``) reads the simulator's ground truth, a
  perfect tracker. Only a simulated world has it.
* :class:`CameraTracker` (``perception.tracking=camera``) follows the object through camera
  frames, as a real cell must: frames come at the camera's rate and reach the tracker a
  latency after their exposure; between frames the estimate is predicted from the measured
  velocity. A frame in which the object is not found (hidden by the gripper) changes
  nothing. While the gripper holds the object (closed to about the object's size around
  it) the object follows the gripper, since the hand above it hides it from an overhead
  camera; a gripper at the object's height closer than a contact distance has pushed it
  along the hand's motion, and it slides on after the hand, to a stop under friction.

Frames come from a :class:`FrameStream`: :class:`SimulatedStream` renders the simulated world at
the exposure times and holds each frame back by the latency; a ROS 2 camera subscription
(``robots.ros2.camera``) delivers what the driver published.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from embodied.perception.config import PerceptionConfig
from embodied.perception.scene import PerceivedObject, Scene
from sims.camera import CameraFrame
from sims.observation import ObjectState, object_state

GRAVITY = 9.81
"""m/s^2: a pushed object let go slides to a stop at ``slide_friction`` times this."""
MIN_PUSH_SPEED = 0.01
"""m/s: a slower hand is at rest (the difference of two measured positions is noise)."""


class Tracker(Protocol):
    """What a skill executor reads the objects from."""

    def state(self) -> ObjectState:
        """The moved object's pose and twist now (world frame)."""

    def others(self) -> list[np.ndarray]:
        """(3,) positions of the other objects (world frame, m)."""

    def update(self) -> None:
        """Called after every control step."""


class SimTracker:
    """Ground truth from the simulator: ``body`` is the simulated object's name."""

    def __init__(self, world: Any, body: str) -> None:
        self.world, self.body = world, body

    def state(self) -> ObjectState:
        return object_state(self.world.client, self.body)

    def others(self) -> list[np.ndarray]:
        client = self.world.client
        return [client.base_pose(n)[0] for n in self.world.scene.object_names if n != self.body]

    def update(self) -> None:
        pass


class FrameStream(Protocol):
    """Camera frames as they become available to the tracker."""

    rate: float
    """Frames per second, Hz."""
    ages: list[float]
    """How old each frame the tracker used was when its estimate was ready (exposure to
    estimate: transport and perception), s; the next action is computed from it."""

    def poll(self) -> list[tuple[float, CameraFrame]]:
        """Frames that arrived since the last call, oldest first, each with its exposure time (s)."""

    def now(self) -> float:
        """The current time on the frames' clock, s."""


class SimulatedStream:
    """Frames of a simulated camera at ``rate`` Hz, each available ``latency`` s after exposure.

    Time is the simulation's (``clock``). A frame is rendered at the first control step at or
    after its exposure time and handed out once the latency has passed.
    """

    def __init__(self, render: Callable[[], CameraFrame], clock: Callable[[], float], rate: float, latency: float):
        self.render, self.clock = render, clock
        self.rate, self.period, self.latency = rate, 1.0 / rate, latency
        self.ages: list[float] = []
        self._next = clock()
        self._pending: deque[tuple[float, CameraFrame]] = deque()

    def now(self) -> float:
        return self.clock()

    def poll(self) -> list[tuple[float, CameraFrame]]:
        now = self.clock()
        if now >= self._next:
            self._pending.append((now, self.render()))
            self._next += self.period * max(1, int((now - self._next) / self.period) + 1)
        ready = []
        while self._pending and self._pending[0][0] + self.latency <= now + 1e-9:
            ready.append(self._pending.popleft())
        return ready


class CameraTracker:
    """Follows ``target`` (as perceived before the skill) through ``stream``'s frames.

    Args:
        stream: where frames come from.
        perceive: frame -> scene (the same perception the controller uses).
        target: the object the skill moves.
        scene: the scene it was perceived in (the other objects' first positions).
        gripper: returns (end-effector position (3,), gripper width) now.
        size: the object's edge length, m (for the grasp test).
        config: distances for matching and holding.
    """

    def __init__(
        self,
        stream: FrameStream,
        perceive: Callable[[CameraFrame], Scene],
        target: PerceivedObject,
        scene: Scene,
        gripper: Callable[[], tuple[np.ndarray, float]],
        size: float,
        config: PerceptionConfig,
    ) -> None:
        self.stream, self.perceive, self.gripper = stream, perceive, gripper
        self.colour, self.size, self.config = target.colour, size, config
        self.full_view = max(target.pixels, 1)
        """Pixels the object showed unoccluded, at rest before the skill."""
        self.period = 1.0 / stream.rate
        self._position = np.asarray(target.position, dtype=np.float64).copy()
        self._velocity = np.zeros(3)
        self._measured_at = stream.now()
        self._others = {o.name: o.position.copy() for o in scene.objects if o.name != target.name}
        self._held_offset: np.ndarray | None = None
        self._hand: tuple[float, np.ndarray] | None = None
        """(time, end-effector position) at the last update: the hand's velocity."""
        self.frames = 0
        """Frames used so far."""
        self.found = 0
        """Frames in which the object was found."""
        self._last_found = 0

    def _held(self, ee: np.ndarray, width: float) -> bool:
        """Whether the gripper holds the object: closed to about its size, around it."""
        closed = 0.5 * self.size < width < self.size + 0.01
        return closed and float(np.linalg.norm(self.predicted() - ee)) < self.config.hold_distance

    def predicted(self, at: float | None = None) -> np.ndarray:
        """Where the object is now (or at time ``at``): followed with the gripper, or the last
        measurement moved on by its velocity, sliding to a stop under the table's friction
        (``slide_friction`` x g), for at most two frame periods (then held)."""
        if self._held_offset is not None:
            return self.gripper()[0] + self._held_offset
        elapsed = min(max(0.0, (self.stream.now() if at is None else at) - self._measured_at), 2.0 * self.period)
        speed = float(np.linalg.norm(self._velocity))
        deceleration = self.config.slide_friction * GRAVITY
        if speed < 1e-9 or deceleration <= 0.0:
            return self._position + self._velocity * elapsed
        moving = min(elapsed, speed / deceleration)  # s until it stops
        return self._position + self._velocity * (moving - 0.5 * deceleration * moving * moving / speed)

    def state(self) -> ObjectState:
        position = self.predicted()
        linear = self._velocity if self._held_offset is None else np.zeros(3)
        return ObjectState(position, np.array([0.0, 0.0, 0.0, 1.0]), linear, np.zeros(3))

    def others(self) -> list[np.ndarray]:
        return list(self._others.values())

    def update(self) -> None:
        ee, width = self.gripper()
        now = self.stream.now()
        hand_velocity = np.zeros(3)
        if self._hand is not None and now - self._hand[0] > 1e-6:
            hand_velocity = (ee - self._hand[1]) / (now - self._hand[0])
        self._hand = (now, np.asarray(ee, dtype=np.float64).copy())
        if self._held_offset is None and self._held(ee, width):
            self._held_offset = self.predicted() - ee
        elif self._held_offset is not None and width >= self.size + 0.01:
            # Released: continue from where the gripper left it until the camera sees it.
            self._position, self._velocity = ee + self._held_offset, np.zeros(3)
            self._measured_at, self._held_offset = self.stream.now(), None
        for exposed, frame in self.stream.poll():
            self._use(exposed, frame)
        if self._held_offset is None and width < 0.5 * self.size:
            self._pushed(ee, hand_velocity)  # closed fingers push; open ones close around the object

    def _pushed(self, ee: np.ndarray, hand_velocity: np.ndarray) -> None:
        """Closed fingers cannot pass through the object: at the object's height and closer than
        ``contact_distance`` they have pushed it (what the camera, with the hand over the
        object, may not show until the hand leaves).

        A hand moving into the object pushes it along its own motion, and the object leaves
        with the hand's speed and slides on (see :meth:`predicted`). Pushed straight away from
        the hand instead, an estimate contacted off its centre line went sideways while the cube
        went with the hand: 5 cm off while the hand hid it. A hand at rest, or moving away,
        only moves the estimate out of the fingers.
        """
        position = self.predicted()
        if abs(float(ee[2] - position[2])) > self.size:
            return
        offset = position[:2] - ee[:2]
        distance = float(np.linalg.norm(offset))
        contact = self.config.contact_distance
        if not 1e-6 < distance < contact:
            return
        velocity = np.zeros(3)
        speed = float(np.linalg.norm(hand_velocity[:2]))
        along = float(offset @ hand_velocity[:2]) / speed if speed > MIN_PUSH_SPEED else 0.0
        if along > 0.0:
            # Forward along the hand's motion u until ``contact`` away: |offset + t u| = contact.
            u = hand_velocity[:2] / speed
            t = -along + np.sqrt(along * along - distance * distance + contact * contact)
            position[:2] = position[:2] + t * u
            velocity[:2] = hand_velocity[:2]
        else:
            position[:2] = ee[:2] + offset / distance * contact
        self._position, self._velocity, self._measured_at = position, velocity, self.stream.now()

    def _use(self, exposed: float, frame: CameraFrame) -> None:
        self.frames += 1
        scene = self.perceive(frame)
        self.stream.ages.append(self.stream.now() - exposed)
        if self._held_offset is not None:
            return  # the hand hides it; it moves with the gripper
        if exposed < self._measured_at:
            # Exposed before the estimate was last set by contact (a push, a release): the
            # frame shows the object where it was. Taken, it put a cube the hand had just
            # pushed back under the fingers, which then pushed the estimate 3 cm sideways.
            self._update_others(scene, None)
            return
        guess = self.predicted(exposed)
        same = [o for o in scene.objects if o.colour == self.colour]
        near = [o for o in same if np.linalg.norm(o.position[:2] - guess[:2]) <= self.config.match_distance]
        if not near and self.frames - self._last_found > 3:
            # Lost for a while (moved while hidden): take the object of its colour seen whole.
            near = [o for o in same if o.pixels >= 0.7 * self.full_view]
        best = min(near, key=lambda o: float(np.linalg.norm(o.position - guess)), default=None)
        if best is None:
            self._velocity = np.zeros(3)  # not seen: hold the last estimate rather than drift
            return
        measured = best.position.copy()
        partial = best.pixels < 0.7 * self.full_view and best.top_bounds is not None
        if partial:
            # Partly hidden (fingers over it): the visible part's centroid is not its centre.
            # The centre is where a whole face containing every visible point can be; keep
            # the prediction (height included), moved into that region.
            lo, hi = best.top_bounds
            half = self.size / 2
            low, high = hi - half, lo + half
            xy = np.where(low <= high, np.clip(guess[:2], np.minimum(low, high), np.maximum(low, high)), (lo + hi) / 2)
            measured = guess.copy()
            measured[:2] = xy
        dt = exposed - self._measured_at
        # Velocity only from consecutive whole views: across a gap the object may have been
        # pushed, and a region says where a hidden object can be, not how it moves (a velocity
        # taken from one clipped prediction to the next kept itself going and carried the
        # estimate 3.5 cm off under a descending hand: measured through DDS, the grasp missed).
        consecutive = 1e-6 < dt <= 1.5 * self.period and self._last_found == self.frames - 1 and not partial
        velocity = (measured - self._position) / dt if consecutive else np.zeros(3)
        speed = float(np.linalg.norm(velocity))
        # Below 5 cm/s a difference of two noisy frames is noise; above 1.5 m/s a mismatch.
        self._velocity = velocity if 0.05 < speed < 1.5 else np.zeros(3)
        self._position, self._measured_at = measured, exposed
        self._last_found = self.frames
        self.found += 1
        self._update_others(scene, best)

    def _update_others(self, scene: Scene, target: PerceivedObject | None) -> None:
        """The other objects' positions from ``scene`` (all but ``target``)."""
        for o in scene.objects:
            if o is not target and o.name in self._others:
                self._others[o.name] = o.position.copy()
