"""The Hugging Face planner path, end to end offline on tiny random models built from configs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_models import build_tiny_llm, build_tiny_vlm

from embodied.perception.scene import Scene
from embodied.planning.language_model_planner import LanguageModelPlanner, plan_schema
from embodied.planning.subgoals import PlanError

SCENE = Scene.from_names(["red_cube", "green_cube", "blue_cube"])
IMAGE = np.zeros((64, 64, 3), dtype=np.uint8)
INSTRUCTIONS = [
    "put the red cube on the blue cube",
    "push the green cube to the left",
    "stack all the cubes",
    "throw the red cube",
    "put the purple cube on the green cube",
]


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory):
    return str(build_tiny_vlm(tmp_path_factory.mktemp("vlm") / "model"))


@pytest.fixture(scope="module")
def tiny_llm(tmp_path_factory):
    return str(build_tiny_llm(tmp_path_factory.mktemp("llm") / "model"))


def test_vlm_loads_through_the_auto_classes_frozen(tiny_vlm):
    planner = LanguageModelPlanner(tiny_vlm, kind="vlm")
    assert type(planner.model).__name__ == "LlavaForConditionalGeneration"
    assert type(planner.processor).__name__ == "LlavaProcessor"
    assert not planner.model.training and not any(p.requires_grad for p in planner.model.parameters())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_constrained_vlm_answers_always_parse_and_are_validated(tmp_path, seed):
    # Different random weights give different (meaningless) answers; every one must parse.
    path = str(build_tiny_vlm(tmp_path / "m", seed=seed))
    planner = LanguageModelPlanner(path, kind="vlm", max_new_tokens=200)
    for text in INSTRUCTIONS:
        result = planner.plan(text, SCENE, IMAGE)
        answer = json.loads(result.details["raw"])  # well-formed JSON, whatever the weights
        assert set(answer) in ({"plan"}, {"error"})
        assert not result.details["truncated"]
        if result.ok:
            names = {g.object for g in result.plan.subgoals}
            assert names <= set(SCENE.names)
        else:  # refused by the model or by the validator, with a reason
            assert result.error and result.plan is None


def test_unconstrained_random_model_is_refused_with_a_clear_reason(tiny_vlm):
    planner = LanguageModelPlanner(tiny_vlm, kind="vlm", constrained=False, max_new_tokens=32)
    result = planner.plan("put the red cube on the blue cube", SCENE, IMAGE)
    assert not result.ok
    assert "did not finish" in result.error or "not JSON" in result.error or "no 'plan'" in result.error


def test_text_only_llm_path(tiny_llm):
    planner = LanguageModelPlanner(tiny_llm, kind="llm", max_new_tokens=200)
    result = planner.plan("push the green cube to the left", SCENE)
    json.loads(result.details["raw"])
    assert result.details["tokens"] > 0 and result.details["tokens_per_second"] > 0


def test_schema_only_admits_seen_objects():
    schema = plan_schema(SCENE)
    item = schema["anyOf"][0]["properties"]["plan"]["items"]
    assert item["properties"]["object"]["enum"] == SCENE.names


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"model": "/no/such/folder"}, "does not exist"),
        ({"model": ""}, "needs a model"),
        ({"model": "x", "kind": "robot"}, "kind must be"),
        ({"model": "x", "max_new_tokens": 2}, "max_new_tokens"),
        ({"model": "x", "device": "tpu"}, "device"),
    ],
)
def test_bad_planner_settings(kwargs, message):
    with pytest.raises(PlanError, match=message):
        LanguageModelPlanner(**kwargs)


def test_vlm_needs_an_image(tiny_vlm):
    result = LanguageModelPlanner(tiny_vlm, kind="vlm").plan("put the red cube on the blue cube", SCENE, None)
    assert not result.ok and "image" in result.error
