"""The default grounded planner: dev-suite accuracy, refusals, grounding of unknown words, speed path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embodied.perception.scene import Scene
from embodied.planning.grounded_planner import GroundedPlanner
from embodied.planning.suites import load_suite, run_suite

SUITE = Path(__file__).parent / "data" / "planner_dev.jsonl"
ALL = Scene.from_names(["red_cube", "green_cube", "blue_cube", "yellow_cube"])


@pytest.fixture(scope="module")
def planner():
    return GroundedPlanner()


def test_encoder_is_the_real_frozen_minilm(planner):
    from embodied.planning.sentence_encoder import SentenceEncoder

    model = SentenceEncoder(backend="torch")._encode.module.model  # through transformers' own loading
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 6
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    # The planner runs the same network's ONNX export (equal within 1e-4: tests/test_fast_start.py).
    assert planner.encoder.backend == "onnx" and planner.encoder.encode(["a cube"]).shape == (1, 384)


def test_dev_suite_has_enough_entries():
    entries = load_suite(SUITE)
    assert sum("plan" in e for e in entries) >= 150
    assert sum("refuse" in e for e in entries) >= 30


def test_dev_suite_accuracy_meets_the_goal(planner):
    report = run_suite(planner, load_suite(SUITE))
    misses = "\n".join(f"{m['entry']['instruction']!r} -> {m['got']}" for m in report.misses)
    assert report.plan_accuracy >= 0.97, misses
    assert report.refusal_accuracy >= 0.97, misses


def plan_of(planner, text, scene=ALL):
    result = planner.plan(text, scene)
    assert result.ok, result.error
    return [(g.skill, g.object, g.target.relation, g.target.value) for g in result.plan.subgoals]


def test_unknown_verbs_are_grounded_by_the_encoder(planner):
    # None of these verbs is in the lexicon: the encoder maps them to a skill or refuses them.
    from embodied.planning import lexicon

    assert "rearrange" not in lexicon.PLACE_VERBS and "lick" not in lexicon.UNSUPPORTED_VERBS
    assert plan_of(planner, "rearrange the red cube on top of the blue cube") == [
        ("pick_place", "red_cube", "on", "blue_cube")
    ]
    refused = planner.plan("lick the green cube", ALL)
    assert not refused.ok and "cannot lick" in refused.error


def test_tower_order_and_sequence(planner):
    assert plan_of(planner, "build a tower with yellow at the bottom, then blue, then red") == [
        ("pick_place", "blue_cube", "on", "yellow_cube"),
        ("pick_place", "red_cube", "on", "blue_cube"),
    ]
    assert plan_of(planner, "push the red cube to the left; then put the green cube next to it") == [
        ("push", "red_cube", "region", "left"),
        ("pick_place", "green_cube", "next_to", "red_cube"),
    ]


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty"),
        ("put the purple cube on the red cube", "no purple cube"),
        ("put the cube on the blue cube", "ambiguous"),
        ("put the red cube on itself", "itself"),
        ("juggle the cubes", "cannot juggle"),
        ("flibber the jabberwock", "do not understand"),
        ("where is the red cube?", "question"),
        ("move the red cube 5 cm to the left", "distance"),
        ("don't touch the red cube", "negative"),
    ],
)
def test_refusals_carry_a_reason_and_no_plan(planner, text, reason):
    result = planner.plan(text, ALL)
    assert not result.ok and result.plan is None and reason in result.error
    assert result.to_json() == {"plan": [], "error": result.error}


def test_objects_hidden_from_the_camera_are_refused(planner):
    scene = Scene.from_names(["red_cube", "blue_cube"])
    result = planner.plan("put the green cube on the red cube", scene)
    assert not result.ok and "no green cube" in result.error


def test_same_instruction_same_plan(planner):
    a = planner.plan("stack all the cubes", ALL).to_json()
    b = planner.plan("stack all the cubes", ALL).to_json()
    assert a == b and json.dumps(a)


def test_suite_loader_reports_bad_lines(tmp_path):
    bad = tmp_path / "s.jsonl"
    bad.write_text('{"instruction": "x"}\n')
    from embodied.planning.subgoals import PlanError

    with pytest.raises(PlanError, match="exactly one of 'plan' or 'refuse'"):
        load_suite(bad)
