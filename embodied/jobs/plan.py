"""Perceive the scene of a seed and plan an instruction. Prints the plan, or the refusal
({"error": ..., "plan": []}, exit status 2), as JSON on stdout and nothing else there.

Example: embodied plan "put the red cube on the blue cube, then push the green one left" seed=3"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from embodied.common.config_loader import section
from embodied.execution.world_builder import build_world
from embodied.perception.config import PerceptionConfig
from embodied.perception.scene import Scene, perceive_world
from embodied.planning.planner import Planner, PlanResult, make_planner, plan_screened


@dataclass
class PlanningOutcome:
    """The planner's answer together with what perception saw and the image it saw it in."""

    result: PlanResult
    scene: Scene
    image: np.ndarray


def plan_in_world(
    world, planner: Planner, instruction: str, perception: PerceptionConfig | None = None
) -> PlanningOutcome:
    """Render the overhead camera, perceive (``perception`` settings), and plan ``instruction``."""
    frame = world.camera.render()
    scene = perceive_world(world, frame, perception)
    return PlanningOutcome(plan_screened(planner, instruction, scene, frame.rgb), scene, frame.rgb)


def plan_instruction(cfg: DictConfig, instruction: str, planner: Planner | None = None) -> PlanningOutcome:
    """Build the scene of ``cfg``, perceive it and plan ``instruction`` with ``cfg.planner``."""
    planner = planner or make_planner(cfg.planner)
    world = build_world(cfg)
    try:
        perception = PerceptionConfig(**section(cfg, "perception")) if "perception" in cfg else None
        return plan_in_world(world, planner, instruction, perception)
    finally:
        world.close()


CONFIG = "plan"
POSITIONAL = ("INSTRUCTION", "what to do, in quotes")
OPTIONS = ("seed", "planner", "hide", "show_scene")


def main(args: argparse.Namespace) -> int:
    """``embodied plan``: exit 0 with a plan, 2 when refused."""
    from embodied.common.config_loader import ConfigError, load_config
    from embodied.jobs.arguments import instruction_and_overrides
    from embodied.jobs.terminal import EXIT_BAD_INPUT, console, print_config, show_plan

    instruction, overrides = instruction_and_overrides(args.tokens)
    if args.cfg:
        return print_config(CONFIG, overrides)
    if instruction is None:
        raise ConfigError('give an instruction in quotes: embodied plan "put the red cube on the blue cube" seed=3')
    cfg = load_config(CONFIG, overrides)
    outcome = plan_instruction(cfg, instruction)
    result = outcome.result
    if cfg.show_scene:
        seen = ", ".join(f"{o.name} ({o.position[0]:+.2f}, {o.position[1]:+.2f})" for o in outcome.scene.objects)
        console.print(f"[dim]seed {cfg.seed}: the camera sees {seen or 'nothing'}[/dim]")
    show_plan(result, f"plan ({cfg.planner.name} planner)")
    print(json.dumps(result.to_json()))
    return 0 if result.ok else EXIT_BAD_INPUT
