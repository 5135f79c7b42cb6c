"""Scripted end-effector motions on any :class:`robots.Robot`: move, grasp, carry, release.

These drive the arm through the same ``send_action`` verbs a learned policy uses, so they
work on the simulated and (later) the real arm. The demo uses them, and tests use them to
check that grasping and carrying are physically sound.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from robots.robot import Robot, RobotAction

StepCallback = Callable[[str], None]
"""Called after every control step with a short label of the current motion."""


class MotionConfig(BaseModel):
    """Tolerances and timing of scripted motions."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    tolerance: float = Field(0.004, gt=0.0, le=0.1, description="a move is done this close to its target, m")
    """A move is done when the end effector is this close to its target, m."""
    max_steps: int = Field(75, ge=1, le=10_000, description="control steps before a move gives up")
    """Give up a single move after this many control steps (3 s at 25 Hz)."""
    grasp_steps: int = Field(10, ge=1, le=1000, description="control steps closing or opening the gripper")
    """Control steps spent closing or opening the gripper."""
    approach_height: float = Field(0.12, ge=0.0, le=0.5, description="approach height above an object, m")
    """Height above an object's centre at which the gripper approaches it, m."""
    gain: float = Field(0.5, gt=0.0, le=1.0, description="fraction of the remaining error commanded per step")
    """Fraction of the remaining error commanded per step. A real arm executes a command one to
    three periods late; correcting all of the error every step then overshoots and oscillates
    (the same reasoning as the skills' priors, docs/sim-to-real.md)."""
    lead: float = Field(0.5, ge=0.0, le=1.0, description="share of the recent commands counted as still in flight")
    """Share of the last ``history`` commands counted as not yet executed: the hand is aimed
    from where it is going, not from where it is measured."""
    history: int = Field(4, ge=0, le=16, description="recent commands remembered for the lead")


DEFAULT_MOTION = MotionConfig()
"""The defaults above (a frozen model, so one instance serves every call)."""


def move_to(
    robot: Robot,
    target: Sequence[float],
    gripper_width: float | None = None,
    config: MotionConfig = DEFAULT_MOTION,
    label: str = "move",
    on_step: StepCallback | None = None,
) -> bool:
    """Step the end effector toward ``target`` (world frame, m); True if it got there."""
    goal = np.asarray(target, dtype=np.float64)
    step = robot.description.max_ee_step
    sent: deque[np.ndarray] = deque(maxlen=config.history)
    for _ in range(config.max_steps):
        ee = robot.get_observation().ee_position
        if np.linalg.norm(goal - ee) < config.tolerance:
            return True
        going_to = ee + config.lead * np.sum(sent, axis=0) if sent else ee
        delta = np.clip(config.gain * (goal - going_to), -step, step)  # the arm's own per-axis limit
        sent.append(delta)
        robot.send_action(RobotAction(ee_delta=delta, gripper_width=gripper_width))
        if on_step:
            on_step(label)
    return bool(np.linalg.norm(goal - robot.get_observation().ee_position) < config.tolerance)


def hold_gripper(
    robot: Robot, width: float, steps: int, label: str = "gripper", on_step: StepCallback | None = None
) -> None:
    """Keep the arm still and drive the gripper to ``width`` (m) for ``steps`` control steps."""
    for _ in range(steps):
        robot.send_action(RobotAction(ee_delta=np.zeros(3), gripper_width=width))
        if on_step:
            on_step(label)


def grasp(
    robot: Robot,
    position: Sequence[float],
    open_width: float,
    config: MotionConfig = DEFAULT_MOTION,
    on_step: StepCallback | None = None,
) -> bool:
    """Top-down grasp of the object centred at ``position``, then lift it by ``approach_height``.

    Returns True if every move reached its target.
    """
    position = np.asarray(position, dtype=np.float64)
    above = np.array([0.0, 0.0, config.approach_height])
    ok = move_to(robot, position + above, open_width, config, "approach", on_step)
    ok &= move_to(robot, position, open_width, config, "descend", on_step)
    hold_gripper(robot, 0.0, config.grasp_steps, "grasp", on_step)
    ok &= move_to(robot, position + above, 0.0, config, "lift", on_step)
    return ok


def pick_and_place(
    robot: Robot,
    pick: Sequence[float],
    place: Sequence[float],
    open_width: float,
    config: MotionConfig = DEFAULT_MOTION,
    on_step: StepCallback | None = None,
) -> bool:
    """Grasp the object centred at ``pick``; release it with its centre at ``place``.

    Returns True if every move reached its target (not whether the object followed; check
    the object's position for that).
    """
    place = np.asarray(place, dtype=np.float64)
    above = np.array([0.0, 0.0, config.approach_height])
    ok = grasp(robot, pick, open_width, config, on_step)
    ok &= move_to(robot, place + above, 0.0, config, "carry", on_step)
    ok &= move_to(robot, place, 0.0, config, "lower", on_step)
    hold_gripper(robot, open_width, config.grasp_steps, "release", on_step)
    ok &= move_to(robot, place + above, open_width, config, "retreat", on_step)
    return ok
