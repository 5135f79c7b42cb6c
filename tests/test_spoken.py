"""Spontaneous speech (embodied.planning.spoken) through the grounded planner: typos,
self-repairs, exclusions, a negated clause before what to do instead, a topic named first."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_planner import ALL, plan_of

from embodied.jobs.terminal import show_plan
from embodied.planning import spoken
from embodied.planning.grounded_planner import GroundedPlanner
from embodied.planning.sentence_encoder import DEFAULT_ENCODER, resolve_encoder_path
from embodied.planning.suites import load_suite, run_suite

SUITE = Path(__file__).parent / "data" / "planner_spoken.jsonl"


@pytest.fixture(scope="module")
def planner():
    return GroundedPlanner()


@pytest.fixture(scope="module")
def words():
    return spoken.planner_words(), spoken.english_words(resolve_encoder_path(DEFAULT_ENCODER))


def test_spoken_suite_accuracy(planner):
    report = run_suite(planner, load_suite(SUITE))
    misses = "\n".join(f"{m['entry']['instruction']!r} -> {m['got']}" for m in report.misses)
    assert report.plan_total >= 100 and report.refuse_total >= 20
    assert report.plan_accuracy >= 0.95, misses
    assert report.refusal_accuracy >= 0.95, misses


def test_edit_distance_counts_a_swap_as_one_edit():
    assert spoken.edit_distance("plcae", "place", 2) == 1
    assert spoken.edit_distance("yelow", "yellow", 2) == 1
    assert spoken.edit_distance("cube", "cube", 2) == 0
    assert spoken.edit_distance("red", "yellow", 1) == 2  # capped at limit + 1


@pytest.mark.parametrize(
    "typed, read",
    [
        ("plcae the yelow cueb on teh blcok", "place the yellow cube on the block"),
        ("push it to the lfet", "push it to the left"),  # same length beats "let"
        ("stak it", "stack it"),  # a command word beats "stay"
        ("pleace put it", "please put it"),  # no verb right before a verb
        ("put it ontop of the box", "put it on top of the box"),
    ],
)
def test_typos_become_the_nearest_planner_word(words, typed, read):
    assert spoken.correct_typos(typed, *words)[0] == read


@pytest.mark.parametrize(
    "text",
    [
        "pop the red cube",  # an English word, though one edit from "top"
        "put the red cube on the purple cube",  # an unknown colour stays unknown
        "put the glorp on the red cube",  # nonsense two edits from anything
        "put the zib on the red cube",
    ],
)
def test_real_words_and_far_words_are_left_alone(words, text):
    assert spoken.correct_typos(text, *words) == (text, [])


def test_without_a_vocabulary_nothing_counts_as_a_typo(words, tmp_path):
    assert spoken.english_words(str(tmp_path)) == frozenset()
    assert spoken.correct_typos("plcae the cueb", words[0], frozenset()) == ("plcae the cueb", [])


@pytest.mark.parametrize(
    "text, expected",
    [
        # a place repairs the place
        (
            "put the red cube on the blue cube, no wait, on the green cube",
            [("pick_place", "red_cube", "on", "green_cube")],
        ),
        ("push the red cube to the left, sorry, to the right", [("push", "red_cube", "region", "right")]),
        ("slide the green cube to the right, uh, to the left i mean", [("push", "green_cube", "region", "left")]),
        # an object repairs the last object named
        (
            "put the red cube on the blue, sorry, I mean the yellow cube",
            [("pick_place", "red_cube", "on", "yellow_cube")],
        ),
        ("move the green cube, I mean the blue cube, to the left", [("pick_place", "blue_cube", "region", "left")]),
        # object and place again
        ("stack green on red, no sorry, green on yellow", [("pick_place", "green_cube", "on", "yellow_cube")]),
        # a whole command: the clause before is dropped, "it" still means its object
        (
            "stack the green cube on the blue cube. Actually, stack it on the yellow cube.",
            [("pick_place", "green_cube", "on", "yellow_cube")],
        ),
        (
            "put the green cube on the red cube, actually no, put it on the yellow cube, then push the blue cube right",
            [("pick_place", "green_cube", "on", "yellow_cube"), ("push", "blue_cube", "region", "right")],
        ),
    ],
)
def test_self_repairs_replace_what_they_repair(planner, text, expected):
    assert plan_of(planner, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # a pause is not a repair: nothing of the kind came before it
        ("put the red cube, uh, on the blue cube", [("pick_place", "red_cube", "on", "blue_cube")]),
        # "wait" before a new clause is no repair either
        (
            "put the red cube on the blue cube, wait, then push the green one left",
            [("pick_place", "red_cube", "on", "blue_cube"), ("push", "green_cube", "region", "left")],
        ),
    ],
)
def test_pauses_are_not_repairs(planner, text, expected):
    assert plan_of(planner, text) == expected


def test_exclusions_and_topics(planner):
    assert plan_of(planner, "put the yellow cube, not the red one, on the blue cube") == [
        ("pick_place", "yellow_cube", "on", "blue_cube")
    ]
    assert plan_of(planner, "put the red cube not on the blue cube but on the yellow cube") == [
        ("pick_place", "red_cube", "on", "yellow_cube")
    ]
    assert plan_of(planner, "put the red cube on the yellow one instead of the blue one") == [
        ("pick_place", "red_cube", "on", "yellow_cube")
    ]
    assert plan_of(planner, "the yellow block, could you push it to the left?") == [
        ("push", "yellow_cube", "region", "left")
    ]


def test_a_negated_clause_before_what_to_do_instead(planner):
    assert plan_of(planner, "don't push the blue cube, pick it up and put it on the red cube") == [
        ("pick_place", "blue_cube", "on", "red_cube")
    ]
    assert plan_of(planner, "do not touch the red cube, push the blue cube left") == [
        ("push", "blue_cube", "region", "left")
    ]
    # What follows must not be what was ruled out.
    for text in (
        "don't put the red cube on the blue cube, put it on the blue cube",
        "don't push the red cube, push it to the left",
        "don't move the red cube, push it left",
    ):
        result = planner.plan(text, ALL)
        assert not result.ok and "says not to make" in result.error, (text, result.error)
    # A negation alone, or after a command, is still refused: nothing says what to do.
    for text in ("don't move the red cube", "push the red cube left but don't touch the blue cube"):
        result = planner.plan(text, ALL)
        assert not result.ok and "negative" in result.error, (text, result.error)


def test_one_object_is_not_sent_to_two_places(planner):
    for text in (
        "put the red cube on the blue cube and on the green cube",
        "move the red cube to the left and to the back",
    ):
        result = planner.plan(text, ALL)
        assert not result.ok and "two places" in result.error, (text, result.error)


def test_that_after_a_relation_is_the_cube_just_placed(planner):
    assert plan_of(planner, "stack the red cube on the blue cube, and the green one on top of that") == [
        ("pick_place", "red_cube", "on", "blue_cube"),
        ("pick_place", "green_cube", "on", "red_cube"),
    ]


def test_the_reading_is_reported_and_shown(planner, capsys):
    result = planner.plan("plcae the red cube on the bleu cube, no, on the yelow one", ALL)
    assert result.ok and result.details["read_as"] == "place the red cube on the yellow one"
    show_plan(result, "plan")
    assert "read as: place the red cube on the yellow one" in capsys.readouterr().err
    assert "read_as" not in planner.plan("put the red cube on the blue cube", ALL).details


@pytest.mark.parametrize(
    "text, expected",
    [
        ("can u put the red cube on the blue one pls", [("pick_place", "red_cube", "on", "blue_cube")]),
        ("put the red cube on the blue cube and leave it there", [("pick_place", "red_cube", "on", "blue_cube")]),
        (
            "pick up the blue cube, move it over the red cube and drop it there",
            [("pick_place", "blue_cube", "on", "red_cube")],
        ),
        (
            "would it be possible to put the blue cube on the yellow cube?",
            [("pick_place", "blue_cube", "on", "yellow_cube")],
        ),
        ("do you mind putting the green cube on the yellow cube?", [("pick_place", "green_cube", "on", "yellow_cube")]),
        ("try to put the red cube on the blue cube", [("pick_place", "red_cube", "on", "blue_cube")]),
        ("I wanna see the red cube on the blue cube", [("pick_place", "red_cube", "on", "blue_cube")]),
        ("don't stack it, just push the yellow cube to the right", [("push", "yellow_cube", "region", "right")]),
        (
            "put the yellow cube to the left of the blue cube, er, right of it I mean",
            [("pick_place", "yellow_cube", "right_of", "blue_cube")],
        ),
    ],
)
def test_shorthand_wrappers_and_closing_remarks(planner, text, expected):
    assert plan_of(planner, text) == expected


def test_a_closing_remark_alone_still_needs_a_place(planner):
    result = planner.plan("pick up the red cube and put it there", ALL)
    assert not result.ok and "only to put it somewhere" in result.error


def test_towers_described_as_a_list(planner):
    assert plan_of(planner, "stack them: green, then red, then blue on top") == [
        ("pick_place", "red_cube", "on", "green_cube"),
        ("pick_place", "blue_cube", "on", "red_cube"),
    ]
    assert plan_of(planner, "build a tower with the blue cube on the bottom and the green cube on it") == [
        ("pick_place", "green_cube", "on", "blue_cube")
    ]
    assert not planner.plan("stack them", ALL).ok  # no list: "them" is still unknown
