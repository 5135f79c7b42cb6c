"""The skill observation: the one place its flat layout is defined and built.

A skill policy sees ``Dict(observation, achieved_goal, desired_goal)``. This module owns the
``observation`` entry, the flat vector in the world frame (m, m/s, rad/s):

====================  ====  ==================================================
part                  size  what
====================  ====  ==================================================
``ee_position``          3  end-effector position
``ee_velocity``          3  end-effector linear velocity
``gripper_width``        1  distance between the fingers, m
``object_position``      3  the object the skill moves (tasks with an object)
``object_orientation``   4  its quaternion, x y z w
``object_linear``        3  its linear velocity
``object_angular``       3  its angular velocity
``distractor_i``     3 x n  the other objects' positions, n = ``distractors``
``past_actions``     a x k  the last k actions the skill sent, newest first
                            (a = 3 or 4 action components, k = ``action_history``)
``latency``              1  the arm's latency, control periods (``observe_latency``)
====================  ====  ==================================================

The past actions make an actuation delay observable: with a delay of d periods the next
state depends on the d actions still in flight, which a policy without them cannot know.
Which of them are still in flight depends on the arm's latency: from a command leaving to
its motion showing in the state the skill reads (actuation delay plus the state's age). The
arm says what it is (:attr:`robots.robot.Robot.latency`: configured and measured on a real
cell, the draw on a simulated one); in training it is the episode's draw. Only
``observation`` grows; the goals, and so HER's relabelling, are untouched.

The training envs (:class:`sims.env.RobotTaskEnv`), the executors that run skills in
``embodied run`` / ``deploy``, and the exported ONNX graph all take this vector from
:meth:`ObservationLayout.build`, so what a deployed skill sees cannot drift from what it
was trained on; the env and the executors keep the past actions with the same
:class:`ActionHistory`. Fewer objects than ``distractors`` (a scene with two cubes) are filled in
as :data:`PARKED`, a position far off the table; of more, the first are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from robots.robot import RobotObservation

ROBOT_PARTS: tuple[tuple[str, int], ...] = (("ee_position", 3), ("ee_velocity", 3), ("gripper_width", 1))
OBJECT_PARTS: tuple[tuple[str, int], ...] = (
    ("object_position", 3),
    ("object_orientation", 4),
    ("object_linear", 3),
    ("object_angular", 3),
)

PARKED = np.array([2.0, 2.0, 0.02])
"""Where a missing distractor is said to be: 2 m out on both axes, resting height (world frame, m)."""


class ObjectState(NamedTuple):
    """One object's pose and twist in the world frame."""

    position: np.ndarray
    """(3,) m."""
    orientation: np.ndarray
    """(4,) quaternion x y z w."""
    linear: np.ndarray
    """(3,) m/s."""
    angular: np.ndarray
    """(3,) rad/s."""

    @classmethod
    def at_rest(cls, position: Sequence[float], orientation: Sequence[float] = (0.0, 0.0, 0.0, 1.0)) -> ObjectState:
        """An object seen standing still (e.g. from one camera frame)."""
        return cls(np.asarray(position, float), np.asarray(orientation, float), np.zeros(3), np.zeros(3))


def object_state(client: Any, name: str) -> ObjectState:
    """An object's state as the simulator has it (``client``: :class:`sims.client.Client`)."""
    position, orientation = client.base_pose(name)
    linear, angular = client.base_velocity(name)
    return ObjectState(np.asarray(position), np.asarray(orientation), np.asarray(linear), np.asarray(angular))


@dataclass(frozen=True)
class ObservationLayout:
    """The layout of one skill's flat observation.

    Args:
        uses_object: the skill moves an object (push, pick_place); reach does not.
        distractors: how many other objects' positions follow.
        action_dim: components of one action (3: displacement; 4: and the gripper).
        action_history: how many past actions follow (0: none).
        observe_latency: the arm's latency (control periods) comes last.
    """

    uses_object: bool
    distractors: int
    action_dim: int = 3
    action_history: int = 0
    observe_latency: bool = False

    def __post_init__(self) -> None:
        if self.distractors < 0:
            raise ValueError(f"distractors must be >= 0, got {self.distractors}")
        if self.action_dim not in (3, 4):
            raise ValueError(f"action_dim must be 3 or 4, got {self.action_dim}")
        if self.action_history < 0:
            raise ValueError(f"action_history must be >= 0, got {self.action_history}")

    @property
    def base_size(self) -> int:
        """Length of the vector without the past actions and the latency."""
        return self.size - self.action_dim * self.action_history - int(self.observe_latency)

    def history_of(self, size: int) -> int | None:
        """How many past actions an observation of ``size`` values carries with this layout's
        other parts (None when no whole number fits): to explain a checkpoint's mismatch."""
        extra = size - self.base_size - int(self.observe_latency)
        return extra // self.action_dim if extra >= 0 and extra % self.action_dim == 0 else None

    def latency_of(self, size: int) -> bool | None:
        """Whether an observation of ``size`` values carries the latency when that is all it
        differs in from this layout (None otherwise): to explain a checkpoint's mismatch."""
        return not self.observe_latency if size == self.size + (-1 if self.observe_latency else 1) else None

    def mismatch(self, size: int) -> str | None:
        """Why a policy taking observations of ``size`` values cannot run with this layout
        (None when it can): names the past actions or the latency when that is the difference."""
        if size == self.size:
            return None
        had_latency = self.latency_of(size)
        if had_latency is not None:
            had = had_latency

            def say(yes: bool) -> str:
                return "the arm's latency" if yes else "no latency"

            return (
                f"the policy was trained with {say(had)} in its observation ({size} values), but the skill's "
                f"config (task.observe_latency={str(self.observe_latency).lower()}) gives {say(not had)} "
                f"({self.size} values); set task.observe_latency={str(had).lower()} or use a policy trained "
                f"with {say(not had)}"
            )
        had = self.history_of(size)
        if had is not None and had != self.action_history:

            def say(k: int) -> str:
                return f"its last {k} actions" if k else "no past actions"

            return (
                f"the policy was trained with {say(had)} in its observation ({size} values), but the skill's "
                f"config (task.action_history={self.action_history}) gives {say(self.action_history)} "
                f"({self.size} values); set task.action_history={had} or use a policy trained with "
                f"{self.action_history}"
            )
        return (
            f"the policy takes observations of {size} values, but the skill's observation has {self.size}: "
            "it was trained for another observation layout (objects or distractors)"
        )

    @property
    def parts(self) -> tuple[tuple[str, int], ...]:
        """(name, size) of every part, in order."""
        parts = ROBOT_PARTS + (OBJECT_PARTS if self.uses_object else ())
        parts += tuple((f"distractor_{i}", 3) for i in range(self.distractors))
        parts += (("past_actions", self.action_dim * self.action_history),) if self.action_history else ()
        return parts + ((("latency", 1),) if self.observe_latency else ())

    @property
    def size(self) -> int:
        """Length of the flat vector."""
        return sum(n for _, n in self.parts)

    def index(self, part: str) -> int:
        """Where ``part`` starts in the flat vector."""
        at = 0
        for name, n in self.parts:
            if name == part:
                return at
            at += n
        raise KeyError(f"the observation has no part {part!r}; parts: {[p for p, _ in self.parts]}")

    def prior_layout(self) -> dict[str, int | None]:
        """Where the motion priors read the end effector, the gripper and the object."""
        return {
            "ee": self.index("ee_position"),
            "width": self.index("gripper_width"),
            "obj": self.index("object_position") if self.uses_object else None,
            "history": self.index("past_actions") if self.action_history else None,
            "history_len": self.action_history,
            "action_dim": self.action_dim,
            "latency": self.index("latency") if self.observe_latency else None,
        }

    def build(
        self,
        robot: RobotObservation,
        obj: ObjectState | None,
        others: Sequence[Sequence[float]],
        history: ActionHistory | None = None,
        latency: float = 0.0,
    ) -> np.ndarray:
        """The flat observation, float32, shape ``(size,)``.

        Args:
            robot: the arm's state (end effector in the world frame).
            obj: the moved object's state; None for skills without an object.
            others: positions (3,) of the other objects; the first ``distractors`` are used.
            history: the actions sent so far (needed when ``action_history`` > 0).
            latency: the arm's latency in control periods, >= 0 (used when ``observe_latency``).
        """
        parts = [robot.ee_position, robot.ee_velocity, [robot.gripper_width]]
        if self.uses_object:
            if obj is None:
                raise ValueError("this skill's observation needs the state of the object it moves")
            parts += [obj.position, obj.orientation, obj.linear, obj.angular]
        shown = [np.asarray(p, float) for p in others][: self.distractors]
        parts += shown + [PARKED] * (self.distractors - len(shown))
        if self.action_history:
            if history is None or history.length != self.action_history or history.dim != self.action_dim:
                raise ValueError(
                    f"this skill's observation needs its last {self.action_history} actions of {self.action_dim} values"
                )
            parts.append(history.vector())
        if self.observe_latency:
            if not (np.isfinite(latency) and latency >= 0):
                raise ValueError(f"the arm's latency must be a finite number of periods >= 0, got {latency}")
            parts.append([latency])
        return np.concatenate([np.asarray(p, float).ravel() for p in parts]).astype(np.float32)


class ActionHistory:
    """The last ``length`` actions a skill sent, newest first (the ``past_actions`` part).

    The env and the executors both keep one, and push exactly the action they hand to the
    arm (clipped to [-1, 1], before any actuation noise or delay), so the part means the same
    in training and at run time.

    Args:
        length: how many actions are kept (the layout's ``action_history``).
        dim: components of one action (3 or 4).
    """

    def __init__(self, length: int, dim: int) -> None:
        self.length, self.dim = length, dim
        self._actions = np.zeros((length, dim))

    def reset(self, hold: Sequence[float]) -> None:
        """Start an episode as if ``hold`` ((dim,), "stay here") had been sent every period."""
        self._actions[:] = np.asarray(hold, dtype=np.float64)

    def push(self, action: Sequence[float]) -> None:
        """Record the action sent this period, (dim,) in [-1, 1] units."""
        if self.length:
            self._actions[1:] = self._actions[:-1].copy()
            self._actions[0] = np.asarray(action, dtype=np.float64)

    def vector(self) -> np.ndarray:
        """(length * dim,), newest action first."""
        return self._actions.ravel().copy()


def hold_action(dim: int, gripper_width: float, max_width: float) -> np.ndarray:
    """The action that keeps the arm still with the gripper at ``gripper_width`` (m): (dim,)."""
    hold = np.zeros(dim)
    if dim == 4:
        hold[3] = 2.0 * min(max(gripper_width / max_width, 0.0), 1.0) - 1.0
    return hold
