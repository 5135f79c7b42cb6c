"""The model card of a trained skill: ``card.json`` for programs, ``model_card.md`` for people."""

from __future__ import annotations

import json
from pathlib import Path

ON_POLICY = ("ppo",)
"""Algorithms that learn from their own rollouts (no replay buffer, no HER)."""


def method(algo: str) -> str:
    """How a skill is trained, for people: "SAC + HER", "PPO"."""
    return algo.upper() if algo in ON_POLICY else f"{algo.upper()} + HER"


def write_card(run_dir: Path, card: dict) -> None:
    """``card.json`` and a readable ``model_card.md`` describing how the policy was made."""
    (run_dir / "card.json").write_text(json.dumps(card, indent=2))
    lines = [
        f"# {card['skill']} skill ({method(card['algo'])}, prior: {card['prior']})",
        "",
        f"- command: `{card['command']}`",
        f"- seed: {card['seed']}",
        f"- env steps: {card['steps']}",
        f"- wall-clock: {card['wall_seconds']:.0f} s ({card['steps_per_second']:.0f} env steps/s)",
        f"- hardware: {card['hardware']} (device {card['device']})",
        f"- success rate: {card['success_rate']:.1%} over {card['eval_episodes']} evaluation episodes "
        f"(seeds {card['eval_seed']}..{card['eval_seed'] + card['eval_episodes'] - 1}, never used in training)",
        f"- before training (the prior alone when there is one): {card['initial_success_rate']:.1%}",
        f"- env: {card['env_id']} with task settings {card['task']}",
        f"- randomisation (training and evaluation): {card.get('randomization') or 'off'}",
        "",
        "Success rate vs env steps:",
        "",
        "| steps | success |",
        "| ---: | ---: |",
        *[f"| {h['steps']} | {h['success_rate']:.0%} |" for h in card["history"]],
        "",
    ]
    (run_dir / "model_card.md").write_text("\n".join(lines))
