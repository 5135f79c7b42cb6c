"""Evaluate a skill policy (shipped, or checkpoint=PATH) over deterministic held-out episodes,
clean and (randomize=true) under the default randomisation on the same episode seeds.
Prints a summary; the last line is JSON with skill, episodes and success_rate.

Example: embodied eval-skill push episodes=200 seed=4242 randomize=true
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from embodied.common.progress import progress_bar
from embodied.common.run_folder import make_run_dir
from embodied.learning.catalogue import shipped_checkpoint
from embodied.learning.checkpoints import load_policy
from embodied.learning.envs import make_env
from embodied.learning.evaluation import EvalResult, evaluate
from embodied.learning.training import record_video, resolve_device


def eval_skill(cfg: DictConfig, console: Console | None = None) -> dict:
    """Evaluate ``cfg.skill``'s policy over ``cfg.episodes`` seeded episodes; returns the JSON report."""
    skill = cfg.skill
    name = str(skill.name)
    device = resolve_device(str(cfg.device), 1)
    env = make_env(skill)
    model = load_policy(name, cfg.checkpoint, env=env, device=device)
    checkpoint = str(cfg.checkpoint) if cfg.checkpoint else str(shipped_checkpoint(name))
    randomization = OmegaConf.to_container(cfg.randomization, resolve=True) if cfg.get("randomize") else None
    # Built first so that a bad randomisation value fails before minutes of clean evaluation.
    randomized_env = make_env(skill, randomization=randomization) if randomization is not None else None
    t0 = time.perf_counter()
    result = _evaluate_with_bar(model, env, cfg.episodes, int(cfg.seed), name, console)
    wall = time.perf_counter() - t0
    report = {
        "skill": name,
        "episodes": result.episodes,
        "success_rate": result.success_rate,
        "successes": int(sum(result.successes)),
        "mean_episode_length": float(np.mean(result.lengths)),
        "seed": int(cfg.seed),
        "checkpoint": checkpoint,
        "task": dict(skill.get("task") or {}),
        "wall_seconds": round(wall, 2),
    }
    randomized = None
    if randomized_env is not None:
        # Same episode seeds, so the two numbers differ only by the randomisation.
        randomized = _evaluate_with_bar(
            model, randomized_env, cfg.episodes, int(cfg.seed), f"{name} randomized", console
        )
        report["randomized"] = {
            "success_rate": randomized.success_rate,
            "successes": int(sum(randomized.successes)),
            "mean_episode_length": float(np.mean(randomized.lengths)),
            "config": randomization,
        }
    if cfg.video:
        run_dir = make_run_dir(cfg.run_dir, "eval-skill", name)
        camera = OmegaConf.to_container(cfg.video_camera, resolve=True)
        record_video(model, skill, camera, run_dir / "eval.mp4", min(3, cfg.episodes), int(cfg.seed))
        report["video"] = str(run_dir / "eval.mp4")
    if console is not None:
        failed = [int(cfg.seed) + i for i, ok in enumerate(result.successes) if not ok]
        console.print(
            f"[bold]{name}[/bold]: {report['successes']}/{report['episodes']} episodes succeeded "
            f"([bold]{report['success_rate']:.1%}[/bold]), mean length {report['mean_episode_length']:.1f} steps, "
            f"{wall:.1f} s; checkpoint {checkpoint}"
        )
        if failed:
            console.print(f"failed seeds: {failed[:20]}{' ...' if len(failed) > 20 else ''}")
        if randomized is not None:
            drop = (result.success_rate - randomized.success_rate) * 100
            console.print(
                f"[bold]{name}[/bold] under randomisation (physics, noise, actuation delay "
                f"{randomization['delay'][0]}-{randomization['delay'][1]} periods): "
                f"{int(sum(randomized.successes))}/{randomized.episodes} "
                f"([bold]{randomized.success_rate:.1%}[/bold]), {-drop:+.1f} pp against clean"
            )
    return report


def _evaluate_with_bar(model, env, episodes: int, seed: int, label: str, console: Console | None) -> EvalResult:  # noqa: ANN001
    """Run ``evaluate`` with a progress bar showing the running success rate; closes ``env``."""
    with progress_bar(console, label, episodes, transient=True) as bar:
        wins: list[bool] = []

        def on_episode(i: int, success: bool) -> None:
            wins.append(success)
            bar.update(advance=1, text=f"success {np.mean(wins):.0%}")

        try:
            return evaluate(model, env, episodes, seed, on_episode=on_episode)
        finally:
            env.close()


CONFIG = "eval_skill"
POSITIONAL = ("SKILL", "reach | push | pick_place")
HELP_OVERRIDES = ("skill=push",)
"""The skill whose defaults --help shows."""
OPTIONS = ("episodes", "seed", "checkpoint", "randomize", "video", "device")


def main(args: argparse.Namespace) -> int:
    """``embodied eval-skill SKILL``."""
    from embodied.common.config_loader import load_config
    from embodied.jobs.arguments import skill_and_overrides
    from embodied.jobs.terminal import console, print_config

    overrides = skill_and_overrides(args.command, args.tokens)
    if args.cfg:
        return print_config(CONFIG, overrides)
    report = eval_skill(load_config(CONFIG, overrides), console)
    print(json.dumps(report))
    return 0
