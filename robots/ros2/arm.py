"""A real (or stand-in) arm behind a ROS 2 driver, with the same :class:`Robot` interface as the simulated arm.

State comes from ``/joint_states`` (best-effort sensor QoS); commands go to the joint
trajectory controller as one-point trajectories reaching the target one control period
ahead, or later where reaching it sooner would need a joint faster than rated had the
previous commands arrived too late to run (or to a forward position controller), reliably.
End-effector commands are turned into joint targets with the description's kinematic model
and the same IK as in simulation, so skills and the controller run unchanged.
``send_action`` paces the loop at the control period, as the simulated arm's physics step
does, and never sends two commands less than a period apart.

Joint states are taken by a DDS listener the moment they arrive, and their age is measured
from that moment: a state that sat unread in a queue while the driver died must not look
fresh (measured: polling at send time made a dead driver's last state look new).
"""

import threading
import time
from collections import deque
from collections.abc import Sequence

import numpy as np
from cyclonedds.core import Listener

from robots.description import RobotDescription, load_description
from robots.forward_kinematics import ArmModel
from robots.inverse_kinematics import EndEffectorIK
from robots.robot import MotionHalted, Robot, RobotAction, RobotObservation, validate_action
from robots.ros2.dds import COMMAND_QOS, SENSOR_QOS, Node, take
from robots.ros2.discovery import Discovery, resolve
from robots.ros2.messages import (
    Duration,
    Float64MultiArray,
    Header,
    JointState,
    JointTrajectory,
    JointTrajectoryPoint,
    Time,
)


class ArmDisconnected(MotionHalted):
    """No fresh joint state from the driver: nothing is commanded until it is back."""

    kind = "driver_lost"


class Ros2Arm(Robot):
    """The Robot interface over ROS 2 topics named by ``description.ros2``.

    Args:
        robot: description name or object.
        domain: DDS domain (default ``ROS_DOMAIN_ID`` or 0); ignored when ``discovery`` is given.
        discovery: DDS discovery settings (default: the environment's, loopback unless told).
        stale_after: a joint state older than this is stale; commands are refused, s.
        connect_timeout: how long ``connect`` waits for the first joint state, s.
        command_latency: s from a command leaving this machine to the arm acting on it
            (network, driver cycle), as measured on the cell; :attr:`latency` adds the joint
            states' age, measured from their stamps.
    """

    def __init__(
        self,
        robot: str | RobotDescription = "panda",
        domain: int | None = None,
        stale_after: float = 0.2,
        connect_timeout: float = 5.0,
        discovery: Discovery | None = None,
        command_latency: float = 0.0,
    ) -> None:
        if not 0.0 <= command_latency <= 1.0:
            raise ValueError(f"command_latency must be within 0..1 s, got {command_latency}")
        self.command_latency = float(command_latency)
        self.description = robot if isinstance(robot, RobotDescription) else load_description(robot)
        self.discovery = discovery if discovery is not None else resolve(domain=domain)
        self.domain = self.discovery.domain
        self.stale_after = stale_after
        self.connect_timeout = connect_timeout
        d = self.description
        self._n = d.n_joints
        self._model = ArmModel(d) if d.kinematics is not None else None
        self._ik = EndEffectorIK(d)
        self._node: Node | None = None
        self._state: JointState | None = None
        self._received = -np.inf
        # How old each joint state was when it arrived (its stamp against this machine's clock).
        self._ages: deque[float] = deque(maxlen=50)
        self._lock = threading.Lock()
        self._width_target = d.gripper.max_width
        self._next_tick = 0.0
        self._last_publish = -np.inf
        # The targets of the last few trajectories: where the driver's set-point may still be.
        self._recent: deque[np.ndarray] = deque(maxlen=d.ros2.late_commands + 1 if d.ros2 is not None else 1)

    # -- connection ----------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        return self._node is not None

    def connect(self) -> None:
        if self._node is not None:
            return
        spec = self.description.ros2
        self._node = Node(discovery=self.discovery)
        self._states = self._node.reader(
            spec.joint_states_topic, JointState, SENSOR_QOS, Listener(on_data_available=self._on_state)
        )
        if spec.command == "trajectory":
            self._commands = self._node.writer(spec.command_topic, JointTrajectory, COMMAND_QOS)
        else:
            self._commands = self._node.writer(spec.command_topic, Float64MultiArray, COMMAND_QOS)
        self._gripper = (
            self._node.writer(spec.gripper_topic, Float64MultiArray, COMMAND_QOS) if spec.gripper_topic else None
        )
        self._recent.clear()
        self._ages.clear()  # a new connection measures its own
        deadline = time.monotonic() + self.connect_timeout
        while time.monotonic() < deadline:
            if self._poll():
                self._next_tick = time.monotonic()
                return
            time.sleep(0.01)
        self.disconnect()
        raise ArmDisconnected(
            f"no {spec.joint_states_topic} from {self.description.name!r} on DDS domain "
            f"{self.domain} within {self.connect_timeout} s ({self.discovery.describe()}): "
            "is the driver (or `embodied fake-arm`) running on the same domain?"
        )

    def disconnect(self) -> None:
        """Leave the DDS domain: the driver stops counting our command writers (it refuses to
        execute while more than one is matched, so a lingering one would block the next run)."""
        self._states = None  # deleting the reader stops its listener
        self._commands = self._gripper = None
        self._node = None
        self._state = None

    def _on_state(self, reader) -> None:  # noqa: ANN001 (DDS listener thread)
        """Keep the newest joint state that names every arm joint, stamped with its arrival."""
        for msg in take(reader):
            names = list(msg.name)
            if all(n in names for n in self.description.joint_names) and len(msg.position) == len(names):
                with self._lock:
                    self._state, self._received = msg, time.monotonic()
                    stamp = msg.header.stamp.to_seconds()
                    if stamp > 0:  # an unstamped state says nothing about its age
                        self._ages.append(time.time() - stamp)

    def _poll(self) -> bool:
        """True if a joint state has arrived within ``stale_after``."""
        return self._state is not None and self.state_age <= self.stale_after

    @property
    def state_age(self) -> float:
        """Seconds since the last joint state arrived."""
        return time.monotonic() - self._received

    def observation_age(self) -> float:
        return self.state_age

    @property
    def state_latency(self) -> float:
        """How old the joint states are when they arrive, s: the median over the last 50 of
        arrival time minus stamp (0 when unstamped). The driver's clock must be synchronised
        with this machine's (NTP or PTP, as ROS 2 assumes); the result is kept within
        0..``stale_after``, so a skewed clock cannot make it absurd."""
        with self._lock:  # the DDS listener appends from its own thread
            ages = list(self._ages)
        return float(min(max(np.median(ages), 0.0), self.stale_after)) if ages else 0.0

    @property
    def latency(self) -> float:
        """:attr:`command_latency` (configured) plus :attr:`state_latency` (measured), s."""
        return self.command_latency + self.state_latency

    # -- Robot ---------------------------------------------------------------------------
    def _joint_arrays(self) -> tuple[np.ndarray, np.ndarray, float]:
        msg = self._state
        names = list(msg.name)
        index = [names.index(n) for n in self.description.joint_names]
        q = np.array([msg.position[i] for i in index], dtype=np.float64)
        qd = (
            np.array([msg.velocity[i] for i in index], dtype=np.float64)
            if len(msg.velocity) == len(names)
            else np.zeros(self._n)
        )
        fingers = [names.index(j) for j in self.description.gripper.joints if j in names]
        width = float(sum(msg.position[i] for i in fingers)) if fingers else self._width_target
        return q, qd, width

    def get_observation(self) -> RobotObservation:
        self._require_connected()
        if self._state is None:
            raise ArmDisconnected("no joint state received yet")
        q, qd, width = self._joint_arrays()
        if self._model is not None:
            pos, quat = self._model.forward(q)
            vel = self._model.jacobian(q)[:3] @ qd
        else:
            pos, quat, vel = np.full(3, np.nan), np.array([0.0, 0.0, 0.0, 1.0]), np.zeros(3)
        return RobotObservation(
            joint_positions=q,
            joint_velocities=qd,
            ee_position=pos,
            ee_orientation=quat,
            ee_velocity=vel,
            gripper_width=width,
            timestamp=self._state.header.stamp.to_seconds(),
        )

    def send_action(self, action: RobotAction) -> RobotAction:
        """Command one control period ahead, then wait for the period to end (the loop's pace).

        Raises:
            ArmDisconnected: when the last joint state is stale (no motion is sent).
        """
        self._require_connected()
        action = validate_action(action, self._n)
        if self._state is None or self.state_age > self.stale_after:
            raise ArmDisconnected(
                f"joint state is {self.state_age:.2f} s old (limit {self.stale_after} s): not moving on stale data"
            )
        q, _, _ = self._joint_arrays()
        delta = None
        if action.ee_delta is not None:
            if self._model is None:
                raise ValueError(f"robot {self.description.name!r} has no kinematic model: send joint positions")
            pos, quat = self._model.forward(q)
            targets, delta = self._ik.targets(q, pos, quat, self._model.jacobian(q), action.ee_delta)
        elif action.joint_positions is not None:
            targets = np.minimum(np.maximum(action.joint_positions, self._ik.lower), self._ik.upper)
        else:
            targets = q
        if action.gripper_width is not None:
            self._width_target = min(max(action.gripper_width, 0.0), self.description.gripper.max_width)
        self._space_from_last()
        self._publish(targets)
        self._pace()
        return RobotAction(joint_positions=targets, ee_delta=delta, gripper_width=self._width_target)

    def trajectory_time(self, targets: Sequence[float]) -> float:
        """Seconds the trajectory to ``targets`` (rad) takes: one control period, or longer
        where a joint would need more than its rated velocity to get there from any of the
        last ``ros2.late_commands + 1`` targets sent.

        A command that reaches the driver late is replaced by the next one when both are
        due together (latest wins), so the driver's set-point may still be at an older
        target, and the next trajectory then asks for two periods of motion in one. Under
        the safety layer's half-rated steps that is rated speed, a hair over when the older
        motion has not quite finished: a Franka reflex (the stand-in refuses it), and every
        command after it is refused too while the set-point stays behind (measured: 14 in a
        row, one latched e-stop). The longer time costs only while steps are near the
        velocity limit (then 1.5 periods for three half-rated steps; measured, about one
        period more lag: ``scripts/bench_ros2.py --only timing``).
        """
        period = self.description.control_period
        q = np.asarray(targets, dtype=np.float64)
        rated = self.description.max_velocities
        need = max((float(np.max(np.abs(q - old) / rated)) for old in self._recent), default=0.0)
        return max(period, need)

    def _publish(self, targets: Sequence[float]) -> None:
        if self.description.ros2.command == "trajectory":
            duration = self.trajectory_time(targets)
            self._recent.append(np.asarray(targets, dtype=np.float64))
            msg = JointTrajectory(
                header=Header(stamp=Time(0, 0)),  # zero stamp: start now, as ros2_controllers reads it
                joint_names=list(self.description.joint_names),
                points=[
                    JointTrajectoryPoint(
                        positions=[float(v) for v in targets], time_from_start=Duration.from_seconds(duration)
                    )
                ],
            )
        else:
            msg = Float64MultiArray(data=[float(v) for v in targets])
        self._commands.write(msg)
        self._last_publish = time.monotonic()
        if self._gripper is not None:
            self._gripper.write(Float64MultiArray(data=[float(self._width_target)]))

    def _space_from_last(self) -> None:
        """Wait until one control period has passed since the last command went out.

        Each command is a trajectory reaching its target one period ahead, and the safety
        layer bounds the step per command by the velocity over one period; a command sent
        sooner (a short computation after a long one: measured 10-20 ms apart under CPU load)
        asks the driver for up to twice the speed. The stand-in refused such commands as a
        Franka reflex would, the safety layer's targets ran on ahead of the stopped arm and
        the motion check latched the e-stop.
        """
        wait = self._last_publish + self.description.control_period - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def _pace(self) -> None:
        """Wait for the end of this control period. A loop that fell behind by more than one
        period (idle while planning, or stalled) restarts its clock instead of catching up:
        a burst of back-to-back commands would ask the arm for several periods of motion at
        once (measured: 21 commands refused by the stand-in's velocity check after a pause)."""
        period = self.description.control_period
        self._next_tick += period
        now = time.monotonic()
        if self._next_tick < now - period:
            self._next_tick = now
        delay = self._next_tick - now
        if delay > 0:
            time.sleep(delay)

    def stop(self) -> None:
        """Hold the current position (a trajectory to where the arm is now).

        Nothing is sent on a stale state: the driver is gone or unheard (its own command
        timeout holds the arm), and a hold at an old position could pull the arm back.
        """
        self._require_connected()
        if self._state is not None and self.state_age <= self.stale_after:
            self._publish(self._joint_arrays()[0])

    def _require_connected(self) -> None:
        if self._node is None:
            raise RuntimeError("Ros2Arm is not connected; call connect() first")
