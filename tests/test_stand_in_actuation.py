"""The stand-in cell's actuation channel: delay and jitter in seconds, a lagged set-point,
and both applied by `embodied fake-arm` to trajectories that arrive over DDS."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest

from sims.actuation import SetpointLag, TimedCommands


def _timed(delay: float, jitter: float = 0.0, seed: int = 0) -> TimedCommands:
    return TimedCommands(delay, jitter, 0.04, np.random.default_rng(seed))


def test_timed_commands_wait_their_delay():
    channel = _timed(0.08)
    channel.push(1.0, ["a", "b"])
    assert channel.due(1.07) == []
    assert channel.due(1.08) == ["b"]  # latest wins: the older one is dropped
    assert channel.dropped == 1 and channel.due(2.0) == []
    assert _timed(0.0).passthrough and not _timed(0.04).passthrough and not _timed(0.0, 0.1).passthrough


def test_jitter_delays_some_messages_one_period_and_an_overtaken_one_is_dropped():
    channel = _timed(0.04, jitter=0.5, seed=3)
    handed = []
    for k in range(400):  # one message per 40 ms period, as a deployment sends them
        now = 0.04 * k
        channel.push(now, [k])
        got = channel.due(now + 1e-9)
        handed.extend(got)
    # Nothing runs backwards and nothing is handed twice ...
    assert handed == sorted(handed) and len(set(handed)) == len(handed)
    # ... about jitter/2 of the messages are late and overtaken by the next one (dropped).
    assert 0.15 < channel.dropped / 400 < 0.35, channel.dropped
    steady = _timed(0.04)
    for k in range(50):
        steady.push(0.04 * k, [k])
        steady.due(0.04 * k + 1e-9)
    assert steady.dropped == 0


def test_set_point_lag_is_first_order_and_a_reset_jumps():
    lag = SetpointLag(0.06)
    lag.reset(np.zeros(2))
    target = np.array([1.0, -2.0])
    out = [lag(target, 0.01) for _ in range(6)]  # 60 ms = one time constant
    np.testing.assert_allclose(out[-1], target * (1 - math.exp(-1.0)), rtol=1e-9)
    assert 0 < out[0][0] < out[-1][0] < 1.0
    lag.reset(target)
    np.testing.assert_allclose(lag(np.zeros(2), 0.0), target)  # no time passed: no motion
    np.testing.assert_allclose(SetpointLag(0.0)(target, 0.01), target)  # no lag: the target


def test_bad_channel_settings_are_refused():
    with pytest.raises(ValueError, match="jitter"):
        _timed(0.0, jitter=1.5)
    with pytest.raises(ValueError, match="lag"):
        SetpointLag(-0.1)


def _command(domain: int, cells: list, goal: np.ndarray, width: float):  # noqa: ANN202 (the writers' Node)
    """Write one trajectory to ``goal`` (reached 0.2 s after it starts) and one gripper
    command over DDS, and wait until every cell has them to take; returns the writers' node."""
    from robots.ros2.dds import COMMAND_QOS, Node
    from robots.ros2.messages import Duration, Float64MultiArray, Header, JointTrajectory, JointTrajectoryPoint, Time

    node = Node(domain)
    spec = cells[0].description.ros2
    writer = node.writer(spec.command_topic, JointTrajectory, COMMAND_QOS)
    gripper = node.writer(spec.gripper_topic, Float64MultiArray, COMMAND_QOS)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (
        len(writer.get_matched_subscriptions()) < len(cells) or len(gripper.get_matched_subscriptions()) < len(cells)
    ):
        time.sleep(0.01)
    writer.write(
        JointTrajectory(
            header=Header(stamp=Time(0, 0)),
            joint_names=list(cells[0].description.joint_names),
            points=[
                JointTrajectoryPoint(positions=[float(v) for v in goal], time_from_start=Duration.from_seconds(0.2))
            ],
        )
    )
    gripper.write(Float64MultiArray(data=[width]))
    deadline = time.monotonic() + 5
    readers = [r for c in cells for r in (c.trajectory_reader, c.gripper_reader)]
    while time.monotonic() < deadline and not all(r.read(N=1) for r in readers):
        time.sleep(0.01)  # read() leaves the samples for the cells to take
    return node


def test_the_stand_in_holds_a_trajectory_back_and_then_follows_it_with_its_lag():
    """A trajectory and a gripper command written over DDS to the stand-in cell (in this
    process, a synthetic clock): nothing moves during the actuation delay, fingers included,
    then the joint set-point follows the interpolated trajectory through a first-order lag
    instead of stepping onto it."""
    from sims.fake_arm import FakeArm

    # A domain no other test uses: a command-topic writer left in this process by another
    # test on the same domain would make the cells refuse everything (two commanders).
    domain = 221 + os.getpid() % 10
    cells = {
        lag: FakeArm(
            "panda", domain=domain, seed=0, estop_topic=None, command_timeout=5.0, actuation_delay=0.08, lag=lag
        )
        for lag in (0.0, 0.05)
    }
    node = None
    try:
        width0 = cells[0.0].arm.get_observation().gripper_width
        q0 = cells[0.0].setpoint
        node = _command(domain, list(cells.values()), q0 + np.eye(len(q0))[0] * 0.1, 0.01)
        traces = {}
        for lag, cell in cells.items():
            t0 = 100.0
            trace = []
            for k in range(41):  # 0..0.4 s at 100 Hz
                cell.step(t0 + 0.01 * k)
                trace.append(cell.setpoint[0] - q0[0])
                if k == 7:  # the last tick inside the delay: the fingers have not moved either
                    assert abs(cell.arm.get_observation().gripper_width - width0) < 1e-4
            traces[lag] = np.array(trace)
            assert cell.arm.get_observation().gripper_width < width0 - 0.01
            assert cell.stats.accepted == 1
            assert cell.lag == lag and cell.jitter == 0.0
        plain, lagged = traces[0.0], traces[0.05]
        assert np.all(np.abs(plain[:8]) < 1e-9) and np.all(np.abs(lagged[:8]) < 1e-9)  # within the 80 ms delay
        # Without lag the set-point is the interpolation: 0.1 rad over the 0.2 s after the delay.
        assert plain[18] == pytest.approx(0.1 * 0.1 / 0.2, abs=2e-3)  # from the measured joints
        assert plain[28] == pytest.approx(0.1, abs=1e-9)
        # With it, always behind, and converging: a ramp's lag is tau * slope = 0.025 rad.
        assert np.all(lagged[9:] < plain[9:])
        assert plain[28] - lagged[28] == pytest.approx(0.05 * 0.5, rel=0.3)
        assert 0.09 < lagged[40] < 0.1
    finally:
        for cell in cells.values():
            cell.close()
        del node


def test_a_randomised_stand_in_applies_its_draws_jitter_but_a_lag_only_when_given():
    from sims.fake_arm import FakeArm

    domain = 100 + (os.getpid() + 11) % 120
    cell = FakeArm("panda", domain=domain, seed=4, estop_topic=None, randomization={"lag": [0.02, 0.06], "jitter": 0.2})
    nominal = FakeArm("panda", domain=domain, seed=4, estop_topic=None)
    given = FakeArm(
        "panda",
        domain=domain,
        seed=4,
        estop_topic=None,
        randomization={},
        jitter=0.0,
        lag=0.03,
        action_noise=0.0,
        observation_delay=0.08,
    )
    try:
        assert cell.jitter == 0.2 and 0.02 <= cell.physics.lag <= 0.06
        # Its interpolation from the measured joints is its lag; the draw's is not added.
        assert cell.lag == 0.0
        # The draw's action noise and observation delay (whole periods there, seconds here).
        assert cell.action_noise == cell.physics.action_noise > 0
        assert cell.observation_delay == pytest.approx(cell.physics.observation_delay * 0.04)
        assert nominal.jitter == 0.0 and nominal.lag == 0.0
        assert nominal.action_noise == 0.0 and nominal.observation_delay == 0.0
        assert given.jitter == 0.0 and given.lag == 0.03  # given values win over the draw
        assert given.action_noise == 0.0 and given.observation_delay == 0.08
    finally:
        for c in (cell, nominal, given):
            c.close()


class _Recorder:
    """Stands in for a cell's joint-state writer: keeps what would go on the wire."""

    def __init__(self) -> None:
        self.messages: list = []

    def write(self, msg) -> None:  # noqa: ANN001
        self.messages.append(msg)


def test_the_stand_in_publishes_an_old_state_and_executes_with_noise():
    """Three cells given the same trajectory and gripper command over DDS (a synthetic
    clock): with ``observation_delay`` the published joint states are the arm as it was
    that long before (whole ticks), its motion unchanged; with ``action_noise`` the hand
    ends off the noiseless cell's by a drawn error of the configured size, fingers too."""
    from sims.fake_arm import FakeArm

    domain = 221 + (os.getpid() + 5) % 10
    cells = {
        name: FakeArm("panda", domain=domain, seed=0, estop_topic=None, command_timeout=5.0, **kwargs)
        for name, kwargs in {
            "plain": {},
            "old": {"observation_delay": 0.04},
            "noisy": {"action_noise": 0.1},
        }.items()
    }
    node = None
    try:
        q0 = cells["plain"].setpoint
        node = _command(domain, list(cells.values()), q0 + np.eye(len(q0))[0] * 0.1, 0.01)
        true, published = {}, {}
        for name, cell in cells.items():
            cell.state_writer = recorder = _Recorder()
            true[name] = []
            for k in range(51):  # 0..0.5 s at 100 Hz
                cell.step(100.0 + 0.01 * k)
                true[name].append(cell.arm.get_observation().joint_positions.copy())
            published[name] = [np.array(m.position[: len(q0)]) for m in recorder.messages]
            assert cell.stats.accepted == 1
        # The delay is in what is published, not in the motion.
        np.testing.assert_array_equal(np.array(true["old"]), np.array(true["plain"]))
        np.testing.assert_array_equal(np.array(published["plain"]), np.array(true["plain"]))
        np.testing.assert_array_equal(np.array(published["old"][4:]), np.array(true["old"][:-4]))
        assert np.abs(true["old"][12] - true["old"][8]).max() > 5e-3  # the arm was moving then
        # The noise: one hand displacement of std 0.1 * max_ee_step (5 mm) per axis.
        hands = {n: cells[n].arm.get_observation().ee_position.copy() for n in ("plain", "noisy")}
        off = np.linalg.norm(hands["noisy"] - hands["plain"])
        assert 0.5e-3 < off < 25e-3, off
        widths = {n: cells[n].arm.get_observation().gripper_width for n in ("plain", "noisy")}
        assert abs(widths["noisy"] - widths["plain"]) > 2e-4, widths
    finally:
        for cell in cells.values():
            cell.close()
        del node


def test_a_joint_displacement_moves_the_hand_by_the_displacement_asked_for():
    """``SimulatedArm.joint_displacement``: the joints the stand-in's execution error is put
    on move the hand by that error (a few mm, world frame)."""
    from sims.world import TabletopWorld

    world = TabletopWorld(robot="panda")
    try:
        arm = world.robot
        arm.reset(world.robot.description.ready)
        world.settle()
        start = arm.get_observation()
        error = np.array([0.004, -0.003, 0.002])
        arm.command(start.joint_positions + arm.joint_displacement(error))
        world.client.advance(0.5)
        moved = arm.get_observation().ee_position - start.ee_position
        np.testing.assert_allclose(moved, error, atol=0.6e-3)
    finally:
        world.close()
