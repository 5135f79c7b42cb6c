"""Export a skill policy to ONNX or TorchScript (normalisation, prior and network in one file)
and check it gives the torch policy's actions within the tolerance. The last line is the
exported file's path; exit 1 when the parity check fails.

Example: embodied export push format=onnx out=exports/push.onnx
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from rich.console import Console

from embodied.learning.checkpoints import load_policy
from embodied.learning.export import FORMATS, collect_observations, export_policy, run_exported, torch_actions

CONFIG = "export"
POSITIONAL = ("SKILL", "reach | push | pick_place")
HELP_OVERRIDES = ("skill=push",)
"""The skill whose defaults --help shows."""
OPTIONS = ("format", "out", "checkpoint", "check_episodes", "tolerance")


def export_skill(cfg: DictConfig, console: Console | None = None) -> dict:
    """Export ``cfg.skill``'s policy and compare it with the torch policy; returns a report."""
    skill = cfg.skill
    name = str(skill.name)
    model = load_policy(name, cfg.checkpoint)
    out = Path(cfg.out) if cfg.out else Path("exports") / f"{name}{FORMATS[cfg.format]}"
    batch = collect_observations(skill, model, max(1, int(cfg.check_episodes)), 300000)
    export_policy(model, out, cfg.format, {k: v[0] for k, v in batch.items()})
    diff = float(np.abs(run_exported(out, batch) - torch_actions(model, batch)).max())
    report = {"path": str(out), "format": cfg.format, "observations": len(batch["observation"]), "max_abs_diff": diff}
    if console is not None:
        verdict = "[green]match[/green]" if diff <= cfg.tolerance else "[red]MISMATCH[/red]"
        console.print(
            f"exported {name} to {out} ({out.stat().st_size / 1024:.0f} KiB); {verdict}: largest action "
            f"difference {diff:.2e} over {report['observations']} observations (tolerance {cfg.tolerance:g})"
        )
    return report


def main(args: argparse.Namespace) -> int:
    """``embodied export SKILL``."""
    from embodied.common.config_loader import load_config
    from embodied.jobs.arguments import skill_and_overrides
    from embodied.jobs.terminal import console, print_config

    overrides = skill_and_overrides(args.command, args.tokens)
    if args.cfg:
        return print_config(CONFIG, overrides)
    cfg = load_config(CONFIG, overrides)
    report = export_skill(cfg, console)
    print(report["path"])
    return 0 if report["max_abs_diff"] <= cfg.tolerance else 1
