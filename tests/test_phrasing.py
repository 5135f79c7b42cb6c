"""The grounded planner reads how people talk, not a grammar: outcomes stated instead of
commands, the robot's perspective, compound colour words, degree words, temporal and
conditional clauses; and its refusals name the real cause. Sentences here are written per
phrasing kind, apart from both planner suites."""

from __future__ import annotations

import numpy as np
import pytest

from embodied.perception.scene import Scene
from embodied.planning.grounded_planner import GroundedPlanner

SCENE = Scene.from_names(["red_cube", "green_cube", "blue_cube", "yellow_cube"])


@pytest.fixture(scope="module")
def planner():
    return GroundedPlanner()


def _plan(planner, text, scene=SCENE):
    result = planner.plan(text, scene)
    assert result.ok, (text, result.error)
    return [(g["skill"], g["object"], next(iter(g["target"].items()))) for g in result.to_json()["plan"]]


PP, PUSH = "pick_place", "push"
CASES = {
    # outcome: desire, obligation, description, passive
    "desire": [
        ("I want the green cube sitting on the red one", [(PP, "green_cube", ("on", "red_cube"))]),
        ("I'd like the blue block over on the left side", [(PP, "blue_cube", ("region", "left"))]),
        ("what I need is the yellow cube next to the green cube", [(PP, "yellow_cube", ("next_to", "green_cube"))]),
        ("I'd prefer the red block placed in the middle", [(PP, "red_cube", ("region", "center"))]),
    ],
    "obligation": [
        ("the red cube has to be on top of the green cube", [(PP, "red_cube", ("on", "green_cube"))]),
        ("the yellow block ought to end up at the far edge", [(PP, "yellow_cube", ("region", "far"))]),
        ("the blue one needs to be right of the red one", [(PP, "blue_cube", ("right_of", "red_cube"))]),
    ],
    "declarative": [
        ("the green block goes to the right of the yellow block", [(PP, "green_cube", ("right_of", "yellow_cube"))]),
        ("the red cube belongs on the blue cube", [(PP, "red_cube", ("on", "blue_cube"))]),
        ("yellow one on top of the green one", [(PP, "yellow_cube", ("on", "green_cube"))]),
    ],
    "passive": [
        ("have the red block stacked onto the yellow block", [(PP, "red_cube", ("on", "yellow_cube"))]),
        ("let the green cube be moved towards the robot", [(PP, "green_cube", ("region", "near"))]),
        ("get the blue cube slid a little to the left", [(PUSH, "blue_cube", ("region", "left"))]),
    ],
    "perspective": [
        ("put the red cube on your left", [(PP, "red_cube", ("region", "left"))]),
        ("move the blue block to the robot's right", [(PP, "blue_cube", ("region", "right"))]),
        ("push the yellow cube away from you", [(PUSH, "yellow_cube", ("region", "far"))]),
        ("slide the green one nearer to the robot", [(PUSH, "green_cube", ("region", "near"))]),
        ("place the red cube farther away from you", [(PP, "red_cube", ("region", "far"))]),
    ],
    "verbs": [
        ("transfer the green cube to the top of the red cube", [(PP, "green_cube", ("on", "red_cube"))]),
        ("rest the yellow block on the blue block", [(PP, "yellow_cube", ("on", "blue_cube"))]),
        ("put the red one right on top of the green one", [(PP, "red_cube", ("on", "green_cube"))]),
    ],
    "colours": [
        ("put the cherry-colored cube on the navy-coloured block", [(PP, "red_cube", ("on", "blue_cube"))]),
        ("move the dark green block next to the pale yellow one", [(PP, "green_cube", ("next_to", "yellow_cube"))]),
        ("stack the sky-blue cube on the blood-red cube", [(PP, "blue_cube", ("on", "red_cube"))]),
    ],
    "degree": [
        ("please push the red cube a bit closer to me", [(PUSH, "red_cube", ("region", "near"))]),
        ("nudge the blue block slightly to the right", [(PUSH, "blue_cube", ("region", "right"))]),
    ],
    "temporal": [
        (
            "once the red cube is on the green cube, put the blue cube on the red cube",
            [(PP, "red_cube", ("on", "green_cube")), (PP, "blue_cube", ("on", "red_cube"))],
        ),
        (
            "push the yellow block to the left after the green block is on the blue block",
            [(PP, "green_cube", ("on", "blue_cube")), (PUSH, "yellow_cube", ("region", "left"))],
        ),
        (
            "before you move the green one to the far side, put the red one on the blue one",
            [(PP, "red_cube", ("on", "blue_cube")), (PP, "green_cube", ("region", "far"))],
        ),
        (
            "put the yellow cube on the red cube before pushing the blue cube to the right",
            [(PP, "yellow_cube", ("on", "red_cube")), (PUSH, "blue_cube", ("region", "right"))],
        ),
    ],
    # A condition in front of a command, though it starts with a question word.
    "conditional": [
        (
            "when the green block is sitting on the yellow block, set the red block on the green block",
            [(PP, "green_cube", ("on", "yellow_cube")), (PP, "red_cube", ("on", "green_cube"))],
        ),
    ],
    # "on top" without an object: the top of the stack at the destination just named.
    "elliptic top": [
        (
            "bring the green cube over to the blue cube and then set it on top",
            [(PP, "green_cube", ("on", "blue_cube"))],
        ),
        ("take the yellow block to the red block and stack it on top", [(PP, "yellow_cube", ("on", "red_cube"))]),
        (
            "move the blue one over to the green one, then lay it down on top of it",
            [(PP, "blue_cube", ("on", "green_cube"))],
        ),
        (
            "place the yellow cube on the blue cube, then put the red cube on top",
            [(PP, "yellow_cube", ("on", "blue_cube")), (PP, "red_cube", ("on", "yellow_cube"))],
        ),
        (
            "stack green on red and the blue one on top",
            [(PP, "green_cube", ("on", "red_cube")), (PP, "blue_cube", ("on", "green_cube"))],
        ),
        (
            "make a tower of the red and the yellow cube, then put the blue one on top",
            [(PP, "yellow_cube", ("on", "red_cube")), (PP, "blue_cube", ("on", "yellow_cube"))],
        ),
    ],
    # A bare "to" is an approach: a next clause about the same two objects says where exactly.
    "approach": [
        (
            "carry the red cube to the green one, then put it to the right of it",
            [(PP, "red_cube", ("right_of", "green_cube"))],
        ),
        ("take the blue block to the yellow block", [(PP, "blue_cube", ("next_to", "yellow_cube"))]),
        (
            "bring the yellow cube over to the red one and set it to its right",
            [(PP, "yellow_cube", ("right_of", "red_cube"))],
        ),
        (
            "move the red cube to the blue one and then push the green one to the far side",
            [(PP, "red_cube", ("next_to", "blue_cube")), (PUSH, "green_cube", ("region", "far"))],
        ),
    ],
}


@pytest.mark.parametrize(("kind", "text", "expected"), [(k, t, e) for k, v in CASES.items() for t, e in v])
def test_each_phrasing_kind_is_planned(planner, kind, text, expected):
    assert _plan(planner, text) == expected


REFUSALS = [
    # (instruction, a word the reason must name, words it must not blame)
    ("I'd like the yellow cube thrown to the far side", "throw", ["yellow", "thrown'"]),
    ("the red block should end up behind the blue block", "behind", ["red", "blue", "should"]),
    ("I want the purple cube on the red cube", "purple", ["want", "red"]),
    ("please paint the blue cube a bit greener", "paint", ["bit"]),
    ("the cube should be moved to the left", "ambiguous", ["moved", "should"]),
    ("have the green cube put inside the yellow cube", "inside", ["have", "put"]),
    ("I'd like the marble next to the red cube", "marble", ["like", "red"]),
    # "on top" with nothing named to be on top of; a cube named after the last target with no
    # place of its own (it used to be dropped without a word).
    ("pick up the green cube and put it on top", "where should I put green cube", ["top"]),
    ("push the yellow block to the right and the red block", "where should I push red cube", ["yellow"]),
    ("put the blue cube next to the red cube, then put the green cube on top", "where should I put green", []),
    ("when will you put the red cube on the blue cube", "question", []),
]


@pytest.mark.parametrize(("text", "cause", "innocent"), REFUSALS)
def test_refusals_name_the_real_cause(planner, text, cause, innocent):
    result = planner.plan(text, SCENE)
    assert not result.ok
    assert cause in result.error, result.error
    for word in innocent:
        assert f"'{word}' is not" not in result.error and f"understand '{word}" not in result.error, result.error


def test_a_refusal_proposes_the_nearest_valid_command(planner):
    result = planner.plan("please toss the red cube to the right", SCENE)
    assert not result.ok and "toss" in result.error
    suggestion = result.details["suggestion"]
    assert suggestion["sentence"] == "put the red cube to the right"
    assert suggestion["plan"] == [{"skill": "pick_place", "object": "red_cube", "target": {"region": "right"}}]
    assert result.error.endswith("Did you mean: put the red cube to the right?")
    absent = planner.plan("put the purple cube on the green cube", SCENE)
    assert "purple" in absent.error and "Did you mean: put the" in absent.error


def test_no_suggestion_for_questions_negations_and_nonsense(planner):
    for text in ("what colour is the red cube?", "don't move the blue cube", "asdf qwer zxcv"):
        result = planner.plan(text, SCENE)
        assert not result.ok and "suggestion" not in result.details and "Did you mean" not in result.error, text


def test_it_refers_to_the_object_the_conversation_last_moved(planner):
    result = planner.plan("now put the red one on top of that one", SCENE, previous=["yellow_cube"])
    assert result.to_json()["plan"] == [{"skill": "pick_place", "object": "red_cube", "target": {"on": "yellow_cube"}}]
    alone = planner.plan("now put the red one on top of it", SCENE)
    assert not alone.ok and "'it'" in alone.error


def test_learned_push_takes_the_shipped_prior_overrides():
    """configs/skills/learned.yaml changes the push prior at execution time; the learned
    executor must apply it to the policy's own prior (a refused override would stop every push)."""
    from omegaconf import OmegaConf

    from embodied.common.config_loader import CONFIG_DIR
    from embodied.execution.skill_executors import _policy_source
    from embodied.learning.catalogue import skill_config
    from sims import observation_layout

    overrides = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "skills" / "learned.yaml"))["prior_overrides"]
    cfg = skill_config("push")
    layout = observation_layout(str(cfg.env_id), cfg.get("task"))
    act = _policy_source("push", None, overrides["push"], "sb3", layout)
    policy = next(c.cell_contents for c in act.__closure__ if callable(c.cell_contents))  # what act calls
    model = next(c.cell_contents for c in policy.__closure__ if hasattr(c.cell_contents, "policy"))  # its SB3 model
    from embodied.learning.policies import prior_owner

    owner = prior_owner(model)  # the SAC/TQC actor, or the PPO policy itself
    assert owner is not None and owner.prior_config.push_speed == overrides["push"]["push_speed"]
    assert owner.prior_config.gain == overrides["push"]["gain"]
    # The ONNX runtime bakes the overrides into its export: it acts like this SB3 policy
    # (tests/test_fast_start.py) and unlike the export without them.
    from embodied.learning.compiled_policy import compiled_policy

    rng = np.random.default_rng(1)
    batch = {
        "observation": rng.normal(0.0, 0.1, (16, layout.size)).astype(np.float32),
        "achieved_goal": rng.uniform(0.3, 0.6, (16, 3)).astype(np.float32),
        "desired_goal": rng.uniform(0.3, 0.6, (16, 3)).astype(np.float32),
    }
    with_overrides = compiled_policy("push", None, overrides["push"])(batch)
    without = compiled_policy("push", None, {})(batch)
    assert np.abs(with_overrides - without).max() > 1e-3
