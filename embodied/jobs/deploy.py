"""Run an instruction on an arm behind a ROS 2 driver (a real arm, or `embodied fake-arm`):
planner, controller and skills drive the arm through the safety layer. With dry_run=true
(default) the plan is first played in simulation mirrored from the arm's joint state, and
the arm moves only after you confirm (confirm=true skips the question).

target=ros2 (default) or target=sim (dry run only); robot=panda (the arm's description);
domain=N (default ROS_DOMAIN_ID); dds.discovery_range=LOCALHOST|SUBNET|OFF,
dds.interface=eth1, dds.peers=[IP] (default: loopback). On target=ros2 the safety layer is
always armed with the hardware floors: watchdog, state age, limits, workspace,
unexpected-motion check, and the operator e-stop topic (`embodied estop`). Ctrl-C / SIGTERM
hold the arm at once and keep the reports.

Exit 0 success, 1 failed or halted (e-stop, driver lost, unexpected motion), 2 refused/bad
input, 3 not confirmed, 130 SIGINT, 143 SIGTERM.

Example: embodied deploy target=ros2 "put the red cube on the blue cube" seed=3

How it works:

1. Connect to the arm (``robots.ros2.Ros2Arm``) and mirror its measured joint state into
   the simulated world (the twin).
2. Plan the instruction from the twin's camera, exactly as ``embodied run`` does.
3. Dry run (``dry_run=true``): play the whole plan in the twin, with the same safety layer
   around the simulated arm, and write ``dry_run/report.json`` + video. A failed dry run
   stops here; otherwise ask for confirmation (``confirm``).
4. Restore the twin, re-plan (the plan must be the one that was confirmed), and execute it
   with the controller driving ``SafetyLayer(Ros2Arm)`` through a :class:`sims.twin.TwinArm`.
   Writes ``hardware/report.json`` + video of the twin.

On a ROS 2 target the safety layer is always armed with the hardware floors, from connect
to the end: its watchdog holds the arm when the control loop stalls and watches the joints
for motion nobody commanded; every command is checked against the age of the joint state
as it arrived (one ``safety.stale_after`` for the layer and the arm); the operator e-stop
topic latches a hold; SIGINT/SIGTERM hold at once. Any of these ends the job without
another motion command, with the reports written (:attr:`DeployOutcome.halted`).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig

from embodied.common.config_loader import ConfigError, dds_settings, section
from embodied.execution.interrupts import halt_on_signals
from embodied.execution.session import RunOutcome, Session
from robots.robot import MotionHalted, Robot, RobotAction, RobotWrapper
from robots.safety import SafetyConfig, SafetyLayer

TARGETS = ("ros2", "sim")


@dataclass
class DeployOutcome:
    """What a deployment did: the dry run, whether it was confirmed, the real run, and why it halted."""

    dry_run: RunOutcome | None = None
    confirmed: bool = False
    hardware: RunOutcome | None = None
    safety_interventions: int = 0
    halted: MotionHalted | None = None
    """Set when the arm had to stop at once (signal, e-stop, driver lost, unexpected motion)."""
    max_deviation: float | None = None
    """Largest distance of a measured joint from the commanded motion, rad (ros2 target)."""
    dry_run_only: bool = False
    """True for ``target=sim``: the dry run is the whole job (its success is exit 0)."""
    interventions: list[dict] = field(default_factory=list)
    """Every safety intervention on the arm: seconds since connect, kind, detail."""
    stalled_at: float | None = None
    """Fault injection: when the control loop hung (seconds since connect)."""
    perceived: list[dict] | None = None
    """Objects the cell's camera saw at the start (mirrored into the twin); None without a camera."""
    camera_to_estimate_ms: dict | None = None
    """How old camera frames were when the tracker's estimate from them was ready (exposure to
    estimate; the next action uses it): frames, p50, p95, max in ms. None without a camera."""
    connected_at: float | None = None
    """``time.monotonic()`` when the arm was connected (the zero of the times above; the
    monotonic clock is shared by the processes of one machine, so benchmarks can compare)."""

    @property
    def exit_code(self) -> int:
        """0 success; 1 a run failed or the arm halted; 2 refused; 3 not confirmed; 130/143 signal."""
        if self.halted is not None:
            return self.halted.exit_code
        last = self.hardware or self.dry_run
        if last is not None and last.report["error"]:
            return 2
        if self.hardware is None:
            if self.dry_run is not None and not self.dry_run.report["success"]:
                return 1
            return 0 if self.dry_run_only else 3
        return 0 if self.hardware.report["success"] else 1


def safety_config(cfg: DictConfig) -> SafetyConfig:
    try:
        return SafetyConfig(**section(cfg, "safety"))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad safety config: {exc}") from exc


def check_target(cfg: DictConfig) -> None:
    """Refuse a bad deploy target or setting before anything is built or moved."""
    if cfg.target not in TARGETS:
        raise ConfigError(f"target must be one of {', '.join(TARGETS)} (where to deploy), got {cfg.target!r}")
    if cfg.target == "ros2":
        dds_settings(cfg)
        # The hardware floors, checked before the dry run: a real arm never runs looser.
        try:
            SafetyLayer.check_hardware(safety_config(cfg))
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc


def connect_arm(cfg: DictConfig, description, safety: SafetyConfig) -> SafetyLayer:  # noqa: ANN001
    """The arm the deployment drives, inside the safety layer with the hardware floors."""
    from robots.ros2.arm import ArmDisconnected, Ros2Arm

    if description.ros2 is None:
        raise ConfigError(f"robot description {description.name!r} has no ros2 section (topics, controller)")
    arm = Ros2Arm(
        description,
        discovery=dds_settings(cfg),
        stale_after=safety.stale_after,  # one setting for both layers
        connect_timeout=float(cfg.connect_timeout),
        command_latency=float(cfg.command_latency),
    )
    try:
        layer = SafetyLayer(arm, description, safety, hardware=True)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        layer.connect()
    except ArmDisconnected as exc:
        raise ConfigError(str(exc)) from exc
    return layer


class StallingArm(RobotWrapper):
    """Fault injection for tests and benchmarks: the control loop hangs for ``seconds`` before
    its ``after``-th command (as a hung policy, planner or perception step would), so the
    watchdog's hold can be measured. Everything else passes through."""

    def __init__(self, robot: Robot, after: int, seconds: float) -> None:
        super().__init__(robot)
        self.after, self.seconds, self.sent = after, seconds, 0
        self.stalled_at: float | None = None  # time.monotonic() when the hang began

    @property
    def fault(self) -> MotionHalted | None:
        """The wrapped safety layer's latched fault (the twin ends the job on it)."""
        return getattr(self.robot, "fault", None)

    def send_action(self, action: RobotAction) -> RobotAction:
        self.sent += 1
        if self.sent == self.after:
            self.stalled_at = time.monotonic()
            time.sleep(self.seconds)
        return self.robot.send_action(action)


def deploy(
    cfg: DictConfig,
    instruction: str,
    run_dir: Path,
    ask: Callable[[str], bool],
    on_event: Callable[[str, dict], None] | None = None,
    planner=None,  # noqa: ANN001
    library=None,  # noqa: ANN001
) -> DeployOutcome:
    """Run the deployment (see the module docstring); ``ask`` gets the confirmation question.

    ``planner`` and ``library`` can be shared between deployments (benchmarks) to skip reloading.
    """
    check_target(cfg)
    safety = safety_config(cfg)
    session = Session(cfg, on_event, planner=planner, library=library)
    outcome = DeployOutcome(dry_run_only=cfg.target == "sim")
    remote: SafetyLayer | None = None
    estop_reader = None
    connected_at = time.monotonic()

    def arm() -> SafetyLayer | None:
        return remote

    try:
        with halt_on_signals(arm):
            if cfg.target == "ros2":
                remote = connect_arm(cfg, session.world.description, safety)
                connected_at = time.monotonic()
                remote.start_watchdog()  # from here to the end: stalls hold, foreign motion latches
                estop_reader = _operator_estop(cfg, remote)
            _deploy(cfg, instruction, run_dir, ask, session, safety, remote, outcome)
    except MotionHalted as exc:  # outside the controller: planning, the question, the dry run's set-up
        outcome.halted = exc
    finally:
        if remote is not None:
            try:
                remote.stop()
            except Exception:  # noqa: BLE001 (the driver may already be gone; never mask the real error)
                pass
            remote.disconnect()
            outcome.safety_interventions = len(remote.interventions)
            outcome.connected_at = connected_at
            if outcome.stalled_at is not None:
                outcome.stalled_at = round(outcome.stalled_at - connected_at, 4)
            outcome.interventions = [
                {"t": round(i.time - connected_at, 4), "kind": i.kind, "detail": i.detail} for i in remote.interventions
            ]
            outcome.max_deviation = round(remote.max_deviation, 4)
            if outcome.halted is None and remote.fault is not None:
                outcome.halted = remote.fault
        del estop_reader
        session.close()
    for run in (outcome.hardware, outcome.dry_run):
        if outcome.halted is None and run is not None and run.execution is not None and run.execution.halted:
            outcome.halted = run.execution.halted
    return outcome


def _operator_estop(cfg: DictConfig, layer: SafetyLayer):  # noqa: ANN202 (a DDS reader; keep it alive)
    """Latch the layer's e-stop when the operator e-stop topic says true."""
    from robots.ros2.dds import Node
    from robots.ros2.estop import subscribe_estop

    topic = str(cfg.dds.estop_topic)

    def on_change(stop: bool) -> None:
        if stop:
            layer.estop(f"operator e-stop on {topic}")

    return subscribe_estop(Node(discovery=dds_settings(cfg)), topic, on_change)


def _deploy(
    cfg: DictConfig,
    instruction: str,
    run_dir: Path,
    ask: Callable[[str], bool],
    session: Session,
    safety: SafetyConfig,
    remote: SafetyLayer | None,
    outcome: DeployOutcome,
) -> None:
    """Dry run, question, real run; fills ``outcome`` as it goes (so an interruption keeps it)."""
    from sims.twin import TwinArm

    world = session.world
    sim_arm = world.robot
    camera = None
    if remote is not None:
        stall = cfg.fault_injection.stall_after
        driven = StallingArm(remote, int(stall), float(cfg.fault_injection.stall_seconds)) if stall else remote
        twin = TwinArm(driven, sim_arm, world.client)
        twin.sync(teleport=True)  # the twin starts where the real arm is
        world.client.step(5)
        camera = cell_camera(cfg)
        if camera is not None:
            # The twin holds what the cell's camera sees, not the cubes the simulation placed.
            outcome.perceived = mirror_objects(session, camera)
    start = world.client.save_state()
    if cfg.dry_run or cfg.target == "sim":
        world.robot = SafetyLayer(sim_arm, world.description, safety)
        outcome.dry_run = session.run(instruction, run_dir / "dry_run")
        world.robot = sim_arm
        report = outcome.dry_run.report
        if report["error"] or not report["success"] or report["halted"] or cfg.target == "sim":
            return
    if cfg.confirm is None:
        dry = outcome.dry_run
        done = f"The dry run succeeded ({len(dry.report['plan'])} sub-goals). " if dry is not None else ""
        outcome.confirmed = ask(f"{done}Move the real arm?")
    else:
        outcome.confirmed = bool(cfg.confirm)
    if not outcome.confirmed:
        return
    # Back to the measured state of the cell before the dry run; re-plan on it, and execute
    # only the plan that was confirmed.
    world.client.restore_state(start)
    twin.sync(teleport=True)
    session.controller.forget(plane=False)  # the same table: the dry run's plane stays
    world.robot = twin
    if camera is not None:
        # On the arm, perception, sub-goal checks and tracking all read the cell's camera.
        session.controller.camera, session.controller.stream = camera, camera.stream
    expect = outcome.dry_run.report["plan"] if outcome.dry_run is not None else None
    try:
        outcome.hardware = session.run(instruction, run_dir / "hardware", expect_plan=expect)
        if camera is not None and camera.ages:
            import numpy as np

            ms = 1000 * np.asarray(camera.ages)
            outcome.camera_to_estimate_ms = {
                "frames": len(ms),
                "p50": round(float(np.percentile(ms, 50)), 1),
                "p95": round(float(np.percentile(ms, 95)), 1),
                "max": round(float(ms.max()), 1),
            }
    finally:
        if isinstance(twin.remote, StallingArm):
            outcome.stalled_at = twin.remote.stalled_at  # monotonic; deploy() makes it relative


def cell_camera(cfg: DictConfig):  # noqa: ANN201 (embodied.perception.ros2_camera.RemoteCamera | None)
    """The cell's camera over ROS 2 (``cell_camera``), once it delivers a first frame; None when disabled.

    Raises:
        ConfigError: no calibration or no frame within ``cell_camera.timeout`` (nothing moved).
    """
    if not cfg.cell_camera.enabled:
        return None
    from embodied.jobs.fake_arm import camera_topics
    from embodied.perception.ros2_camera import CameraLost, RemoteCamera
    from robots.ros2.camera import CameraSubscriber
    from robots.ros2.dds import Node

    subscriber = CameraSubscriber(Node(discovery=dds_settings(cfg)), camera_topics(cfg))
    camera = RemoteCamera(subscriber, float(cfg.cell_camera.timeout), float(cfg.camera.rate))
    try:
        subscriber.wait_newer(0.0, float(cfg.cell_camera.timeout))
    except CameraLost as exc:
        raise ConfigError(f"{exc} (cell_camera.enabled=false deploys without a camera)") from exc
    return camera


def mirror_objects(session: Session, camera) -> list[dict]:  # noqa: ANN001
    """Put the twin's cubes where the cell's camera sees objects of their names; park the rest.

    Returns what was perceived (name, position), for the summary. An object the camera sees
    that the twin has no cube for is reported and left out of the twin (the dry run cannot
    move it; the real run still perceives it).
    """
    import numpy as np

    world = session.world
    scene = session.controller.see(camera.render())
    client, names = world.client, set(world.scene.object_names)
    for i, name in enumerate(sorted(names)):
        if name not in scene.names:
            client.set_base_pose(name, (3.0 + 0.1 * i, 3.0, 0.02))  # off the table, out of every view
    for obj in scene.objects:
        if obj.name in names:
            client.set_base_pose(obj.name, tuple(float(v) for v in obj.position))
    world.client.step(world.scene.config.settle_steps)
    missing = [o.name for o in scene.objects if o.name not in names]
    if missing:
        session.on_event("warning", {"reason": f"the twin has no cube for {', '.join(missing)}"})
    return [{"name": o.name, "position": [round(float(v), 4) for v in np.asarray(o.position)]} for o in scene.objects]


def write_summary(outcome: DeployOutcome, run_dir: Path) -> Path:
    summary = {
        "dry_run": outcome.dry_run.report if outcome.dry_run else None,
        "confirmed": outcome.confirmed,
        "hardware": outcome.hardware.report if outcome.hardware else None,
        "safety_interventions": outcome.safety_interventions,
        "halted": {"kind": outcome.halted.kind, "reason": outcome.halted.message} if outcome.halted else None,
        "max_joint_deviation": outcome.max_deviation,
        "perceived_from_camera": outcome.perceived,
        "camera_to_estimate_ms": outcome.camera_to_estimate_ms,
        "interventions": outcome.interventions,
        **({"stalled_at": outcome.stalled_at} if outcome.stalled_at is not None else {}),
        "monotonic_at_connect": outcome.connected_at,
        "success": bool(outcome.hardware and outcome.hardware.report["success"] and outcome.halted is None),
        "exit_code": outcome.exit_code,
    }
    path = run_dir / "deploy.json"
    path.write_text(json.dumps(summary, indent=2))
    return path


CONFIG = "deploy"
POSITIONAL = ("INSTRUCTION", "what to do, in quotes")
OPTIONS = (
    "target",
    "robot",
    "seed",
    "dry_run",
    "confirm",
    "dds.domain",
    "dds.discovery_range",
    "safety.velocity_scale",
    "safety.watchdog",
)


def main(args: argparse.Namespace) -> int:
    """``embodied deploy``: the exit status of :class:`DeployOutcome`."""
    import logging
    import signal
    import sys

    from embodied.common.config_loader import load_config
    from embodied.common.run_folder import prepare_run_dir
    from embodied.jobs.arguments import deploy_overrides, instruction_and_overrides
    from embodied.jobs.terminal import console, print_config, run_events, summarise

    instruction, overrides = instruction_and_overrides(args.tokens)
    overrides = deploy_overrides(overrides)
    if args.cfg:
        return print_config(CONFIG, overrides)
    if not instruction:
        raise ConfigError(
            'deploy needs an instruction, e.g. embodied deploy target=ros2 "put the red cube on the blue cube"'
        )
    cfg = load_config(CONFIG, overrides)
    check_target(cfg)
    if cfg.target == "ros2":
        console.print(f"[dim]{dds_settings(cfg).describe()}[/dim]")
    run_dir = prepare_run_dir(cfg, "deploy")
    # Every safety intervention goes to safety.log in the run folder, not to the terminal.
    safety_log = logging.getLogger("embodied.safety")
    safety_log.propagate = False
    safety_log.addHandler(logging.FileHandler(run_dir / "safety.log"))

    def ask(question: str) -> bool:
        console.print(f"[bold yellow]{question}[/bold yellow] [y/N] ", end="")
        answer = sys.stdin.readline().strip().lower()
        return answer in ("y", "yes")

    outcome = deploy(cfg, instruction, run_dir, ask, run_events)
    # The arm is held and released by now: a late Ctrl-C must not cost the record.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    if outcome.dry_run is not None:
        console.print("[bold]dry run (simulation, mirrored from the arm):[/bold]")
        summarise(outcome.dry_run.report)
    if outcome.hardware is not None:
        console.print(f"[bold]on the arm[/bold] ({outcome.safety_interventions} safety interventions):")
        summarise(outcome.hardware.report)
    elif outcome.dry_run is not None and outcome.dry_run.report["success"] and cfg.target == "ros2":
        if outcome.halted is None:
            console.print("not confirmed: the arm was not moved")
    if outcome.halted is not None:
        console.print(f"[bold red]halted[/bold red] ({outcome.halted.kind}): {outcome.halted.message}")
    print(write_summary(outcome, run_dir))
    return outcome.exit_code
