"""The deploy job: one instruction on an arm behind a ROS 2 driver, through the safety layer.

1. Connect to the arm (``robots.ros2.Ros2Arm``) and mirror its measured joint state into
   the simulated world (the twin).
2. Plan the instruction from the twin's camera, exactly as ``embodied run`` does.
3. Dry run (``dry_run=true``): play the whole plan in the twin, with the same safety layer
   around the simulated arm, and write ``dry_run/report.json`` + video. A failed dry run
   stops here; otherwise ask for confirmation (``confirm``).
4. Restore the twin, re-plan (the plan must be the one that was confirmed), and execute it
   with the controller driving ``SafetyLayer(Ros2Arm)`` through a :class:`sims.twin.TwinArm`.
   Writes ``hardware/report.json`` + video of the twin.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from embodied.config import ConfigError, dds_settings, section
from embodied.run import RunOutcome, Session
from robots.safety import SafetyConfig, SafetyLayer

TARGETS = ("ros2", "sim")


@dataclass
class DeployOutcome:
    """What a deployment did: the dry run, whether it was confirmed, and the real run."""

    dry_run: RunOutcome | None
    confirmed: bool
    hardware: RunOutcome | None
    safety_interventions: int

    @property
    def exit_code(self) -> int:
        """0 success; 1 a run failed; 2 refused instruction; 3 not confirmed."""
        last = self.hardware or self.dry_run
        if last is not None and last.report["error"]:
            return 2
        if self.hardware is None:
            return 1 if self.dry_run is not None and not self.dry_run.report["success"] else 3
        return 0 if self.hardware.report["success"] else 1


def safety_config(cfg: DictConfig) -> SafetyConfig:
    try:
        return SafetyConfig(**section(cfg, "safety"))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad safety config: {exc}") from exc


def check_target(cfg: DictConfig) -> None:
    """Refuse a bad deploy target before anything is built or moved."""
    if cfg.target not in TARGETS:
        raise ConfigError(f"robot must be one of {', '.join(TARGETS)} (the deploy target), got {cfg.target!r}")
    if cfg.target == "ros2":
        dds_settings(cfg)


def connect_arm(cfg: DictConfig, description, safety: SafetyConfig):  # noqa: ANN001, ANN201
    """The arm the deployment drives, wrapped in the safety layer (refusing loose limits on hardware)."""
    from robots.ros2.arm import ArmDisconnected, Ros2Arm

    if description.ros2 is None:
        raise ConfigError(f"robot description {description.name!r} has no ros2 section (topics, controller)")
    try:
        layer = SafetyLayer(
            Ros2Arm(description, discovery=dds_settings(cfg), connect_timeout=float(cfg.connect_timeout)),
            description,
            safety,
            hardware=bool(cfg.hardware),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        layer.connect()
    except ArmDisconnected as exc:
        raise ConfigError(str(exc)) from exc
    return layer


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
    from sims.twin import TwinArm

    check_target(cfg)
    safety = safety_config(cfg)
    session = Session(cfg, on_event, planner=planner, library=library)
    world = session.world
    sim_arm = world.robot
    remote = None
    try:
        if cfg.target == "ros2":
            remote = connect_arm(cfg, world.description, safety)
            twin = TwinArm(remote, sim_arm, world.client)
            twin.sync(teleport=True)  # the twin starts where the real arm is
            world.client.step(5)
        start = world.client.save_state()
        dry = None
        if cfg.dry_run or cfg.target == "sim":
            world.robot = SafetyLayer(sim_arm, world.description, safety)
            dry = session.run(instruction, run_dir / "dry_run")
            world.robot = sim_arm
            if dry.report["error"] or not dry.report["success"] or cfg.target == "sim":
                return DeployOutcome(dry, False, None, 0)
        if cfg.confirm is None:
            done = f"The dry run succeeded ({len(dry.report['plan'])} sub-goals). " if dry is not None else ""
            confirmed = ask(f"{done}Move the real arm?")
        else:
            confirmed = bool(cfg.confirm)
        if not confirmed:
            return DeployOutcome(dry, False, None, 0)
        # Back to the measured state of the cell before the dry run; re-plan on it, and execute
        # only the plan that was confirmed.
        world.client.restore_state(start)
        twin.sync(teleport=True)
        session.controller.forget()
        world.robot = twin
        expect = dry.report["plan"] if dry is not None else None
        live = session.run(instruction, run_dir / "hardware", expect_plan=expect)
        return DeployOutcome(dry, True, live, len(remote.interventions))
    finally:
        if remote is not None:
            try:
                remote.stop()
            except Exception:  # noqa: BLE001 (the driver may already be gone; never mask the real error)
                pass
            remote.disconnect()
        session.close()


def write_summary(outcome: DeployOutcome, run_dir: Path) -> Path:
    summary = {
        "dry_run": outcome.dry_run.report if outcome.dry_run else None,
        "confirmed": outcome.confirmed,
        "hardware": outcome.hardware.report if outcome.hardware else None,
        "safety_interventions": outcome.safety_interventions,
        "success": bool(outcome.hardware and outcome.hardware.report["success"]),
    }
    path = run_dir / "deploy.json"
    path.write_text(json.dumps(summary, indent=2))
    return path
