"""The table top as a plane fitted to depth points (RANSAC, then least squares on the inliers)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class NoTable(ValueError):
    """The camera does not see enough of the table to fit its plane."""


@dataclass(frozen=True)
class Plane:
    """``normal . p + offset = 0``, ``normal`` a unit (3,) vector pointing up (world +z side).

    Attributes:
        normal: (3,) unit normal, world frame.
        offset: m.
        noise: robust standard deviation of the inliers' distances, m (the depth noise there).
    """

    normal: np.ndarray
    offset: float
    noise: float

    def height(self, points: np.ndarray) -> np.ndarray:
        """Signed distance of (..., 3) points above the plane, m."""
        return points @ self.normal + self.offset


def fit_plane(points: np.ndarray, tolerance: float, iterations: int, seed: int = 0) -> Plane:
    """The dominant plane of (N, 3) points (the table top: objects cover a small part of it).

    Raises:
        NoTable: fewer than 30 points, or no plane with a third of them within ``tolerance``.
    """
    n = len(points)
    if n < 30:
        raise NoTable(f"the camera sees only {n} points of the table; is it pointed at the table?")
    rng = np.random.default_rng(seed)
    sample = points[rng.choice(n, size=min(n, 4000), replace=False)]
    best, best_count = None, -1
    for _ in range(iterations):
        a, b, c = sample[rng.choice(len(sample), 3, replace=False)]
        normal = np.cross(b - a, c - a)
        norm = np.linalg.norm(normal)
        if norm < 1e-9:
            continue
        normal /= norm
        count = int((np.abs((sample - a) @ normal) < tolerance).sum())
        if count > best_count:
            best, best_count = (normal, a), count
    if best is None or best_count < len(sample) / 3:
        raise NoTable("no plane covers a third of what the camera sees; is the table in view?")
    normal, a = best
    inliers = points[np.abs((points - a) @ normal) < tolerance]
    centre = inliers.mean(axis=0)
    # Least squares: the normal is the direction of least spread of the inliers.
    normal = np.linalg.svd(inliers - centre, full_matrices=False)[2][-1]
    if normal[2] < 0:
        normal = -normal
    offset = -float(normal @ centre)
    residual = inliers @ normal + offset
    noise = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    return Plane(normal, offset, noise)
