"""Scene perception: from one camera frame (RGB, depth, segmentation) to the objects the planner sees.

Every object's colour is read from its pixels, its shape and size from its back-projected
points, and its position from depth and the camera calibration; nothing is read from the
simulator's state. The segmentation mask only says which pixels belong together (instance
segmentation, as a real segmenter would give); the known fixtures (table, floor, the
robot) are the background. An object no pixel shows is not reported.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sims.camera import CameraFrame

FIXTURES = frozenset({"table", "floor", "pedestal"})
"""Body names that are the workspace itself, never objects to manipulate."""

MIN_PIXELS = 6
"""Fewer visible pixels than this is treated as noise, not an object."""

TOP_FACE_TOLERANCE = 0.004
"""Points within this height (m) of an object's highest point form its top face."""

_HUE_NAMES = (  # (upper hue bound in degrees, name), checked in order
    (15.0, "red"),
    (40.0, "orange"),
    (70.0, "yellow"),
    (165.0, "green"),
    (195.0, "cyan"),
    (255.0, "blue"),
    (290.0, "purple"),
    (340.0, "pink"),
    (360.0, "red"),
)


def colour_name(rgb: Sequence[float]) -> str:
    """Name of an RGB colour (channels 0-255): a hue name, or white/gray/black when unsaturated."""
    r, g, b = (float(c) / 255.0 for c in rgb)
    hue, saturation, value = colorsys.rgb_to_hsv(r, g, b)
    if value < 0.15:
        return "black"
    if saturation < 0.25:
        return "white" if value > 0.75 else "gray"
    degrees = hue * 360.0
    return next(name for bound, name in _HUE_NAMES if degrees <= bound)


@dataclass(frozen=True)
class PerceivedObject:
    """One object seen by the camera.

    Attributes:
        name: ``<colour>_<shape>`` (``red_cube``); a suffix ``_2``, ``_3`` separates look-alikes.
        colour: colour name read from the object's top-face pixels.
        shape: ``cube`` when the visible top face is square and as tall as it is wide, else ``box``.
        position: (3,) estimated centre, world frame, m.
        size: estimated edge length, m.
        pixels: number of pixels showing the object.
        instance: the segmentation instance id it was read from (a tracker's handle), -1 if none.
    """

    name: str
    colour: str
    shape: str
    position: np.ndarray
    size: float
    pixels: int
    instance: int = -1

    def describe(self) -> dict:
        return {
            "name": self.name,
            "colour": self.colour,
            "shape": self.shape,
            "position": [round(float(v), 4) for v in self.position],
            "size": round(self.size, 4),
        }


@dataclass
class Scene:
    """What the planner sees: the perceived objects and the (known) table geometry.

    Attributes:
        objects: perceived objects; kept sorted by name, so plans do not depend on pixel order.
        table_center: (3,) centre of the table top, world frame, m.
        table_size: (2,) extent of the table top in x and y, m.
    """

    objects: list[PerceivedObject]
    table_center: np.ndarray = field(default_factory=lambda: np.array([0.5, 0.0, 0.0]))
    table_size: np.ndarray = field(default_factory=lambda: np.array([0.5, 0.7]))

    def __post_init__(self) -> None:
        self.objects = sorted(self.objects, key=lambda o: o.name)

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.objects]

    def get(self, name: str) -> PerceivedObject:
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(f"no object {name!r} in the scene; it has {', '.join(self.names) or 'no objects'}")

    def describe(self) -> dict:
        return {
            "objects": [o.describe() for o in self.objects],
            "table": {"center": [float(v) for v in self.table_center], "size": [float(v) for v in self.table_size]},
        }

    @classmethod
    def from_names(cls, names: Iterable[str], positions: Sequence[Sequence[float]] | None = None) -> Scene:
        """A scene with the named ``<colour>_<shape>`` objects (for planning without a camera)."""
        names = list(names)
        positions = positions if positions is not None else [(0.5, 0.0, 0.02)] * len(names)
        objects = []
        for name, pos in zip(names, positions, strict=True):
            colour, _, shape = name.partition("_")
            shape = shape.split("_")[0] or "cube"
            objects.append(PerceivedObject(name, colour, shape, np.asarray(pos, dtype=np.float64), 0.04, 0))
        return cls(objects)


def _square_size(xy: np.ndarray) -> tuple[float, float]:
    """(edge length, aspect) of a filled square from the x-y of points sampled uniformly on it.

    A uniform square of edge s has variance s^2 / 12 along any axis through its centre, so
    s = sqrt(12 * mean eigenvalue) whatever its rotation; the eigenvalue ratio is 1 for a square.
    """
    if len(xy) < 3:
        return 0.0, 0.0
    eig = np.linalg.eigvalsh(np.cov(xy.T))
    eig = np.clip(eig, 0.0, None)
    return float(np.sqrt(12.0 * eig.mean())), float(eig[0] / eig[1]) if eig[1] > 0 else 0.0


def perceive(
    frame: CameraFrame,
    background: Iterable[str] = (),
    table_center: Sequence[float] = (0.5, 0.0, 0.0),
    table_size: Sequence[float] = (0.5, 0.7),
    table_z: float = 0.0,
) -> Scene:
    """Objects seen in ``frame``, each with colour, shape, size and centre from pixels and depth.

    Args:
        frame: a rendered view with segmentation.
        background: extra body names to ignore (the robot), besides :data:`FIXTURES`.
        table_center, table_size: the known table geometry, world frame, m.
        table_z: height of the table top, m (objects rest on it).
    """
    if frame.segmentation is None:
        raise ValueError("perception needs a segmentation mask: render with segmentation=True")
    ignore = FIXTURES | set(background)
    points = frame.points_world()
    seen: list[tuple[str, str, np.ndarray, float, int, int]] = []
    ids, counts = np.unique(frame.segmentation, return_counts=True)
    for body, count in zip(ids.tolist(), counts.tolist(), strict=True):
        # Bits above 24 carry a link index; the body is the low bits (PyBullet's encoding).
        if body < 0 or frame.labels.get(body & ((1 << 24) - 1)) in ignore or count < MIN_PIXELS:
            continue
        mask = frame.segmentation == body
        pts = points[mask]
        top_z = float(pts[:, 2].max())
        top = pts[:, 2] > top_z - TOP_FACE_TOLERANCE
        size, aspect = _square_size(pts[top, :2])
        height = top_z - table_z
        if size <= 0.0:  # only a sliver is visible: fall back to the points' extent
            size = float(np.ptp(pts[:, :2], axis=0).max())
        # Resting on the table or on another object: the centre is half an edge under the top.
        centre_z = top_z - min(size, height) / 2
        centre = np.array([*pts[top, :2].mean(axis=0), centre_z])
        # A box only when clearly elongated and longer than it could be as a partly hidden cube.
        extent = np.ptp(pts[top, :2], axis=0) if top.sum() > 1 else np.zeros(2)
        is_cube = not (aspect < 0.45 and float(extent.max()) > 1.4 * min(size, height) and height > 0)
        colour = colour_name(frame.rgb[mask][top].mean(axis=0))
        seen.append((colour, "cube" if is_cube else "box", centre, size, count, body))
    # Stable naming: sort look-alikes by position (near to far, then right to left).
    seen.sort(key=lambda s: (s[0], s[1], round(s[2][0], 3), round(s[2][1], 3)))
    objects: list[PerceivedObject] = []
    used: dict[str, int] = {}
    for colour, shape, centre, size, count, body in seen:
        base = f"{colour}_{shape}"
        used[base] = used.get(base, 0) + 1
        name = base if used[base] == 1 else f"{base}_{used[base]}"
        objects.append(PerceivedObject(name, colour, shape, centre, size, count, body))
    return Scene(objects, np.asarray(table_center, dtype=np.float64), np.asarray(table_size, dtype=np.float64))


def perceive_world(world, frame: CameraFrame | None = None) -> Scene:
    """Perceive a :class:`sims.world.TabletopWorld` through its overhead camera (or a given frame of it)."""
    return perceive(
        frame if frame is not None else world.camera.render(),
        background=[world.robot_body],
        table_center=world.scene.table_center,
        table_size=world.scene.table_size,
    )
