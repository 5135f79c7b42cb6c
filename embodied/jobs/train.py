"""Train a skill with stable-baselines3 (SAC/TQC + HER, or PPO): progress bar, TensorBoard (or
wandb), periodic evaluation on held-out seeds, best/last checkpoints, resume, evaluation video,
model card.
The last line is the path of card.json.

Example: embodied train skill=push algo=sac seed=1 n_envs=2 device=auto total_steps=100000
"""

from __future__ import annotations

import argparse

CONFIG = "train"
OPTIONS = ("skill", "algo", "seed", "total_steps", "n_envs", "device", "randomize", "logger", "resume", "run_dir")


def main(args: argparse.Namespace) -> int:
    """``embodied train``: exit 0 when the run finished (whatever its success rate)."""
    from embodied.common.config_loader import load_config
    from embodied.jobs.terminal import console, print_config
    from embodied.learning.model_card import method
    from embodied.learning.training import train

    overrides = list(args.tokens)
    if args.cfg:
        return print_config(CONFIG, overrides)
    cfg = load_config(CONFIG, overrides)
    console.print(
        f"training [bold]{cfg.skill.name}[/bold] with {method(cfg.algo.name)}"
        f" (prior: {cfg.skill.prior.kind if cfg.algo.residual else 'none'}), seed {cfg.seed}, {cfg.n_envs} envs"
    )
    result = train(cfg, overrides, console if cfg.progress else None)
    c = result.card
    console.print(
        f"[green]done[/green]: {c['steps']} steps in {c['wall_seconds']:.0f} s ({c['steps_per_second']:.0f} steps/s); "
        f"success {c['success_rate']:.0%} (before training {c['initial_success_rate']:.0%}, "
        f"best {c['best_success_rate']:.0%}) over {c['eval_episodes']} held-out episodes"
    )
    print(result.run_dir / "card.json")
    return 0
