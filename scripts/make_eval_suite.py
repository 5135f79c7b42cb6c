"""Build embodied/assets/suites/tabletop.jsonl, the instruction suite of `embodied eval`.

Each entry: ``instruction``, ``family``, ``hide`` (cubes left out of the scene) and ``goal``:
predicates ``{"object": ..., RELATION: value}`` that must hold in the final object positions.
They come from the planner's dev suite (tests/data/planner_dev.jsonl): the expected plan's
sub-goals, minus any superseded by a later sub-goal that moves the same object again.

Usage: python scripts/make_eval_suite.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALL = ["red_cube", "green_cube", "blue_cube", "yellow_cube"]


def predicates(plan: list[dict]) -> list[dict]:
    out = []
    for i, goal in enumerate(plan):
        if any(later["object"] == goal["object"] for later in plan[i + 1 :]):
            continue  # moved again later: only its last placement is a goal
        out.append({"object": goal["object"], **goal["target"]})
    return out


def main() -> None:
    entries = []
    for line in (ROOT / "tests" / "data" / "planner_dev.jsonl").read_text().splitlines():
        e = json.loads(line)
        if "plan" not in e:
            continue
        family = "tower" if e["family"] == "tower" else e["family"].split(" ")[0]
        entries.append(
            {
                "instruction": e["instruction"],
                "family": family,
                "hide": [n for n in ALL if n not in e["scene"]],
                "goal": predicates(e["plan"]),
            }
        )
    out = ROOT / "embodied" / "assets" / "suites" / "tabletop.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(e) + "\n" for e in entries))
    print(f"{len(entries)} instructions -> {out}")


if __name__ == "__main__":
    main()
