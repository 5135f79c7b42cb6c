"""The safety layer: limits hold for any input (hypothesis), e-stop latches, watchdog holds."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robots.description import load_description
from robots.forward_kinematics import ArmModel
from robots.robot import Robot, RobotAction, RobotObservation
from robots.safety import SafetyConfig, SafetyLayer

PANDA = load_description("panda")


class KinematicArm(Robot):
    """Test double for the inner arm: reaches every joint target at once (no physics)."""

    def __init__(self) -> None:
        self.q = np.asarray(PANDA.ready, dtype=np.float64)
        self.width = 0.04
        self.sent: list[RobotAction] = []
        self.stops = []
        self.model = ArmModel(PANDA)
        self.t = 0.0

    @property
    def is_connected(self) -> bool:
        return True

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def get_observation(self) -> RobotObservation:
        pos, quat = self.model.forward(self.q)
        return RobotObservation(self.q.copy(), np.zeros(7), pos, quat, np.zeros(3), self.width, self.t)

    def send_action(self, action: RobotAction) -> RobotAction:
        self.sent.append(action)
        self.q = np.asarray(action.joint_positions, dtype=np.float64)
        if action.gripper_width is not None:
            self.width = action.gripper_width
        self.t += PANDA.control_period
        return action

    def stop(self) -> None:
        self.stops.append(time.monotonic())


floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
vec3 = st.lists(floats, min_size=3, max_size=3)
joints = st.lists(floats, min_size=7, max_size=7)
actions = st.one_of(
    st.builds(lambda d, w: RobotAction(ee_delta=np.array(d), gripper_width=w), vec3, st.one_of(st.none(), floats)),
    st.builds(
        lambda q, w: RobotAction(joint_positions=np.array(q), gripper_width=w), joints, st.one_of(st.none(), floats)
    ),
    st.builds(lambda d: RobotAction(ee_delta=np.array(d)), st.lists(st.floats(-0.2, 0.2), min_size=3, max_size=3)),
    st.builds(lambda q: RobotAction(joint_positions=np.array(q)), st.lists(st.floats(-4, 4), min_size=7, max_size=7)),
)

LAYER = SafetyLayer(KinematicArm(), PANDA, SafetyConfig())


@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(action=actions)
def test_no_output_beyond_the_limits(action):
    layer, arm = LAYER, LAYER.robot
    before = arm.q.copy()
    n = len(arm.sent)
    layer.send_action(action)
    assert len(arm.sent) == n + 1  # exactly one command, always
    sent = arm.sent[-1]
    q = np.asarray(sent.joint_positions)
    assert np.all(np.isfinite(q))
    assert np.all(q >= PANDA.lower_limits + layer.config.joint_margin - 1e-9)
    assert np.all(q <= PANDA.upper_limits - layer.config.joint_margin + 1e-9)
    assert np.all(np.abs(q - before) <= layer.max_step + 1e-9)
    ee, _ = arm.model.forward(q)
    inside = np.all(ee >= layer.ws_lower - 1e-6) and np.all(ee <= layer.ws_upper + 1e-6)
    assert inside or np.allclose(q, before)  # outside only by staying where it was
    if sent.gripper_width is not None:
        assert 0.0 <= sent.gripper_width <= PANDA.gripper.max_width


def test_bad_actions_become_holds_and_are_logged():
    arm = KinematicArm()
    layer = SafetyLayer(arm, PANDA)
    q0 = arm.q.copy()
    layer.send_action(RobotAction(ee_delta=np.array([np.nan, 0.0, 0.0])))
    assert np.allclose(arm.q, np.clip(q0, layer.lower, layer.upper))
    assert layer.interventions[-1].kind == "invalid"


def test_velocity_limit_spreads_a_big_jump_over_periods():
    arm = KinematicArm()
    layer = SafetyLayer(arm, PANDA)
    goal = arm.q + 0.5
    layer.send_action(RobotAction(joint_positions=goal))
    assert np.all(np.abs(arm.q - np.asarray(PANDA.ready)) <= layer.max_step + 1e-12)
    assert any(i.kind == "velocity" for i in layer.interventions)


def test_after_a_gap_the_step_is_bounded_from_where_the_arm_is():
    """A driver holds where the arm *was* after its command timeout; the next command must not
    jump from our last target (which the lagging arm never reached)."""
    arm = KinematicArm()
    layer = SafetyLayer(arm, PANDA, SafetyConfig(watchdog=0.1))
    layer.send_action(RobotAction(joint_positions=arm.q + 0.5))  # the first, limited step
    target = arm.q.copy()
    arm.q = target - 0.8 * layer.max_step  # the arm lagged, then the driver held it there
    layer._last_command -= 0.2  # the loop stalled past the watchdog
    layer.send_action(RobotAction(joint_positions=target + 0.5))
    assert np.all(np.abs(arm.sent[-1].joint_positions - (target - 0.8 * layer.max_step)) <= layer.max_step + 1e-12)
    # Without a gap the step continues from the last target, as before.
    arm.q = arm.sent[-1].joint_positions - 0.5 * layer.max_step
    before = arm.sent[-1].joint_positions.copy()
    layer.send_action(RobotAction(joint_positions=before + 0.5))
    assert np.all(np.abs(arm.sent[-1].joint_positions - before) <= layer.max_step + 1e-12)


def test_estop_latches_until_reset():
    arm = KinematicArm()
    layer = SafetyLayer(arm, PANDA)
    layer.estop("test")
    q = arm.q.copy()
    for _ in range(3):
        layer.send_action(RobotAction(ee_delta=np.array([0.0, 0.0, -0.05])))
    assert np.allclose(arm.q, np.clip(q, layer.lower, layer.upper)) and arm.stops
    layer.reset_estop()
    layer.send_action(RobotAction(ee_delta=np.array([0.0, 0.0, -0.02])))
    assert arm.model.forward(arm.q)[0][2] < arm.model.forward(q)[0][2] - 0.005


def test_stale_observation_holds():
    arm = KinematicArm()
    layer = SafetyLayer(arm, PANDA)
    q = arm.q.copy()
    layer.send_action(RobotAction(ee_delta=np.array([0.0, 0.0, -0.05])), now=arm.t + 1.0)
    assert layer.interventions[-1].kind == "stale" and np.allclose(arm.q, np.clip(q, layer.lower, layer.upper))


def test_watchdog_holds_when_commands_stop():
    arm = KinematicArm()
    layer = SafetyLayer(arm, PANDA, SafetyConfig(watchdog=0.1))
    layer.start_watchdog()
    try:
        layer.send_action(RobotAction(ee_delta=np.zeros(3)))
        last = time.monotonic()
        time.sleep(0.3)
        assert arm.stops, "no hold after the watchdog period"
        assert arm.stops[0] - last < 0.12 + 0.03  # hold within ~120 ms of the last command
        assert len(arm.stops) == 1  # one hold, not one per check
    finally:
        layer.stop_watchdog()


def test_hardware_refuses_loosened_limits():
    with pytest.raises(ValueError, match="looser than a real robot allows"):
        SafetyLayer(KinematicArm(), PANDA, SafetyConfig(watchdog=1.0, velocity_scale=1.0), hardware=True)
    SafetyLayer(KinematicArm(), PANDA, SafetyConfig(), hardware=True)  # the defaults are fine
