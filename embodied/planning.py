"""Plan one instruction in a simulated scene: build it by seed, perceive it, ask the planner."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from embodied.config import ConfigError, section
from embodied.perception import Scene, perceive_world
from embodied.planners import Planner, PlanResult, make_planner, plan_screened


@dataclass
class PlanningOutcome:
    """The planner's answer together with what perception saw and the image it saw it in."""

    result: PlanResult
    scene: Scene
    image: np.ndarray


def build_world(cfg: DictConfig):
    """The tabletop world of ``cfg`` with its cubes placed by ``cfg.seed`` (minus ``cfg.hide``)."""
    from sims.world import TabletopWorld

    scene_cfg = section(cfg, "scene")
    names = [c["name"] for c in scene_cfg["cubes"]]
    hide = list(cfg.get("hide") or [])
    unknown = [h for h in hide if h not in names]
    if unknown:
        raise ConfigError(f"hide names unknown cube(s) {unknown}; the scene has {names}")
    if not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {cfg.seed!r}")
    try:
        world = TabletopWorld(
            section(cfg, "sim"),
            scene_cfg,
            section(cfg, "camera"),
            robot=cfg.robot.description,
            objects=[n for n in names if n not in hide],
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    world.reset(np.random.default_rng(cfg.seed))
    world.client.step(5)
    return world


def plan_in_world(world, planner: Planner, instruction: str) -> PlanningOutcome:
    """Render the overhead camera, perceive, and plan ``instruction``."""
    frame = world.camera.render()
    scene = perceive_world(world, frame)
    return PlanningOutcome(plan_screened(planner, instruction, scene, frame.rgb), scene, frame.rgb)


def plan_instruction(cfg: DictConfig, instruction: str, planner: Planner | None = None) -> PlanningOutcome:
    """Build the scene of ``cfg``, perceive it and plan ``instruction`` with ``cfg.planner``."""
    planner = planner or make_planner(cfg.planner)
    world = build_world(cfg)
    try:
        return plan_in_world(world, planner, instruction)
    finally:
        world.close()
