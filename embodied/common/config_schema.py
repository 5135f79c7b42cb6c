"""The schema of every command's configuration, checked once when the config is composed.

:func:`embodied.common.config_loader.load_config` composes ``configs/<job>.yaml`` with the user's
overrides and then validates it here, before anything is built or moved: a bad value is
one line naming the key, the value and what is allowed (exit status 2), never a traceback
deep in a job and never a silent default.

Each model lists the keys that users set and the ranges that keep a job bounded in steps,
time and memory; sections whose classes validate themselves (the safety layer's
:class:`robots.safety.SafetyConfig`, the simulator's dataclasses) are checked by building
those classes here, so there is one rule per key. Keys not modelled here pass through.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator

Seed = StrictInt
"""Seeds are non-negative integers (NumPy's generators refuse negative ones)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


def _writable_dir(value: Any) -> Any:
    """An output folder: absent (it will be made) or a folder, somewhere we may write."""
    if value is None:
        return value
    path = Path(str(value)).expanduser()
    if str(value).strip() == "":
        raise ValueError("must be a folder path (or null for the default)")
    if path.exists() and not path.is_dir():
        raise ValueError("must be a folder, not an existing file")
    existing = next(p for p in (path, *path.parents) if p.exists())
    # Try, rather than trust os.access (which says yes to root everywhere, /proc included).
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise ValueError(f"must be writable ({existing}: {exc.strerror or exc})") from None
    return value


def _writable_file(value: Any) -> Any:
    """An output file: its folder exists (or can be made) and is writable; not a folder."""
    if value is None:
        return value
    path = Path(str(value)).expanduser()
    if str(value).strip() == "" or path.is_dir():
        raise ValueError("must be a file path")
    _writable_dir(str(path.parent))
    return value


class Camera(_Section):
    """A pinhole camera (``configs/camera/``)."""

    width: StrictInt = Field(ge=16, le=4096, description="image width, pixels")
    height: StrictInt = Field(ge=16, le=4096, description="image height, pixels")
    fov: float = Field(gt=1.0, lt=179.0, description="vertical field of view, degrees")
    near: float = Field(gt=0.0, description="near clipping plane, m")
    far: float = Field(gt=0.0, le=100.0, description="far clipping plane, m (> near)")

    @field_validator("far")
    @classmethod
    def _far_beyond_near(cls, far: float, info) -> float:  # noqa: ANN001
        near = info.data.get("near")
        if near is not None and not far > near:
            raise ValueError(f"must be greater than near ({near})")
        return far


class Planner(_Section):
    """``configs/planner/``: only the keys every planner shares are checked here."""

    threshold: float | None = Field(None, gt=0.0, le=1.0, description="cosine similarity for unknown words")


class Scene(_Section):
    """What every job that builds the tabletop shares."""

    seed: Seed = Field(ge=0, le=2**32 - 1, description="places the cubes; same seed, same scene")
    hide: list[str] = Field(default_factory=list, description="cube names to leave out")
    camera: Camera | None = None
    planner: Planner | None = None


class Controller(_Section):
    """Budgets and limits of the hierarchical controller (``configs/controller/default.yaml``).

    The bounds keep every loop of the controller finite in steps.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    max_steps: StrictInt = Field(150, ge=1, le=10_000, description="control steps (25 Hz) per attempt of a skill")
    max_retries: StrictInt = Field(2, ge=0, le=20, description="extra attempts of a sub-goal that did not hold")
    max_replans: StrictInt = Field(3, ge=0, le=50, description="times sub-goals that stopped holding are re-queued")
    approach_height: float = Field(0.03, ge=0.0, le=0.3, description="pick_place lowers from this far above, m")
    retreat_height: float = Field(0.1, ge=0.0, le=0.5, description="rise above the placed object after release, m")
    release_steps: StrictInt = Field(8, ge=1, le=1000, description="control steps the gripper opens, arm still")
    settle_steps: StrictInt = Field(10, ge=1, le=1000, description="control steps before checking from the camera")
    push_leg: float = Field(0.08, ge=0.01, le=0.5, description="longest single push toward a via point, m")


class Run(Scene):
    """``configs/run.yaml`` (and what ``eval``, ``deploy`` add to it)."""

    video: StrictBool = Field(description="write run.mp4 (a captioned video of the run)")
    video_every: StrictInt = Field(1, ge=1, le=1000, description="one video frame per this many control steps")
    video_camera: Camera | None = None
    controller: Controller
    run_dir: str | None = Field(None, description="output folder (null: runs/<job>/<date>-<time>-seed<N>)")

    _run_dir = field_validator("run_dir")(classmethod(lambda cls, v: _writable_dir(v)))


class Plan(Scene):
    """``configs/plan.yaml``."""

    show_scene: StrictBool = Field(True, description="print what the camera sees (stderr)")


class Demo(Scene):
    """``configs/demo.yaml``."""

    video: StrictBool = Field(description="write demo.mp4")
    pick: str = Field("red_cube", description="the cube to pick")
    place_on: str = Field("blue_cube", description="the cube to stack it on")
    run_dir: str | None = Field(None, description="output folder (null: runs/demo/<date>-<time>-seed<N>)")

    _run_dir = field_validator("run_dir")(classmethod(lambda cls, v: _writable_dir(v)))


class Eval(Run):
    """``configs/eval.yaml``."""

    suite: str = Field(description="a shipped suite name (tabletop) or a JSONL path")
    seeds: list[Seed] = Field(min_length=1, max_length=1000, description="every instruction runs once per seed")
    limit: StrictInt | None = Field(None, ge=0, description="only the first N instructions (0: chains only)")
    chains: StrictInt = Field(ge=0, le=10_000, description="CALVIN-style chains per seed")
    chain_length: StrictInt = Field(ge=1, le=50, description="instructions per chain")
    resume: str | None = Field(None, description="an eval run folder to continue")

    @field_validator("seeds")
    @classmethod
    def _seeds_in_range(cls, seeds: list[int]) -> list[int]:
        bad = [s for s in seeds if not 0 <= s <= 2**32 - 1]
        if bad:
            raise ValueError(f"seeds must be integers in 0..{2**32 - 1}, got {bad}")
        return seeds


class Dds(_Section):
    """``configs/dds/``: discovery the ROS 2 way (values are resolved by robots.ros2.discovery)."""

    discovery_range: str | None = Field(
        None, description="LOCALHOST | SUBNET | OFF | SYSTEM_DEFAULT (null: env, else LOCALHOST)"
    )
    interface: str | None = Field(None, description="the real arm's network interface (implies SUBNET)")
    peers: Any = Field(None, description="static unicast peers, e.g. [192.168.1.20] (null: ROS_STATIC_PEERS)")
    domain: Any = Field(None, description="DDS domain 0..232 (null: ROS_DOMAIN_ID, else 0)")
    estop_topic: str = Field("/embodied/estop", description="the operator e-stop topic (std_msgs/Bool)")


class FaultInjection(_Section):
    """For tests and benchmarks only: make the control loop hang once."""

    stall_after: StrictInt | None = Field(None, ge=1, description="hang before this many commands (null: never)")
    stall_seconds: float = Field(gt=0.0, le=60.0, description="for this long, s")


class Deploy(Run):
    """``configs/deploy.yaml`` (the safety section is checked by SafetyConfig itself)."""

    target: str = Field(description="ros2: an arm behind a ROS 2 driver | sim: the dry run only")
    connect_timeout: float = Field(gt=0.0, le=600.0, description="seconds to wait for the first joint state")
    dry_run: StrictBool = Field(description="play the plan in the mirrored simulation first")
    confirm: StrictBool | None = Field(
        None, description="null: ask on stdin; true: move without asking; false: dry run only"
    )
    safety: dict
    dds: Dds
    fault_injection: FaultInjection

    @field_validator("safety")
    @classmethod
    def _safety(cls, values: dict) -> dict:
        from robots.safety import SafetyConfig

        try:
            SafetyConfig(**values)
        except TypeError as exc:
            raise ValueError(str(exc).replace("__init__() got ", "")) from None
        return values


class FakeArm(_Section):
    """``configs/fake_arm.yaml``."""

    rate: float | None = Field(None, ge=1.0, le=1000.0, description="joint-state rate, Hz")
    command_timeout: float = Field(gt=0.0, le=10.0, description="hold when no command came for this long, s")
    max_writers: StrictInt = Field(ge=1, le=100, description="command-topic writers tolerated at once")
    duration: float | None = Field(None, gt=0.0, description="seconds to run; null: until interrupted")
    stats: str | None = Field(None, description="write statistics as JSON to this file when stopped")
    dds: Dds

    _stats = field_validator("stats")(classmethod(lambda cls, v: _writable_file(v)))


class Train(_Section):
    """``configs/train.yaml``."""

    seed: Seed = Field(ge=0, le=2**32 - 1, description="seeds envs, networks and exploration")
    total_steps: StrictInt | None = Field(None, ge=1, le=10**9, description="env steps (null: the skill's budget)")
    n_envs: StrictInt = Field(ge=1, le=64, description="parallel training envs")
    threads: StrictInt = Field(ge=1, le=256, description="torch CPU threads")
    randomize: StrictBool = Field(description="train and evaluate under configs/randomization")
    progress: StrictBool = Field(description="show the progress bar")
    checkpoint_every: StrictInt = Field(ge=1, le=10**9, description="env steps between last.zip + replay buffer saves")
    device: str = Field("auto", description="auto | cpu | cuda")
    resume: str | None = Field(None, description="a run folder (or its last.zip) to continue")
    run_dir: str | None = Field(None, description="output folder (null: runs/train/<skill>/<date>-<time>-seed<N>)")
    video_camera: Camera | None = None

    _run_dir = field_validator("run_dir")(classmethod(lambda cls, v: _writable_dir(v)))


class EvalSkill(_Section):
    """``configs/eval_skill.yaml``."""

    episodes: StrictInt = Field(ge=1, le=100_000, description="evaluation episodes, seeds seed .. seed+episodes-1")
    seed: Seed = Field(ge=0, le=2**32 - 1, description="seed of the first episode")
    checkpoint: str | None = Field(None, description="an SB3 zip or run folder (null: the shipped policy)")
    randomize: StrictBool = Field(description="also evaluate under configs/randomization, same seeds")
    video: StrictBool = Field(description="write eval.mp4 of the first episodes")
    device: str = Field("cpu", description="auto | cpu | cuda")
    run_dir: str | None = Field(None, description="output folder for the video")

    _run_dir = field_validator("run_dir")(classmethod(lambda cls, v: _writable_dir(v)))


class Export(_Section):
    """``configs/export.yaml``."""

    format: Literal["onnx", "torchscript"] = Field(description="onnx (torch.export + dynamo) or torchscript")
    check_episodes: StrictInt = Field(ge=1, le=1000, description="episodes whose observations the parity check uses")
    tolerance: float = Field(gt=0.0, description="largest action difference accepted")
    checkpoint: str | None = Field(None, description="an SB3 zip or run folder (null: the shipped policy)")
    out: str | None = Field(None, description="output file (null: exports/<skill>.<suffix>)")

    _out = field_validator("out")(classmethod(lambda cls, v: _writable_file(v)))


class Estop(_Section):
    """``configs/estop.yaml``."""

    wait: float = Field(gt=0.0, le=60.0, description="seconds to wait for subscribers")
    dds: Dds


SCHEMAS: dict[str, type[BaseModel]] = {
    "run": Run,
    "plan": Plan,
    "demo": Demo,
    "eval": Eval,
    "deploy": Deploy,
    "fake_arm": FakeArm,
    "train": Train,
    "eval_skill": EvalSkill,
    "export": Export,
    "estop": Estop,
}
"""Job config name -> its schema."""


def validate(job: str, values: dict) -> None:
    """Check a composed config (as a plain dict) against its job's schema.

    Raises:
        ValueError: one line per the first bad key: ``key=value: what is allowed``.
    """
    schema = SCHEMAS.get(job)
    if schema is None:
        return
    try:
        schema.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        value = _lookup(values, err["loc"])
        shown = "" if value is None else str(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        info = _field(schema, err["loc"])
        field = info.description if info is not None else None
        integer = info is not None and "int" in str(info.annotation).lower()
        raise ValueError(f"{key} {_rule(err, integer)}, got {shown!r}{f' ({field})' if field else ''}") from None


def _rule(err: dict, integer: bool) -> str:
    """What a pydantic error asks for, in the project's words ("must be a positive integer")."""
    kind, ctx = err["type"], err.get("ctx", {})
    noun = "integer" if integer else "number"
    if kind == "greater_than_equal":
        bound = ctx["ge"]
        if bound == 0:
            return f"must be a non-negative {noun}"
        if bound == 1 and integer:
            return "must be a positive integer"
        return f"must be >= {bound}"
    if kind == "greater_than":
        return f"must be a positive {noun}" if ctx["gt"] == 0 else f"must be > {ctx['gt']}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be <= {ctx.get('le', ctx.get('lt'))}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be an integer"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "must be a finite number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind == "literal_error":
        return f"must be one of {ctx['expected'].replace(chr(39), '')}"
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} entries"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} entries"
    return err["msg"].removeprefix("Value error, ").replace("Input should", "must")


def _lookup(values: Any, loc: tuple) -> Any:
    for part in loc:
        if isinstance(values, dict) and part in values:
            values = values[part]
        elif isinstance(values, list) and isinstance(part, int) and part < len(values):
            values = values[part]
        else:
            return None
    return values


def _field(schema: type[BaseModel], loc: tuple) -> Any:
    """The pydantic field a key names (its annotation and one-line description), or None."""
    model: Any = schema
    info = None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return info
        info = fields[part]
        model = info.annotation
        args = getattr(model, "__args__", ())
        model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), model)
    return info


def describe(job: str, key: str) -> str | None:
    """The one-line description (with unit) of ``key`` (dotted) in job ``job``'s schema, or None."""
    model: Any = SCHEMAS.get(job)
    info = None
    for part in key.split("."):
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        info = fields[part]
        args = getattr(info.annotation, "__args__", ())
        model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), info.annotation)
    return info.description if info is not None else None
