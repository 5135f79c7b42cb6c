"""Instruction suites, the one place they are found, read and checked.

Both kinds are JSON Lines, shipped in ``embodied/assets/suites/`` or given as a path:

- *planner suites* (``bench_planner``, tests): each entry has ``instruction``, ``family``,
  ``scene`` (object names visible to the camera) and either ``plan`` (the exact expected
  sub-goals) or ``refuse`` (a category: the planner must return no plan and a reason);
  :func:`run_suite` scores a planner on them exactly.
- *evaluation suites* (``embodied eval``): each entry has ``instruction`` and ``goal``, a
  list of predicates ``{"object": ..., RELATION: value}`` judged in the final scene.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from embodied.perception.scene import Scene
from embodied.planning.planner import Planner, PlanResult
from embodied.planning.subgoals import RELATIONS, PlanError, SubGoal, Target

SUITES_DIR = Path(__file__).resolve().parent.parent / "assets" / "suites"
"""The shipped suites, by name (``tabletop``)."""


def suite_path(name_or_path: str | Path) -> Path:
    """A shipped suite's name or a JSONL path, as an existing file.

    Raises:
        PlanError: neither (lists the shipped names).
    """
    path = Path(name_or_path)
    if not path.exists() and path.suffix != ".jsonl" and "/" not in str(name_or_path):
        path = SUITES_DIR / f"{name_or_path}.jsonl"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.jsonl")))
        raise PlanError(f"suite {str(name_or_path)!r} not found (a JSONL path, or one of: {shipped})")
    return path


def read_suite(name_or_path: str | Path, check: Callable[[dict], None]) -> list[dict]:
    """The entries of a suite, each passed through ``check`` (which raises on a bad entry).

    Raises:
        PlanError: missing file, or a line that is not JSON or fails ``check`` (names the line).
    """
    path = suite_path(name_or_path)
    entries = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("an entry must be a JSON object")
            check(entry)
        except json.JSONDecodeError as exc:
            raise PlanError(f"{path}:{n}: not JSON ({exc.msg})") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f"{path}:{n}: bad suite entry ({exc})") from None
        entries.append(entry)
    return entries


def _check_planner_entry(entry: dict) -> None:
    if "instruction" not in entry or ("plan" in entry) == ("refuse" in entry):
        raise ValueError("needs 'instruction' and exactly one of 'plan' or 'refuse'")


def load_suite(name_or_path: str | Path) -> list[dict]:
    """A planner suite (expected plans and refusals)."""
    return read_suite(name_or_path, _check_planner_entry)


def predicate(p: dict) -> SubGoal:
    """A goal predicate ``{"object": ..., RELATION: value}`` as a sub-goal (the skill is irrelevant)."""
    rels = [r for r in RELATIONS if r in p]
    if "object" not in p or len(rels) != 1:
        raise ValueError(f"a predicate needs 'object' and one of {RELATIONS}: {p}")
    return SubGoal(skill="pick_place", object=p["object"], target=Target(**{rels[0]: p[rels[0]]}))


def _check_eval_entry(entry: dict) -> None:
    goals = [predicate(p) for p in entry.get("goal") or []]
    if not entry.get("instruction") or not goals:
        raise ValueError("needs an instruction and at least one goal predicate")


def load_eval_suite(name_or_path: str | Path) -> list[dict]:
    """An evaluation suite (instructions with goal predicates)."""
    return read_suite(name_or_path, _check_eval_entry)


@dataclass
class SuiteReport:
    """Exact-plan accuracy on plan entries, refusal accuracy on refusal entries, and the misses."""

    plan_total: int = 0
    plan_correct: int = 0
    refuse_total: int = 0
    refuse_correct: int = 0
    latencies: list[float] = field(default_factory=list)
    by_family: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: list[dict] = field(default_factory=list)

    @property
    def plan_accuracy(self) -> float:
        return self.plan_correct / max(self.plan_total, 1)

    @property
    def refusal_accuracy(self) -> float:
        return self.refuse_correct / max(self.refuse_total, 1)

    def summary(self) -> dict:
        return {
            "plan_accuracy": round(self.plan_accuracy, 4),
            "plan_entries": self.plan_total,
            "refusal_accuracy": round(self.refusal_accuracy, 4),
            "refusal_entries": self.refuse_total,
            "by_family": {k: {"correct": v[0], "total": v[1]} for k, v in sorted(self.by_family.items())},
        }


def run_suite(
    planner: Planner, entries: list[dict], on_result: Callable[[dict, PlanResult], None] | None = None
) -> SuiteReport:
    """Plan every entry in a scene holding exactly its ``scene`` objects and score it."""
    report = SuiteReport()
    for entry in entries:
        scene = Scene.from_names(entry.get("scene") or ["red_cube", "green_cube", "blue_cube", "yellow_cube"])
        result = planner.plan(entry["instruction"], scene)
        report.latencies.append(result.seconds)
        if "plan" in entry:
            ok = result.ok and result.to_json()["plan"] == entry["plan"]
            report.plan_total += 1
            report.plan_correct += ok
        else:
            # A refusal counts when it names the real cause (any of ``cause``, when given).
            causes = [str(c).lower() for c in entry.get("cause") or []]
            ok = not result.ok and bool(result.error)
            ok = ok and (not causes or any(c in result.error.lower() for c in causes))
            report.refuse_total += 1
            report.refuse_correct += ok
        family = entry.get("family", "other")
        report.by_family[family][0] += ok
        report.by_family[family][1] += 1
        if not ok:
            report.misses.append({"entry": entry, "got": result.to_json()})
        if on_result:
            on_result(entry, result)
    return report
