"""The main job: one instruction (or a session of them) planned, executed and reported.

A :class:`Session` holds one persistent scene, the planner, the skill library and the
controller. :meth:`Session.run` plans an instruction against what the camera sees, executes
it, and writes ``report.json`` and a captioned video into a run folder. A refused
instruction moves nothing.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from embodied.common.config_loader import ConfigError, section
from embodied.common.media import caption, write_video
from embodied.execution.hierarchical_controller import Controller, ControllerConfig, Execution
from embodied.execution.skill_executors import library_from_config
from embodied.execution.world_builder import build_world
from embodied.perception.config import PerceptionConfig
from embodied.perception.scene import Scene
from embodied.planning.planner import PlanResult, make_planner, plan_screened

EventCallback = Callable[[str, dict], None]


@dataclass
class RunOutcome:
    """What one instruction produced."""

    report: dict
    report_path: Path | None
    plan: PlanResult
    execution: Execution | None
    scene: Scene | None = None
    """What was perceived before the command (where "undo" puts things back)."""


class Session:
    """A persistent scene with planner, skills and controller, for one or many instructions.

    Args:
        cfg: the composed ``configs/run.yaml`` (or ``eval.yaml``).
        on_event: progress callback, ``(kind, details)``; kinds: "plan", and the controller's.
        planner: an already built planner to share (evaluation reuses one).
        library: an already built skill library to share.
    """

    def __init__(self, cfg: DictConfig, on_event: EventCallback | None = None, planner=None, library=None) -> None:
        try:
            controller_cfg = ControllerConfig(**section(cfg, "controller"))
            perception = PerceptionConfig(**section(cfg, "perception"))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"bad controller or perception config: {exc}") from exc
        self.cfg = cfg
        self.on_event = on_event or (lambda kind, info: None)
        self.planner = planner or make_planner(cfg.planner)
        self.library = library or library_from_config(cfg.skills)
        self.world = build_world(cfg)
        self.seed = int(cfg.seed)
        self.randomization = self._randomization(cfg)
        self.draw = None
        """This scene's randomisation draw (``randomize=true``), or None."""
        self._draw_key: int | None = None
        if self.randomization is not None:
            from sims.actuation import ActuatedArm

            self.world.robot = ActuatedArm(self.world.robot)
            self._randomize()
        self._frames: list[np.ndarray] = []
        self._video_camera = None
        if cfg.video:
            from sims.camera import Camera
            from sims.config import CameraConfig, from_mapping

            self._video_camera = Camera(self.world.client, from_mapping(CameraConfig, section(cfg, "video_camera")))
        self.controller = Controller(
            self.world, self.library, controller_cfg, self._on_frame, self.on_event, perception=perception
        )
        self._frame_every = max(1, int(cfg.get("video_every", 1)))
        self._tick = 0

    def _on_frame(self, text: str) -> None:
        self._tick += 1
        if self._video_camera is not None and self._tick % self._frame_every == 0:
            self._frames.append(caption(self._video_camera.render(segmentation=False).rgb, text))

    def reset(self, seed: int, draw: int | None = None) -> None:
        """New cube placement (interactive ``reset``), and new physics with ``randomize=true``
        (from ``seed`` and, when given, ``draw``: an evaluation draws per instruction)."""
        self.seed = seed
        self._draw_key = draw
        place = functools.partial(self.world.reset, np.random.default_rng(seed))
        if self.randomization is None:
            place()
        else:
            # This scene's physics first: the arm is placed (its motors take the drawn gain) and
            # the cubes settle under it, not under the last scene's draw, which made a run's
            # outcome depend on the instruction evaluated before it.
            self._randomize(place)
        self.world.settle()
        self.controller.forget()

    @staticmethod
    def _randomization(cfg: DictConfig):  # noqa: ANN205 (sims.randomization is imported only when used)
        if not cfg.get("randomize"):
            return None
        from sims.config import from_mapping
        from sims.randomization import RandomizationConfig

        try:
            return from_mapping(RandomizationConfig, section(cfg, "randomization"))
        except ValueError as exc:
            raise ConfigError(f"randomization: {exc}") from None

    def _randomize(self, place: Callable[[], None] | None = None) -> None:
        """Draw this scene's physics, actuation channel and observation delay from its seed
        (the cubes' placement is not touched: same seed, same scene, clean or randomised);
        ``place`` (the world's reset) runs between the physics and the arm's channel."""
        from sims.actuation import ActuationDraw
        from sims.randomization import draw_episode, scene_rng

        rng = scene_rng(self.seed, self._draw_key)
        d = draw_episode(self.randomization, self.world, rng)
        if place is not None:
            place()
        self.world.robot.restart(
            ActuationDraw(d.delay, d.jitter, d.lag, d.action_noise),
            d.observation_delay,
            self.randomization.observation_noise,
            rng,
        )
        self.draw = d

    def close(self) -> None:
        self.world.close()

    def run(
        self,
        instruction: str,
        run_dir: Path | None,
        expect_plan: list | None = None,
        previous: list[str] | None = None,
        plan: Callable[[Scene], PlanResult] | None = None,
    ) -> RunOutcome:
        """Plan and execute ``instruction``; write report.json (+ video) into ``run_dir`` if given.

        ``expect_plan`` (a plan's JSON): execute only if the new plan is exactly this one (a
        deployment confirmed it after a dry run); otherwise report an error and move nothing.
        ``previous``: objects the conversation's last command moved ("it" in the next one).
        ``plan``: makes the plan from the perceived scene instead of the planner (the
        interactive prompt's "do the same with ..."); it is validated like any plan.
        """
        start = time.perf_counter()
        self._frames = []
        frame = self.controller.camera.render()
        scene = self.controller.perceive(frame)
        if plan is not None:
            result = plan(scene)
        else:
            result = plan_screened(self.planner, instruction, scene, frame.rgb, previous)
        self.on_event("plan", {"result": result})
        execution = None
        error = result.error
        if result.ok and expect_plan is not None and result.to_json()["plan"] != expect_plan:
            error = "the plan differs from the one confirmed after the dry run; nothing was executed"
        if result.ok and error is None:
            try:
                execution = self.controller.execute(result.plan)
            except ConfigError as exc:  # a skill with no policy: refused before any motion
                error = str(exc)
        report = {
            "instruction": result.instruction,
            "seed": self.seed,
            "planner": getattr(self.planner, "name", "?"),
            "skills": self.library.source,
            "plan": result.to_json()["plan"],
            "steps": [s.to_json() for s in execution.steps] if execution else [],
            "replans": execution.replans if execution else 0,
            "success": bool(execution and execution.success),
            "error": error,
            "reason": execution.reason if execution else error,
            "halted": execution.halted.kind if execution and execution.halted else None,
            "planning_seconds": round(result.seconds, 4),
            "wall_seconds": None,
            "perceived": [
                o.describe()
                for o in (execution.final_scene.objects if execution and execution.final_scene else scene.objects)
            ],
            **self.world.scene.describe(),
            "randomization": asdict(self.draw) if self.draw is not None else None,
            "video": None,
        }
        path = None
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            if self._frames:
                report["video"] = write_video(run_dir / "run.mp4", self._frames).name
            path = run_dir / "report.json"
        report["wall_seconds"] = round(time.perf_counter() - start, 3)
        if path is not None:
            path.write_text(json.dumps(report, indent=2))
        return RunOutcome(report, path, result, execution, scene)
