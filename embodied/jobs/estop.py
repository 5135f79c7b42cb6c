"""Publish the operator e-stop: every `embodied deploy` and `embodied fake-arm` on the domain
holds its arm at once and latches; deploy ends its job (exit 1) and keeps its reports.
--reset releases the stand-in's latch (a deploy that stopped has ended; start a new one).
Exit 0 when at least one subscriber acknowledged, 1 when nobody was listening.

Example: embodied estop domain=7        embodied estop --reset domain=7
"""

from __future__ import annotations

import argparse

CONFIG = "estop"
OPTIONS = ("wait", "dds.domain", "dds.estop_topic")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reset", action="store_true", help="release the e-stop instead of latching it")


def main(args: argparse.Namespace) -> int:
    """``embodied estop [--reset]``."""
    from embodied.common.config_loader import dds_settings, load_config
    from embodied.jobs.arguments import dds_shorthand
    from embodied.jobs.terminal import console, print_config
    from robots.ros2.estop import publish_estop

    overrides = dds_shorthand(list(args.tokens))
    if args.cfg:
        return print_config(CONFIG, overrides)
    cfg = load_config(CONFIG, overrides)
    discovery = dds_settings(cfg)
    stop = not args.reset
    heard = publish_estop(discovery, str(cfg.dds.estop_topic), stop, float(cfg.wait))
    what = "e-stop" if stop else "e-stop reset"
    if heard == 0:
        console.print(
            f"[red]{what} published on {cfg.dds.estop_topic}, but nobody is subscribed[/red] ({discovery.describe()})"
        )
        return 1
    console.print(f"{what} delivered to {heard} subscriber(s) on {cfg.dds.estop_topic} ({discovery.describe()})")
    return 0
