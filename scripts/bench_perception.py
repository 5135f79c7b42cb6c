"""Perception from RGB-D against the simulator's ground truth, with and without depth noise.

    python scripts/bench_perception.py --seeds 20

For each seed and each layout (arm parked; arm in view over the table; two cubes touching;
two cubes stacked; the open hand over a stack), render the overhead camera, perceive (no segmentation, no labels) and
match perceived objects to true cubes by name. Reports position error (mean, p95, max; and
the p95 over partly hidden cubes alone: less than 80 % of the pixels that showed them with
the arm parked), false objects (perceived but not there, or named twice), missed objects (a
cube that at least `perception.min_pixels` pixels show, not reported) and cubes hidden
(fewer pixels show them). The simulator's segmentation is read only here, to score.

    python scripts/bench_perception.py --seeds 20 --first-seed 0 --out docs/results/bench_perception.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from embodied.execution.scripted_motions import move_to
from embodied.perception.config import PerceptionConfig
from embodied.perception.scene import perceive_world
from robots.robot import RobotAction
from sims.world import TabletopWorld

LAYOUTS = ("parked", "arm_in_view", "touching", "stacked", "hand_over_stack")


def arrange(world: TabletopWorld, layout: str, rng: np.random.Generator) -> None:
    """Set up ``layout`` (the arm moved over the table, or one cube moved next to or onto another)."""
    if layout == "arm_in_view":
        world.robot.reset(world.description.ready)
        for _ in range(3):
            world.robot.send_action(RobotAction(ee_delta=np.array([0.0, 0.0, -0.03]), gripper_width=0.03))
    if layout in ("touching", "stacked", "hand_over_stack"):
        a, b = rng.choice(world.scene.object_names, 2, replace=False)
        base = world.scene.object_position(str(a))
        size = world.scene.config.cube_size
        offset = (0.0, size * (1 if base[1] < 0 else -1), 0.0) if layout == "touching" else (0.0, 0.0, size)
        world.client.set_base_pose(str(b), tuple(base + np.array(offset)))
        world.client.step(30)
    if layout == "hand_over_stack":
        # The open hand a few cm over the stack, a little off its axis (as when placing or
        # leaving a cube): fingers and palm hide parts of the upper cube.
        target = base + np.array([*rng.uniform(-0.02, 0.02, 2), 2 * size + rng.uniform(0.03, 0.06)])
        move_to(world.robot, target, gripper_width=0.08)


def measure(seeds: range, noise: bool) -> dict:
    min_pixels = PerceptionConfig().min_pixels
    world = TabletopWorld(camera={"noise": {"enabled": noise}})
    out = {}
    try:
        for layout in LAYOUTS:
            errors, false, missed, unseen, partly, seconds = [], 0, 0, 0, [], []
            for seed in seeds:
                rng = np.random.default_rng(1000 + seed)
                world.reset(np.random.default_rng(seed))
                world.settle()
                reference = world.camera.render(segmentation=True)
                whole = {name: int((reference.segmentation == body).sum()) for body, name in reference.labels.items()}
                arrange(world, layout, rng)
                frame = world.camera.render(segmentation=True)
                start = time.perf_counter()
                scene = perceive_world(world, frame)
                seconds.append(time.perf_counter() - start)
                truth = world.scene.object_positions()
                # Ground truth for the benchmark only: how many pixels show each cube.
                shown = {name: int((frame.segmentation == body).sum()) for body, name in frame.labels.items()}
                for obj in scene.objects:
                    if obj.name in truth:
                        errors.append(float(np.linalg.norm(obj.position - truth[obj.name])))
                        if shown.get(obj.name, 0) < 0.8 * whole.get(obj.name, 0):
                            partly.append(errors[-1])
                    else:
                        false += 1
                for name in truth:
                    if name in scene.names:
                        continue
                    if shown.get(name, 0) < min_pixels:
                        unseen += 1
                    else:
                        missed += 1
            e = np.array(errors)
            out[layout] = {
                "objects": len(e),
                "error_mean_mm": round(1000 * float(e.mean()), 2),
                "error_p95_mm": round(1000 * float(np.percentile(e, 95)), 2),
                "error_max_mm": round(1000 * float(e.max()), 2),
                "false": false,
                "missed": missed,
                "hidden_not_reported": unseen,
                "partly_hidden": len(partly),
                "partly_hidden_p95_mm": round(1000 * float(np.percentile(partly, 95)), 2) if partly else None,
                "ms_per_frame": round(1000 * float(np.median(seconds)), 1),
            }
    finally:
        world.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="scenes per layout")
    parser.add_argument("--first-seed", type=int, default=0, help="seed of the first scene")
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    result = {"noise": measure(seeds, True), "exact_depth": measure(seeds, False)}
    print(
        "| depth | layout | objects | mean mm | p95 mm | max mm | partly hidden (p95 mm) "
        "| false | missed | hidden | ms/frame |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for depth, rows in result.items():
        for layout, r in rows.items():
            print(
                f"| {depth} | {layout} | {r['objects']} | {r['error_mean_mm']} | {r['error_p95_mm']} | "
                f"{r['error_max_mm']} | {r['partly_hidden']} ({r['partly_hidden_p95_mm']}) | {r['false']} | "
                f"{r['missed']} | {r['hidden_not_reported']} | {r['ms_per_frame']} |"
            )
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
