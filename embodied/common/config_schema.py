"""The schema of every command's configuration, checked once when the config is composed.

:func:`embodied.common.config_loader.load_config` composes ``configs/<job>.yaml`` with the user's
overrides and then validates it here, before anything is built or moved: a bad value is
one line naming the key, the value and what is allowed (exit status 2), never a traceback
deep in a job and never a silent default.

Each model lists the keys that users set and the ranges that keep a job bounded in steps,
time and memory. The config groups that belong to a lower layer are that layer's own model,
used here as the section's type, so there is one rule per key: ``sim``, ``scene``, ``camera``
(:mod:`sims.config`), ``randomization`` (:mod:`sims.randomization`), a skill's ``task``
(:mod:`sims.tasks`) and ``prior`` (:mod:`embodied.learning.priors`), ``safety``
(:mod:`robots.safety`). Keys not modelled here pass through.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from embodied.learning.prior_config import PriorConfig
from embodied.perception.config import PerceptionConfig
from robots.safety import SafetyConfig
from sims.config import CameraConfig, SceneConfig, SimConfig
from sims.randomization import RandomizationConfig

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


class Planner(_Section):
    """``configs/planner/``: only the keys every planner shares are checked here."""

    threshold: float | None = Field(None, gt=0.0, le=1.0, description="cosine similarity for unknown words")


class Scene(_Section):
    """What every job that builds the tabletop shares."""

    seed: Seed = Field(ge=0, le=2**32 - 1, description="places the cubes; same seed, same scene")
    hide: list[str] = Field(default_factory=list, description="cube names to leave out")
    sim: SimConfig | None = None
    scene: SceneConfig | None = None
    camera: CameraConfig | None = None
    perception: PerceptionConfig | None = None
    planner: Planner | None = None


class Controller(_Section):
    """Budgets and limits of the hierarchical controller (``configs/controller/default.yaml``).

    The bounds keep every loop of the controller finite in steps.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    max_steps: StrictInt = Field(300, ge=1, le=10_000, description="control steps (25 Hz) per attempt of a skill")
    max_retries: StrictInt = Field(2, ge=0, le=20, description="extra attempts of a sub-goal that did not hold")
    max_replans: StrictInt = Field(3, ge=0, le=50, description="times sub-goals that stopped holding are re-queued")
    approach_height: float = Field(0.03, ge=0.0, le=0.3, description="pick_place lowers from this far above, m")
    retreat_height: float = Field(0.1, ge=0.0, le=0.5, description="rise above the placed object after release, m")
    release_steps: StrictInt = Field(8, ge=1, le=1000, description="control steps the gripper opens, arm still")
    settle_steps: StrictInt = Field(10, ge=1, le=1000, description="control steps before checking from the camera")
    push_leg: float = Field(0.08, ge=0.01, le=0.5, description="longest single push toward a via point, m")
    side_gap: float = Field(0.07, ge=0.04, le=0.3, description="centre distance for next to / left of / ..., m")
    edge_margin: float = Field(0.03, ge=0.0, le=0.2, description="goals keep this far from the table edge, m")
    side_margin: float = Field(
        0.01, ge=0.0, le=0.05, description="left/right goals squeezed by the table edge: sideways room to spare, m"
    )
    tight_side_margin: float = Field(
        0.005, ge=0.0, le=0.05, description="the last resort's side_margin (at most side_margin), m"
    )
    tight_edge_margin: float = Field(
        0.023, ge=0.0, le=0.2, description="the last resort's edge_margin (at most edge_margin), m"
    )
    push_overshoot: float = Field(0.02, ge=0.0, le=0.2, description="push goals leave room for ending this far past, m")
    push_clearance: float = Field(0.05, ge=0.0, le=0.3, description="a push's path keeps other objects this far, m")
    push_behind: float = Field(0.045, ge=0.0, le=0.3, description="the hand pushes from this far behind the object, m")
    min_move: float = Field(0.06, ge=0.0, le=0.3, description="region goals lie at least this far away, m")
    move_tolerance: float = Field(0.01, gt=0.0, le=0.1, description="scripted moves (clearing the view) stop here, m")
    move_gain: float = Field(0.5, gt=0.0, le=1.0, description="share of a scripted move's remaining error per step")
    move_lead: float = Field(0.5, ge=0.0, le=1.0, description="share of recent move commands counted as in flight")
    place_tolerance: float = Field(0.025, gt=0.0, le=0.1, description="'undo' put an object back this close, m")

    @field_validator("tight_side_margin", "tight_edge_margin")
    @classmethod
    def _tighter(cls, v: float, info: ValidationInfo) -> float:
        usual = info.field_name.removeprefix("tight_")
        if usual in info.data and v > info.data[usual]:
            raise ValueError(f"must be at most {usual} ({info.data[usual]}), the margin it tightens")
        return v


class Skills(_Section):
    """``configs/skills/``: where the controller's skills come from and how they run."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    source: Literal["learned", "scripted"] = Field(description="learned (shipped policies) | scripted (priors)")
    checkpoints: dict[str, str | None] = Field(
        default_factory=dict, description="skill -> SB3 zip (or run folder) instead of the shipped one; null: shipped"
    )
    stop_tolerance: dict[str, Annotated[float, Field(gt=0.0, le=0.2)]] = Field(
        default_factory=dict, description="skill -> it stops this close to its goal, m"
    )
    max_open_width: float | None = Field(None, gt=0.0, le=0.2, description="gripper opening cap, m")
    runtime: Literal["onnx", "sb3"] = Field(
        "onnx", description="learned policies run as their cached ONNX export (fast start) or as SB3 models"
    )
    prior_overrides: dict[str, PriorConfig] = Field(
        default_factory=dict, description="skill -> prior settings changed at execution time"
    )

    @field_validator("checkpoints", "stop_tolerance", "prior_overrides")
    @classmethod
    def _known_skills(cls, v: dict) -> dict:
        from embodied.learning.catalogue import available_skills

        unknown = sorted(set(v) - set(available_skills()))
        if unknown:
            raise ValueError(f"no skill named {', '.join(map(repr, unknown))}; skills: {', '.join(available_skills())}")
        return v


class Run(Scene):
    """``configs/run.yaml`` (and what ``eval``, ``deploy`` add to it)."""

    video: StrictBool = Field(description="write run.mp4 (a captioned video of the run)")
    video_every: StrictInt = Field(1, ge=1, le=1000, description="one video frame per this many control steps")
    video_camera: CameraConfig | None = None
    controller: Controller
    skills: Skills
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


class CellCamera(_Section):
    """``configs/cell_camera/``: the cell's RGB-D camera over ROS 2 (topics, frames, encoding)."""

    enabled: StrictBool = Field(description="deploy: perceive from the camera topics | fake-arm: publish them")
    colour: str = Field(description="colour image topic (sensor_msgs/Image, rgb8 or bgr8)")
    depth: str = Field(description="depth topic, aligned to the colour image (16UC1 mm or 32FC1 m)")
    info: str = Field(description="camera info topic of the colour image (rectified: no distortion)")
    tf_static: str = Field(description="static transforms topic carrying world -> optical frame")
    world_frame: str = Field(min_length=1, description="the world (robot base) frame id")
    optical_frame: str = Field(min_length=1, description="the camera's optical frame id")
    depth_encoding: Literal["16UC1", "32FC1"] = Field(description="what the stand-in publishes depth as")
    timeout: float = Field(gt=0.0, le=120.0, description="seconds to wait for a fresh frame")


class Deploy(Run):
    """``configs/deploy.yaml``."""

    cell_camera: CellCamera

    target: str = Field(description="ros2: an arm behind a ROS 2 driver | sim: the dry run only")
    connect_timeout: float = Field(gt=0.0, le=600.0, description="seconds to wait for the first joint state")
    command_latency: float = Field(ge=0.0, le=1.0, description="s from a command leaving to the arm acting on it")
    dry_run: StrictBool = Field(description="play the plan in the mirrored simulation first")
    confirm: StrictBool | None = Field(
        None, description="null: ask on stdin; true: move without asking; false: dry run only"
    )
    safety: SafetyConfig
    dds: Dds
    fault_injection: FaultInjection


class FakeArm(_Section):
    """``configs/fake_arm.yaml``."""

    rate: float | None = Field(None, ge=1.0, le=1000.0, description="joint-state rate, Hz")
    command_timeout: float = Field(gt=0.0, le=10.0, description="hold when no command came for this long, s")
    max_writers: StrictInt = Field(ge=1, le=100, description="command-topic writers tolerated at once")
    duration: float | None = Field(None, gt=0.0, description="seconds to run; null: until interrupted")
    stats: str | None = Field(None, description="write statistics as JSON to this file when stopped")
    seed: Seed = Field(ge=0, le=2**32 - 1, description="places the simulated cubes of the stand-in cell")
    hide: list[str] = Field(default_factory=list, description="cube names the stand-in cell leaves out")
    actuation_delay: float = Field(0.0, ge=0.0, le=1.0, description="s from a trajectory arriving to executing it")
    jitter: float | None = Field(
        None, ge=0.0, le=1.0, description="probability a command is one period later; null: the draw's or 0"
    )
    lag: float | None = Field(None, ge=0.0, le=1.0, description="set-point lag time constant, s; null: none")
    action_noise: float | None = Field(
        None, ge=0.0, le=1.0, description="std of execution error, skill action units; null: the draw's or 0"
    )
    observation_delay: float | None = Field(
        None, ge=0.0, le=1.0, description="age of the published joint states, s; null: the draw's or 0"
    )
    randomize: StrictBool = Field(False, description="draw the cell's physics from configs/randomization")
    randomization: RandomizationConfig | None = None
    dds: Dds
    cell_camera: CellCamera
    camera: CameraConfig | None = None
    scene: SceneConfig | None = None

    _stats = field_validator("stats")(classmethod(lambda cls, v: _writable_file(v)))


class Skill(_Section):
    """``configs/skill/``: one skill's environment, task settings, prior and budget."""

    name: str = Field(description="the skill's name (file name under configs/skill/)")
    env_id: str = Field(description="gymnasium id, e.g. embodied/Push-v0")
    task: dict = Field(default_factory=dict, description="the env's task settings (sims.tasks)")
    prior: PriorConfig = Field(default_factory=PriorConfig, description="the scripted prior under the policy")
    total_steps: StrictInt = Field(ge=1, le=10**9, description="default training budget, env steps")

    @field_validator("task")
    @classmethod
    def _task(cls, task: dict, info: ValidationInfo) -> dict:
        """Our envs' task settings are checked by the task's own model (panda-gym's pass through)."""
        env_id = str(info.data.get("env_id", ""))
        if env_id.startswith("embodied/"):
            from sims import task_class

            task_class(env_id).config_class.model_validate(task)
        return task


class Her(_Section):
    """``algo.her``: hindsight relabelling and the critic's n-step returns (the replay buffer,
    :mod:`embodied.learning.replay`)."""

    n_sampled_goal: StrictInt = Field(ge=0, le=64, description="relabelled goals per real transition")
    goal_selection_strategy: Literal["future", "final", "episode"] = Field(description="future | final | episode")
    n_steps: StrictInt = Field(1, ge=1, le=1000, description="env steps summed into each critic target (1: plain HER)")


class AlgoKwargs(_Section):
    """``algo.kwargs``: only the keys our code reads besides the algorithm are checked here."""

    gamma: float = Field(0.99, gt=0.0, le=1.0, description="discount per env step")


class AlgoPolicy(_Section):
    """``algo.policy``: the residual's settings are checked here; the rest goes to SB3's policy."""

    initial_std: float | None = Field(None, gt=0.0, description="exploration noise of the untrained policy")
    residual_scale: float | None = Field(None, gt=0.0, le=1.0, description="largest residual added to the prior")


class Algo(_Section):
    """``configs/algo/``."""

    name: str = Field("sac", description="sac | tqc | ppo (embodied.learning.algorithms.ALGORITHMS)")
    her: Her | None = Field(None, description="HER replay for off-policy algorithms (sac, tqc); null for ppo")
    kwargs: AlgoKwargs = Field(default_factory=AlgoKwargs)
    policy: AlgoPolicy = Field(default_factory=AlgoPolicy)

    @field_validator("her")
    @classmethod
    def _her(cls, her: Her | None, info: ValidationInfo) -> Her | None:
        """Off-policy algorithms learn from relabelled replay; PPO has no replay to relabel."""
        name = info.data.get("name")
        if name == "ppo" and her is not None:
            raise ValueError("ppo is on-policy and has no replay buffer; set algo.her=null")
        if name in ("sac", "tqc") and her is None:
            raise ValueError(f"{name} needs HER settings (see configs/algo/{name}.yaml)")
        return her


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
    video_camera: CameraConfig | None = None
    skill: Skill
    algo: Algo
    randomization: RandomizationConfig

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
    skill: Skill
    randomization: RandomizationConfig

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
        if isinstance(value, dict):  # a rule across keys of one section: its message names them
            raise ValueError(f"{key}: {_rule(err, False)}") from None
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
