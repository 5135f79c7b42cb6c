"""Where a partly hidden cube is: the cube that explains what the camera sees of it and
contradicts nothing the camera sees beyond it.

A camera sees only part of a cube that the arm hangs over or that another cube stands on;
the centroid of the visible part is not the cube's centre (off by 1-3 cm for a 4 cm cube).
But the hidden part is not unknown: it must lie where something nearer the camera hides it.
Every candidate pose (centre and yaw on the table plane, with the cube's edge and top
height) is scored by

* the object's own points (top face and sides) that fall outside its footprint, and
* the points of its surface that the camera would have seen but saw past (the camera
  measured something farther away along that ray: the table, say),

and the estimate is the mean centre of the candidates that explain the view about as well as
the best one (where the view leaves the centre undetermined, the middle of what it allows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodied.perception.table_plane import Plane
from sims.camera import CameraFrame

__all__ = ["CubeFit", "fit_hidden_cube"]


@dataclass(frozen=True)
class CubeFit:
    """The fitted centre of a partly hidden cube.

    Attributes:
        centre: (3,) world frame, m.
        cost: the best candidate's share of unexplained points plus contradicted samples.
    """

    centre: np.ndarray
    cost: float


def _plane_basis(plane: Plane) -> np.ndarray:
    """(3, 3) rows e1, e2, n: two unit vectors in the plane and its normal."""
    n = plane.normal / np.linalg.norm(plane.normal)
    helper = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = helper - (helper @ n) * n
    e1 /= np.linalg.norm(e1)
    return np.stack([e1, np.cross(n, e1), n])


def _surface_samples(edge: float, top: float, inset: float, per_edge: int) -> np.ndarray:
    """(N, 3) points on a cube's top face and four sides in its own frame (centre of the
    footprint at the origin, z up from the plane), ``inset`` in from every edge so that each
    falls well inside the pixel that shows it; sides sampled from ``top - edge`` up."""
    half = edge / 2 - inset
    grid = np.linspace(-half, half, per_edge)
    gx, gy = np.meshgrid(grid, grid)
    top_face = np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, top)], axis=-1)
    heights = np.linspace(max(top - edge, 0.0) + inset, top - inset, max(per_edge // 2, 2))
    along, up = np.meshgrid(grid, heights)
    along, up = along.ravel(), up.ravel()
    side = edge / 2 - inset  # just inside each side, so a face seen edge-on is not missed
    sides = [np.stack([np.full(along.size, sx * side), along, up], axis=-1) for sx in (-1.0, 1.0)] + [
        np.stack([along, np.full(along.size, sy * side), up], axis=-1) for sy in (-1.0, 1.0)
    ]
    return np.concatenate([top_face, *sides])


def fit_hidden_cube(
    frame: CameraFrame,
    plane: Plane,
    object_points: np.ndarray,
    edge: float,
    top: float,
    *,
    step: float,
    angles: int,
    depth_tolerance: float,
    point_margin: float,
    slack: float,
) -> CubeFit:
    """Fit a cube of edge ``edge`` whose top face is ``top`` above ``plane`` to a partial view.

    Args:
        frame: the RGB-D view (depth, intrinsics, camera pose).
        plane: the table plane.
        object_points: (N, 3) world points of the object's pixels, m.
        edge, top: the cube's edge and its top face's height above the plane, m.
        step: grid step of candidate centres, m.
        angles: candidate yaws, evenly over a quarter turn (a square repeats every 90 degrees).
        depth_tolerance: a surface sample is contradicted when the camera measured this much
            farther along its ray, m.
        point_margin: an object point may lie this far outside the footprint (noise), m.
        slack: candidates within this cost of the best are acceptable.
    """
    basis = _plane_basis(plane)
    origin = -plane.offset * basis[2]  # the plane's point nearest the world origin
    local = (object_points - origin) @ basis.T  # (N, 3) plane frame
    if len(local) > _MAX_POINTS:  # evenly thinned: the share outside is what counts
        local = local[np.linspace(0, len(local) - 1, _MAX_POINTS).astype(np.int64)]
    # Pixel size at the object's distance, to keep samples inside the pixels that show them.
    distance = float(np.median((object_points - frame.camera_to_world[:3, 3]) @ frame.camera_to_world[:3, 2]))
    inset = 0.6 * distance / float(frame.intrinsics[0, 0])
    view = _View(frame, basis, origin, local, depth_tolerance, point_margin)
    cube = _Cube(edge, top, _surface_samples(edge, top, inset, per_edge=6))
    yaws = np.arange(angles) * (np.pi / 2 / angles)

    def costs(centres: np.ndarray) -> np.ndarray:
        """(len(yaws), P) cost of each yaw at each (P, 2) centre in the plane frame."""
        return np.stack([view.cost(cube, centres, yaw) for yaw in yaws])

    # Coarse grid over where the centre can be, then the given step around the good part.
    start = local[:, :2].mean(axis=0)
    coarse_step = 2.0 * step
    coarse = _grid(start - 0.75 * edge, start + 0.75 * edge, coarse_step)
    coarse_cost = costs(coarse).min(axis=0)
    near = coarse[coarse_cost <= coarse_cost.min() + slack + 0.05]
    fine = _grid(near.min(axis=0) - coarse_step, near.max(axis=0) + coarse_step, step)
    cost = costs(fine)
    best = float(cost.min())
    good = np.repeat(fine[None], len(yaws), axis=0)[cost <= best + slack]
    centre2 = good.mean(axis=0)
    centre_local = np.array([centre2[0], centre2[1], top - edge / 2])
    return CubeFit(origin + centre_local @ basis, best)


_MAX_POINTS = 48


def _grid(low: np.ndarray, high: np.ndarray, step: float) -> np.ndarray:
    """(P, 2) points every ``step`` from ``low`` to ``high`` (inclusive)."""
    xs = np.arange(low[0], high[0] + step / 2, step)
    ys = np.arange(low[1], high[1] + step / 2, step)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=-1)


@dataclass(frozen=True)
class _Cube:
    edge: float  # m
    top: float  # its top face's height above the plane, m
    samples: np.ndarray  # (S, 3) surface points in its own frame


class _View:
    """One frame's depth and an object's points, in the table plane's frame, for scoring candidates."""

    def __init__(
        self,
        frame: CameraFrame,
        basis: np.ndarray,
        origin: np.ndarray,
        local: np.ndarray,
        depth_tolerance: float,
        point_margin: float,
    ) -> None:
        world_to_camera = np.linalg.inv(frame.camera_to_world)
        # Plane frame -> camera frame: p_cam = plane_rotation @ p_local + plane_origin.
        self.plane_rotation = world_to_camera[:3, :3] @ basis.T
        self.plane_origin = world_to_camera[:3, :3] @ origin + world_to_camera[:3, 3]
        self.intrinsics, self.depth = frame.intrinsics, frame.depth
        self.local, self.depth_tolerance, self.point_margin = local, depth_tolerance, point_margin

    def cost(self, cube: _Cube, centres: np.ndarray, yaw: float) -> np.ndarray:
        """(P,) share of the object's points outside the cube at each (P, 2) centre turned by
        ``yaw``, plus the share of its surface samples the camera saw past."""
        c, s = np.cos(yaw), np.sin(yaw)
        turn = np.array([[c, -s], [s, c]])
        margin = self.point_margin
        rel = (self.local[None, :, :2] - centres[:, None, :]) @ turn  # (P, N, 2) in each candidate's frame
        # Above or below the cube (a side seen lower than its bottom) is outside whatever the centre.
        z = self.local[:, 2]
        beyond = (z < cube.top - cube.edge - margin) | (z > cube.top + margin)
        outside = ((np.abs(rel).max(axis=-1) > cube.edge / 2 + margin) | beyond[None, :]).mean(axis=1)
        turned = cube.samples.copy()
        turned[:, :2] = cube.samples[:, :2] @ turn.T
        base = np.concatenate([centres, np.zeros((len(centres), 1))], axis=1) @ self.plane_rotation.T
        # (P, S, 3) samples in the camera frame: a candidate's centre plus the turned offsets.
        cam = (base + self.plane_origin)[:, None, :] + (turned @ self.plane_rotation.T)[None, :, :]
        k, depth = self.intrinsics, self.depth
        h, w = depth.shape
        zc = cam[..., 2]
        u = np.rint(k[0, 0] * cam[..., 0] / zc + k[0, 2]).astype(np.int64)
        v = np.rint(k[1, 1] * cam[..., 1] / zc + k[1, 2]).astype(np.int64)
        inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
        seen = np.where(inside, depth[np.clip(v, 0, h - 1), np.clip(u, 0, w - 1)], np.nan)
        known = np.isfinite(seen)
        past = known & (seen > zc + self.depth_tolerance)
        return outside + past.sum(axis=1) / np.maximum(known.sum(axis=1), 1)
