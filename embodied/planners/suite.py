"""Instruction suites for planners: expected plans and expected refusals, scored exactly.

A suite is JSON Lines; each entry has ``instruction``, ``family``, ``scene`` (object names
visible to the camera) and either ``plan`` (the exact expected sub-goals) or ``refuse`` (a
category: the planner must return no plan and a reason).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from embodied.perception import Scene
from embodied.plan import PlanError
from embodied.planners import Planner, PlanResult


def load_suite(path: str | Path) -> list[dict]:
    """Entries of a JSONL suite; a malformed line raises :class:`PlanError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise PlanError(f"suite file {path} not found")
    entries = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PlanError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if "instruction" not in entry or ("plan" in entry) == ("refuse" in entry):
            raise PlanError(f"{path}:{n}: needs 'instruction' and exactly one of 'plan' or 'refuse'")
        entries.append(entry)
    return entries


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
            ok = not result.ok and bool(result.error)
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
