"""The simulated tabletop of a job's config: sim, scene, camera and robot sections, placed by seed."""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from embodied.common.config_loader import ConfigError, section


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
    world.settle()
    return world
