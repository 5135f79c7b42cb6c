"""A stand-in for a real arm's ROS 2 driver: a PyBullet arm behind a ros2_control-like interface.

It publishes ``sensor_msgs/JointState`` on the description's joint-states topic at the
driver's rate, executes ``trajectory_msgs/JointTrajectory`` from
``/<controller>/joint_trajectory`` after the joint trajectory controller's validation rules,
takes gripper commands on ``/<gripper_controller>/commands`` (Float64MultiArray, width in m),
and holds position when no command arrived within the command timeout (as the controller's
``cmd_timeout`` does). Malformed messages are counted and dropped, never executed, and never
stop the loop. Runs in real time, in its own process (``embodied fake-arm``).

It is a whole stand-in cell: the table and cubes are simulated with the arm, and an RGB-D
camera publishes them (colour, aligned depth with the noise model, camera info, and its pose
on ``/tf_static``) at the camera's rate, as a RealSense driver would
(:mod:`robots.ros2.camera`); the cubes exist for a deployment only through those images.

Like a real cell it also protects itself: trajectories that need a joint faster than rated
are refused (a Franka reflex, a UR protective stop); while more than ``max_writers``
publishers are matched on its command topic it executes nothing (two commanders fight over
an arm); and the operator e-stop topic (``std_msgs/Bool``, true = stop) latches a hold
until it says false.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from robots.description import RobotDescription, load_description
from robots.robot import RobotObservation
from robots.ros2.camera import CameraTopics
from robots.ros2.dds import COMMAND_QOS, SENSOR_QOS, Node, take
from robots.ros2.discovery import Discovery
from robots.ros2.estop import subscribe_estop
from robots.ros2.messages import Float64MultiArray, Header, JointState, JointTrajectory, Time
from robots.ros2.validation import TrajectoryRejected, validate_trajectory
from sims.cell_camera import CellCamera, sample_state
from sims.config import SceneConfig, from_mapping


@dataclass
class FakeArmStats:
    """What the stand-in did (for tests and benchmarks)."""

    published: int = 0
    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    holds: int = 0
    estops: int = 0
    """Times the operator e-stop latched."""
    estop_delays: list[float] = field(default_factory=list)
    """For each e-stop: seconds from the message's arrival to the hold."""
    command_times: list[float] = field(default_factory=list)
    """``time.monotonic()`` at which each accepted trajectory was taken (for benchmarks)."""
    max_writers_seen: int = 0
    """Most publishers matched on the command topic at once."""
    hold_delays: list[float] = field(default_factory=list)
    """For each watchdog hold: seconds from the last command received to the hold."""
    frames: int = 0
    """States handed to the camera process (frames it rendered and published, less any it dropped)."""
    max_publish_gap: float = 0.0
    """Longest time between two joint-state publications, s."""
    started: float = field(default_factory=time.monotonic)


class FakeArm:
    """The stand-in driver.

    Args:
        robot: description name or object (needs a URDF: it is simulated).
        domain: DDS domain (default ``ROS_DOMAIN_ID`` or 0); ignored when ``discovery`` is given.
        discovery: DDS discovery settings (default: the environment's, loopback unless told).
        rate: joint-state rate in Hz (default: the description's ``ros2.state_rate``).
        command_timeout: hold position when no valid command arrived for this long, s.
        max_writers: execute nothing while more publishers than this are matched on the command topic.
        estop_topic: the operator e-stop topic (None: not subscribed).
        seed: places the cell's simulated cubes (None: the world's first placement).
        hide: cube names the cell leaves out.
        actuation_delay: seconds between a trajectory or gripper command arriving and the arm
            starting on it (a slow driver or network; ``sims.actuation`` models the same in
            training, where the gripper is part of the delayed action).
        scene: the cell's table and cubes (``SceneConfig`` or dict).
        camera: the cell camera's pose, optics, ``rate`` and depth noise (``CameraConfig`` or dict).
        camera_topics: where to publish the camera (None: no camera), a
            :class:`robots.ros2.camera.CameraTopics`.
        randomization: draw the cell's physics (friction, cube masses and damping, joint
            damping, actuator gain) from these ranges (``RandomizationConfig`` or dict), with
            the generator ``embodied run randomize=true`` uses for the same seed; None: nominal.
            Of the draw's actuation channel the cell applies the jitter, the action noise and
            the observation delay (unless given below); ``actuation_delay`` sets the delay; the
            lag is its own interpolation (see ``lag``).
        jitter: probability that a trajectory or gripper command arrives one control period later still
            (:class:`sims.actuation.TimedCommands`); None: the draw's when randomised, else 0.
        lag: time constant of a first-order lag on the joint set-point, s (a controller's
            trajectory interpolation, :class:`sims.actuation.SetpointLag`) on top of the
            interpolation from the measured joints; None: 0.
        action_noise: std of the execution error added to each accepted trajectory and
            gripper command, in the skills' action units ([-1, 1] of ``max_ee_step`` per hand
            axis, of the gripper's range for the width), as ``sims.actuation.Actuation`` adds
            it to each action; None: the draw's when randomised, else 0.
        observation_delay: age of the published joint states, s (each is the arm as it was
            this long ago, stamped when it was measured); None: the draw's periods times the
            control period when randomised, else 0.
    """

    def __init__(
        self,
        robot: str | RobotDescription = "panda",
        domain: int | None = None,
        rate: float | None = None,
        command_timeout: float = 0.1,
        discovery: Discovery | None = None,
        max_writers: int = 1,
        estop_topic: str | None = "/embodied/estop",
        seed: int | None = None,
        scene=None,  # noqa: ANN001
        camera=None,  # noqa: ANN001
        camera_topics: CameraTopics | None = None,
        hide: Sequence[str] = (),
        actuation_delay: float = 0.0,
        randomization=None,  # noqa: ANN001
        jitter: float | None = None,
        lag: float | None = None,
        action_noise: float | None = None,
        observation_delay: float | None = None,
    ) -> None:
        from sims.actuation import SetpointLag, TimedCommands
        from sims.randomization import RandomizationConfig, draw_episode, scene_rng
        from sims.world import TabletopWorld

        self.description = robot if isinstance(robot, RobotDescription) else load_description(robot)
        if self.description.urdf is None:
            raise ValueError(f"robot {self.description.name!r} has no URDF, so the stand-in cannot simulate it")
        if command_timeout <= 0:
            raise ValueError(f"command_timeout must be > 0, got {command_timeout}")
        if max_writers < 1:
            raise ValueError(f"max_writers must be >= 1, got {max_writers}")
        self.max_writers = max_writers
        self.rate = float(rate or self.description.ros2.state_rate)
        if not 1.0 <= self.rate <= 1000.0:
            raise ValueError(f"rate must be within 1..1000 Hz, got {self.rate}")
        self.command_timeout = command_timeout
        if not 0.0 <= actuation_delay <= 1.0:
            raise ValueError(f"actuation_delay must be within 0..1 s, got {actuation_delay}")
        self.actuation_delay = float(actuation_delay)
        names = [c.name for c in from_mapping(SceneConfig, scene).cubes]
        unknown = sorted(set(hide) - set(names))
        if unknown:
            raise ValueError(f"hide names unknown cube(s) {unknown}; the scene has {names}")
        objects = [n for n in names if n not in hide]
        self.world = TabletopWorld(robot=self.description, scene=scene, camera=camera, objects=objects)
        if seed is not None:
            self.world.reset(np.random.default_rng(seed))
            self.world.settle()
        self.physics = None
        """The drawn physics (``sims.randomization.EpisodeDraw``), None when nominal."""
        if randomization is not None:
            self.physics = draw_episode(
                from_mapping(RandomizationConfig, randomization), self.world, scene_rng(0 if seed is None else seed)
            )
        # The rest of the actuation channel: the draw's jitter when randomised (as `embodied run
        # randomize=true` applies it), unless given; the delay is always actuation_delay. The
        # draw's lag is not applied: each trajectory is interpolated from the measured joints
        # over its period, which already smooths the commanded motion as the simulation's lag
        # does; a set-point lag on top counted it twice (measured: stacking over DDS at 3
        # periods failed 5 of 12 with it, docs/sim-to-real.md). ``lag=`` adds it on purpose.
        self.jitter = float(jitter if jitter is not None else self.physics.jitter if self.physics else 0.0)
        self.lag = float(lag if lag is not None else 0.0)
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be within 0..1, got {self.jitter}")
        if not 0.0 <= self.lag <= 1.0:
            raise ValueError(f"lag must be within 0..1 s, got {self.lag}")
        # The draw's action noise and observation delay, as `embodied run randomize=true`'s
        # ActuatedArm applies them to the simulated arm, so the cell's arm is no cleaner.
        period = self.description.control_period
        drawn = self.physics
        self.action_noise = float(action_noise if action_noise is not None else drawn.action_noise if drawn else 0.0)
        self.observation_delay = float(
            observation_delay if observation_delay is not None else drawn.observation_delay * period if drawn else 0.0
        )
        if not 0.0 <= self.action_noise <= 1.0:
            raise ValueError(f"action_noise must be within 0..1, got {self.action_noise}")
        if not 0.0 <= self.observation_delay <= 1.0:
            raise ValueError(f"observation_delay must be within 0..1 s, got {self.observation_delay}")
        # Its own stream: the jitter's draws stay what they were without the noise.
        self._noise_rng = np.random.default_rng([0 if seed is None else seed, 0xA0])
        # Trajectories and gripper commands go through the same delay and jitter (in training
        # the gripper is part of the delayed action too), each topic latest-wins on its own.
        rng = np.random.default_rng([0 if seed is None else seed, 0x717])
        self._commands, self._gripper_commands = (
            TimedCommands(self.actuation_delay, self.jitter, self.description.control_period, rng) for _ in range(2)
        )
        self._lag = SetpointLag(self.lag)
        self._last_step: float | None = None
        self.arm = self.world.robot
        d = self.description
        self.joint_names = d.joint_names
        self.finger_names = list(d.gripper.joints)
        self.lower, self.upper = d.lower_limits, d.upper_limits
        self.node = Node(domain, discovery)
        spec = d.ros2
        self.state_writer = self.node.writer(spec.joint_states_topic, JointState, SENSOR_QOS)
        self.trajectory_reader = self.node.reader(spec.command_topic, JointTrajectory, COMMAND_QOS)
        self.gripper_reader = (
            self.node.reader(spec.gripper_topic, Float64MultiArray, COMMAND_QOS) if spec.gripper_topic else None
        )
        self.stats = FakeArmStats()
        self.camera = (
            CellCamera(self.description.name, scene, camera, camera_topics, self.node.discovery, objects=objects)
            if camera_topics
            else None
        )
        self.camera_topics = camera_topics
        self._frame_period = 1.0 / self.world.camera.config.rate
        self._next_frame = -math.inf
        self._estop_request: tuple[bool, float] | None = None  # (stop, arrival), set by the DDS thread
        self.estopped = False
        self._writers = 0
        self.estop_reader = (
            subscribe_estop(
                self.node, estop_topic, lambda stop: setattr(self, "_estop_request", (stop, time.monotonic()))
            )
            if estop_topic
            else None
        )
        q = self.arm.get_observation().joint_positions
        self._hold = q.copy()
        self._setpoint = q.copy()  # what the arm's joints are commanded to now (after the lag)
        self._lag.reset(q)
        self._simulated_until: float | None = None  # the wall time up to which the arm's physics ran
        self._trajectory: list[tuple[float, list[float]]] = []  # what the joints execute (with the error)
        self._commanded: list[tuple[float, list[float]]] = []  # the trajectory as commanded
        self._start_q = q.copy()  # where the joints were when the executed trajectory began
        self._commanded_start = q.copy()  # the commanded set-point when the commanded one began
        self._started_at = 0.0
        self._last_command = -math.inf
        self._holding = True
        self._last_publish: float | None = None
        self._measured: deque[tuple[float, float, RobotObservation]] = deque()  # (monotonic, wall, state)

    @property
    def setpoint(self) -> np.ndarray:
        """The joint positions the arm is commanded to now (rad): the trajectory's
        interpolation, or the hold, after the set-point lag."""
        return self._setpoint.copy()

    @property
    def stale_dropped(self) -> int:
        """Trajectories and gripper commands dropped because a later one reached the driver first (jitter)."""
        return self._commands.dropped + self._gripper_commands.dropped

    # -- commands ------------------------------------------------------------------------
    def _apply_estop(self, now: float) -> None:
        request, self._estop_request = self._estop_request, None
        if request is None:
            return
        stop, arrived = request
        if stop and not self.estopped:
            self._hold = self.arm.get_observation().joint_positions.copy()
            self._holding, self._trajectory, self._commanded, self.estopped = True, [], [], True
            self._lag.reset(self._hold)  # a stop is immediate: no interpolation left to run out
            self.stats.estops += 1
            self.stats.estop_delays.append(time.monotonic() - arrived)
            print("fake-arm: e-stop latched: holding", file=sys.stderr, flush=True)
        elif not stop and self.estopped:
            self.estopped = False
            print("fake-arm: e-stop released", file=sys.stderr, flush=True)

    def _count_writers(self) -> int:
        writers = len(self.trajectory_reader.get_matched_publications())
        if writers != self._writers:
            if writers > self.max_writers:
                print(
                    f"fake-arm: {writers} publishers on the command topic (at most {self.max_writers}): "
                    "executing nothing until only one commands",
                    file=sys.stderr,
                    flush=True,
                )
            self._writers = writers
        self.stats.max_writers_seen = max(self.stats.max_writers_seen, writers)
        return writers

    def _take_commands(self, now: float) -> None:
        messages = take(self.trajectory_reader)
        if not self._commands.passthrough:
            # A slow arm: commands reach the controller only after the delay (and jitter).
            self._commands.push(now, messages)
            messages = self._commands.due(now)
        refuse = None
        if messages:
            if self.estopped:
                refuse = "estop"
            elif self._count_writers() > self.max_writers:
                refuse = "writers"
        for msg in messages:
            if refuse is not None:
                self.stats.rejected[refuse] += 1
                continue
            # The reflex judges the commanded motion: from the commanded set-point (not the
            # lagging, noisy measured joints), no segment may need a joint faster than rated.
            commanded_now = self._target(now, self._commanded, self._commanded_start)
            try:
                points = validate_trajectory(
                    msg,
                    self.joint_names,
                    self.lower,
                    self.upper,
                    start=commanded_now,
                    max_velocities=self.description.max_velocities,
                )
            except TrajectoryRejected as exc:
                self.stats.rejected[exc.rule] += 1
                continue
            except Exception as exc:  # noqa: BLE001 (a malformed sample must never stop the driver)
                self.stats.rejected[f"error {type(exc).__name__}"] += 1
                continue
            self.stats.accepted += 1
            self.stats.command_times.append(time.monotonic())
            # The next command is judged against this one as sent; the error moves only the joints.
            self._commanded, self._commanded_start = points, commanded_now
            self._trajectory = self._noisy_trajectory(points)
            self._start_q = self.arm.get_observation().joint_positions.copy()
            self._started_at = now
            self._last_command = now
            self._holding = False
        if self.gripper_reader is not None:
            grips = take(self.gripper_reader)
            if not self._gripper_commands.passthrough:
                self._gripper_commands.push(now, grips)
                grips = self._gripper_commands.due(now)
            for msg in grips:
                if self.estopped:
                    self.stats.rejected["estop"] += 1
                    continue
                data = list(msg.data)
                if (
                    len(data) != 1
                    or not math.isfinite(data[0])
                    or not 0.0 <= data[0] <= self.description.gripper.max_width
                ):
                    self.stats.rejected["gripper"] += 1
                    continue
                width = data[0]
                if self.action_noise > 0:
                    # The action's [-1, 1] spans the gripper's range: half of it per unit.
                    span = self.description.gripper.max_width
                    width = min(max(width + self._noise_rng.normal(0.0, self.action_noise * span / 2), 0.0), span)
                self.arm.command(self._setpoint, width)
                self._last_command = now

    def _noisy_trajectory(self, points: list[tuple[float, list[float]]]) -> list[tuple[float, list[float]]]:
        """``points`` offset by one execution error: a hand displacement drawn per axis with
        std ``action_noise * max_ee_step`` m, as joints (the whole trajectory moves with it,
        as a noisy action moves the whole step)."""
        if self.action_noise <= 0:
            return points
        error = self._noise_rng.normal(0.0, self.action_noise * self.description.max_ee_step, 3)
        offset = self.arm.joint_displacement(error)
        lower, upper = self.lower, self.upper
        return [(t, list(np.minimum(np.maximum(np.asarray(q) + offset, lower), upper))) for t, q in points]

    def _target(
        self,
        now: float,
        trajectory: list[tuple[float, list[float]]] | None = None,
        start: np.ndarray | None = None,
    ) -> np.ndarray:
        """Joint targets now (rad): linear interpolation from ``start`` along the active
        trajectory (the executed one from where the joints were, unless given), or the hold pose."""
        trajectory = self._trajectory if trajectory is None else trajectory
        if self._holding or not trajectory:
            return self._hold
        t = now - self._started_at
        prev_t, prev_q = 0.0, self._start_q if start is None else start
        for pt, q in trajectory:
            if t <= pt:
                a = (t - prev_t) / (pt - prev_t) if pt > prev_t else 1.0
                return np.asarray(prev_q) + a * (np.asarray(q) - np.asarray(prev_q))
            prev_t, prev_q = pt, q
        return np.asarray(trajectory[-1][1])

    def step(self, now: float) -> None:
        """One driver period: e-stop, read commands, apply the watchdog, move, publish the state."""
        self._apply_estop(now)
        self._take_commands(now)
        if not self._holding and now - self._last_command > self.command_timeout:
            # cmd_timeout: no fresh command, so stop where the arm is and hold there.
            self._hold = self.arm.get_observation().joint_positions.copy()
            self._holding = True
            self._lag.reset(self._hold)
            self.stats.holds += 1
            self.stats.hold_delays.append(now - self._last_command)
        dt = 0.0 if self._last_step is None else now - self._last_step
        self._last_step = now
        self._setpoint = self._lag(self._target(now), dt)
        self.arm.command(self._setpoint)
        # A real arm moves in real time even when its driver's host is late: simulate the
        # periods that have passed since the last tick (up to half a second after a stall;
        # dropping them left the arm behind its commands and tripped the motion check).
        period = 1.0 / self.rate
        if self._simulated_until is None:
            self._simulated_until = now - period
        periods = min(int((now - self._simulated_until) / period + 0.5), max(1, int(0.5 * self.rate)))
        if periods:
            self.world.client.advance(periods * period)
        self._simulated_until = max(self._simulated_until + periods * period, now - period)
        self.publish(now)
        if self.camera is not None and now >= self._next_frame:
            # The frame shows the cell as it is now; its stamp is the exposure time.
            self.camera.send(sample_state(self.world, time.time()))
            self.stats.frames = self.camera.sent
            self._next_frame = max(self._next_frame + self._frame_period, now)

    def _published_state(self, now: float) -> tuple[float, RobotObservation]:
        """(wall time it was measured, the arm's state) ``observation_delay`` s before ``now``."""
        obs, wall = self.arm.get_observation(), time.time()
        if self.observation_delay <= 0:
            return wall, obs
        self._measured.append((now, wall, obs))
        # Within half a driver period: a delay of whole control periods is whole ticks at any rate.
        due = now - self.observation_delay + 0.5 / self.rate
        while len(self._measured) > 1 and self._measured[1][0] <= due:
            self._measured.popleft()
        _, wall, obs = self._measured[0]
        return wall, obs

    def publish(self, now: float) -> None:
        wall, obs = self._published_state(now)
        width = float(obs.gripper_width)
        fingers = [width / len(self.finger_names)] * len(self.finger_names)
        msg = JointState(
            header=Header(stamp=Time.from_seconds(wall), frame_id=""),
            name=[*self.joint_names, *self.finger_names],
            position=[*map(float, obs.joint_positions), *fingers],
            velocity=[*map(float, obs.joint_velocities), *([0.0] * len(fingers))],
            effort=[],
        )
        self.state_writer.write(msg)
        self.stats.published += 1
        if self._last_publish is not None:
            self.stats.max_publish_gap = max(self.stats.max_publish_gap, now - self._last_publish)
        self._last_publish = now

    def run(self, duration: float | None = None, on_tick=None) -> FakeArmStats:  # noqa: ANN001
        """Run in real time for ``duration`` seconds (forever when None)."""
        period = 1.0 / self.rate
        start = time.monotonic()
        self.stats.started = start
        next_tick = start
        while duration is None or time.monotonic() - start < duration:
            now = time.monotonic()
            self.step(now)
            if on_tick:
                on_tick(self)
            next_tick += period
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -5 * period:
                next_tick = time.monotonic()  # far behind (a stall): do not replay a long burst
            # else: slightly late (a costly message); the next ticks run back to back to
            # keep the joint-state rate, as a real-time controller keeps its period.
        return self.stats

    def close(self) -> None:
        if self.camera is not None:
            self.camera.close()
        self.world.close()
