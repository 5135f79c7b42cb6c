"""Planners turn an instruction and the perceived scene into a validated plan, or a refusal.

Every planner (the grounded default, a vision-language model, a text-only language model)
returns a :class:`PlanResult`, and every plan goes through :func:`embodied.plan.validate_plan`
before anything moves. Planners are built by name from ``configs/planner/`` (``_target_``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from embodied.perception import Scene
from embodied.plan import Plan


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


def make_planner(config: Any) -> Planner:
    """Build the planner described by a ``configs/planner/*`` entry (``_target_`` + arguments)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from embodied.config import ConfigError

    if OmegaConf.select(config, "_target_") is None:
        raise ConfigError("planner config needs a _target_ (choose one of configs/planner/)")
    try:
        return instantiate(config, _convert_="all")
    except Exception as exc:  # Hydra wraps the constructor's exception; show the cause.
        cause = exc.__cause__ or exc
        raise ConfigError(f"could not build planner {config.get('name', '?')}: {cause}") from None
