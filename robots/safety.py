"""The safety layer: wraps any :class:`Robot` and lets through only commands that keep it safe.

Every action becomes joint targets (end-effector commands through the description's
kinematic model and the same IK as the arms), then:

* non-finite or wrongly shaped actions are refused;
* nothing moves on a stale observation;
* targets stay inside the joint limits shrunk by a margin;
* the change per control period respects velocity and acceleration limits;
* the end effector stays inside the workspace box;
* a latched emergency stop holds the arm until :meth:`SafetyLayer.reset_estop`;
* measured joints that leave the commanded motion by more than ``path_tolerance`` (like
  ros2_controllers' path tolerances) latch the e-stop: something else moves the arm;
* an optional watchdog thread commands a hold when no command arrived for ``watchdog`` s,
  and checks the measured joints against the commanded motion between commands.

After a latched e-stop or unexpected motion, :attr:`SafetyLayer.fault` says why, so that a
job driving the arm can end instead of sending more commands.

A refused action becomes a hold. The action actually sent is returned, and every
intervention is recorded and logged. For robots that are not simulated, the limits cannot
be loosened past :data:`HARD_LIMITS` by configuration.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from robots.description import RobotDescription
from robots.forward_kinematics import ArmModel
from robots.inverse_kinematics import EndEffectorIK
from robots.robot import (
    EmergencyStop,
    MotionHalted,
    Robot,
    RobotAction,
    RobotObservation,
    UnexpectedMotion,
    validate_action,
)

log = logging.getLogger("embodied.safety")


class SafetyConfig(BaseModel):
    """Limits of the safety layer (the ``safety:`` section of ``configs/deploy.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    joint_margin: float = Field(0.05, gt=0.0, le=0.5, description="rad inside each joint limit")
    """Targets keep this far inside each joint's limits, rad."""
    velocity_scale: float = Field(0.5, gt=0.0, le=1.0, description="fraction of each joint's rated velocity")
    """Fraction of each joint's rated velocity allowed."""
    max_acceleration: float = Field(10.0, gt=0.0, le=1000.0, description="largest joint acceleration, rad/s^2")
    """Largest joint acceleration, rad/s^2."""
    stale_after: float = Field(0.2, gt=0.0, le=10.0, description="older joint states are not acted on, s")
    """An observation older than this (by its timestamp) is stale: hold, s."""
    watchdog: float = Field(0.1, gt=0.0, le=10.0, description="s without a command -> hold")
    """Hold when no command arrived for this long (watchdog thread), s."""
    workspace_margin: float = Field(0.0, ge=0.0, le=0.5, description="shrinks the end-effector box, m")
    """The end-effector box of the description shrunk by this much on every side, m."""
    path_tolerance: float = Field(0.15, gt=0.0, le=3.0, description="rad off the commanded motion -> e-stop")
    """Largest distance of any measured joint from the commanded motion before the e-stop
    latches ("unexpected motion"), rad."""
    tracking_window: float = Field(0.5, gt=0.0, le=10.0, description="commands this recent bound the motion, s")
    """A real arm follows its commands late (driver cycle, interpolation, network: 10-120 ms
    on ros2_control arms); a joint counts as on the commanded motion while it lies between
    the targets commanded within this many seconds, s. It must cover the delay, its jitter
    and a few time constants of the arm's lag: 0.3 s latched the e-stop on the stand-in cell
    with 3 periods of delay, one of jitter and a 55 ms lag (1 of 13 deployments)."""


HARD_LIMITS = SafetyConfig(
    joint_margin=0.02,
    velocity_scale=0.8,
    max_acceleration=20.0,
    stale_after=0.5,
    watchdog=0.1,
    path_tolerance=0.3,
    tracking_window=0.5,
)
"""The loosest settings accepted on hardware (margins at least, scales/limits/timeouts at most)."""


@dataclass
class Intervention:
    """One time the safety layer changed or refused a command."""

    time: float
    kind: str
    detail: str


@dataclass
class SafetyLayer(Robot):
    """A :class:`Robot` that enforces :class:`SafetyConfig` on another one.

    Args:
        robot: the arm to protect (simulated or ROS 2).
        description: its description (limits, workspace, kinematic model).
        config: the limits.
        hardware: True for a real arm: limits looser than :data:`HARD_LIMITS` are refused.
    """

    robot: Robot
    description: RobotDescription
    config: SafetyConfig = field(default_factory=SafetyConfig)
    hardware: bool = False
    interventions: list[Intervention] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.hardware:
            self.check_hardware(self.config)
        c = self.config
        d = self.description
        self.model = ArmModel(d)
        self.ik = EndEffectorIK(d)
        self.lower = d.lower_limits + c.joint_margin
        self.upper = d.upper_limits - c.joint_margin
        self.max_step = d.max_velocities * c.velocity_scale * d.control_period
        self.max_dstep = c.max_acceleration * d.control_period**2
        self.ws_lower = np.asarray(d.workspace.lower) + c.workspace_margin
        self.ws_upper = np.asarray(d.workspace.upper) - c.workspace_margin
        self.estopped = False
        self.fault: MotionHalted | None = None
        self.max_deviation = 0.0
        """Largest distance of a measured joint from the commanded motion seen so far, rad."""
        self._last_target: np.ndarray | None = None
        # Where the arm was told to be lately, as (monotonic time, joint targets); empty: not watched yet.
        self._commanded: deque[tuple[float, np.ndarray]] = deque()
        self._last_step = np.zeros(d.n_joints)
        self._last_command = time.monotonic()
        # Re-entrant: a signal handler running in the main thread may latch the e-stop while
        # that thread is inside send_action.
        self._lock = threading.RLock()
        self._watchdog_thread: threading.Thread | None = None
        self._stop_watchdog = threading.Event()
        self._held_by_watchdog = False

    @staticmethod
    def check_hardware(config: SafetyConfig) -> None:
        """Refuse settings looser than :data:`HARD_LIMITS` (what a real arm may run with).

        Raises:
            ValueError: naming each setting that is too loose, with its floor.
        """
        c, h = config, HARD_LIMITS
        loose = [
            f"{name}={getattr(c, name)} (limit {getattr(h, name)})"
            for name, ok in (
                ("joint_margin", c.joint_margin >= h.joint_margin),
                ("velocity_scale", c.velocity_scale <= h.velocity_scale),
                ("max_acceleration", c.max_acceleration <= h.max_acceleration),
                ("stale_after", c.stale_after <= h.stale_after),
                ("watchdog", c.watchdog <= h.watchdog),
                ("path_tolerance", c.path_tolerance <= h.path_tolerance),
                ("tracking_window", c.tracking_window <= h.tracking_window),
            )
            if not ok
        ]
        if loose:
            raise ValueError(f"safety settings {', '.join(loose)} are looser than a real robot allows (HARD_LIMITS)")

    # -- Robot ---------------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        return self.robot.is_connected

    def connect(self) -> None:
        self.robot.connect()

    def disconnect(self) -> None:
        self.stop_watchdog()
        self.robot.disconnect()

    def get_observation(self) -> RobotObservation:
        return self.robot.get_observation()

    def observation_age(self) -> float:
        return self.robot.observation_age()

    @property
    def latency(self) -> float:
        return self.robot.latency

    def stop(self) -> None:
        with self._lock:
            self.robot.stop()
            self._watch_here()

    def _commanded_at(self, target: np.ndarray) -> None:
        """Remember a commanded target, forgetting those before the tracking window except the
        last of them: an arm that lags its commands is still on its way from that one."""
        now = time.monotonic()
        self._commanded.append((now, np.asarray(target, dtype=np.float64)))
        while len(self._commanded) > 1 and self._commanded[1][0] < now - self.config.tracking_window:
            self._commanded.popleft()

    def _watch_here(self) -> None:
        """After a hold: the arm is meant to stay where it is measured now, and the next command
        starts from there at rest. Continuing from the target before the hold asked a lagging
        arm for more than one period of motion at once (measured: a driver refused 12 commands
        in a row after a 1 s stall, the arm stood still and the motion check latched)."""
        q = np.asarray(self.robot.get_observation().joint_positions, dtype=np.float64)
        self._last_target = np.minimum(np.maximum(q, self.lower), self.upper)
        self._last_step = np.zeros_like(self._last_step)
        if self._commanded:
            self._commanded_at(q)

    def check_motion(self) -> bool:
        """Compare the measured joints with the commanded motion; latch the e-stop if they left it.

        A joint is on the commanded motion while it lies between the targets commanded within
        ``tracking_window`` and the last one before it, give or take ``path_tolerance``.
        Returns False (and sets :attr:`fault`) on unexpected motion. Only a watched arm is
        checked (:meth:`start_watchdog`; a deployment watches from connect to the end).
        """
        commanded = list(self._commanded)
        if not commanded or self.fault is not None:
            return self.fault is None
        targets = np.array([t for _, t in commanded])
        q = np.asarray(self.robot.get_observation().joint_positions, dtype=np.float64)
        outside = np.maximum(targets.min(axis=0) - q, q - targets.max(axis=0)).clip(min=0.0)
        deviation = float(outside.max())
        self.max_deviation = max(self.max_deviation, deviation)
        if deviation <= self.config.path_tolerance:
            return True
        joint = int(np.argmax(outside))
        lo, hi = targets[:, joint].min(), targets[:, joint].max()
        reason = (
            f"unexpected motion: joint {self.description.joint_names[joint]} is at {q[joint]:.3f} rad, "
            f"{deviation:.3f} rad outside the commanded motion [{lo:.3f}, {hi:.3f}] of the last "
            f"{self.config.tracking_window} s (tolerance {self.config.path_tolerance} rad); "
            "is something else commanding the arm?"
        )
        self.estop(reason, UnexpectedMotion(reason))
        return False

    def _intervene(self, kind: str, detail: str) -> None:
        self.interventions.append(Intervention(time.monotonic(), kind, detail))
        log.warning("safety %s: %s", kind, detail)

    def _hold(self, q: np.ndarray, kind: str, detail: str) -> RobotAction:
        self._intervene(kind, detail)
        if self.estopped:  # hold where the arm is (the e-stop already did); never move toward a target
            self.robot.stop()
            return RobotAction(joint_positions=q, ee_delta=None, gripper_width=None)
        target = np.minimum(np.maximum(q, self.lower), self.upper) if self._last_target is None else self._last_target
        self._last_step = np.zeros_like(self._last_step)
        sent = self.robot.send_action(RobotAction(joint_positions=target))
        return sent

    def send_action(self, action: RobotAction, now: float | None = None) -> RobotAction:
        """Send ``action`` made safe; returns what was actually sent.

        Args:
            action: the requested action.
            now: current time in the observation's clock (for staleness); default: its timestamp
                is trusted to be fresh when the inner robot gives no clock.
        """
        with self._lock:
            resumed = self._held_by_watchdog or time.monotonic() - self._last_command > self.config.watchdog
            self._last_command = time.monotonic()
            self._held_by_watchdog = False
            obs = self.robot.get_observation()
            q = np.asarray(obs.joint_positions, dtype=np.float64)
            if resumed:
                # After a gap the driver held where the arm *was* (ros2_control's cmd_timeout), not at
                # our last target: bound the next step from there, or the driver sees a jump.
                self._last_target = None
                self._last_step = np.zeros_like(self._last_step)
            age = now - obs.timestamp if now is not None else self.robot.observation_age()
            if age > self.config.stale_after:
                # A real arm's driver refuses this too (it raises ArmDisconnected: nothing is sent).
                return self._hold(q, "stale", f"observation is {age:.3f} s old (limit {self.config.stale_after} s)")
            self.check_motion()
            if self.estopped:
                return self._hold(q, "estop", "emergency stop latched: call reset_estop() to move again")
            try:
                action = validate_action(action, self.description.n_joints)
            except (ValueError, TypeError) as exc:
                return self._hold(q, "invalid", str(exc))
            base = self._last_target if self._last_target is not None else q
            if action.ee_delta is not None:
                pos, quat = self.model.forward(q)
                target, _ = self.ik.targets(q, pos, quat, self.model.jacobian(q), action.ee_delta)
            elif action.joint_positions is not None:
                target = np.asarray(action.joint_positions, dtype=np.float64)
            else:
                target = base.copy()
            clipped = np.minimum(np.maximum(target, self.lower), self.upper)
            if np.any(np.abs(clipped - target) > 1e-9):
                self._intervene("joint_limits", f"targets clipped to the limits minus {self.config.joint_margin} rad")
            # Velocity, then acceleration: the change from the previous command is bounded. The
            # joint step is scaled as a whole, not clipped per joint, so the arm keeps to the
            # commanded direction (per-joint clipping bent paths and swept cubes off the table).
            step = clipped - base
            limited = step / max(1.0, float(np.max(np.abs(step) / self.max_step)))
            change = limited - self._last_step
            limited = self._last_step + change / max(1.0, float(np.max(np.abs(change) / self.max_dstep)))
            if np.any(np.abs(limited - step) > 1e-9):
                self._intervene("velocity", "joint step limited by the velocity/acceleration limits")
            target = np.minimum(np.maximum(base + limited, self.lower), self.upper)
            ee, _ = self.model.forward(target)
            if np.any(ee < self.ws_lower - 1e-9) or np.any(ee > self.ws_upper + 1e-9):
                return self._hold(
                    q, "workspace", f"end effector would leave the workspace at {np.round(ee, 3).tolist()}"
                )
            width = action.gripper_width
            if width is not None:
                width = float(min(max(width, 0.0), self.description.gripper.max_width))
            self._last_step = target - base
            self._last_target = target
            if self._commanded or self._watchdog_thread is not None:
                self._commanded_at(target)
            sent = self.robot.send_action(RobotAction(joint_positions=target, gripper_width=width))
            if self.estopped:  # latched while this command was on its way: hold again at once
                self.robot.stop()
            return RobotAction(joint_positions=target, ee_delta=None, gripper_width=sent.gripper_width)

    # -- emergency stop and watchdog -------------------------------------------------------
    def estop(self, reason: str = "requested", fault: MotionHalted | None = None) -> None:
        """Latch the emergency stop and hold at once; nothing moves until :meth:`reset_estop`.

        Safe from any thread and from a signal handler. The hold is sent without waiting for
        a command in progress (which may pace for up to one control period); such a command,
        if it goes out after the hold, is followed by another hold as soon as it returns.

        Args:
            reason: why, for the log and :attr:`fault`.
            fault: the fault to record (default :class:`EmergencyStop`).
        """
        self.estopped = True
        if self.fault is None:
            self.fault = fault or EmergencyStop(reason)
        try:
            self.robot.stop()
        finally:
            self._intervene("estop", reason)

    def reset_estop(self) -> None:
        with self._lock:
            self.estopped = False
            self.fault = None
            self._last_target = None
            self._last_step = np.zeros_like(self._last_step)
            self._intervene("estop_reset", "emergency stop released")

    def start_watchdog(self) -> None:
        """Hold whenever no command arrived for ``config.watchdog`` seconds (a thread)."""
        if self._watchdog_thread is not None:
            return
        self._stop_watchdog.clear()
        if not self._commanded:  # from now on the arm is watched: it should stay here until told
            self._commanded_at(self.robot.get_observation().joint_positions)

        def loop() -> None:
            period = self.config.watchdog / 5
            while not self._stop_watchdog.wait(period):
                try:
                    self.check_motion()
                except Exception as exc:  # noqa: BLE001 (the watchdog must keep running)
                    log.error("motion check failed: %s", exc)
                idle = time.monotonic() - self._last_command
                if idle > self.config.watchdog and not self._held_by_watchdog:
                    with self._lock:
                        self._held_by_watchdog = True
                        self._intervene("watchdog", f"no command for {idle * 1000:.0f} ms: holding")
                        try:
                            self.robot.stop()
                            self._watch_here()
                        except Exception as exc:  # noqa: BLE001 (the watchdog must keep running)
                            log.error("watchdog hold failed: %s", exc)

        self._watchdog_thread = threading.Thread(target=loop, name="safety-watchdog", daemon=True)
        self._watchdog_thread.start()

    def stop_watchdog(self) -> None:
        if self._watchdog_thread is not None:
            self._stop_watchdog.set()
            self._watchdog_thread.join(timeout=1.0)
            self._watchdog_thread = None
