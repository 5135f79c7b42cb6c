"""What the interactive prompt remembers between commands: "it", "again", "do the same with ...".

One :class:`Conversation` lives as long as an interactive ``embodied run`` session. After each
executed command it keeps the instruction, its plan and the objects it moved, so that the
next line can say "now put the red one on top of it" (``it``, ``that one`` and ``the same
one`` are the object last moved), "again" (the last command, planned anew on the scene as
it is now), or "do the same with the blue cube" (the last plan with its object replaced).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from embodied.perception.scene import Scene
from embodied.planning import lexicon
from embodied.planning.planner import PlanResult
from embodied.planning.subgoals import Plan, PlanError, SubGoal, validate_plan

AGAIN = re.compile(
    r"^(?:please |now )?(?:(?:do|try) (?:it|that|this) )?(?:again|once more|one more time)(?: please)?[.!]?$"
    r"|^(?:please )?repeat(?: that| it| the last (?:one|command))?[.!]?$"
)
SAME = re.compile(
    r"^(?:please |now |and )?(?:(?:do|try) (?:the same|that|it|this)(?: again)?|same|the same) "
    r"(?:with|for|to|on) (?P<object>.+?)[.!]?$"
)


@dataclass
class Conversation:
    """The last executed command of an interactive session."""

    instruction: str | None = None
    plan: Plan | None = None
    moved: list[str] = field(default_factory=list)

    def remember(self, instruction: str, result: PlanResult) -> None:
        """After a command was executed: what "it", "again" and "the same" refer to next."""
        if result.plan is None:
            return
        self.instruction, self.plan = instruction, result.plan
        moved = [g.object for g in result.plan.subgoals]
        self.moved = list(dict.fromkeys(reversed(moved)))[::-1]  # order of last motion, no repeats

    def repeat(self, text: str) -> str | None:
        """The instruction to run again when ``text`` asks for it ("again", "repeat that")."""
        if not AGAIN.match(text.strip().lower()):
            return None
        if self.instruction is None:
            raise PlanError("there is nothing to do again yet: no command has been executed")
        return self.instruction

    def same_with(self, text: str) -> str | None:
        """The object phrase of "do the same with the blue cube", or None for other text."""
        m = SAME.match(text.strip().lower())
        return m.group("object") if m else None

    def substitute(self, phrase: str, scene: Scene) -> PlanResult:
        """The last plan with its main object replaced by the one ``phrase`` names, validated
        against ``scene`` (a refusal when the phrase names no single cube or the plan no longer fits)."""
        if self.plan is None:
            return PlanResult(phrase, None, "there is nothing to do the same as yet: no command has been executed")
        colours = {lexicon.COLOURS[w] for w in re.findall(r"[a-z]+", phrase) if w in lexicon.COLOURS}
        objects = [o.name for o in scene.objects if o.colour in colours]
        if len(objects) != 1:
            seen = ", ".join(n.replace("_", " ") for n in scene.names)
            return PlanResult(phrase, None, f"I could not tell which object {phrase!r} is; I can see {seen}")
        old, new = self.moved[-1], objects[0]
        goals = [
            SubGoal(skill=g.skill, object=new if g.object == old else g.object, target=g.target)
            for g in self.plan.subgoals
        ]
        try:
            return PlanResult(f"do the same with {phrase}", validate_plan(Plan(subgoals=goals), scene), None)
        except PlanError as exc:
            return PlanResult(f"do the same with {phrase}", None, str(exc))
