"""Headless rendering speed: frames per second of the tabletop camera at several sizes.

    python scripts/bench_render.py [--frames 100]

Renders with PyBullet's CPU TinyRenderer (DIRECT mode, no display), with and without the
segmentation mask; RGB, depth and segmentation all come from one render call.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from sims.camera import Camera
from sims.config import CameraConfig
from sims.world import TabletopWorld


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100, help="frames per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per size (median reported)")
    args = parser.parse_args()
    world = TabletopWorld()
    world.reset(np.random.default_rng(0))
    print(f"{'size':>9} {'rgb+depth+seg':>14} {'rgb+depth':>10}  (frames/s, median of {args.rounds})")
    for size in (128, 224):
        camera = Camera(world.client, CameraConfig(width=size, height=size))
        rates = {True: [], False: []}
        for _ in range(args.rounds):
            for seg in (True, False):
                start = time.perf_counter()
                for _ in range(args.frames):
                    camera.render(segmentation=seg)
                rates[seg].append(args.frames / (time.perf_counter() - start))
        print(f"{size:>4}x{size:<4} {statistics.median(rates[True]):>14.1f} {statistics.median(rates[False]):>10.1f}")
    world.close()


if __name__ == "__main__":
    main()
