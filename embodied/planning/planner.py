"""Planners turn an instruction and the perceived scene into a validated plan, or a refusal.

Every planner (the grounded default, a vision-language model, a text-only language model)
returns a :class:`PlanResult`, and every plan goes through :func:`embodied.planning.subgoals.validate_plan`
before anything moves. Planners are built by name from ``configs/planner/`` (``_target_``).
"""

from __future__ import annotations

import inspect
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from embodied.perception.scene import Scene
from embodied.planning.subgoals import Plan


@dataclass
class PlanResult:
    """The plan for one instruction, or why there is none.

    Attributes:
        instruction: the text as given.
        plan: validated sub-goals (None when refused).
        error: the reason for refusing, or None.
        seconds: wall-clock planning time, s.
        details: planner-specific extras (e.g. generated tokens), not part of the contract.
    """

    instruction: str
    plan: Plan | None
    error: str | None
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.plan is not None and self.error is None

    def to_json(self) -> dict:
        """The ``embodied plan`` contract: ``{"plan": [...], "error": null | "..."}``."""
        return {"plan": self.plan.to_json() if self.plan is not None else [], "error": self.error}


class Planner(Protocol):
    """Anything that plans: ``plan(instruction, scene, image)`` -> :class:`PlanResult`."""

    name: str

    def plan(self, instruction: str, scene: Scene, image: np.ndarray | None = None) -> PlanResult: ...


MAX_INSTRUCTION_CHARS = 1000
"""Longest instruction planned. A command to an arm is a sentence or a few; a longer text is
a pasted document or an attack on the planner's memory and time, and is refused."""

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
"""Characters that reorder how text is displayed: what the user reads would not be what is planned."""


def shown(text: str, limit: int = 80) -> str:
    """``text`` for messages and reports: printable, at most ``limit`` characters (then "...")."""
    clean = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def screen_instruction(instruction: str) -> str | None:
    """Why ``instruction`` cannot be planned as text, or None if it can.

    Refused: longer than :data:`MAX_INSTRUCTION_CHARS`; NUL or other control characters;
    bytes that were not valid UTF-8 (Python keeps them as lone surrogates); characters that
    reorder the display (bidirectional overrides), so what is shown is what is planned.
    """
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        return (
            f"the instruction is {len(instruction)} characters long; at most {MAX_INSTRUCTION_CHARS} are planned "
            f'(it starts "{shown(instruction, 60)}")'
        )
    for i, c in enumerate(instruction):
        if "\ud800" <= c <= "\udfff":
            return f"the instruction is not valid UTF-8 (an undecodable byte at character {i + 1})"
        if c in BIDI_CONTROLS:
            return f"the instruction holds a text-direction control character (U+{ord(c):04X}) at character {i + 1}"
        if unicodedata.category(c) == "Cc" and c not in "\t\n\r":
            return f"the instruction holds a control character (U+{ord(c):04X}) at character {i + 1}"
    return None


def plan_screened(
    planner: Planner,
    instruction: str,
    scene: Scene,
    image: np.ndarray | None = None,
    previous: list[str] | None = None,
) -> PlanResult:
    """:meth:`Planner.plan` after :func:`screen_instruction`: odd text is refused before any planner sees it.

    ``previous`` (objects the conversation's last command moved) reaches planners whose
    ``plan`` takes it (the grounded planner); others plan each instruction on its own.
    """
    problem = screen_instruction(instruction)
    if problem is not None:
        return PlanResult(shown(instruction, MAX_INSTRUCTION_CHARS), None, problem, 0.0)
    start = time.perf_counter()
    if previous and "previous" in inspect.signature(planner.plan).parameters:
        result = planner.plan(instruction, scene, image, previous=previous)
    else:
        result = planner.plan(instruction, scene, image)
    result.seconds = result.seconds or time.perf_counter() - start
    return result


def make_planner(config: Any) -> Planner:
    """Build the planner described by a ``configs/planner/*`` entry (``_target_`` + arguments)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from embodied.common.config_loader import ConfigError

    if OmegaConf.select(config, "_target_") is None:
        raise ConfigError("planner config needs a _target_ (choose one of configs/planner/)")
    try:
        return instantiate(config, _convert_="all")
    except Exception as exc:  # Hydra wraps the constructor's exception; show the cause.
        cause = exc.__cause__ or exc
        raise ConfigError(f"could not build planner {config.get('name', '?')}: {cause}") from None
