"""Left/right goals beside a cube the table edge hems in: refused before, placed now?

    python scripts/bench_side_room.py                          # seeds 1000-1299, ~10 min on 2 cores
    python scripts/bench_side_room.py --overrides randomize=true perception.tracking=camera

For every seed's scene (all four cubes) and every "<verb> the A cube to the left/right of the B
cube" the controller's usual spots (0.8-1.6 ``side_gap`` straight beside B, or half that in
front or behind) cannot serve because the table's edge is too close on that side; those are
the cases ``embodied run`` refused with "no free room" before the squeezed spots
(``embodied.execution.goal_geometry._squeezed_side_spot``). Each case runs through the main
job's session (planner, learned skills, controller) with ``pick_place`` ("put"; ``--skills
pick_place push`` adds "push", which the squeezed spots do not serve: it is refused as before),
and is judged from the simulator's final positions by the goal rule the evaluation uses.
Reports per skill: cases, those still refused (the reference cube is too close to the edge
even for a squeezed spot), those placed and their successes, and the final sideways offset
(the rule needs more than 0.75 cube sizes, 3 cm). Writes runs/bench/side_room.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VERBS = {"pick_place": "put", "push": "push"}


def squeezed_cases(session, seed: int) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """(object, relation, reference) of the seed's scene that only a squeezed spot can serve."""
    from embodied.execution import goal_geometry as gg
    from embodied.planning.subgoals import SubGoal, Target

    session.reset(seed, 0)
    positions = session.world.scene.object_positions()
    cases = []
    for ref in positions:
        for obj in positions:
            if obj == ref:
                continue
            for rel in ("left_of", "right_of"):
                goal = SubGoal(skill="pick_place", object=obj, target=Target(**{rel: ref}))
                try:
                    with mock.patch.object(gg, "_squeezed_side_spot", return_value=None):
                        gg.goal_position(goal, positions, session.controller.geometry)
                except gg.TargetError as exc:
                    if "no free room" in str(exc):
                        cases.append((obj, rel, ref))
    return cases


def summarise(rows: list[dict], skills: list[str], size: float) -> dict:
    """Per skill: cases, still refused for want of room, placed, successes among those placed,
    and the placed cubes' smallest and median sideways offset (m)."""
    summary = {}
    for skill in skills:
        mine = [r for r in rows if r["skill"] == skill]
        # Refused at once; a case placed, judged off and then refused on its retry counts as placed.
        placed = [r for r in mine if "after 1 attempt(s): no free room" not in (r["reason"] or "")]
        side = np.array([r["sideways"] for r in placed]) if placed else np.zeros(1)
        summary[skill] = {
            "cases": len(mine),
            "refused_no_room": len(mine) - len(placed),
            "placed": len(placed),
            "success": sum(r["success"] for r in mine),
            "placed_sideways_min_median": [round(float(side.min()), 4), round(float(np.median(side)), 4)],
            "rule_needs_more_than": 0.75 * size,
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs=2, default=[1000, 1300], metavar=("FIRST", "END"))
    parser.add_argument("--skills", nargs="+", default=["pick_place"], choices=sorted(VERBS))
    parser.add_argument("--overrides", nargs="*", default=[], help="Hydra overrides of the run config")
    parser.add_argument("--out", default="runs/bench/side_room.json")
    args = parser.parse_args()

    from embodied.common.config_loader import load_config
    from embodied.execution.session import Session
    from embodied.jobs.eval import truth_holds
    from embodied.planning.subgoals import SubGoal, Target

    cfg = load_config("run", ["video=false", *args.overrides])
    session = Session(cfg)
    size = session.controller.geometry.object_size
    rows, started = [], time.perf_counter()
    try:
        for seed in range(*args.seeds):
            for obj, rel, ref in squeezed_cases(session, seed):
                for skill in args.skills:
                    side = "left" if rel == "left_of" else "right"
                    text = f"{VERBS[skill]} the {obj.replace('_', ' ')} to the {side} of the {ref.replace('_', ' ')}"
                    session.reset(seed, 0)
                    report = session.run(text, None).report
                    goal = SubGoal(skill=skill, object=obj, target=Target(**{rel: ref}))
                    ok = truth_holds(session, [goal])
                    final = session.world.scene.object_positions()
                    d = np.asarray(final[obj]) - np.asarray(final[ref])
                    rows.append(
                        {
                            "seed": seed,
                            "instruction": text,
                            "skill": skill,
                            "success": bool(ok),
                            "sideways": round(float(d[1] if rel == "left_of" else -d[1]), 4),
                            "along": round(float(d[0]), 4),
                            "reason": report["reason"],
                        }
                    )
                    print(
                        f"seed {seed}: {text}: {'ok' if ok else 'FAILED'} (sideways {rows[-1]['sideways']:+.3f} m)"
                        + ("" if ok else f" {report['reason']}"),
                        flush=True,
                    )
    finally:
        session.close()
    summary = summarise(rows, args.skills, size)
    out = {
        "seeds": args.seeds,
        "overrides": args.overrides,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "summary": summary,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps(summary, indent=2))
    print(args.out)


if __name__ == "__main__":
    main()
