"""What a simulated arm needs from a physics engine, as a structural interface.

``robots`` must not import the simulator (hardware code never needs PyBullet, and arrows
point from ``sims`` to ``robots``). So the simulated arm talks to this protocol, and
``sims.client.PyBulletClient`` implements it. Bodies are addressed by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class ArmPhysics(Protocol):
    """Name-keyed physics operations used by :class:`robots.sim_arm.SimulatedArm`."""

    @property
    def time(self) -> float:
        """Simulated time since the world was created, s."""

    @property
    def revision(self) -> int:
        """Counter that changes whenever the world state may have changed (a step, a
        restored snapshot, a teleport); lets callers cache state reads."""

    def load_urdf(
        self, name: str, path: str, position: Sequence[float], orientation: Sequence[float], fixed_base: bool
    ) -> None:
        """Load a URDF as body ``name``; orientation is a quaternion (x, y, z, w)."""

    def remove_body(self, name: str) -> None:
        """Remove body ``name`` from the world."""

    def joint_indices(self, body: str, joint_names: Sequence[str]) -> list[int]:
        """Indices of the named joints of ``body``; raises KeyError naming a missing one."""

    def link_index(self, body: str, link_name: str) -> int:
        """Index of the named link of ``body``."""

    def couple_joints(self, body: str, joint_a: int, joint_b: int, ratio: float, max_force: float) -> None:
        """Constrain ``q_b = ratio * q_a``-style gear coupling between two joints."""

    def reset_joints(self, body: str, joints: Sequence[int], positions: Sequence[float]) -> None:
        """Teleport joints to positions with zero velocity (no dynamics)."""

    def set_joint_targets(
        self, body: str, joints: Sequence[int], positions: Sequence[float], forces: Sequence[float]
    ) -> None:
        """Position-control targets, each joint limited to its force/torque."""

    def joint_states(self, body: str, joints: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(positions, velocities) of the joints, each shape (len(joints),)."""

    def link_state(self, body: str, link: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position (3,), quaternion xyzw (4,), linear velocity (3,)) of a link in the world frame."""

    def jacobian(self, body: str, link: int, joints: Sequence[int], positions: Sequence[float]) -> np.ndarray:
        """(6, len(joints)) Jacobian of ``link``'s origin with ``joints`` at ``positions``
        (other movable joints at their current state): linear rows then angular rows,
        world frame."""

    def advance(self, seconds: float) -> None:
        """Step the physics forward by ``seconds`` of simulated time."""
