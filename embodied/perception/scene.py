"""Scene perception: from one RGB-D frame (colour, depth, intrinsics, camera pose) to the
objects the planner sees.

Nothing but what a real RGB-D camera gives is used: the table top is a plane fitted to the
depth points; what stands above it inside the table's area and has a saturated colour is an
object pixel (the arm, white or grey, and the table are not); object pixels of one colour
name that touch in the image form one object. Its colour is read from its pixels, its shape
and size from its back-projected points, its position from depth and the calibration. An
object no pixel shows is not reported. Limits: two touching objects of the same colour are
seen as one (a box); a white, grey or black object is taken for part of the arm.
"""

from __future__ import annotations

import colorsys
import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from embodied.perception.config import PerceptionConfig
from embodied.perception.hidden_cube import CubeFit, fit_hidden_cube
from embodied.perception.table_plane import NoTable, Plane, fit_plane
from sims.camera import CameraFrame

__all__ = ["NoTable", "PerceivedObject", "Scene", "colour_name", "colour_labels", "perceive", "perceive_world"]

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


COLOUR_NAMES = tuple(dict.fromkeys(name for _, name in _HUE_NAMES))
"""The hue names of saturated colours."""


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
        top_bounds: (2, 2) lowest and highest x, y of its visible top face, world frame, m
            (where a partly hidden object can be: a tracker's constraint).
    """

    name: str
    colour: str
    shape: str
    position: np.ndarray
    size: float
    pixels: int
    top_bounds: np.ndarray | None = None

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


def colour_labels(rgb: np.ndarray, min_saturation: float, min_value: float) -> np.ndarray:
    """(H, W) index into :data:`COLOUR_NAMES` of every pixel's hue; -1 where too grey or dark.

    Vectorised :func:`colour_name` for saturated pixels (the same hue bounds).
    """
    c = rgb.astype(np.float64) / 255.0
    value = c.max(axis=-1)
    spread = value - c.min(axis=-1)
    saturation = np.divide(spread, value, out=np.zeros_like(value), where=value > 0)
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    safe = np.where(spread > 0, spread, 1.0)
    hue = np.where(value == r, (g - b) / safe, np.where(value == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    degrees = (hue * 60.0) % 360.0
    bounds = np.array([bound for bound, _ in _HUE_NAMES])
    labels = np.searchsorted(bounds, degrees, side="left")
    labels = np.array([COLOUR_NAMES.index(name) for _, name in _HUE_NAMES])[np.minimum(labels, len(bounds) - 1)]
    labels[(saturation < max(min_saturation, 0.25)) | (value < max(min_value, 0.15))] = -1
    return labels


def _merge_parts(
    components: np.ndarray, count: int, points: np.ndarray, height: np.ndarray, min_pixels: int
) -> list[np.ndarray]:
    """Masks of objects from one colour's image components: parts of one object that another
    splits in the image (the two visible sides of a cube under another cube) are joined.

    Two parts are one object when together they span no more than 1.5 times the height of
    their highest point: two separate objects side by side span at least twice it.
    """
    parts = []
    for index in range(1, count + 1):
        mask = components == index
        if mask.sum() >= min_pixels and (mask & np.isfinite(height)).sum() >= 3:
            parts.append(mask)
    merged = True
    while merged and len(parts) > 1:
        merged = False
        for i in range(len(parts)):
            for j in range(i + 1, len(parts)):
                union = parts[i] | parts[j]
                seen = union & np.isfinite(height)
                span = float(np.ptp(points[seen][:, :2], axis=0).max())
                if span <= 1.5 * float(height[seen].max()):
                    parts[i] = union
                    del parts[j]
                    merged = True
                    break
            if merged:
                break
    return parts


def _hidden_by_something(mask: np.ndarray, height: np.ndarray, above: float) -> bool:
    """Whether something higher than ``above`` (m over the table: the arm, a cube on top)
    borders the object's pixels, so part of it may be hidden."""
    ring = ndimage.binary_dilation(mask, iterations=2) & ~mask
    return bool((np.nan_to_num(height[ring], nan=-1.0) > above).any())


def _fit_partly_hidden(
    frame: CameraFrame,
    plane: Plane,
    points: np.ndarray,
    top: float,
    edges: Sequence[float],
    config: PerceptionConfig,
) -> tuple[CubeFit, float]:
    """The fit and the edge of a cube part of which is hidden, its top ``top`` above the
    table: the first of ``edges`` unless a later one explains the view clearly better."""
    best: tuple[float, CubeFit, float] | None = None
    for rank, edge in enumerate(edges):
        fit = fit_hidden_cube(
            frame,
            plane,
            points,
            edge,
            top,
            step=config.hidden_fit_step,
            angles=config.hidden_fit_angles,
            depth_tolerance=max(config.hidden_fit_depth_tolerance, 3.0 * plane.noise),
            point_margin=max(config.hidden_fit_point_margin, 3.0 * plane.noise),
            slack=config.hidden_fit_slack,
        )
        score = fit.cost + rank * config.hidden_fit_slack
        if best is None or score < best[0]:
            best = (score, fit, edge)
        if fit.cost <= config.hidden_fit_slack:
            break  # this one explains the view: no need to look further
    assert best is not None  # edges is never empty
    return best[1], best[2]


@dataclass
class _Part:
    """One object's pixels and what they say (the first pass of :func:`perceive`)."""

    colour: str
    mask: np.ndarray  # (H, W) its pixels
    top: float  # its top face's height above the table, m
    size: float  # edge, m
    centre: np.ndarray  # (3,) world, m
    shape: str
    bounds: np.ndarray  # (2, 2) x-y extent of its visible top face
    hidden: bool  # something higher borders it


def _measure(
    mask: np.ndarray, frame: CameraFrame, points: np.ndarray, height: np.ndarray, plane: Plane, tolerance: float
) -> _Part:
    """Colour, top, size, centre and shape of the object on ``mask``'s pixels, as if all of it were seen."""
    seen = mask & np.isfinite(height)  # pixels with a depth reading
    pts, h = points[seen], height[seen]
    top = h > np.percentile(h, 90) - tolerance
    top_h = float(np.median(h[top]))
    size, aspect = _square_size(pts[top, :2])
    if size <= 0.0:  # only a sliver is visible: fall back to the points' extent
        size = float(np.ptp(pts[:, :2], axis=0).max())
    # Resting on the table or on another object: the centre is half an edge under the top.
    drop = min(size, top_h) / 2
    centre = pts[top].mean(axis=0) - plane.normal * (float(plane.height(pts[top].mean(axis=0))) - top_h + drop)
    # A box only when clearly elongated and longer than it could be as a partly hidden cube.
    extent = np.ptp(pts[top, :2], axis=0) if top.sum() > 1 else np.zeros(2)
    is_cube = not (aspect < 0.45 and float(extent.max()) > 1.4 * min(size, top_h))
    return _Part(
        colour=colour_name(frame.rgb[seen][top].mean(axis=0)),
        mask=mask,
        top=top_h,
        size=size,
        centre=centre,
        shape="cube" if is_cube else "box",
        bounds=np.stack([pts[top, :2].min(axis=0), pts[top, :2].max(axis=0)]),
        hidden=_hidden_by_something(mask, height, top_h + tolerance),
    )


def _near(part: _Part, xy: np.ndarray, distance: float) -> bool:
    """Whether some point of ``part``'s top face lies within ``distance`` of ``xy`` (m)."""
    lo, hi = part.bounds
    return bool(np.linalg.norm(np.clip(xy, lo, hi) - xy) < distance)


def _fit_hidden_parts(
    parts: list[_Part],
    frame: CameraFrame,
    points: np.ndarray,
    height: np.ndarray,
    plane: Plane,
    config: PerceptionConfig,
    tolerance: float,
) -> list[_Part]:
    """Second pass: each partly hidden object becomes the cube that explains its view
    (:mod:`embodied.perception.hidden_cube`); pieces of one colour that fit the same cube
    (the sides of a cube under another, split by it) become one object."""
    whole = [p for p in parts if not p.hidden]
    fitted = list(whole)  # grows as hidden ones are fitted
    typical = float(np.median([p.size for p in whole])) if whole else None
    pending = [p for p in parts if p.hidden]
    while pending:
        # Highest first: a cube under another takes its top from the upper one's fitted bottom.
        part = pending.pop(int(np.argmax([p.top for p in pending])))
        top = part.top
        # Under another object its top is where that one's bottom is: the sides seen below
        # the upper cube's overhang stop short of it.
        seen = part.mask & np.isfinite(height)
        xy = points[seen][:, :2].mean(axis=0)
        for other in fitted:
            bottom = other.top - other.size
            if bottom > top and np.linalg.norm(other.centre[:2] - xy) < other.size:
                top = bottom
        # On the table, unless another object is seen under it (a cube of a stack the hand
        # hangs over: then half its top, a cube on a cube like itself, or its top over that
        # one's, which is often a sliver's), or unless on the table it would be far taller
        # than anything seen whole (then on a stack of ones like those, the lower all hidden).
        below = [o.top for o in parts if o is not part and o.top < top - config.min_height and _near(o, xy, top / 2)]
        if below:
            edges = [top / 2, top - max(below)]
        elif typical is not None and top > 1.5 * typical:
            edges = [top / round(top / typical), top]
        else:
            edges = [top]
        fit, edge = _fit_partly_hidden(frame, plane, points[seen], top, edges, config)
        part = dataclasses.replace(part, top=top, centre=fit.centre, size=edge, shape="cube")
        twin = next(
            (
                p
                for p in fitted
                if p.hidden and p.colour == part.colour and np.linalg.norm(p.centre - part.centre) < part.size / 2
            ),
            None,
        )
        if twin is None:
            fitted.append(part)
            continue
        fitted.remove(twin)
        merged = _measure(twin.mask | part.mask, frame, points, height, plane, tolerance)
        pending.append(dataclasses.replace(merged, hidden=True))
    return fitted


def table_plane(frame: CameraFrame, config: PerceptionConfig, region: np.ndarray) -> Plane:
    """The table plane fitted to ``frame``'s valid points inside ``region`` ((2, 2): x-y lower
    and upper corner, m)."""
    points = frame.points_world()
    xy = points[..., :2]
    inside = np.isfinite(points).all(axis=-1) & (xy >= region[0]).all(axis=-1) & (xy <= region[1]).all(axis=-1)
    return fit_plane(points[inside], config.plane_tolerance, config.plane_iterations)


def perceive(
    frame: CameraFrame,
    config: PerceptionConfig | None = None,
    table_center: Sequence[float] = (0.5, 0.0, 0.0),
    table_size: Sequence[float] = (0.5, 0.7),
    plane: Plane | None = None,
) -> Scene:
    """Objects seen in ``frame``, each with colour, shape, size and centre from pixels and depth.

    Args:
        frame: an RGB-D view with its intrinsics and camera pose (no segmentation is read).
        config: thresholds (:class:`PerceptionConfig`; defaults when None).
        table_center, table_size: the table's known place and extent (world frame, m): the
            region where objects are looked for and the table plane is fitted.
        plane: the table plane already fitted for this camera pose (a fixed camera: the
            tracker fits it once); None fits it to this frame.

    Raises:
        NoTable: the camera does not see the table.
    """
    config = config or PerceptionConfig()
    centre2 = np.asarray(table_center, dtype=np.float64)[:2]
    half = np.asarray(table_size, dtype=np.float64) / 2
    region = np.stack([centre2 - half, centre2 + half])
    points = frame.points_world()
    plane = plane if plane is not None else table_plane(frame, config, region)
    valid = np.isfinite(points).all(axis=-1)
    height = np.where(valid, plane.height(np.nan_to_num(points, nan=0.0)), np.nan)
    xy = points[..., :2]
    margin = config.table_margin
    on_table = (xy >= region[0] - margin).all(axis=-1) & (xy <= region[1] + margin).all(axis=-1)
    candidate = valid & on_table & (height > config.min_height)
    labels = colour_labels(frame.rgb, config.min_saturation, config.min_value)
    # The top face is the highest few mm of an object, at least three noise deviations deep.
    tolerance = max(config.top_face_tolerance, 3.0 * plane.noise)
    parts: list[_Part] = []
    eight = np.ones((3, 3), dtype=bool)
    for label in np.unique(labels[candidate]).tolist():
        own = candidate & (labels == label)
        # Pixels of its colour without a depth reading (a real camera loses many at an
        # object's edges) join it: they count as its pixels and can connect its parts.
        own |= ndimage.binary_dilation(own, structure=eight) & ~valid & (labels == label)
        components, count = ndimage.label(own, structure=eight)
        for mask in _merge_parts(components, count, points, height, config.min_pixels) if count else []:
            part = _measure(mask, frame, points, height, plane, tolerance)
            if part.colour in COLOUR_NAMES:  # else a few tinted pixels of the grey arm
                parts.append(part)
    if config.hidden_fit:
        parts = _fit_hidden_parts(parts, frame, points, height, plane, config, tolerance)
    seen = [(p.colour, p.shape, p.centre, p.size, int(p.mask.sum()), p.bounds) for p in parts]
    # Stable naming: sort look-alikes by position (near to far, then right to left).
    seen.sort(key=lambda s: (s[0], s[1], round(s[2][0], 3), round(s[2][1], 3)))
    objects: list[PerceivedObject] = []
    used: dict[str, int] = {}
    for colour, shape, centre, size, count, bounds in seen:
        base = f"{colour}_{shape}"
        used[base] = used.get(base, 0) + 1
        name = base if used[base] == 1 else f"{base}_{used[base]}"
        objects.append(PerceivedObject(name, colour, shape, centre, size, count, bounds))
    table = np.array([*centre2, 0.0])
    table[2] = -(plane.normal[:2] @ centre2 + plane.offset) / plane.normal[2]
    return Scene(objects, table, np.asarray(table_size, dtype=np.float64))


def perceive_world(world, frame: CameraFrame | None = None, config: PerceptionConfig | None = None) -> Scene:
    """Perceive a :class:`sims.world.TabletopWorld` through its overhead camera (or a given frame of it)."""
    return perceive(
        frame if frame is not None else world.camera.render(),
        config,
        table_center=world.scene.table_center,
        table_size=world.scene.table_size,
    )
