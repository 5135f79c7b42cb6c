"""The hierarchical controller: runs a plan sub-goal by sub-goal, checks each from the camera,
retries, and replans when the world changed under it (Inner Monologue style).

For every sub-goal: perceive, turn the sub-goal into a goal position (:mod:`embodied.execution.goal_geometry`),
run the skill within a step budget, release and retreat (pick_place), move the arm out of the
camera's view, perceive again, and check that the sub-goal holds. A failed sub-goal is
retried; after a success every sub-goal achieved so far is re-checked, and one that no longer
holds (a cube knocked off) is queued again. When the retries or replans run out, or a
sub-goal cannot be executed at all, the controller stops safely: gripper open, arm home.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from embodied.common.config_schema import Controller as ControllerConfig
from embodied.execution.goal_geometry import Geometry, TargetError, goal_position, holds, nearest_edge, push_route
from embodied.execution.skill_executors import SkillLibrary
from embodied.perception.config import PerceptionConfig
from embodied.perception.scene import Scene, perceive, table_plane
from embodied.perception.tracker import CameraTracker, FrameStream, SimTracker, SimulatedStream, Tracker
from embodied.planning.subgoals import Plan, SubGoal
from robots.robot import MotionHalted
from sims.camera import CameraFrame

ALREADY_HOLDS = "it already held: nothing was moved"
"""The reason of a sub-goal recorded as a success with no attempt."""


@dataclass
class StepRecord:
    """One executed sub-goal (the ``steps`` entries of report.json)."""

    subgoal: dict
    outcome: str
    attempts: int
    sim_steps: int
    seconds: float
    reason: str | None = None
    replanned: bool = False

    def to_json(self) -> dict:
        return {
            "subgoal": self.subgoal,
            "outcome": self.outcome,
            "attempts": self.attempts,
            "retries": max(self.attempts - 1, 0),
            "sim_steps": self.sim_steps,
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
            "replanned": self.replanned,
        }


@dataclass
class Execution:
    """The result of running a plan."""

    success: bool
    steps: list[StepRecord] = field(default_factory=list)
    replans: int = 0
    reason: str | None = None
    final_scene: Scene | None = None
    halted: MotionHalted | None = None
    """Set when the arm had to stop at once (driver lost, e-stop, unexpected motion, signal)."""


EventCallback = Callable[[str, dict], None]


class Controller:
    """Executes validated plans on a :class:`sims.world.TabletopWorld` with a :class:`SkillLibrary`.

    Args:
        world: the simulated (or mirrored) world.
        library: skill executors.
        config: budgets and limits.
        on_frame: called after every control step with the caption of the current sub-goal.
        on_event: called with ("start" | "attempt" | "done" | "replan" | "stop", details).
        perception: how objects are found in frames and tracked during skills
            (``tracking``: sim ground truth or the camera).
        camera: where frames come from, anything with ``render() -> CameraFrame`` (default:
            the world's overhead camera; ``embodied deploy``: the cell's camera over ROS 2).
        stream: makes the frame stream a camera tracker follows (default: the world's
            camera at ``camera.rate`` with ``camera.latency``, on simulated time).
    """

    def __init__(
        self,
        world: Any,
        library: SkillLibrary,
        config: ControllerConfig | None = None,
        on_frame: Callable[[str], None] | None = None,
        on_event: EventCallback | None = None,
        perception: PerceptionConfig | None = None,
        camera: Any = None,
        stream: Callable[[], FrameStream] | None = None,
    ) -> None:
        self.world = world
        self.perception = perception or PerceptionConfig()
        self.camera = camera if camera is not None else world.camera
        self.stream = stream or self._simulated_stream
        self._plane: tuple[bytes, Any] | None = None  # (camera pose, table plane) fitted once per scene
        self.library = library
        self.config = config or ControllerConfig()
        self.on_frame = on_frame
        self.on_event = on_event or (lambda kind, info: None)
        sc = world.scene
        self.geometry = Geometry(
            table_center=tuple(float(v) for v in sc.table_center),
            table_size=tuple(float(v) for v in sc.table_size),
            object_size=float(sc.config.cube_size),
            side_gap=self.config.side_gap,
            edge_margin=self.config.edge_margin,
            side_margin=self.config.side_margin,
            tight_side_margin=self.config.tight_side_margin,
            tight_edge_margin=self.config.tight_edge_margin,
            min_move=self.config.min_move,
            place_tolerance=self.config.place_tolerance,
            push_overshoot=self.config.push_overshoot,
            push_clearance=self.config.push_clearance,
            push_behind=self.config.push_behind,
        )
        self._caption = ""
        self._steps = 0
        self._memory: dict[str, Any] = {}
        self._last_seen: dict[str, np.ndarray] = {}  # name -> (3,) where each object was last in view
        self._current: tuple[SubGoal, float, int, bool] | None = None  # sub-goal in progress, for a halt record

    # -- perception ----------------------------------------------------------------------
    def forget(self, plane: bool = True) -> None:
        """Drop remembered objects and, with ``plane``, the fitted table plane (a new scene).

        The plane is fitted to the depth of the table around the objects, so its last digits
        depend on where they stood: kept from an earlier scene, it made a run's outcome depend
        on the runs before it (through pushes that amplify 1e-6 m into a cube lost).
        ``plane=False`` keeps it for the same scene seen again (a deployment's real run after
        its dry run; a camera with another pose fits its own).
        """
        self._memory = {}
        self._last_seen = {}
        if plane:
            self._plane = None

    def _simulated_stream(self) -> FrameStream:
        c = self.world.camera.config
        return SimulatedStream(self.world.camera.render, lambda: self.world.client.time, c.rate, c.latency)

    def see(self, frame: CameraFrame, fit_hidden: bool = True) -> Scene:
        """The objects in one frame (no memory). The table plane is fitted once per camera pose.
        ``fit_hidden=False`` skips fitting partly hidden cubes (the tracker bounds those itself)."""
        sc = self.world.scene
        key = frame.camera_to_world.tobytes()
        if self._plane is None or self._plane[0] != key:
            centre, half = np.asarray(sc.table_center)[:2], np.asarray(sc.table_size) / 2
            self._plane = (key, table_plane(frame, self.perception, np.stack([centre - half, centre + half])))
        config = self.perception if fit_hidden else self.perception.model_copy(update={"hidden_fit": False})
        return perceive(frame, config, table_center=sc.table_center, table_size=sc.table_size, plane=self._plane[1])

    def perceive(self, frame: CameraFrame | None = None) -> Scene:
        """What the camera sees (a fresh frame, or ``frame``), plus objects it saw before that
        are now covered by another.

        An overhead camera cannot see a cube under another cube. An object that vanished
        from view while something now rests right above its last position is kept there
        (object permanence); one that vanished otherwise is dropped.
        """
        scene = self.see(frame if frame is not None else self.camera.render())
        s = self.geometry.object_size
        # Identity by colour: a partly covered cube may look like a "box" sliver; it is
        # still the cube that was seen there before, at the place it was seen.
        objects = []
        for o in scene.objects:
            above = any(
                p is not o
                and np.linalg.norm(p.position[:2] - o.position[:2]) < s
                and p.position[2] > o.position[2] + 0.5 * s
                for p in scene.objects
            )
            if above and o.name in self._memory:
                # Partly covered: the visible sliver's centroid is not the cube's centre; keep
                # where the whole cube was last seen.
                m = self._memory[o.name]
                if np.linalg.norm(m.position[:2] - o.position[:2]) < 1.5 * s:
                    o = replace(m, pixels=o.pixels)
            if o.name not in self._memory:
                same = [m for m in self._memory.values() if m.colour == o.colour and m.name not in scene.names]
                if same:
                    m = min(same, key=lambda m: float(np.linalg.norm(m.position - o.position)))
                    if np.linalg.norm(m.position[:2] - o.position[:2]) < 1.5 * s:
                        o = replace(m, pixels=o.pixels)
            objects.append(o)
        scene = Scene(objects, scene.table_center, scene.table_size)
        seen = set(scene.names)
        kept = []
        for name, obj in self._memory.items():
            if name in seen:
                continue
            covered = any(
                np.linalg.norm(o.position[:2] - obj.position[:2]) < 0.6 * s
                and o.position[2] > obj.position[2] + 0.5 * s
                for o in scene.objects
            )
            if covered:
                kept.append(replace(obj, pixels=0))
        scene = Scene(scene.objects + kept, scene.table_center, scene.table_size)
        self._memory = {o.name: o for o in scene.objects}
        self._last_seen.update({o.name: np.asarray(o.position, dtype=np.float64) for o in scene.objects})
        return scene

    def _gone(self, goal: SubGoal, scene: Scene) -> str | None:
        """Why an object of ``goal`` that was in view is not any more (not covered: the
        perceived scene keeps covered ones), with where it was last seen; None if none is."""
        names = [goal.object] + ([goal.target.value] if isinstance(goal.target.value, str) else [])
        for name in names:
            if name in scene.names or name not in self._last_seen:
                continue
            edge, gap = nearest_edge(self._last_seen[name], self.geometry)
            return (
                f"{name} is no longer in view (last seen {100 * gap:.1f} cm from the table's {edge} edge: "
                "it has probably fallen off)"
            )
        return None

    @staticmethod
    def positions(scene: Scene) -> dict[str, np.ndarray]:
        return {o.name: o.position for o in scene.objects}

    def check(self, goal: SubGoal, scene: Scene | None = None) -> bool:
        """Whether ``goal`` holds in what the camera sees now."""
        return holds(goal, self.positions(scene or self.perceive()), self.geometry)

    # -- motion helpers --------------------------------------------------------------------
    def _tick(self) -> None:
        self._steps += 1
        if self.on_frame:
            self.on_frame(self._caption)

    def _move(self, target: np.ndarray, width: float, max_steps: int = 60) -> None:
        from embodied.execution.scripted_motions import MotionConfig, move_to

        move_to(
            self.world.robot,
            target,
            width,
            MotionConfig(
                max_steps=max_steps,
                tolerance=self.config.move_tolerance,
                gain=self.config.move_gain,
                lead=self.config.move_lead,
            ),
            on_step=lambda _: self._tick(),
        )

    def _hold(self, width: float, steps: int) -> None:
        from embodied.execution.scripted_motions import hold_gripper

        hold_gripper(self.world.robot, width, steps, on_step=lambda _: self._tick())

    def _clear_view(self, release: bool = True) -> None:
        """Rise and go to the home pose, which the overhead camera does not see, the gripper
        open there. ``release``: open it in place first (something may be held)."""
        robot = self.world.robot
        open_width = self.world.description.gripper.max_width
        ee = robot.get_observation().ee_position
        up = np.array([ee[0], ee[1], max(ee[2], 0.0) + self.config.retreat_height])
        if release:
            # Release before moving: fingers that open while rising drag the cube off its support.
            self._hold(open_width, self.config.release_steps)
            self._move(up, open_width, 20)
        else:
            # Nothing held (a push, fingers closed): fingers opened beside the cube would flick
            # it away, off the table near an edge; they stay closed until clear of it.
            self._move(up, 0.0, 20)
        self._move(self.world.home_ee_position, open_width, 60)
        self._hold(open_width, self.config.settle_steps)

    def safe_stop(self, reason: str) -> None:
        """Gripper open, arm home; say why."""
        self.on_event("stop", {"reason": reason})
        self._caption = f"stopping: {reason}"
        self._clear_view()

    # -- execution -------------------------------------------------------------------------
    def tracker(self, scene: Scene, name: str) -> Tracker:
        """What the skill moving ``name`` reads the objects from (``perception.tracking``).

        ``sim``: the simulated object nearest to where ``name`` was perceived (ground truth);
        ``camera``: ``name`` followed through the camera's frames from where it was perceived.
        """
        obj = scene.get(name)
        if self.perception.tracking == "sim":
            client = self.world.client
            body = min(
                self.world.scene.object_names,
                key=lambda n: float(np.linalg.norm(client.base_pose(n)[0] - obj.position)),
            )
            return SimTracker(self.world, body)
        robot = self.world.robot

        def gripper() -> tuple[np.ndarray, float]:
            o = robot.get_observation()
            return o.ee_position, float(o.gripper_width)

        # Frame by frame the tracker bounds a partly hidden object by its visible top itself;
        # fitting it (10 ms per object) would only add latency on a busy CPU (measured through
        # DDS: 113 ms from exposure to estimate without, ~375 ms with).
        see = functools.partial(self.see, fit_hidden=False)
        return CameraTracker(self.stream(), see, obj, scene, gripper, self.geometry.object_size, self.perception)

    def attempt(self, goal: SubGoal) -> tuple[bool, str | None, bool]:
        """One attempt: goal position from perception, skill, release, clear view, check.

        Returns (holds, why not, whether trying again can help). No goal position (the object
        is hidden, no free room) cannot change by retrying, so it is not retryable.
        """
        scene = self.perceive()
        try:
            target = goal_position(goal, self.positions(scene), self.geometry)
        except TargetError as exc:
            return False, self._gone(goal, scene) or str(exc), False
        executor = self.library.get(goal.skill)
        tracker = self.tracker(scene, goal.object)
        # One record of the commands sent for the whole attempt, through every leg.
        history = executor.history(self.world)
        budget = self.config.max_steps
        if goal.skill == "pick_place":
            # Come down onto the goal from above: carried sideways at the goal's height, the
            # cube would sweep whatever it is being put on.
            above = target + np.array([0.0, 0.0, self.config.approach_height])
            run = executor.run(self.world, tracker, above, budget, self._tick, 0.02, history)
            budget = max(budget - run.steps, 1)
        elif goal.skill == "push":
            # Long pushes in short legs: a cube pushed far at full speed slides past its goal.
            # Round the objects in the way (a straight push would sweep them along).
            start = scene.get(goal.object).position
            route = [start, *push_route(start, target, self.positions(scene), goal.object, self.geometry), target]
            vias = []
            for a, b in itertools.pairwise(route):
                legs = int(np.ceil(np.linalg.norm((b - a)[:2]) / self.config.push_leg))
                vias += [a + (b - a) * k / legs for k in range(1, legs + 1)]
            for via in vias[:-1]:
                run = executor.run(self.world, tracker, via, budget, self._tick, 0.03, history)
                budget = max(budget - run.steps, 1)
                if run.fell:
                    break
        run = executor.run(self.world, tracker, target, budget, self._tick, history=history)
        self._clear_view(release=goal.skill != "push")  # a push holds nothing
        if run.fell:
            return False, f"{goal.object} fell off the table", False
        if run.error:
            return False, run.error, True
        if self.check(goal):
            return True, None, True
        why = f"{goal.text()} does not hold after the skill (object {run.distance * 100:.1f} cm from its goal)"
        return False, why, True

    def execute(self, plan: Plan) -> Execution:
        """Run ``plan``; returns per-sub-goal records and whether every sub-goal holds at the end.

        When the arm must stop at once (:class:`robots.robot.MotionHalted` out of a motion
        command: driver lost, e-stop, unexpected motion, a signal), nothing more is commanded:
        no retreat, no way home. The sub-goal in progress is recorded as "halted" and the
        execution ends with the reason.
        """
        self.library.prepare(sorted({g.skill for g in plan.subgoals}))  # fail before any motion
        result = Execution(success=False)
        self._current = None
        try:
            self._run(plan, result)
        except MotionHalted as exc:
            if self._current is not None:
                goal, start, steps0, replanned = self._current
                record = StepRecord(
                    goal.to_json(),
                    "halted",
                    1,
                    self._steps - steps0,
                    time.perf_counter() - start,
                    exc.message,
                    replanned,
                )
                result.steps.append(record)
                self.on_event("done", record.to_json())
            result.success, result.reason, result.halted = False, exc.message, exc
            self.on_event("halt", {"kind": exc.kind, "reason": exc.message})
            result.final_scene = self.perceive()
        return result

    def _run(self, plan: Plan, result: Execution) -> None:
        queue: list[tuple[SubGoal, bool]] = [(g, False) for g in plan.subgoals]
        achieved: list[SubGoal] = []
        while queue:
            goal, replanned = queue.pop(0)
            self._caption = f"{len(result.steps) + 1}: {goal.text()}"
            self.on_event("start", {"index": len(result.steps), "subgoal": goal.to_json(), "replanned": replanned})
            start, steps0, attempts, reason, ok = time.perf_counter(), self._steps, 0, None, False
            self._current = (goal, start, steps0, replanned)
            if not replanned and self.check(goal):
                # Already true before any motion (the cube is in that region already): moving
                # it anyway only risks it, and a push near an edge can drop it off the table.
                ok, reason = True, ALREADY_HOLDS
            while not ok and attempts <= self.config.max_retries:
                attempts += 1
                self.on_event("attempt", {"subgoal": goal.to_json(), "attempt": attempts})
                ok, reason, retryable = self.attempt(goal)
                if ok or not retryable:
                    break
            self._current = None
            record = StepRecord(
                goal.to_json(),
                "success" if ok else "failed",
                attempts,
                self._steps - steps0,
                time.perf_counter() - start,
                reason,
                replanned,
            )
            result.steps.append(record)
            self.on_event("done", record.to_json())
            if not ok:
                result.reason = f"gave up on {goal.text()} after {attempts} attempt(s): {reason}"
                self.safe_stop(result.reason)
                result.final_scene = self.perceive()
                return
            # A later sub-goal that moves the same object again supersedes the earlier one.
            achieved = [g for g in achieved if g.object != goal.object]
            achieved.append(goal)
            # Inner-Monologue check: did anything achieved earlier stop holding?
            scene = self.perceive()
            broken = [g for g in achieved[:-1] if not self.check(g, scene)]
            for g in broken:
                if result.replans >= self.config.max_replans:
                    result.reason = (
                        f"{g.text()} stopped holding and the replan limit ({self.config.max_replans}) is spent"
                    )
                    self.safe_stop(result.reason)
                    result.final_scene = scene
                    return
                result.replans += 1
                achieved.remove(g)
                queue.insert(0, (g, True))
                self.on_event("replan", {"subgoal": g.to_json(), "reason": "no longer holds"})
        result.final_scene = self.perceive()
        result.success = all(self.check(g, result.final_scene) for g in achieved)
        if not result.success:
            result.reason = "a sub-goal no longer holds at the end"
