"""What happens between a skill's command and the arm's motion: noise, delay, jitter and lag.

A real arm does not execute a command in the control period it was sent. The command
crosses the network and the driver's cycle (a *delay* of whole control periods, drawn per
episode), some commands arrive one period late (*jitter*; a later command that arrives
together with an earlier one replaces it, as on a latest-wins ROS 2 topic, and a period in
which nothing new arrives holds still), and the driver's trajectory interpolation smooths
the commanded motion (a first-order *lag* with time constant ``lag``). Gaussian *noise* on
the command stands for everything else.

:class:`Actuation` is that channel for one episode. The env (:class:`sims.env.RobotTaskEnv`)
passes every action through it; :class:`sims.randomization.RandomizedEnv` draws its
parameters per episode. With the defaults (no delay, no jitter, no lag, no noise) it
returns each action unchanged, so an env without randomisation is exactly the plain one.
:class:`ActuatedArm` puts the same channel in front of a world's arm, for whole tasks.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from robots.robot import Robot, RobotAction, RobotObservation, RobotWrapper


@dataclass(frozen=True)
class ActuationDraw:
    """One episode's channel (reported in ``info["randomization"]``)."""

    delay: int = 0
    """Control periods between sending a command and the arm starting to execute it."""
    jitter: float = 0.0
    """Probability that a command arrives one period later than ``delay``."""
    lag: float = 0.0
    """Time constant of the first-order lag on the commanded displacement, s (0: none)."""
    noise: float = 0.0
    """Std of Gaussian noise on each action component, in the action's [-1, 1] units."""


class Actuation:
    """The command channel of one env: ``send`` an action, get the one the arm executes now.

    Args:
        hold: the action that means "stay where you are" ((3,) or (4,), [-1, 1] units; the
            gripper component, if any, is the width to keep).
        period: the control period, s (the lag's discretisation).
    """

    def __init__(self, hold: np.ndarray, period: float) -> None:
        self.period = float(period)
        self.draw = ActuationDraw()
        self._rng = np.random.default_rng(0)
        self.reset(hold)

    def reset(
        self, hold: np.ndarray, draw: ActuationDraw | None = None, rng: np.random.Generator | None = None
    ) -> None:
        """Start an episode: nothing in flight, the arm holding ``hold``; ``draw`` (default: the
        previous one) sets delay, jitter, lag and noise, ``rng`` their per-step draws."""
        if draw is not None:
            self.draw = draw
        if rng is not None:
            self._rng = rng
        self._hold = np.asarray(hold, dtype=np.float64).copy()
        self._last = self._hold.copy()  # the last command the arm received
        self._motion = np.zeros(3)  # the lagged displacement, [-1, 1] units
        self._pending: list[tuple[int, int, np.ndarray]] = []  # (arrival step, sent step, action)
        self._step = 0
        self._last_sent = -1  # the sent step of the newest command executed so far
        d = self.draw
        self._alpha = 1.0 if d.lag <= 0 else 1.0 - math.exp(-self.period / d.lag)
        self._identity = d.delay == 0 and d.jitter == 0 and d.lag == 0 and d.noise == 0

    def restart(self, draw: ActuationDraw, rng: np.random.Generator) -> None:
        """Start the episode again with the same hold and a new ``draw`` (randomisation, after reset)."""
        self.reset(self._hold, draw, rng)

    @property
    def identity(self) -> bool:
        """True when every action is executed unchanged in the period it was sent."""
        return self._identity

    def send(self, action: np.ndarray) -> np.ndarray:
        """Send ``action`` ((3,) or (4,), clipped to [-1, 1]); returns what the arm executes in this period."""
        action = np.asarray(action, dtype=np.float64)
        if self._identity:  # the plain env's every step: nothing in between
            return action
        d = self.draw
        if d.noise > 0:
            action = np.clip(action + self._rng.normal(0.0, d.noise, action.shape), -1.0, 1.0)
        late = int(d.jitter > 0 and self._rng.random() < d.jitter)
        self._pending.append((self._step + d.delay + late, self._step, action))
        arrived = [p for p in self._pending if p[0] <= self._step]
        self._pending = [p for p in self._pending if p[0] > self._step]
        received = None
        if arrived:
            newest = max(arrived, key=lambda p: p[1])
            # Latest wins, and a command older than one already executed is stale: dropped.
            if newest[1] > self._last_sent:
                received, self._last_sent = newest[2], newest[1]
        self._step += 1
        if received is not None:
            self._last = received
            target = received[:3]
        else:
            target = np.zeros(3)  # nothing new arrived: the driver holds position
        self._motion = self._motion + self._alpha * (target - self._motion)
        out = self._last.copy()
        out[:3] = self._motion
        return out


class ActuatedArm(RobotWrapper):
    """A simulated arm seen as a controller sees a real one: its end-effector commands go
    through an :class:`Actuation` channel, and what it reports is noisy and some periods old.

    The controller's executors send the same end-effector steps as the skill envs, so this
    is the env's randomisation (:class:`sims.randomization.RandomizedEnv`) moved to where a
    whole task runs: ``embodied run|eval randomize=true``. Joint-position commands (the
    controller's own scripted moves) reach the arm directly.

    Args:
        arm: the simulated arm (:class:`robots.sim_arm.SimulatedArm`).
    """

    def __init__(self, arm: Robot) -> None:
        super().__init__(arm)
        self._step = arm.description.max_ee_step
        self._max_width = arm.description.gripper.max_width
        self.channel = Actuation(np.zeros(4), arm.description.control_period)
        self._noise = 0.0
        self._rng = np.random.default_rng(0)
        self._seen: deque[RobotObservation] = deque(maxlen=1)
        self._width = self._max_width

    def __getattr__(self, name: str) -> Any:
        # Simulation-only verbs and attributes (arm_joints, name, ...) of the wrapped arm.
        return getattr(self.robot, name)

    def restart(
        self, draw: ActuationDraw, observation_delay: int, observation_noise: float, rng: np.random.Generator
    ) -> None:
        """Start a run: nothing in flight, the arm holding still; the channel from ``draw``,
        observations ``observation_delay`` periods old with Gaussian ``observation_noise`` (m, m/s)."""
        self._noise, self._rng = float(observation_noise), rng
        now = self.robot.get_observation()
        self._width = now.gripper_width
        self.channel.reset(self._action(np.zeros(3), self._width), draw, np.random.default_rng(rng.integers(2**63)))
        self._seen = deque([self._noisy(now)] * (observation_delay + 1), maxlen=observation_delay + 1)

    def reset(self, *args: Any, **kwargs: Any) -> None:
        """Teleport the simulated arm (:meth:`robots.sim_arm.SimulatedArm.reset`); the channel
        and the observation delay start again with their draw."""
        self.robot.reset(*args, **kwargs)
        self.restart(self.channel.draw, len(self._seen) - 1, self._noise, self._rng)

    def get_observation(self) -> RobotObservation:
        return self._seen[0]

    @property
    def latency(self) -> float:
        """The draw's actuation delay plus its observation delay, s (what measuring this arm
        would find; the per-step jitter and the lag are left out)."""
        return (self.channel.draw.delay + len(self._seen) - 1) * self.description.control_period

    def send_action(self, action: RobotAction) -> RobotAction:
        if action.ee_delta is None:
            done = self.robot.send_action(action)
        else:
            if action.gripper_width is not None:
                self._width = float(action.gripper_width)
            executed = self.channel.send(self._action(np.asarray(action.ee_delta, float) / self._step, self._width))
            width = (executed[3] + 1.0) / 2.0 * self._max_width
            done = self.robot.send_action(RobotAction(ee_delta=executed[:3] * self._step, gripper_width=width))
        self._seen.append(self._noisy(self.robot.get_observation()))
        return done

    def _action(self, motion: np.ndarray, width: float) -> np.ndarray:
        """The env's action units: motion / max_ee_step, then the width mapped to [-1, 1]."""
        return np.concatenate([motion, [2.0 * min(max(width / self._max_width, 0.0), 1.0) - 1.0]])

    def _noisy(self, obs: RobotObservation) -> RobotObservation:
        if self._noise == 0:
            return obs
        n = self._rng.normal(0.0, self._noise, 7)
        return replace(
            obs,
            ee_position=obs.ee_position + n[:3],
            ee_velocity=obs.ee_velocity + n[3:6],
            gripper_width=float(obs.gripper_width + n[6]),
        )


class TimedCommands:
    """The same command channel for a driver that runs on the clock (the stand-in cell,
    :class:`sims.fake_arm.FakeArm`): commands are whole messages with arrival times in s.

    Each message is held back ``delay`` s, and with probability ``jitter`` one ``period``
    more. Of the messages due at a tick only the newest is handed over, and one sent before a
    message already handed over is stale: the others are dropped, as :class:`Actuation` drops
    them (latest wins, as on a ROS 2 topic whose reader keeps the last sample).

    Args:
        delay: s between a message arriving and the driver acting on it (>= 0).
        jitter: probability that a message is one ``period`` later still (0..1).
        period: the skills' control period, s.
        rng: the jitter's draws.
    """

    def __init__(self, delay: float, jitter: float, period: float, rng: np.random.Generator) -> None:
        if delay < 0 or not 0.0 <= jitter <= 1.0 or period <= 0:
            raise ValueError(f"need delay >= 0, 0 <= jitter <= 1, period > 0; got {delay}, {jitter}, {period}")
        self.delay, self.jitter, self.period = float(delay), float(jitter), float(period)
        self._rng = rng
        self._held: list[tuple[float, int, Any]] = []  # (due, sent order, message)
        self._sent = 0
        self._handed = -1  # sent order of the newest message handed over
        self.dropped = 0
        """Messages dropped as stale (overtaken by a later one)."""

    @property
    def passthrough(self) -> bool:
        """True when every message is handed over the moment it arrives."""
        return self.delay == 0 and self.jitter == 0

    def push(self, now: float, messages: list[Any]) -> None:
        """Messages that arrived at ``now`` (s, monotonic), in the order they were sent."""
        for msg in messages:
            late = self.period if self.jitter > 0 and self._rng.random() < self.jitter else 0.0
            self._held.append((now + self.delay + late, self._sent, msg))
            self._sent += 1

    def due(self, now: float) -> list[Any]:
        """The message the driver acts on at ``now`` (a list of at most one): the newest of
        those due, if nothing newer was handed over before; the others are dropped."""
        ready = [h for h in self._held if h[0] <= now]
        if not ready:
            return []
        self._held = [h for h in self._held if h[0] > now]
        _, order, msg = max(ready, key=lambda h: h[1])
        stale = order < self._handed
        self.dropped += len(ready) - (0 if stale else 1)
        if stale:
            return []
        self._handed = order
        return [msg]


class SetpointLag:
    """A first-order lag on a position set-point, time constant ``tau`` s (0: none).

    Filtering the position is filtering the velocity it implies (the filter is linear), so
    this is :class:`Actuation`'s lag on the commanded displacement for a driver that takes
    joint positions: a real controller's trajectory interpolation, smoothing each move.
    """

    def __init__(self, tau: float) -> None:
        if tau < 0:
            raise ValueError(f"lag must be >= 0 s, got {tau}")
        self.tau = float(tau)
        self._value: np.ndarray | None = None

    def reset(self, value: np.ndarray) -> None:
        """Jump to ``value`` (a hold, an e-stop): nothing left to catch up on."""
        self._value = np.asarray(value, dtype=np.float64).copy()

    def __call__(self, target: np.ndarray, dt: float) -> np.ndarray:
        """The set-point after ``dt`` s more of following ``target``."""
        target = np.asarray(target, dtype=np.float64)
        if self.tau == 0 or self._value is None:
            self._value = target.copy()
        elif dt > 0:
            self._value = self._value + (1.0 - math.exp(-dt / self.tau)) * (target - self._value)
        return self._value.copy()
