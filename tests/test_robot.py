"""The Robot interface, robot descriptions, and the simulated arm."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from robots import RobotAction, available_descriptions, load_description
from robots.inverse_kinematics import dls_step, orientation_error


def test_panda_description_loads_with_datasheet_limits():
    d = load_description("panda")
    assert d.n_joints == 7
    assert d.joint_names[0] == "panda_joint1"
    assert d.control_period == pytest.approx(0.04)
    assert np.all(d.lower_limits < d.upper_limits)
    assert d.upper_limits[3] == pytest.approx(-0.0698)
    assert "panda" in available_descriptions()


def test_description_rejects_bad_values(tmp_path):
    data = yaml.safe_load(open(load_description.__globals__["DESCRIPTIONS_DIR"] / "panda.yaml"))
    data["home"][0] = 5.0  # beyond joint 1's limit
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match="home value 5.0 of panda_joint1"):
        load_description(path)
    with pytest.raises(FileNotFoundError, match="shipped ones: panda"):
        load_description("no_such_robot")


def test_robots_package_never_imports_pybullet():
    code = "import robots, robots.sim_arm, robots.inverse_kinematics, sys; print('pybullet' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_observation_has_documented_shapes(world):
    obs = world.robot.get_observation()
    assert obs.joint_positions.shape == (7,) and obs.joint_velocities.shape == (7,)
    assert obs.ee_position.shape == (3,) and obs.ee_orientation.shape == (4,)
    assert obs.ee_velocity.shape == (3,)
    assert obs.gripper_width == pytest.approx(0.08, abs=1e-3)
    np.testing.assert_allclose(obs.joint_positions, world.description.home, atol=1e-6)
    np.testing.assert_allclose(obs.ee_position, world.home_ee_position)


def test_send_action_clips_and_reports_what_was_sent(world):
    robot = world.robot
    before = robot.get_observation()
    sent = robot.send_action(RobotAction(ee_delta=np.array([0.3, 0.0, 0.0]), gripper_width=0.5))
    assert sent.ee_delta[0] == pytest.approx(0.05)  # max_ee_step
    assert sent.gripper_width == pytest.approx(0.08)  # max_width
    assert sent.joint_positions.shape == (7,)
    after = robot.get_observation()
    assert after.timestamp == pytest.approx(before.timestamp + 0.04)
    assert after.ee_position[0] > before.ee_position[0] + 0.01

    far = np.array(world.description.upper_limits) + 1.0
    sent = robot.send_action(RobotAction(joint_positions=far))
    np.testing.assert_allclose(sent.joint_positions, world.description.upper_limits)


def test_end_effector_tracks_small_moves_within_a_millimetre(world):
    robot = world.robot
    world.robot.reset(world.description.ready)
    target = robot.get_observation().ee_position + np.array([0.04, 0.03, -0.02])
    for _ in range(5):
        robot.send_action(RobotAction(ee_delta=target - robot.get_observation().ee_position))
    assert np.linalg.norm(robot.get_observation().ee_position - target) < 1e-3
    # The gripper stays pointing down.
    assert np.linalg.norm(orientation_error(np.array([1.0, 0, 0, 0]), robot.get_observation().ee_orientation)) < 0.02


@pytest.mark.parametrize(
    "action, message",
    [
        (RobotAction(ee_delta=np.array([np.nan, 0, 0])), "NaN or inf"),
        (RobotAction(ee_delta=np.array([0, np.inf, 0])), "NaN or inf"),
        (RobotAction(ee_delta=np.zeros(4)), r"shape \(3,\)"),
        (RobotAction(joint_positions=np.zeros(6)), r"shape \(7,\)"),
        (RobotAction(gripper_width=float("nan")), "gripper_width must be finite"),
        (RobotAction(joint_positions=np.zeros(7), ee_delta=np.zeros(3)), "not both"),
        (RobotAction(), "empty RobotAction"),
    ],
)
def test_bad_actions_raise_and_leave_the_arm_alone(world, action, message):
    before = world.robot.get_observation()
    with pytest.raises(ValueError, match=message):
        world.robot.send_action(action)
    after = world.robot.get_observation()
    assert after.timestamp == before.timestamp
    np.testing.assert_array_equal(after.joint_positions, before.joint_positions)


def test_stop_holds_position_and_context_manager_disconnects():
    from sims.world import TabletopWorld

    w = TabletopWorld()
    try:
        robot = w.robot
        for _ in range(3):
            robot.send_action(RobotAction(ee_delta=np.array([0.05, 0.0, -0.05])))
        robot.stop()
        held = robot.get_observation().joint_positions
        for _ in range(10):
            w.client.advance(0.04)
        np.testing.assert_allclose(robot.get_observation().joint_positions, held, atol=0.02)
        with robot:
            assert robot.is_connected
        assert not robot.is_connected
        with pytest.raises(RuntimeError, match="not connected"):
            robot.get_observation()
    finally:
        w.close()


def test_dls_step_matches_the_textbook_formula():
    rng = np.random.default_rng(0)
    j, e, q, rest = rng.normal(size=(6, 7)), rng.normal(size=6), rng.normal(size=7), rng.normal(size=7)
    pinv = j.T @ np.linalg.inv(j @ j.T + 0.01**2 * np.eye(6))
    expected = pinv @ e + 0.1 * (np.eye(7) - pinv @ j) @ (rest - q)
    np.testing.assert_allclose(dls_step(j, e, q, rest, 0.01, 0.1), expected, atol=1e-10)


@pytest.mark.parametrize("arm", ["panda", "ur5e", "xarm6"])
def test_each_gripper_holds_a_cube_at_its_width(arm):
    """Closed on a 4 cm cube and lifted, the cube comes up and the measured width is the cube's
    (the policies read a grasp from it: the UR5e's fingers at 235 N sank 5 mm into the cube,
    read 0.029 m, and the cube was flung off the table)."""
    from sims.world import TabletopWorld

    world = TabletopWorld(robot=arm)
    try:
        world.reset(np.random.default_rng(0))
        world.settle()
        cube = world.client.base_pose("red_cube")[0]
        robot = world.robot

        def go(target, width, steps):
            for _ in range(steps):
                error = target - robot.get_observation().ee_position
                robot.send_action(RobotAction(ee_delta=np.clip(error, -0.02, 0.02), gripper_width=width))

        open_width = min(0.06, world.description.gripper.max_width)
        go(cube + [0, 0, 0.1], open_width, 40)
        go(cube, open_width, 40)
        go(cube, 0.0, 15)
        go(cube + [0, 0, 0.08], 0.0, 30)
        lifted = world.client.base_pose("red_cube")[0]
        assert lifted[2] > cube[2] + 0.05
        assert abs(robot.get_observation().gripper_width - 0.04) < 0.003
    finally:
        world.close()
