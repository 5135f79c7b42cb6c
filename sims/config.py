"""Typed configuration of the simulated world (the schema behind ``configs/{sim,scene,camera}``).

Each class is a pydantic model: the one rule per key, checked when a job's config is
composed (``embodied.common.config_schema`` uses these models for those sections) and again
when a class is built directly. Every field is documented with its unit; the YAML files under
``configs/`` restate these defaults so a user can read them, and a test keeps the two in step.
"""

import math
from typing import Annotated, Any, TypeVar

from omegaconf import OmegaConf
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

Unit = Annotated[float, Field(ge=0.0, le=1.0)]


class ConfigModel(BaseModel):
    """A configuration section: unknown keys and non-finite numbers are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)


class SimConfig(ConfigModel):
    """Physics engine settings."""

    timestep: float = Field(0.005, gt=0.0, le=0.1, description="physics step, s")
    """Physics step, s. 200 Hz: 8 steps per 25 Hz control period (see docs/simulation.md)."""
    substeps: StrictInt = Field(8, ge=1, le=1000, description="physics steps per control period")
    """Physics steps per control period; timestep * substeps must equal the robot's control period."""
    solver_iterations: StrictInt = Field(20, ge=1, le=1000, description="constraint-solver iterations per step")
    """Constraint-solver iterations per physics step (PyBullet's default is 50)."""
    position_gain: float = Field(0.2, gt=0.0, le=1.0, description="joint position-control gain, (0, 1]")
    """Joint position-control gain: the fraction of the position error the motor removes per
    physics step. 0.2 over 8 steps settles a 5 cm end-effector move within ~3 mm in two
    control periods (panda-gym: 0.1 over 20 steps, ~7 mm)."""
    gravity: float = Field(-9.81, ge=-100.0, le=100.0, description="gravity along world z, m/s^2")
    """Gravity along world z, m/s^2."""
    gui: StrictBool = Field(False, description="open PyBullet's window instead of running headless")
    """Open PyBullet's GUI window instead of running headless (DIRECT)."""
    sort_contact_pairs: StrictBool = Field(
        False, description="solve touching pairs in sorted order: a reset world replays a seed whatever ran before"
    )
    """Solve the touching pairs in a sorted order (PyBullet's ``deterministicOverlappingPairs``).
    Its cache of pairs outlives a state restore, so unsorted, a run's outcome depends on what
    ran before it in the same world. The jobs, which reset one world per instruction, turn it
    on (``configs/sim/default.yaml``: ``run``, ``eval``, ``deploy``). The default keeps the
    physics the shipped skills, the stand-in cell and the tracker were tuned and measured in:
    sorted, the push measured about 2 points lower under delay on the same 500 held-out
    episodes (docs/sim-to-real.md), where an episode's seed fixes a whole run, in order."""

    @property
    def control_period(self) -> float:
        """Seconds of simulated time per control step."""
        return self.timestep * self.substeps


class CubeConfig(ConfigModel):
    """One named cube of the scene."""

    name: str = Field(min_length=1, description="name used by the planner and reports, e.g. red_cube")
    rgba: tuple[Unit, Unit, Unit, Unit] = Field(description="colour, each channel in [0, 1]")


def _default_cubes() -> list[CubeConfig]:
    return [
        CubeConfig(name="red_cube", rgba=(0.85, 0.12, 0.12, 1.0)),
        CubeConfig(name="green_cube", rgba=(0.15, 0.7, 0.2, 1.0)),
        CubeConfig(name="blue_cube", rgba=(0.12, 0.3, 0.85, 1.0)),
        CubeConfig(name="yellow_cube", rgba=(0.95, 0.8, 0.1, 1.0)),
    ]


Positive = Annotated[float, Field(gt=0.0)]


class SceneConfig(ConfigModel):
    """The tabletop scene: a table in front of the robot with named cubes on it."""

    name: str = Field("tabletop", description="scene name, as written in reports")
    table_center: tuple[float, float] = Field((0.5, 0.0), description="(x, y) of the table top's centre, world, m")
    """(x, y) of the table top's centre in the world frame, m. The top surface is at z = 0."""
    table_size: tuple[Positive, Positive] = Field((0.5, 0.7), description="table top extent along x and y, m")
    table_height: float = Field(0.4, gt=0.0, le=2.0, description="floor to table top, m")
    cube_size: float = Field(0.04, gt=0.0, le=0.2, description="edge length of every cube, m")
    cube_mass: float = Field(0.1, gt=0.0, le=10.0, description="mass of each cube, kg")
    cube_friction: float = Field(0.8, ge=0.0, le=10.0, description="lateral friction of cubes and table")
    """Lateral friction coefficient of cubes (the table uses 0.8 too; fingers 1.0)."""
    cubes: list[CubeConfig] = Field(default_factory=_default_cubes, min_length=1, description="names and colours")
    edge_margin: float = Field(0.06, ge=0.0, description="cubes are placed at least this far from the edge, m")
    min_separation: float = Field(0.08, gt=0.0, description="smallest centre distance of placed cubes, m")
    """Smallest distance between the centres of two placed cubes, m (room for the gripper)."""
    settle_steps: StrictInt = Field(5, ge=0, le=1000, description="physics steps the placed cubes settle")
    """Physics steps :meth:`sims.world.World.settle` runs after the cubes are placed, so that
    they rest on the table before the camera looks (the jobs settle after every reset; the
    training envs start from the placement itself)."""

    @model_validator(mode="after")
    def _consistent(self) -> "SceneConfig":
        names = [c.name for c in self.cubes]
        if len(set(names)) != len(names):
            raise ValueError(f"scene.cubes has duplicate names: {names}")
        diagonal = self.cube_size * math.sqrt(2)
        if self.min_separation < diagonal:
            raise ValueError(
                f"scene.min_separation ({self.min_separation}) must be at least a cube diagonal "
                f"({diagonal:.3f}) so cubes cannot overlap"
            )
        if any(s - 2 * self.edge_margin <= 0 for s in self.table_size):
            raise ValueError("scene.edge_margin leaves no room on the table")
        return self


class DepthNoiseConfig(ConfigModel):
    """How an active-stereo depth camera's depth differs from the true distance (``sims.depth_noise``).

    The axial error follows Intel's RMS depth-error formula for its D400 stereo cameras,
    ``sigma(z) = z^2 * subpixel / (focal * baseline)``; the defaults are a RealSense D415 at
    1280x720 (baseline 55 mm, focal ~1000 px, subpixel RMS 0.08): 1.5 mm at 1 m, 5.8 mm at 2 m.
    Depth is then stored in whole millimetres (REP 118's 16UC1), and pixels at depth jumps
    (stereo occlusion) or at random are lost, as a real camera reports no depth there.
    """

    enabled: StrictBool = Field(True, description="add the noise (false: exact rendered depth)")
    baseline: float = Field(0.055, gt=0.0, le=1.0, description="stereo baseline, m")
    focal: float = Field(1000.0, gt=0.0, le=10_000.0, description="focal length of the depth imager, px")
    subpixel: float = Field(0.08, ge=0.0, le=1.0, description="RMS disparity error, px")
    quantisation: float = Field(0.001, ge=0.0, le=0.05, description="depth step, m (0: continuous)")
    edge_jump: float = Field(0.01, gt=0.0, le=1.0, description="a neighbour this much nearer/farther is an edge, m")
    edge_dropout: Unit = Field(0.5, description="chance that a pixel at a depth edge has no reading")
    dropout: Unit = Field(0.002, description="chance that any pixel has no reading")
    seed: StrictInt = Field(0, ge=0, le=2**32 - 1, description="seeds the noise (with the frame's content)")


class CameraConfig(ConfigModel):
    """A pinhole camera looking at the scene (OpenGL conventions, vertical field of view)."""

    width: StrictInt = Field(224, ge=16, le=4096, description="image width, pixels")
    height: StrictInt = Field(224, ge=16, le=4096, description="image height, pixels")
    fov: float = Field(50.0, gt=1.0, lt=179.0, description="vertical field of view, degrees")
    near: float = Field(0.05, gt=0.0, description="near clipping plane, m")
    far: float = Field(3.0, gt=0.0, le=100.0, description="far clipping plane, m (> near)")
    eye: tuple[float, float, float] = Field((0.5, 0.0, 1.0), description="camera position, world frame, m")
    """Camera position in the world frame, m (default: 1 m straight above the table centre)."""
    target: tuple[float, float, float] = Field((0.5, 0.0, 0.0), description="point looked at, world frame, m")
    up: tuple[float, float, float] = Field((1.0, 0.0, 0.0), description="image up direction, world frame")
    """Up direction of the image, world frame (default: image top = far, image left = robot's left)."""
    rate: float = Field(15.0, gt=0.0, le=1000.0, description="frames per second (tracking, ROS 2 streams), Hz")
    latency: float = Field(0.05, ge=0.0, le=2.0, description="exposure to frame available, s (tracking)")
    noise: DepthNoiseConfig = Field(default_factory=DepthNoiseConfig, description="depth noise model")

    @field_validator("far")
    @classmethod
    def _far_beyond_near(cls, far: float, info: ValidationInfo) -> float:
        near = info.data.get("near")
        if near is not None and not far > near:
            raise ValueError(f"must be greater than near ({near})")
        return far


T = TypeVar("T", bound=BaseModel)


def from_mapping(cls: type[T], values: Any) -> T:
    """Build config ``cls`` from a dict (or return a config object as is).

    Raises:
        ValueError: unknown field, wrong type, or a value the schema rejects, in one line
            naming the field.
    """
    if isinstance(values, cls):
        return values
    if values is None:
        return cls()
    if OmegaConf.is_config(values):
        values = OmegaConf.to_container(values, resolve=True)
    try:
        return cls.model_validate(dict(values))
    except ValidationError as exc:
        raise ValueError(f"bad {cls.__name__}: {first_error(exc)}") from None


def first_error(exc: ValidationError) -> str:
    """``key: message`` of the first error of a pydantic validation, on one line."""
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{key}: {message}" if key else message
