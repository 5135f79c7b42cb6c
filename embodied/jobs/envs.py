"""List the registered gymnasium skill environments with their observation and action sizes."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def main(args: argparse.Namespace) -> int:
    """``embodied envs``: a table (or JSON) of every ``embodied/*`` env id."""
    import gymnasium as gym
    from rich.console import Console
    from rich.table import Table

    import sims
    from embodied.common.config_loader import ConfigError

    if args.tokens:
        raise ConfigError(f"envs takes no settings, got {' '.join(args.tokens)!r}")
    rows = []
    for env_id in sims.ENV_IDS:
        env = gym.make(env_id)
        rows.append(
            {
                "id": env_id,
                "observation": env.observation_space["observation"].shape[0],
                "goal": env.observation_space["desired_goal"].shape[0],
                "action": env.action_space.shape[0],
                "max_episode_steps": env.spec.max_episode_steps,
            }
        )
        env.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="skill environments (25 Hz, 5 cm success threshold)")
    for col in rows[0]:
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)
    return 0
