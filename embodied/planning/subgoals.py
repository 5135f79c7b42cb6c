"""Sub-goals, plans, the skill catalogue, and the validator every plan passes before any motion.

A sub-goal names a skill, the object it moves and one target relation, e.g.
``{"skill": "pick_place", "object": "red_cube", "target": {"on": "blue_cube"}}``. Whatever
produced a plan (the grounded planner, a language model), :func:`validate_plan` checks it
against the perceived scene and the catalogue and says precisely what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from embodied.perception.scene import Scene

REGIONS = ("left", "right", "far", "near", "center")
"""Table regions (see the design page): outer thirds on each side, the middle third."""

REGION_ALIASES = {"middle": "center", "centre": "center"}

OBJECT_RELATIONS = ("on", "next_to", "left_of", "right_of")
"""Target relations whose value is another object."""

RELATIONS = (*OBJECT_RELATIONS, "region")
"""Relations a sentence can name (the planners' vocabulary)."""

PLACE = "at"
"""A target that is a point on the table, ``{"at": [x, y]}`` (world frame, m): where an object
was before (the interactive prompt's "undo"). No sentence names it; the planners never emit it."""

TARGET_KEYS = (*RELATIONS, PLACE)

MAX_SUBGOALS = 12
"""Longest plan accepted; longer ones are almost surely a parsing or model failure."""


class PlanError(ValueError):
    """A plan, or the instruction behind it, that cannot be executed; the message says why."""


@dataclass(frozen=True)
class SkillSpec:
    """One entry of the skill catalogue: what a skill does and which targets it accepts."""

    name: str
    description: str
    relations: tuple[str, ...]
    achieves: str


CATALOGUE: dict[str, SkillSpec] = {
    "pick_place": SkillSpec(
        "pick_place",
        "grasp an object, carry it and set it down",
        ("on", "region", "next_to", "left_of", "right_of", PLACE),
        "the object rests on another object, in a region of the table or beside another object",
    ),
    "push": SkillSpec(
        "push",
        "slide an object along the table without lifting it",
        ("region", "next_to", "left_of", "right_of", PLACE),
        "the object rests in a region of the table or beside another object",
    ),
}
"""Skills the controller can run, by name."""


def catalogue_text() -> str:
    """The catalogue as plain lines, for prompts and ``--help`` (without ``at``, which no sentence names)."""
    lines = []
    for s in CATALOGUE.values():
        targets = ", ".join(r for r in s.relations if r != PLACE)
        lines.append(f"- {s.name}: {s.description}; targets: {targets}; achieves: {s.achieves}")
    return "\n".join(lines)


class Target(BaseModel):
    """Where the object should end up: exactly one relation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on: str | None = None
    region: str | None = None
    next_to: str | None = None
    left_of: str | None = None
    right_of: str | None = None
    at: tuple[float, float] | None = None
    """A point on the table, (x, y) in the world frame, m; the object rests there."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        set_fields = [k for k in TARGET_KEYS if getattr(self, k) is not None]
        if len(set_fields) != 1:
            raise ValueError(f"a target needs exactly one of {', '.join(TARGET_KEYS)}; got {set_fields or 'none'}")
        return self

    @property
    def relation(self) -> str:
        return next(k for k in TARGET_KEYS if getattr(self, k) is not None)

    @property
    def value(self) -> str | tuple[float, float]:
        """The object or region named, or the (x, y) point of an ``at`` target."""
        return getattr(self, self.relation)

    def json_value(self) -> str | list[float]:
        value = self.value
        return [round(float(v), 4) for v in value] if isinstance(value, tuple) else value


class SubGoal(BaseModel):
    """One step of a plan: ``skill`` moves ``object`` so that ``target`` holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    skill: str
    object: str
    target: Target

    def to_json(self) -> dict:
        return {"skill": self.skill, "object": self.object, "target": {self.target.relation: self.target.json_value()}}

    def text(self) -> str:
        """Short human form, e.g. ``pick_place red_cube on blue_cube``."""
        rel, value = self.target.relation, self.target.value
        if rel == PLACE:
            where = f"back to ({value[0]:+.3f}, {value[1]:+.3f})"
        elif rel == "region":
            where = f"to the {value} region"
        else:
            where = f"{rel.replace('_', ' ')} {value}"
        return f"{self.skill} {self.object} {where}"


class Plan(BaseModel):
    """An ordered list of sub-goals."""

    model_config = ConfigDict(extra="forbid")

    subgoals: list[SubGoal]

    def to_json(self) -> list[dict]:
        return [g.to_json() for g in self.subgoals]

    @classmethod
    def from_json(cls, items: object) -> Plan:
        """Parse a list of sub-goal dicts; malformed input raises :class:`PlanError`."""
        if not isinstance(items, list):
            raise PlanError(f"a plan must be a list of sub-goals, got {type(items).__name__}")
        try:
            return cls(subgoals=items)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise PlanError(f"malformed sub-goal at {where or 'plan'}: {first['msg']}") from None


def validate_plan(plan: Plan, scene: Scene) -> Plan:
    """Check ``plan`` against the scene and the catalogue; return it with region aliases resolved.

    Raises:
        PlanError: empty or too long, unknown skill, object or region, a relation the skill
            cannot achieve, or an object related to itself.
    """
    if not plan.subgoals:
        raise PlanError("the plan is empty: nothing to do")
    if len(plan.subgoals) > MAX_SUBGOALS:
        raise PlanError(f"the plan has {len(plan.subgoals)} sub-goals; at most {MAX_SUBGOALS} are allowed")
    names = set(scene.names)
    seen = ", ".join(scene.names) or "nothing"
    out = []
    for i, goal in enumerate(plan.subgoals, start=1):
        where = f"sub-goal {i} ({goal.skill} {goal.object})"
        spec = CATALOGUE.get(goal.skill)
        if spec is None:
            raise PlanError(f"{where}: unknown skill {goal.skill!r}; the skills are {', '.join(CATALOGUE)}")
        if goal.object not in names:
            raise PlanError(f"{where}: there is no {goal.object!r} in the scene; I can see {seen}")
        rel, value = goal.target.relation, goal.target.value
        if rel not in spec.relations:
            raise PlanError(
                f"{where}: {goal.skill} cannot achieve '{rel.replace('_', ' ')}' "
                f"(it achieves: {', '.join(spec.relations)})"
            )
        if rel == PLACE:
            lo = np.asarray(scene.table_center[:2]) - np.asarray(scene.table_size) / 2
            hi = np.asarray(scene.table_center[:2]) + np.asarray(scene.table_size) / 2
            if not (np.all(np.isfinite(value)) and np.all(np.asarray(value) >= lo) and np.all(np.asarray(value) <= hi)):
                raise PlanError(
                    f"{where}: the point ({value[0]:.3f}, {value[1]:.3f}) is not on the table "
                    f"(x in [{lo[0]:.3f}, {hi[0]:.3f}], y in [{lo[1]:.3f}, {hi[1]:.3f}] m)"
                )
        elif rel == "region":
            value = REGION_ALIASES.get(value, value)
            if value not in REGIONS:
                raise PlanError(f"{where}: unknown region {value!r}; regions are {', '.join(REGIONS)}")
        else:
            if value not in names:
                raise PlanError(f"{where}: there is no {value!r} in the scene; I can see {seen}")
            if value == goal.object:
                raise PlanError(f"{where}: an object cannot be {rel.replace('_', ' ')} itself")
        out.append(SubGoal(skill=goal.skill, object=goal.object, target=Target(**{rel: value})))
    return Plan(subgoals=out)
