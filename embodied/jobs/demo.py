"""Build the tabletop scene, stack one cube on another with scripted motions, and save a video
and pictures (RGB, depth, segmentation) with summary.json, whose path is the last line.

Example: embodied demo seed=3 pick=green_cube place_on=yellow_cube
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from embodied.common.config_loader import ConfigError, section
from embodied.common.media import caption, depth_image, segmentation_image, write_png, write_video
from embodied.common.run_folder import make_run_dir
from embodied.execution.scripted_motions import MotionConfig, move_to, pick_and_place
from sims.camera import Camera
from sims.config import CameraConfig, from_mapping
from sims.world import TabletopWorld


@dataclass
class DemoResult:
    """What the demo did and where it wrote it."""

    run_dir: Path
    summary: dict


def run_demo(cfg: DictConfig, progress: Callable[[int, str], None] | None = None) -> DemoResult:
    """Run the demo described by a composed ``configs/demo.yaml``.

    Args:
        cfg: the composed config.
        progress: optional callback ``(steps_done, label)`` after each control step.

    Raises:
        ConfigError: unknown or identical cubes, or other bad values.
    """
    scene_cfg = section(cfg, "scene")
    names = [c["name"] for c in scene_cfg["cubes"]]
    for key in ("pick", "place_on"):
        if cfg[key] not in names:
            raise ConfigError(f"{key}={cfg[key]!r} is not a cube of the scene; cubes: {', '.join(names)}")
    if cfg.pick == cfg.place_on:
        raise ConfigError(f"cannot stack {cfg.pick} on itself: choose two different cubes")
    seed = int(cfg.seed)
    run_dir = make_run_dir(cfg.run_dir, "demo", seed=seed)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))

    try:
        video_config = from_mapping(CameraConfig, section(cfg, "video_camera"))
        world = TabletopWorld(section(cfg, "sim"), scene_cfg, section(cfg, "camera"), cfg.robot.description)
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigError(str(exc)) from exc
    try:
        world.reset(np.random.default_rng(seed))
        video_cam = Camera(world.client, video_config)
        frames: list[np.ndarray] = []
        steps = 0
        title = f"seed {seed}: stack {cfg.pick} on {cfg.place_on}"

        def on_step(label: str) -> None:
            nonlocal steps
            steps += 1
            if cfg.video:
                frames.append(caption(video_cam.render(segmentation=False).rgb, f"{title} | {label}"))
            if progress:
                progress(steps, label)

        before = world.camera.render(segmentation=True)
        write_png(run_dir / "scene.png", before.rgb)
        write_png(run_dir / "depth.png", depth_image(before.depth))
        write_png(run_dir / "segmentation.png", segmentation_image(before.segmentation))
        on_step("start")

        start = time.perf_counter()
        pick = world.scene.object_position(cfg.pick)
        place = world.scene.object_position(cfg.place_on) + np.array([0.0, 0.0, world.scene.config.cube_size])
        width = world.description.gripper.max_width
        moves_ok = pick_and_place(world.robot, pick, place, width, on_step=on_step)
        moves_ok &= move_to(world.robot, world.home_ee_position, width, MotionConfig(max_steps=100), "home", on_step)
        seconds = time.perf_counter() - start

        write_png(run_dir / "final.png", world.camera.render(segmentation=False).rgb)
        video = write_video(run_dir / "demo.mp4", frames) if cfg.video else None
        top = world.scene.object_position(cfg.pick)
        base = world.scene.object_position(cfg.place_on)
        offset = top - base
        size = world.scene.config.cube_size
        stacked = bool(np.linalg.norm(offset[:2]) < size / 2 and abs(offset[2] - size) < size / 4)
        summary = {
            "job": "demo",
            "seed": seed,
            "task": f"stack {cfg.pick} on {cfg.place_on}",
            "success": stacked,
            "motions_reached_targets": bool(moves_ok),
            "control_steps": steps,
            "sim_seconds": round(steps * world.description.control_period, 3),
            "wall_seconds": round(seconds, 3),
            **world.scene.describe(),
            "files": {
                "video": video.name if video else None,
                "scene": "scene.png",
                "depth": "depth.png",
                "segmentation": "segmentation.png",
                "final": "final.png",
            },
        }
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        return DemoResult(run_dir=run_dir, summary=summary)
    finally:
        world.close()


CONFIG = "demo"
OPTIONS = ("seed", "pick", "place_on", "video", "sim.gui", "run_dir")


def main(args: argparse.Namespace) -> int:
    """``embodied demo``: exit 0 when the cube ends up stacked."""
    from rich.table import Table

    from embodied.common.config_loader import load_config
    from embodied.common.progress import progress_bar
    from embodied.jobs.terminal import console, print_config

    if args.cfg:
        return print_config(CONFIG, args.tokens)
    cfg = load_config(CONFIG, args.tokens)
    with progress_bar(console, "demo", transient=True) as bar:
        result = run_demo(cfg, lambda n, label: bar.update(text=f"step {n:4d}  {label}"))
    s = result.summary
    table = Table(title=f"demo, seed {s['seed']}: {s['task']}", show_header=True)
    table.add_column("object")
    table.add_column("final position (x, y, z) m", justify="right")
    for name, obj in s["objects"].items():
        table.add_row(name, ", ".join(f"{v:+.3f}" for v in obj["position"]))
    console.print(table)
    verdict = "[green]stacked[/green]" if s["success"] else "[red]not stacked[/red]"
    console.print(
        f"{verdict} in {s['control_steps']} control steps ({s['sim_seconds']} s simulated, "
        f"{s['wall_seconds']} s wall-clock, video included)"
    )
    print(result.run_dir / "summary.json")
    return 0 if s["success"] else 1
