"""Differential inverse kinematics in NumPy: one damped least-squares step per control period.

End-effector commands are small displacements (at most ``max_ee_step`` per period), so one
linearised step from the measured pose lands within a fraction of a millimetre of the
target, and the next period corrects what is left. It is faster than iterating PyBullet's
IK to convergence and needs only a Jacobian, which a real arm's kinematic model also gives.
"""

from __future__ import annotations

import numpy as np


def orientation_error(desired: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Rotation vector (3,) turning ``current`` into ``desired``; quaternions (x, y, z, w).

    Small-angle form 2 * vec(q_d * q_c^-1), taking the shorter way round.
    """
    x1, y1, z1, w1 = desired.tolist()
    x2, y2, z2, w2 = current.tolist()  # plain floats: scalar maths on NumPy scalars is ~5x slower
    x2, y2, z2 = -x2, -y2, -z2
    w = w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2
    s = -2.0 if w < 0 else 2.0
    return np.array(
        [
            s * (w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2),
            s * (w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2),
            s * (w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2),
        ]
    )


def dls_step(
    jacobian: np.ndarray,
    error: np.ndarray,
    q: np.ndarray,
    q_rest: np.ndarray,
    damping: float,
    nullspace_gain: float,
) -> np.ndarray:
    """Joint change (n,) that reduces a task-space error, with a null-space pull to a rest pose.

    Args:
        jacobian: (6, n) linear (rows 0-2) and angular (rows 3-5) Jacobian, world frame.
        error: (6,) position error (m) then orientation error as a rotation vector (rad).
        q: (n,) current joint positions, rad.
        q_rest: (n,) preferred posture; the redundant DoF drift toward it.
        damping: lambda of damped least squares; keeps steps bounded near singularities.
        nullspace_gain: fraction of the posture error removed per step (in the null space).
    """
    j = jacobian
    posture = q_rest - q
    # J^+ = J^T (J J^T + l^2 I)^-1; one solve for both right-hand sides, e and J (q_rest - q).
    a = j @ j.T
    a.flat[:: a.shape[0] + 1] += damping**2  # add l^2 to the diagonal in place
    rhs = np.empty((a.shape[0], 2))
    rhs[:, 0] = error
    rhs[:, 1] = j @ posture
    x = np.linalg.solve(a, rhs)
    return j.T @ (x[:, 0] - nullspace_gain * x[:, 1]) + nullspace_gain * posture


TOP_DOWN = np.array([1.0, 0.0, 0.0, 0.0])
"""End-effector orientation (x, y, z, w) with the gripper pointing straight down."""


class EndEffectorIK:
    """Turns an end-effector displacement into clipped joint targets (shared by every arm).

    The displacement is clipped to ``max_ee_step`` per axis and the target to the workspace
    box; one damped least-squares step holds the gripper pointing down and pulls redundant
    joints toward the ready pose; the result is clipped to the joint limits.
    """

    def __init__(self, description) -> None:  # noqa: ANN001 (RobotDescription; avoids an import cycle)
        d = description
        self.step = d.max_ee_step
        self.ws_lower = np.asarray(d.workspace.lower, dtype=np.float64)
        self.ws_upper = np.asarray(d.workspace.upper, dtype=np.float64)
        self.lower, self.upper = d.lower_limits, d.upper_limits
        self.rest = np.asarray(d.ready, dtype=np.float64)
        self.damping, self.nullspace_gain = d.ik.damping, d.ik.nullspace_gain

    def targets(
        self, q: np.ndarray, position: np.ndarray, orientation: np.ndarray, jacobian: np.ndarray, ee_delta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(joint targets (n,), the displacement actually commanded (3,)); world frame, m and rad."""
        step = self.step
        # np.minimum/maximum: np.clip costs ~3 us a call, which adds up on this hot path.
        target = np.minimum(
            np.maximum(position + np.minimum(np.maximum(ee_delta, -step), step), self.ws_lower), self.ws_upper
        )
        delta = target - position
        error = np.concatenate([delta, orientation_error(TOP_DOWN, orientation)])
        joints = q + dls_step(jacobian, error, q, self.rest, self.damping, self.nullspace_gain)
        return np.minimum(np.maximum(joints, self.lower), self.upper), delta
