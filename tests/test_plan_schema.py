"""The sub-goal schema and the validator every plan passes before motion."""

from __future__ import annotations

import pytest

from embodied.perception.scene import Scene
from embodied.planning.subgoals import CATALOGUE, Plan, PlanError, SubGoal, Target, validate_plan

SCENE = Scene.from_names(["red_cube", "green_cube", "blue_cube"])


def plan(*goals: dict) -> Plan:
    return Plan.from_json(list(goals))


def test_valid_plan_round_trips_to_the_contract_json():
    goals = [
        {"skill": "pick_place", "object": "red_cube", "target": {"on": "blue_cube"}},
        {"skill": "push", "object": "green_cube", "target": {"region": "left"}},
    ]
    assert validate_plan(plan(*goals), SCENE).to_json() == goals


def test_middle_is_an_alias_of_center():
    p = validate_plan(plan({"skill": "push", "object": "red_cube", "target": {"region": "middle"}}), SCENE)
    assert p.subgoals[0].target.region == "center"


@pytest.mark.parametrize(
    "goal, message",
    [
        ({"skill": "throw", "object": "red_cube", "target": {"region": "left"}}, "unknown skill 'throw'"),
        ({"skill": "push", "object": "purple_cube", "target": {"region": "left"}}, "no 'purple_cube' in the scene"),
        ({"skill": "pick_place", "object": "red_cube", "target": {"on": "yellow_cube"}}, "no 'yellow_cube'"),
        ({"skill": "pick_place", "object": "red_cube", "target": {"on": "red_cube"}}, "cannot be on itself"),
        ({"skill": "push", "object": "red_cube", "target": {"next_to": "red_cube"}}, "cannot be next to itself"),
        ({"skill": "push", "object": "red_cube", "target": {"on": "blue_cube"}}, "push cannot achieve 'on'"),
        ({"skill": "push", "object": "red_cube", "target": {"region": "ceiling"}}, "unknown region 'ceiling'"),
    ],
)
def test_validator_rejects_with_a_specific_message(goal, message):
    with pytest.raises(PlanError, match=message):
        validate_plan(plan(goal), SCENE)


@pytest.mark.parametrize(
    "items, message",
    [
        ("put it there", "must be a list"),
        ([{"skill": "push", "object": "red_cube"}], "target"),
        ([{"skill": "push", "object": "red_cube", "target": {}}], "exactly one"),
        ([{"skill": "push", "object": "red_cube", "target": {"on": "a", "region": "left"}}], "exactly one"),
        ([{"skill": "push", "object": "red_cube", "target": {"inside": "x"}}], "target"),
        ([{"skill": "push", "object": "red_cube", "target": {"region": "left"}, "speed": 3}], "speed"),
    ],
)
def test_malformed_plans_are_refused(items, message):
    with pytest.raises(PlanError, match=message):
        Plan.from_json(items)


def test_empty_and_overlong_plans_are_refused():
    with pytest.raises(PlanError, match="empty"):
        validate_plan(Plan(subgoals=[]), SCENE)
    goal = SubGoal(skill="push", object="red_cube", target=Target(region="left"))
    with pytest.raises(PlanError, match="at most"):
        validate_plan(Plan(subgoals=[goal] * 50), SCENE)


def test_catalogue_lists_what_each_skill_achieves():
    assert set(CATALOGUE) == {"pick_place", "push"}
    assert "on" in CATALOGUE["pick_place"].relations and "on" not in CATALOGUE["push"].relations
