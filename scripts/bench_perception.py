"""Perception from RGB-D against the simulator's ground truth, with and without depth noise.

    python scripts/bench_perception.py --seeds 20

For each seed and each layout (arm parked; arm in view over the table; two cubes touching;
two cubes stacked), render the overhead camera, perceive (no segmentation, no labels) and
match perceived objects to true cubes by name. Reports position error (mean, p95, max),
false objects (perceived but not there, or named twice) and missed objects (a visible cube
not reported; a cube under another is not visible and not counted).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from embodied.perception.scene import perceive_world
from robots.robot import RobotAction
from sims.world import TabletopWorld

LAYOUTS = ("parked", "arm_in_view", "touching", "stacked")


def arrange(world: TabletopWorld, layout: str, rng: np.random.Generator) -> set[str]:
    """Set up ``layout``; returns the names of cubes hidden under another."""
    if layout == "arm_in_view":
        world.robot.reset(world.description.ready)
        for _ in range(3):
            world.robot.send_action(RobotAction(ee_delta=np.array([0.0, 0.0, -0.03]), gripper_width=0.03))
    if layout in ("touching", "stacked"):
        a, b = rng.choice(world.scene.object_names, 2, replace=False)
        base = world.scene.object_position(str(a))
        size = world.scene.config.cube_size
        offset = (0.0, 0.0, size) if layout == "stacked" else (0.0, size * (1 if base[1] < 0 else -1), 0.0)
        world.client.set_base_pose(str(b), tuple(base + np.array(offset)))
        world.client.step(30)
        return {str(a)} if layout == "stacked" else set()
    return set()


def measure(seeds: int, noise: bool) -> dict:
    world = TabletopWorld(camera={"noise": {"enabled": noise}})
    out = {}
    try:
        for layout in LAYOUTS:
            errors, false, missed, seconds = [], 0, 0, []
            for seed in range(seeds):
                rng = np.random.default_rng(1000 + seed)
                world.reset(np.random.default_rng(seed))
                world.settle()
                hidden = arrange(world, layout, rng)
                start = time.perf_counter()
                scene = perceive_world(world)
                seconds.append(time.perf_counter() - start)
                truth = world.scene.object_positions()
                for obj in scene.objects:
                    if obj.name in truth:
                        errors.append(float(np.linalg.norm(obj.position - truth[obj.name])))
                    else:
                        false += 1
                missed += sum(1 for name in truth if name not in scene.names and name not in hidden)
            e = np.array(errors)
            out[layout] = {
                "objects": len(e),
                "error_mean_mm": round(1000 * float(e.mean()), 2),
                "error_p95_mm": round(1000 * float(np.percentile(e, 95)), 2),
                "error_max_mm": round(1000 * float(e.max()), 2),
                "false": false,
                "missed": missed,
                "ms_per_frame": round(1000 * float(np.median(seconds)), 1),
            }
    finally:
        world.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    result = {"noise": measure(args.seeds, True), "exact_depth": measure(args.seeds, False)}
    print("| depth | layout | objects | mean mm | p95 mm | max mm | false | missed | ms/frame |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for depth, rows in result.items():
        for layout, r in rows.items():
            print(
                f"| {depth} | {layout} | {r['objects']} | {r['error_mean_mm']} | {r['error_p95_mm']} | "
                f"{r['error_max_mm']} | {r['false']} | {r['missed']} | {r['ms_per_frame']} |"
            )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
