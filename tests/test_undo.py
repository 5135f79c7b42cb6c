"""The interactive prompt's "undo": what it puts back, where, in which order, and when it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from embodied.execution.conversation import Conversation
from embodied.execution.goal_geometry import Geometry, TargetError, goal_position, holds
from embodied.perception.scene import Scene
from embodied.planning.planner import PlanResult
from embodied.planning.subgoals import Plan, PlanError, SubGoal, Target, validate_plan

S = 0.04
NAMES = ["blue_cube", "green_cube", "red_cube", "yellow_cube"]


def scene(**positions) -> Scene:
    return Scene.from_names(list(positions), [positions[n] for n in positions])


def executed(conv: Conversation, goals: list[tuple[str, dict]], before: Scene) -> None:
    plan = Plan(subgoals=[SubGoal(skill="pick_place", object=o, target=Target(**t)) for o, t in goals])
    conv.remember("a command", PlanResult("a command", plan, None), before)


def plan_of(result: PlanResult) -> list[tuple[str, str, dict]]:
    assert result.ok, result.error
    return [(g.skill, g.object, g.to_json()["target"]) for g in result.plan.subgoals]


START = dict(
    blue_cube=(0.40, -0.10, 0.02),
    green_cube=(0.60, 0.10, 0.02),
    red_cube=(0.45, 0.15, 0.02),
    yellow_cube=(0.55, -0.2, 0.02),
)


def test_undo_puts_back_only_what_moved_top_of_a_stack_first():
    conv = Conversation()
    executed(conv, [("red_cube", {"on": "blue_cube"}), ("yellow_cube", {"on": "red_cube"})], scene(**START))
    after = scene(**{**START, "red_cube": (0.40, -0.10, 0.06), "yellow_cube": (0.401, -0.10, 0.10)})
    plan = plan_of(conv.undo(after, S, 0.025))
    # Both rested on the table before: back to their points, the one on top (moved last) first.
    assert plan == [
        ("pick_place", "yellow_cube", {"at": [0.55, -0.2]}),
        ("pick_place", "red_cube", {"at": [0.45, 0.15]}),
    ]


def test_undo_restores_a_stack_with_its_base_first():
    conv = Conversation()
    stacked = {**START, "red_cube": (0.40, -0.10, 0.06)}  # red on blue before the command
    executed(conv, [("blue_cube", {"region": "left"})], scene(**stacked))
    # The command moved blue (red came off and was carried too): blue goes back first, red on it.
    after = scene(**{**START, "blue_cube": (0.50, 0.25, 0.02), "red_cube": (0.42, -0.06, 0.02)})
    plan = plan_of(conv.undo(after, S, 0.025))
    assert plan == [("pick_place", "blue_cube", {"at": [0.4, -0.1]}), ("pick_place", "red_cube", {"on": "blue_cube"})]


def test_small_displacements_are_not_undone_and_nothing_moved_is_a_refusal():
    conv = Conversation()
    executed(conv, [("red_cube", {"region": "left"})], scene(**START))
    nudged = scene(**{**START, "red_cube": (0.46, 0.16, 0.02)})  # 1.4 cm: within the 2.5 cm tolerance
    result = conv.undo(nudged, S, 0.025)
    assert not result.ok and "every object is where it was" in result.error
    moved = scene(**{**START, "red_cube": (0.46, 0.30, 0.02), "green_cube": (0.60, 0.16, 0.02)})  # green bumped 6 cm
    assert [o for _, o, _ in plan_of(conv.undo(moved, S, 0.025))] == ["red_cube", "green_cube"]


def test_undo_refuses_with_the_cause():
    conv = Conversation()
    assert "no command has been executed" in conv.undo(scene(**START), S, 0.025).error
    executed(conv, [("red_cube", {"region": "left"})], scene(**START))
    gone = scene(**{k: v for k, v in START.items() if k != "red_cube"})
    assert "no longer see the red cube" in conv.undo(gone, S, 0.025).error
    undo = conv.undo(scene(**{**START, "red_cube": (0.5, 0.3, 0.02)}), S, 0.025)
    conv.undone(undo, success=False)  # a failed undo keeps the command: undo can be tried again
    assert conv.undo(scene(**{**START, "red_cube": (0.5, 0.3, 0.02)}), S, 0.025).ok
    conv.undone(undo, success=True)
    assert "every command of this session was undone" in conv.undo(scene(**START), S, 0.025).error


def test_undo_phrasings():
    conv = Conversation()
    for text in ("undo", "Undo that.", "please undo the last command", "put it back", "put them back where they were"):
        assert conv.wants_undo(text), text
    for text in ("put the red cube back on the blue cube", "undo the knot", "go back to the left"):
        assert not conv.wants_undo(text), text


def test_a_point_target_is_validated_placed_and_checked():
    sc = scene(**START)
    with pytest.raises(PlanError, match="not on the table"):
        validate_plan(Plan(subgoals=[SubGoal(skill="pick_place", object="red_cube", target=Target(at=(2.0, 0.0)))]), sc)
    goal = SubGoal(skill="pick_place", object="red_cube", target=Target(at=(0.5, 0.2)))
    g = Geometry()
    np.testing.assert_allclose(goal_position(goal, {o.name: o.position for o in sc.objects}, g), [0.5, 0.2, 0.02])
    taken = SubGoal(skill="pick_place", object="red_cube", target=Target(at=(0.6, 0.1)))
    with pytest.raises(TargetError, match="taken by green_cube"):
        goal_position(taken, {o.name: o.position for o in sc.objects}, g)
    assert holds(goal, {"red_cube": np.array([0.51, 0.21, 0.02])}, g)  # 1.4 cm off
    assert not holds(goal, {"red_cube": np.array([0.53, 0.21, 0.02])}, g)  # 3.2 cm off
    assert not holds(goal, {"red_cube": np.array([0.5, 0.2, 0.06])}, g)  # right place, but on something
