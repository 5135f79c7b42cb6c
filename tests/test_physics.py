"""Physical soundness at the chosen timestep (200 Hz, 8 substeps per 25 Hz control step)."""

from __future__ import annotations

import numpy as np

from embodied.execution.scripted_motions import MotionConfig, grasp, hold_gripper, move_to, pick_and_place
from robots.robot import RobotAction


def _grasp(world, name):
    cube = world.scene.object_position(name)
    assert grasp(world.robot, cube, 0.08, MotionConfig(approach_height=0.2))


def test_held_cube_does_not_slip_during_a_two_second_carry(world):
    _grasp(world, "red_cube")
    robot = world.robot

    def offset():
        return world.scene.object_position("red_cube") - robot.get_observation().ee_position

    start = offset()
    assert np.linalg.norm(start) < 0.01  # held between the fingertips
    worst = 0.0
    for k in range(50):  # 2 s at 25 Hz, swinging sideways and up/down at up to ~0.5 m/s
        swing = np.array([0.0, 0.025 * np.cos(2 * np.pi * k / 25), 0.015 * np.sin(2 * np.pi * k / 12.5)])
        robot.send_action(RobotAction(ee_delta=swing, gripper_width=0.0))
        worst = max(worst, float(np.linalg.norm(offset() - start)))
    assert worst < 0.005
    assert world.scene.object_position("red_cube")[2] > 0.1  # still in the air, in the hand


def test_stacked_cube_stays_on_top(world):
    s = world.scene
    base = s.object_position("blue_cube")
    assert pick_and_place(world.robot, s.object_position("red_cube"), base + [0, 0, 0.04], 0.08)
    world.client.advance(2.0)
    top = s.object_position("red_cube")
    assert np.linalg.norm(top[:2] - base[:2]) < 0.01
    assert abs(top[2] - (base[2] + 0.04)) < 0.003


def test_pushing_moves_the_cube_without_lifting_it(world):
    s = world.scene
    robot = world.robot
    cube = s.object_position("green_cube")
    hold_gripper(robot, 0.0, 5)
    assert move_to(robot, cube + [-0.06, 0, 0.05], 0.0)
    assert move_to(robot, cube + [-0.06, 0, 0.015], 0.0)
    move_to(robot, cube + [0.06, 0, 0.015], 0.0)
    moved = s.object_position("green_cube")
    assert moved[0] - cube[0] > 0.05  # pushed forward
    assert abs(moved[1] - cube[1]) < 0.02
    assert abs(moved[2] - cube[2]) < 0.003  # still on the table
