"""A stand-in for a real arm's ROS 2 driver: a PyBullet arm behind a ros2_control-like interface.

It publishes ``sensor_msgs/JointState`` on the description's joint-states topic at the
driver's rate, executes ``trajectory_msgs/JointTrajectory`` from
``/<controller>/joint_trajectory`` after the joint trajectory controller's validation rules,
takes gripper commands on ``/<gripper_controller>/commands`` (Float64MultiArray, width in m),
and holds position when no command arrived within the command timeout (as the controller's
``cmd_timeout`` does). Malformed messages are counted and dropped, never executed, and never
stop the loop. Runs in real time, in its own process (``embodied fake-arm``).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from robots.description import RobotDescription, load_description
from robots.ros2.dds import COMMAND_QOS, SENSOR_QOS, Node, take
from robots.ros2.discovery import Discovery
from robots.ros2.messages import Float64MultiArray, Header, JointState, JointTrajectory, Time
from robots.ros2.validation import TrajectoryRejected, validate_trajectory


@dataclass
class FakeArmStats:
    """What the stand-in did (for tests and benchmarks)."""

    published: int = 0
    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    holds: int = 0
    hold_delays: list[float] = field(default_factory=list)
    """For each watchdog hold: seconds from the last command received to the hold."""
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
    """

    def __init__(
        self,
        robot: str | RobotDescription = "panda",
        domain: int | None = None,
        rate: float | None = None,
        command_timeout: float = 0.1,
        discovery: Discovery | None = None,
    ) -> None:
        from sims.world import TabletopWorld

        self.description = robot if isinstance(robot, RobotDescription) else load_description(robot)
        if self.description.urdf is None:
            raise ValueError(f"robot {self.description.name!r} has no URDF, so the stand-in cannot simulate it")
        if command_timeout <= 0:
            raise ValueError(f"command_timeout must be > 0, got {command_timeout}")
        self.rate = float(rate or self.description.ros2.state_rate)
        if not 1.0 <= self.rate <= 1000.0:
            raise ValueError(f"rate must be within 1..1000 Hz, got {self.rate}")
        self.command_timeout = command_timeout
        self.world = TabletopWorld(robot=self.description)
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
        q = self.arm.get_observation().joint_positions
        self._hold = q.copy()
        self._trajectory: list[tuple[float, list[float]]] = []
        self._start_q = q.copy()
        self._started_at = 0.0
        self._last_command = -math.inf
        self._holding = True
        self._last_publish: float | None = None

    # -- commands ------------------------------------------------------------------------
    def _take_commands(self, now: float) -> None:
        for msg in take(self.trajectory_reader):
            try:
                points = validate_trajectory(msg, self.joint_names, self.lower, self.upper)
            except TrajectoryRejected as exc:
                self.stats.rejected[exc.rule] += 1
                continue
            except Exception as exc:  # noqa: BLE001 (a malformed sample must never stop the driver)
                self.stats.rejected[f"error {type(exc).__name__}"] += 1
                continue
            self.stats.accepted += 1
            self._trajectory = points
            self._start_q = self.arm.get_observation().joint_positions.copy()
            self._started_at = now
            self._last_command = now
            self._holding = False
        if self.gripper_reader is not None:
            for msg in take(self.gripper_reader):
                data = list(msg.data)
                if (
                    len(data) != 1
                    or not math.isfinite(data[0])
                    or not 0.0 <= data[0] <= self.description.gripper.max_width
                ):
                    self.stats.rejected["gripper"] += 1
                    continue
                self.arm.command(self._target(now), data[0])
                self._last_command = now

    def _target(self, now: float) -> np.ndarray:
        """Joint targets now: linear interpolation along the active trajectory, or the hold pose."""
        if self._holding or not self._trajectory:
            return self._hold
        t = now - self._started_at
        prev_t, prev_q = 0.0, self._start_q
        for pt, q in self._trajectory:
            if t <= pt:
                a = (t - prev_t) / (pt - prev_t) if pt > prev_t else 1.0
                return np.asarray(prev_q) + a * (np.asarray(q) - np.asarray(prev_q))
            prev_t, prev_q = pt, q
        return np.asarray(self._trajectory[-1][1])

    def step(self, now: float) -> None:
        """One driver period: read commands, apply the watchdog, move, publish the state."""
        self._take_commands(now)
        if not self._holding and now - self._last_command > self.command_timeout:
            # cmd_timeout: no fresh command, so stop where the arm is and hold there.
            self._hold = self.arm.get_observation().joint_positions.copy()
            self._holding = True
            self.stats.holds += 1
            self.stats.hold_delays.append(now - self._last_command)
        self.arm.command(self._target(now))
        self.world.client.advance(1.0 / self.rate)
        self.publish(now)

    def publish(self, now: float) -> None:
        obs = self.arm.get_observation()
        width = float(obs.gripper_width)
        fingers = [width / len(self.finger_names)] * len(self.finger_names)
        msg = JointState(
            header=Header(stamp=Time.from_seconds(time.time()), frame_id=""),
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
        self.world.close()
