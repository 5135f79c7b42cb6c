"""What the interactive prompt remembers between commands: "it", "again", "do the same with ...".

One :class:`Conversation` lives as long as an interactive ``embodied run`` session. After each
executed command it keeps the instruction, its plan and the objects it moved, so that the
next line can say "now put the red one on top of it" (``it``, ``that one`` and ``the same
one`` are the object last moved), "again" (the last command, planned anew on the scene as
it is now), "do the same with the blue cube" (the last plan with its object replaced), or
"undo" (every object the last command moved goes back where it was, planned as sub-goals and
checked like any other command; undo again to step further back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from embodied.perception.scene import Scene
from embodied.planning import lexicon
from embodied.planning.planner import PlanResult
from embodied.planning.subgoals import PLACE, Plan, PlanError, SubGoal, Target, validate_plan


@dataclass(frozen=True)
class _Executed:
    """One executed command, with where every object was before it."""

    instruction: str
    plan: Plan
    before: dict[str, np.ndarray]  # name -> (3,) position before the command, world frame, m


@dataclass
class Conversation:
    """The executed commands of an interactive session (the last one is what "it", "again",
    "the same" and "undo" refer to)."""

    instruction: str | None = None
    plan: Plan | None = None
    moved: list[str] = field(default_factory=list)
    history: list[_Executed] = field(default_factory=list)
    undone_count: int = 0

    def remember(self, instruction: str, result: PlanResult, before: Scene | None = None) -> None:
        """After a command was executed: what "it", "again", "the same" and "undo" refer to next.

        ``before``: the scene perceived before the command (what "undo" restores).
        """
        if result.plan is None:
            return
        self.instruction, self.plan = instruction, result.plan
        self._moved_by(result.plan)
        if before is not None:
            positions = {o.name: np.asarray(o.position, dtype=np.float64) for o in before.objects}
            self.history.append(_Executed(instruction, result.plan, positions))

    def _moved_by(self, plan: Plan) -> None:
        moved = [g.object for g in plan.subgoals]
        self.moved = list(dict.fromkeys(reversed(moved)))[::-1]  # order of last motion, no repeats

    def wants_undo(self, text: str) -> bool:
        """Whether ``text`` asks to undo the last command ("undo", "put it back", "revert that")."""
        return bool(lexicon.UNDO.match(text.strip().lower()))

    def undo(self, scene: Scene, size: float, tolerance: float) -> PlanResult:
        """The plan that puts every object the last command displaced back where it was.

        An object counts as displaced when it is more than ``tolerance`` (m) from its earlier
        place in the table plane or half a cube (``size``, m) off in height. It goes back ``on``
        the object it rested on before, or to its earlier point (``at``), carried by pick_place
        (it places within a few mm; a push back lands within 2-3 cm). Those that rested on
        the table go first, so that what they carried has its base back.
        """
        if not self.history:
            why = "every command of this session was undone" if self.undone_count else "no command has been executed"
            return PlanResult("undo", None, f"there is nothing left to undo: {why}")
        last = self.history[-1]
        now = {o.name: np.asarray(o.position, dtype=np.float64) for o in scene.objects}
        rest_z = float(scene.table_center[2]) + size / 2
        goals: list[tuple[int, int, SubGoal]] = []
        order = {name: i for i, name in enumerate(reversed([g.object for g in last.plan.subgoals]))}
        for name, was in last.before.items():
            if name not in now:
                return PlanResult("undo", None, f"I cannot undo: I no longer see the {name.replace('_', ' ')}")
            here = now[name]
            if np.linalg.norm(here[:2] - was[:2]) <= tolerance and abs(here[2] - was[2]) < size / 2:
                continue
            below = [
                other
                for other, p in last.before.items()
                if other != name
                and np.linalg.norm(p[:2] - was[:2]) < 0.6 * size
                and 0.5 * size < was[2] - p[2] < 1.5 * size
            ]
            if below:
                target = Target(on=below[0])
            else:
                target = Target(**{PLACE: (float(was[0]), float(was[1]))})
            level = round((was[2] - rest_z) / size)  # 0: on the table, 1: on one cube, ...
            goals.append((level, order.get(name, len(order)), SubGoal(skill="pick_place", object=name, target=target)))
        if not goals:
            return PlanResult(
                "undo", None, f"nothing to undo: every object is where it was before {last.instruction!r}"
            )
        goals.sort(key=lambda item: (item[0], item[1]))  # bases first; then the last moved first, bumped ones last
        try:
            return PlanResult("undo", validate_plan(Plan(subgoals=[g for _, _, g in goals]), scene), None)
        except PlanError as exc:
            return PlanResult("undo", None, f"I cannot undo {last.instruction!r}: {exc}")

    def undone(self, result: PlanResult, success: bool) -> None:
        """After an undo was executed: on success the command it reverted is forgotten, so
        the next undo steps further back; "it" is what the undo moved."""
        if result.plan is not None:
            self._moved_by(result.plan)
        if success and self.history:
            self.history.pop()
            self.undone_count += 1
            previous = self.history[-1] if self.history else None
            self.instruction = previous.instruction if previous else None
            self.plan = previous.plan if previous else None

    def repeat(self, text: str) -> str | None:
        """The instruction to run again when ``text`` asks for it ("again", "repeat that")."""
        if not lexicon.AGAIN.match(text.strip().lower()):
            return None
        if self.instruction is None:
            raise PlanError("there is nothing to do again yet: no command has been executed")
        return self.instruction

    def same_with(self, text: str) -> str | None:
        """The object phrase of "do the same with the blue cube", or None for other text."""
        m = lexicon.SAME.match(text.strip().lower())
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
