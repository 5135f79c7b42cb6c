"""The skill library: an executor for every catalogue skill, learned (shipped SB3 policies) or scripted.

An executor turns (world, object, goal position) into control steps, closed loop, with the
same observation and action conventions as the skill environments it was trained in
(``sims.env.RobotTaskEnv``): the observation comes from the same builder
(:mod:`sims.observation`); an action is an end-effector displacement in
[-1, 1]^3 times ``max_ee_step`` plus, for pick_place, a gripper command.

The low-level loop reads the object's pose from a tracker (:mod:`embodied.perception.tracker`:
the simulator's ground truth, or the camera's frames); whether a sub-goal *holds* is judged
separately, from a fresh camera frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from embodied.common.config_loader import ConfigError
from embodied.perception.tracker import Tracker
from embodied.planning.subgoals import CATALOGUE
from sims import observation_layout
from sims.observation import ActionHistory, hold_action

SKILL_SOURCES = ("learned", "scripted")
RUNTIMES = ("onnx", "sb3")
"""How a learned policy runs: its cached ONNX export (fast start) or the SB3 model itself."""

StepCallback = Callable[[], None]


class SkillUnavailable(ConfigError):
    """A sub-goal's skill has no executor (no policy, unknown skill); raised before any motion."""


@dataclass
class SkillRun:
    """What one execution of a skill did.

    Attributes:
        reached: the object ended within the stop tolerance of the goal.
        steps: control steps taken (25 Hz).
        distance: final object-to-goal distance, m.
        error: why it stopped early (non-finite action), or None.
        fell: the object left the table (its centre a cube's size below the table top): no
            attempt can bring it back.
    """

    reached: bool
    steps: int
    distance: float
    error: str | None = None
    fell: bool = False


class ActionSource(Protocol):
    def __call__(self, observation: np.ndarray, achieved: np.ndarray, goal: np.ndarray) -> np.ndarray: ...


def _prior_source(skill_cfg: Any, overrides: dict) -> ActionSource:
    import torch

    from embodied.learning.catalogue import prior_layout
    from embodied.learning.priors import ObsLayout, PriorConfig, prior_action

    layout = ObsLayout(**prior_layout(skill_cfg))
    prior = PriorConfig(**{**dict(skill_cfg.prior), **overrides})
    dim = 4 if skill_cfg.name == "pick_place" else 3

    def act(observation: np.ndarray, achieved: np.ndarray, goal: np.ndarray) -> np.ndarray:
        obs = torch.as_tensor(observation, dtype=torch.float32)[None]
        g = torch.as_tensor(goal, dtype=torch.float32)[None]
        return prior_action(obs, g, layout, prior, dim)[0].numpy()

    return act


def _policy_source(skill: str, checkpoint: str | None, overrides: dict, runtime: str, layout: Any) -> ActionSource:
    """The learned policy's actions: its cached ONNX export (``onnx``) or the SB3 model (``sb3``)."""
    if runtime == "onnx":
        from embodied.learning.catalogue import SkillError
        from embodied.learning.compiled_policy import compiled_policy

        try:
            policy = compiled_policy(skill, checkpoint, overrides)
        except SkillError:
            raise  # the checkpoint itself: missing, damaged, other spaces (said by load_policy)
        except ValueError as exc:  # a bad override or an export that does not match its model
            raise SkillUnavailable(str(exc)) from exc
        problem = layout.mismatch(int(policy.input_dims.get("observation", -1)))
        if problem:
            raise SkillUnavailable(f"{skill}: {problem}")
    else:
        from embodied.learning.checkpoints import load_policy
        from embodied.learning.compiled_policy import apply_prior_overrides

        model = load_policy(skill, checkpoint)
        model.get_env().close()  # the env was only needed to check spaces and load HER
        try:
            apply_prior_overrides(model, skill, overrides)
        except ValueError as exc:
            raise SkillUnavailable(str(exc)) from exc

        def policy(batch: dict[str, np.ndarray]) -> np.ndarray:
            return model.predict(batch, deterministic=True)[0]

    def act(observation: np.ndarray, achieved: np.ndarray, goal: np.ndarray) -> np.ndarray:
        batch = {
            "observation": observation[None].astype(np.float32),
            "achieved_goal": achieved[None].astype(np.float32),
            "desired_goal": goal[None].astype(np.float32),
        }
        return np.asarray(policy(batch)[0], dtype=np.float64)

    return act


class SkillExecutor:
    """Runs one catalogue skill closed loop on a :class:`sims.world.TabletopWorld`.

    Args:
        name: catalogue skill (``pick_place`` or ``push``).
        source: ``learned`` (the SB3 policy) or ``scripted`` (the skill's motion prior alone).
        checkpoint: SB3 zip to use instead of the shipped policy (learned only).
        stop_tolerance: the run ends when the object is this close to the goal, m.
        prior_overrides: changes to the motion prior's settings at execution time.
        max_open_width: cap on the commanded gripper opening, m (None: the robot's maximum).
        runtime: ``onnx`` or ``sb3`` (learned only; both give the same actions within 1e-4).
    """

    def __init__(
        self,
        name: str,
        source: str,
        checkpoint: str | None = None,
        stop_tolerance: float = 0.01,
        prior_overrides: dict | None = None,
        max_open_width: float | None = None,
        runtime: str = "onnx",
    ) -> None:
        from embodied.learning.catalogue import skill_config

        if name not in CATALOGUE:
            raise SkillUnavailable(f"no executor for skill {name!r}; the catalogue has {', '.join(CATALOGUE)}")
        if source not in SKILL_SOURCES:
            raise SkillUnavailable(f"skills must be one of {', '.join(SKILL_SOURCES)}, got {source!r}")
        self.name, self.source, self.stop_tolerance = name, source, stop_tolerance
        self.max_open_width = max_open_width
        self.config = skill_config(name)
        self.layout = observation_layout(str(self.config.env_id), self.config.get("task"))
        self.uses_gripper = name == "pick_place"
        overrides = dict(prior_overrides or {})
        if runtime not in RUNTIMES:
            raise SkillUnavailable(f"skills.runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        if source == "learned":
            self.act = _policy_source(name, checkpoint, overrides, runtime, self.layout)
        else:
            try:
                self.act = _prior_source(self.config, overrides)
            except (TypeError, ValueError) as exc:
                raise SkillUnavailable(f"bad prior override for {name}: {exc}") from exc

    def history(self, world: Any) -> ActionHistory:
        """A fresh record of the actions this skill sends, started as "hold still" with the
        gripper as it is now (as the training env starts its episodes)."""
        history = ActionHistory(self.layout.action_history, self.layout.action_dim)
        width = world.robot.get_observation().gripper_width
        history.reset(hold_action(self.layout.action_dim, width, world.description.gripper.max_width))
        return history

    def observation(self, world: Any, tracker: Tracker, history: ActionHistory | None = None) -> np.ndarray:
        """The skill's flat observation in ``world``, the objects as ``tracker`` has them, the
        actions sent so far (``history``, from :meth:`history`) and the arm's latency
        (:attr:`robots.robot.Robot.latency`), from the one builder the training env uses
        (:mod:`sims.observation`)."""
        history = history if history is not None else self.history(world)
        latency = world.robot.latency / world.description.control_period  # periods, as the env's draw
        return self.layout.build(world.robot.get_observation(), tracker.state(), tracker.others(), history, latency)

    def run(
        self,
        world: Any,
        tracker: Tracker,
        goal: np.ndarray,
        max_steps: int,
        on_step: StepCallback | None = None,
        tolerance: float | None = None,
        history: ActionHistory | None = None,
    ) -> SkillRun:
        """Drive the tracked object toward ``goal`` ((3,), world frame, m) for at most ``max_steps`` control steps.

        The object's pose comes from ``tracker`` (:mod:`embodied.perception.tracker`: the
        simulator's ground truth, or the camera). Stops when the tracked object is within
        ``tolerance`` (default: the executor's) of the goal. ``history`` (from
        :meth:`history`, default a fresh one): the actions sent so far, extended in place; a
        run that continues another (the next leg of a push) passes the same one on, so the
        actions still in flight on a late arm are not forgotten between them.
        """
        from robots.robot import RobotAction

        tol = self.stop_tolerance if tolerance is None else tolerance

        step = world.description.max_ee_step
        max_width = world.description.gripper.max_width
        goal = np.asarray(goal, dtype=np.float64)
        achieved = tracker.state().position
        distance = float(np.linalg.norm(achieved - goal))
        history = history if history is not None else self.history(world)
        floor = float(world.scene.table_center[2]) - float(world.scene.config.cube_size)
        for n in range(max_steps):
            if distance < tol:
                return SkillRun(True, n, distance)
            if achieved[2] < floor:
                return SkillRun(False, n, distance, "it fell off the table", fell=True)
            observation = self.observation(world, tracker, history)
            action = np.asarray(self.act(observation, achieved, goal), dtype=np.float64)
            if action.shape != ((4,) if self.uses_gripper else (3,)) or not np.isfinite(action).all():
                return SkillRun(False, n, distance, f"the {self.source} {self.name} skill gave a bad action {action}")
            action = np.clip(action, -1.0, 1.0)
            history.push(action)  # as the training env records it: the action sent, before the arm's own delays
            width = (action[3] + 1.0) / 2.0 * max_width if self.uses_gripper else 0.0
            if self.max_open_width is not None:
                # Open only as wide as needed: wide-open fingers catch neighbouring cubes.
                width = min(width, self.max_open_width)
            world.robot.send_action(RobotAction(ee_delta=action[:3] * step, gripper_width=width))
            tracker.update()
            if on_step:
                on_step()
            achieved = tracker.state().position
            distance = float(np.linalg.norm(achieved - goal))
        return SkillRun(distance < tol, max_steps, distance)


class SkillLibrary:
    """Executors by skill name, built once (loading a policy takes a moment).

    Args:
        source: ``learned`` (default: the shipped SB3 policies) or ``scripted``.
        checkpoints: optional ``skill -> SB3 zip`` overrides for learned skills.
        stop_tolerance: per-skill stop tolerance, m.
        prior_overrides: per-skill changes to the motion prior's settings at execution time
            (both sources: a learned policy's residual is added to its prior).
        max_open_width: cap on the gripper opening while executing, m.
        runtime: how learned policies run, ``onnx`` (default) or ``sb3``.
    """

    def __init__(
        self,
        source: str = "learned",
        checkpoints: dict[str, str] | None = None,
        stop_tolerance: dict[str, float] | None = None,
        prior_overrides: dict[str, dict] | None = None,
        max_open_width: float | None = None,
        runtime: str = "onnx",
    ) -> None:
        if source not in SKILL_SOURCES:
            raise SkillUnavailable(f"skills must be one of {', '.join(SKILL_SOURCES)}, got {source!r}")
        self.source = source
        self.checkpoints = dict(checkpoints or {})
        self.stop_tolerance = {"pick_place": 0.01, "push": 0.02, **(stop_tolerance or {})}
        self.prior_overrides = {k: dict(v) for k, v in (prior_overrides or {}).items()}
        self.max_open_width = max_open_width
        self.runtime = runtime
        self._executors: dict[str, SkillExecutor] = {}

    def get(self, skill: str) -> SkillExecutor:
        """The executor for ``skill``; raises :class:`SkillUnavailable` (or ``SkillError``) if none."""
        if skill not in self._executors:
            self._executors[skill] = SkillExecutor(
                skill,
                self.source,
                self.checkpoints.get(skill),
                self.stop_tolerance.get(skill, 0.01),
                self.prior_overrides.get(skill),
                self.max_open_width,
                self.runtime,
            )
        return self._executors[skill]

    def prepare(self, skills: list[str]) -> None:
        """Build every executor a plan needs, so a missing policy fails before any motion."""
        for s in skills:
            self.get(s)


def library_from_config(skills_cfg: Any) -> SkillLibrary:
    """A :class:`SkillLibrary` from a ``configs/skills/*`` entry."""
    from omegaconf import OmegaConf

    c = OmegaConf.to_container(skills_cfg, resolve=True) if not isinstance(skills_cfg, dict) else skills_cfg
    return SkillLibrary(
        c.get("source", "learned"),
        c.get("checkpoints"),
        c.get("stop_tolerance"),
        c.get("prior_overrides"),
        c.get("max_open_width"),
        c.get("runtime", "onnx"),
    )
