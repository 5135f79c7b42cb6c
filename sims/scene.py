"""The ``tabletop`` scene: a table in front of the robot, named cubes, and named regions.

World frame: robot base at the origin, x forward (away from the robot), y to the robot's
left, z up; metres. The table top is the plane z = 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sims.client import PyBulletClient
from sims.config import SceneConfig

REGION_NAMES = ("left", "right", "far", "near", "center")
"""Named regions of the table top. "middle" is accepted as a synonym of "center"."""

_TABLE_RGBA = (0.62, 0.5, 0.38, 1.0)
_FLOOR_RGBA = (0.85, 0.85, 0.85, 1.0)
_PEDESTAL_RGBA = (0.25, 0.25, 0.28, 1.0)
_FLOOR_FRICTION = 0.8


def region_bounds(
    table_center: Sequence[float], table_size: Sequence[float], region: str
) -> tuple[np.ndarray, np.ndarray]:
    """(lower (2,), upper (2,)) x-y bounds of a named region of a table top.

    "left"/"right" are the outer thirds along y (robot's left is +y), "far"/"near" the
    outer thirds along x (far is away from the robot), "center"/"middle" the middle
    third in both x and y.
    """
    center, size = np.asarray(table_center, dtype=np.float64)[:2], np.asarray(table_size, dtype=np.float64)
    lo, hi = center - size / 2, center + size / 2
    third = size / 3
    if region == "left":
        lo[1] = hi[1] - third[1]
    elif region == "right":
        hi[1] = lo[1] + third[1]
    elif region == "far":
        lo[0] = hi[0] - third[0]
    elif region == "near":
        hi[0] = lo[0] + third[0]
    elif region in ("center", "middle"):
        lo, hi = lo + third, hi - third
    else:
        raise ValueError(f"unknown region {region!r}; regions: {', '.join(REGION_NAMES)}, middle")
    return lo, hi


class TabletopScene:
    """Builds the table and cubes in a :class:`PyBulletClient` and places cubes by seed.

    Args:
        client: the physics client to build into.
        config: table geometry, cube names/colours, placement margins.
        objects: names of the cubes to create (default: all cubes of the config). Skill
            environments may use fewer cubes to train faster.
    """

    def __init__(self, client: PyBulletClient, config: SceneConfig | None = None, objects: Sequence[str] | None = None):
        self.client = client
        self.config = config or SceneConfig()
        by_name = {c.name: c for c in self.config.cubes}
        names = list(by_name) if objects is None else list(objects)
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValueError(f"unknown object(s) {unknown}; the scene has {sorted(by_name)}")
        self.object_names: list[str] = names
        c = self.config
        half = c.cube_size / 2
        self.table_center = np.array([c.table_center[0], c.table_center[1], 0.0])
        """(3,) centre of the table top, world frame, m."""
        self.table_size = np.array(c.table_size, dtype=np.float64)
        """(2,) extent of the table top along x and y, m."""
        self.table_lower = self.table_center[:2] - self.table_size / 2
        self.table_upper = self.table_center[:2] + self.table_size / 2
        self.rest_height = half
        """z of a cube's centre when it rests on the table, m."""

        self.table_name = "table"
        """Body name of the table."""
        self.table_friction = c.cube_friction
        """Nominal lateral friction of the table top."""
        h = c.table_height
        client.create_box("floor", (2.0, 2.0, 0.01), 0.0, (0.5, 0.0, -h - 0.01), _FLOOR_RGBA, _FLOOR_FRICTION)
        client.create_box(
            self.table_name,
            (self.table_size[0] / 2, self.table_size[1] / 2, h / 2),
            0.0,
            (self.table_center[0], self.table_center[1], -h / 2),
            _TABLE_RGBA,
            self.table_friction,
        )
        # The robot's stand; visual only (the arm has a fixed base), so it costs no physics.
        client.create_box("pedestal", (0.1, 0.1, h / 2), 0.0, (0.0, 0.0, -h / 2), _PEDESTAL_RGBA, collision=False)
        for name in names:
            cube = by_name[name]
            client.create_box(name, (half, half, half), c.cube_mass, (0.0, 0.0, half), cube.rgba, c.cube_friction)

    # -- regions ---------------------------------------------------------------------
    def region_bounds(self, region: str) -> tuple[np.ndarray, np.ndarray]:
        """(lower (2,), upper (2,)) x-y bounds of a named region of the table top (see :func:`region_bounds`)."""
        return region_bounds(self.table_center, self.table_size, region)

    def in_region(self, position: Sequence[float], region: str) -> bool:
        """True if the x-y of ``position`` lies inside ``region``."""
        lo, hi = self.region_bounds(region)
        xy = np.asarray(position, dtype=np.float64)[:2]
        return bool(np.all(xy >= lo) and np.all(xy <= hi))

    def regions_of(self, position: Sequence[float]) -> list[str]:
        """Names of all regions containing the x-y of ``position`` (may be empty)."""
        return [r for r in REGION_NAMES if self.in_region(position, r)]

    def on_table(self, position: Sequence[float]) -> bool:
        """True if the x-y of ``position`` is over the table top."""
        xy = np.asarray(position, dtype=np.float64)[:2]
        return bool(np.all(xy >= self.table_lower) and np.all(xy <= self.table_upper))

    # -- placement -------------------------------------------------------------------
    def sample_positions(
        self, rng: np.random.Generator, n: int, avoid: Sequence[Sequence[float]] = (), max_tries: int = 1000
    ) -> np.ndarray:
        """``n`` resting positions (n, 3) on the table, pairwise ``min_separation`` apart.

        Positions also keep ``min_separation`` from each x-y in ``avoid``. Rejection
        sampling with the injected generator, so the result depends only on its state.
        """
        c = self.config
        lo = self.table_lower + c.edge_margin
        hi = self.table_upper - c.edge_margin
        placed: list[np.ndarray] = [np.asarray(a, dtype=np.float64)[:2] for a in avoid]
        out = np.empty((n, 3))
        for i in range(n):
            for _ in range(max_tries):
                xy = rng.uniform(lo, hi)
                if all(np.linalg.norm(xy - p) >= c.min_separation for p in placed):
                    break
            else:
                raise RuntimeError(f"could not place {n} objects {c.min_separation} m apart on the table")
            placed.append(xy)
            out[i] = (xy[0], xy[1], self.rest_height)
        return out

    def reset(self, rng: np.random.Generator) -> None:
        """Place every cube at a random, non-overlapping resting position, upright and still."""
        for name, pos in zip(self.object_names, self.sample_positions(rng, len(self.object_names)), strict=True):
            self.client.set_base_pose(name, pos)

    # -- state -----------------------------------------------------------------------
    def object_position(self, name: str) -> np.ndarray:
        """(3,) position of an object's centre, world frame, m."""
        return self.client.base_pose(name)[0]

    def object_positions(self) -> dict[str, np.ndarray]:
        """Every object's (3,) position, world frame, m."""
        return {n: self.client.base_pose(n)[0] for n in self.object_names}

    def describe(self) -> dict:
        """JSON-ready summary: object positions and the table (the report contract)."""
        return {
            "objects": {n: {"position": [round(float(v), 5) for v in p]} for n, p in self.object_positions().items()},
            "table": {
                "center": [float(v) for v in self.table_center],
                "size": [float(v) for v in self.table_size],
            },
        }
