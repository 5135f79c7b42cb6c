"""Forward kinematics and the Jacobian from a description's DH parameters, in NumPy.

Hardware code cannot ask a simulator where the end effector is; this computes it from the
joint positions alone, so :class:`robots.ros2.arm.Ros2Arm` can accept the same end-effector
commands as the simulated arm.
"""

from __future__ import annotations

import numpy as np

from robots.description import RobotDescription


def _link(a: float, d: float, alpha: float, theta: float, modified: bool) -> np.ndarray:
    ca, sa, ct, st = np.cos(alpha), np.sin(alpha), np.cos(theta), np.sin(theta)
    if modified:  # Craig: rotate/translate along x_{i-1}, then about/along z_i
        return np.array(
            [[ct, -st, 0, a], [st * ca, ct * ca, -sa, -sa * d], [st * sa, ct * sa, ca, ca * d], [0, 0, 0, 1]]
        )
    return np.array([[ct, -st * ca, st * sa, a * ct], [st, ct * ca, -ct * sa, a * st], [0, sa, ca, d], [0, 0, 0, 1]])


def quat_from_matrix(r: np.ndarray) -> np.ndarray:
    """Quaternion (x, y, z, w) of a rotation matrix."""
    w = np.sqrt(max(0.0, 1.0 + r[0, 0] + r[1, 1] + r[2, 2])) / 2
    x = np.sqrt(max(0.0, 1.0 + r[0, 0] - r[1, 1] - r[2, 2])) / 2
    y = np.sqrt(max(0.0, 1.0 - r[0, 0] + r[1, 1] - r[2, 2])) / 2
    z = np.sqrt(max(0.0, 1.0 - r[0, 0] - r[1, 1] + r[2, 2])) / 2
    x = np.copysign(x, r[2, 1] - r[1, 2])
    y = np.copysign(y, r[0, 2] - r[2, 0])
    z = np.copysign(z, r[1, 0] - r[0, 1])
    q = np.array([x, y, z, w])
    return q / np.linalg.norm(q)


class ArmModel:
    """FK and geometric Jacobian of the arm in ``description`` (base at the world origin).

    Raises:
        ValueError: when the description has no ``kinematics`` section.
    """

    def __init__(self, description: RobotDescription) -> None:
        k = description.kinematics
        if k is None:
            raise ValueError(
                f"robot {description.name!r} has no kinematics in its description: end-effector commands need one "
                "(joint commands work without)"
            )
        if len(k.dh) != description.n_joints:
            raise ValueError(f"kinematics.dh has {len(k.dh)} rows but the arm has {description.n_joints} joints")
        self.dh = [tuple(map(float, row[:3])) for row in k.dh]
        self.offsets = np.array([float(row[3]) if len(row) > 3 else 0.0 for row in k.dh])
        self.modified = k.convention == "modified"
        self.tool = float(k.tool)
        self.tool_yaw = float(k.tool_yaw)

    def frames(self, q: np.ndarray) -> list[np.ndarray]:
        """World transforms (4, 4) of each joint frame, then of the end-effector point."""
        t = np.eye(4)
        out = []
        for (a, d, alpha), theta in zip(self.dh, np.asarray(q, dtype=np.float64) + self.offsets, strict=True):
            t = t @ _link(a, d, alpha, theta, self.modified)
            out.append(t)
        tool = _link(0.0, self.tool, 0.0, self.tool_yaw, True)
        out.append(t @ tool)
        return out

    def forward(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position (3,), quaternion (x, y, z, w)) of the end effector, world frame."""
        t = self.frames(q)[-1]
        return t[:3, 3].copy(), quat_from_matrix(t[:3, :3])

    def jacobian(self, q: np.ndarray) -> np.ndarray:
        """(6, n) geometric Jacobian: linear rows 0-2, angular rows 3-5, world frame."""
        frames = self.frames(q)
        p = frames[-1][:3, 3]
        n = len(self.dh)
        jac = np.zeros((6, n))
        for i in range(n):
            # Modified DH: joint i turns about z of frame i; standard DH: about z of frame i-1.
            t = frames[i] if self.modified else (np.eye(4) if i == 0 else frames[i - 1])
            z, o = t[:3, 2], t[:3, 3]
            jac[:3, i] = np.cross(z, p - o)
            jac[3:, i] = z
        return jac
