"""Typed configuration of the simulated world (the schema behind ``configs/{sim,scene,camera}``).

Every field is documented; the YAML files under ``configs/`` restate these defaults so a
user can read them, and a test keeps the two in step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass
class SimConfig:
    """Physics engine settings."""

    timestep: float = 0.005
    """Physics step, s. 200 Hz: 8 steps per 25 Hz control period (see README, Physics)."""
    substeps: int = 8
    """Physics steps per control period; timestep * substeps must equal the robot's control period."""
    solver_iterations: int = 20
    """Constraint-solver iterations per physics step (PyBullet's default is 50)."""
    position_gain: float = 0.2
    """Joint position-control gain: the fraction of the position error the motor removes per
    physics step. 0.2 over 8 steps settles a 5 cm end-effector move within ~3 mm in two
    control periods (panda-gym: 0.1 over 20 steps, ~7 mm)."""
    gravity: float = -9.81
    """Gravity along world z, m/s^2."""
    gui: bool = False
    """Open PyBullet's GUI window instead of running headless (DIRECT)."""

    def __post_init__(self) -> None:
        _require(self.timestep > 0 and math.isfinite(self.timestep), f"sim.timestep must be > 0, got {self.timestep}")
        _require(self.substeps >= 1, f"sim.substeps must be >= 1, got {self.substeps}")
        _require(self.solver_iterations >= 1, f"sim.solver_iterations must be >= 1, got {self.solver_iterations}")
        _require(0 < self.position_gain <= 1, f"sim.position_gain must be in (0, 1], got {self.position_gain}")

    @property
    def control_period(self) -> float:
        """Seconds of simulated time per control step."""
        return self.timestep * self.substeps


@dataclass
class CubeConfig:
    """One named cube of the scene."""

    name: str
    """Name used everywhere (planner, reports): e.g. ``red_cube``."""
    rgba: tuple[float, float, float, float]
    """Colour, each channel in [0, 1]."""


def _default_cubes() -> list[CubeConfig]:
    return [
        CubeConfig("red_cube", (0.85, 0.12, 0.12, 1.0)),
        CubeConfig("green_cube", (0.15, 0.7, 0.2, 1.0)),
        CubeConfig("blue_cube", (0.12, 0.3, 0.85, 1.0)),
        CubeConfig("yellow_cube", (0.95, 0.8, 0.1, 1.0)),
    ]


@dataclass
class SceneConfig:
    """The tabletop scene: a table in front of the robot with named cubes on it."""

    name: str = "tabletop"
    """Scene name, as written in reports."""
    table_center: tuple[float, float] = (0.5, 0.0)
    """(x, y) of the table top's centre in the world frame, m. The top surface is at z = 0."""
    table_size: tuple[float, float] = (0.5, 0.7)
    """Extent of the table top along x and y, m."""
    table_height: float = 0.4
    """Distance from the floor to the table top, m (the floor is at z = -table_height)."""
    cube_size: float = 0.04
    """Edge length of every cube, m."""
    cube_mass: float = 0.1
    """Mass of each cube, kg."""
    cube_friction: float = 0.8
    """Lateral friction coefficient of cubes (the table uses 0.8 too; fingers 1.0)."""
    cubes: list[CubeConfig] = field(default_factory=_default_cubes)
    """The cubes in the scene, with their names and colours."""
    edge_margin: float = 0.06
    """Cubes are placed at least this far from the table edge, m."""
    min_separation: float = 0.08
    """Smallest distance between the centres of two placed cubes, m (room for the gripper)."""

    def __post_init__(self) -> None:
        self.cubes = [c if isinstance(c, CubeConfig) else CubeConfig(**c) for c in self.cubes]
        names = [c.name for c in self.cubes]
        _require(len(set(names)) == len(names), f"scene.cubes has duplicate names: {names}")
        _require(all(s > 0 for s in self.table_size), f"scene.table_size must be positive, got {self.table_size}")
        _require(self.cube_size > 0, f"scene.cube_size must be > 0, got {self.cube_size}")
        _require(self.cube_mass > 0, f"scene.cube_mass must be > 0, got {self.cube_mass}")
        _require(
            self.min_separation >= self.cube_size * math.sqrt(2),
            f"scene.min_separation ({self.min_separation}) must be at least a cube diagonal "
            f"({self.cube_size * math.sqrt(2):.3f}) so cubes cannot overlap",
        )
        free = [s - 2 * self.edge_margin for s in self.table_size]
        _require(all(f > 0 for f in free), "scene.edge_margin leaves no room on the table")


@dataclass
class CameraConfig:
    """A pinhole camera looking at the scene (OpenGL conventions, vertical field of view)."""

    width: int = 224
    """Image width, pixels."""
    height: int = 224
    """Image height, pixels."""
    fov: float = 50.0
    """Vertical field of view, degrees."""
    near: float = 0.05
    """Near clipping plane, m."""
    far: float = 3.0
    """Far clipping plane, m."""
    eye: tuple[float, float, float] = (0.5, 0.0, 1.0)
    """Camera position in the world frame, m (default: 1 m straight above the table centre)."""
    target: tuple[float, float, float] = (0.5, 0.0, 0.0)
    """Point the camera looks at, world frame, m."""
    up: tuple[float, float, float] = (1.0, 0.0, 0.0)
    """Up direction of the image, world frame (default: image top = far, image left = robot's left)."""

    def __post_init__(self) -> None:
        _require(self.width > 0 and self.height > 0, f"camera size must be positive, got {self.width}x{self.height}")
        _require(0 < self.fov < 180, f"camera.fov must be in (0, 180) degrees, got {self.fov}")
        _require(0 < self.near < self.far, f"camera needs 0 < near < far, got near={self.near} far={self.far}")


T = TypeVar("T")


def from_mapping(cls: type[T], values: Any) -> T:
    """Build config ``cls`` from a dict (or return a config object as is).

    Values are type-checked against the schema (OmegaConf structured configs), so
    ``timestep="oops"`` or an unknown key fails with a message naming the field.

    Raises:
        ValueError: unknown field, wrong type, or a value the schema rejects.
    """
    if isinstance(values, cls):
        return values
    if values is None:
        return cls()
    values = dict(values)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(known)}")
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), values))  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        raise ValueError(f"bad {cls.__name__} value: {str(exc).splitlines()[0]}") from None
