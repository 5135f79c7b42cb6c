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
====================  ====  ==================================================

The training envs (:class:`sims.env.RobotTaskEnv`), the executors that run skills in
``embodied run`` / ``deploy``, and the exported ONNX graph all take this vector from
:meth:`ObservationLayout.build`, so what a deployed skill sees cannot drift from what it
was trained on. Fewer objects than ``distractors`` (a scene with two cubes) are filled in
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
    """

    uses_object: bool
    distractors: int

    def __post_init__(self) -> None:
        if self.distractors < 0:
            raise ValueError(f"distractors must be >= 0, got {self.distractors}")

    @property
    def parts(self) -> tuple[tuple[str, int], ...]:
        """(name, size) of every part, in order."""
        parts = ROBOT_PARTS + (OBJECT_PARTS if self.uses_object else ())
        return parts + tuple((f"distractor_{i}", 3) for i in range(self.distractors))

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
        }

    def build(self, robot: RobotObservation, obj: ObjectState | None, others: Sequence[Sequence[float]]) -> np.ndarray:
        """The flat observation, float32, shape ``(size,)``.

        Args:
            robot: the arm's state (end effector in the world frame).
            obj: the moved object's state; None for skills without an object.
            others: positions (3,) of the other objects; the first ``distractors`` are used.
        """
        parts = [robot.ee_position, robot.ee_velocity, [robot.gripper_width]]
        if self.uses_object:
            if obj is None:
                raise ValueError("this skill's observation needs the state of the object it moves")
            parts += [obj.position, obj.orientation, obj.linear, obj.angular]
        shown = [np.asarray(p, float) for p in others][: self.distractors]
        parts += shown + [PARKED] * (self.distractors - len(shown))
        return np.concatenate([np.asarray(p, float).ravel() for p in parts]).astype(np.float32)
