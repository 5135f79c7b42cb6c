"""The nearest valid command to an instruction that could not be planned ("did you mean ...?").

Every sub-goal the skills can do in the perceived scene is rendered as a plain sentence
("push the red cube to the near side of the table"); the frozen sentence encoder embeds the
instruction and those sentences, and the most similar one is proposed, with its plan, when
its cosine similarity clears a threshold. SayCan scores skill descriptions by a language
model's likelihood; here the score is embedding similarity, which needs no generative model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from embodied.perception.scene import Scene
from embodied.planning.subgoals import REGIONS, RELATIONS, SubGoal, Target

REGION_WORDS = {
    "left": "to the left",
    "right": "to the right",
    "far": "to the far side",
    "near": "to the near side",
    "center": "to the center",
}
RELATION_WORDS = {"on": "on", "next_to": "next to", "left_of": "to the left of", "right_of": "to the right of"}
"""How each target reads in a sentence (one vocabulary: :data:`embodied.planning.subgoals.RELATIONS`)."""
assert set(RELATION_WORDS) | {"region"} == set(RELATIONS) and set(REGION_WORDS) == set(REGIONS), "words for each"


PLACE_WORDS = frozenset(
    {w for words in (*REGION_WORDS.values(), *RELATION_WORDS.values()) for w in words.split()} - {"to", "the", "of"}
)
"""Words that decide where: regions and relations (the scene's colour names decide which)."""
OVERLAP_WEIGHT = 0.05
"""Score added per such word shared with the instruction (cosine similarities of the close
candidates differ by about 0.01-0.03)."""


@dataclass(frozen=True)
class Suggestion:
    """A command the planner can do, the sub-goal it means, and how close it is to what was said."""

    sentence: str
    subgoal: SubGoal
    similarity: float


def _spoken(name: str) -> str:
    return "the " + name.replace("_", " ")


def render(goal: SubGoal) -> str:
    """A sub-goal as the command a person would type."""
    verb = "push" if goal.skill == "push" else "put"
    t = goal.target
    if t.region is not None:
        return f"{verb} {_spoken(goal.object)} {REGION_WORDS[t.region]}"
    rel = next(r for r in RELATION_WORDS if getattr(t, r) is not None)
    return f"{verb} {_spoken(goal.object)} {RELATION_WORDS[rel]} {_spoken(getattr(t, rel))}"


def candidates(scene: Scene) -> list[SubGoal]:
    """Every single sub-goal the skills can attempt in ``scene`` (push cannot stack)."""
    out: list[SubGoal] = []
    names = scene.names
    for skill in ("pick_place", "push"):
        for obj in names:
            for region in REGION_WORDS:
                out.append(SubGoal(skill=skill, object=obj, target=Target(region=region)))
            for other in names:
                if other == obj:
                    continue
                for rel in RELATION_WORDS:
                    if rel == "on" and skill == "push":
                        continue
                    out.append(SubGoal(skill=skill, object=obj, target=Target(**{rel: other})))
    return out


def nearest(instruction: str, scene: Scene, encoder, threshold: float) -> Suggestion | None:  # noqa: ANN001
    """The candidate most similar to ``instruction``, or None when none reaches ``threshold``.

    Args:
        encoder: a :class:`embodied.planning.sentence_encoder.SentenceEncoder` (its ``embed``
            caches sentences, so a scene's candidates are embedded once per process).
        threshold: smallest cosine similarity worth proposing.
    """
    goals = candidates(scene)
    if not goals or not instruction.strip():
        return None
    sentences = [render(g) for g in goals]
    text = instruction.strip().lower()
    sims = encoder.embed_many(sentences) @ encoder.embed(text)
    # Sentence embeddings barely tell "left" from "right" or one colour from another; words
    # that name a place or a cube, said by the user and in the candidate, break such ties.
    said = set(re.findall(r"[a-z]+", text)) & (PLACE_WORDS | {o.colour for o in scene.objects})
    score = sims + OVERLAP_WEIGHT * np.array([len(said & set(s.split())) for s in sentences])
    i = int(np.argmax(score))
    if float(sims[i]) < threshold:
        return None
    return Suggestion(sentences[i], goals[i], float(sims[i]))
