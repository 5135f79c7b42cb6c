"""Where a sub-goal sends its object, and whether a sub-goal holds, from object positions.

Both work on plain ``name -> (3,) position`` maps, so the controller applies them to what
perception sees and the evaluator applies the same rules to the simulator's final state.
World frame, metres; left is +y, far is +x.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from embodied.planning.subgoals import PLACE, SubGoal
from sims.scene import region_bounds


@dataclass(frozen=True)
class Geometry:
    """The table and object size the rules need.

    Attributes:
        table_center: (3,) centre of the table top, m.
        table_size: (2,) extent in x and y, m.
        object_size: cube edge, m.
        side_gap: centre-to-centre distance used for next to / left of / right of, m.
        edge_margin: goals keep this far from the table edge, m.
        min_move: region goals are at least this far from where the object is, when possible, m.
        place_tolerance: an ``at`` goal holds when the object rests this close to the point, m.
        side_margin: a left/right goal squeezed by the table edge keeps its sideways offset
            this far beyond what the relation needs (:data:`SIDE_MIN`), m.
        tight_side_margin: ``side_margin`` of the last resort, when even a squeezed spot with
            ``side_margin`` and ``edge_margin`` finds no room, m.
        tight_edge_margin: ``edge_margin`` of that last resort, m.
        push_overshoot: a push may end this far past its goal along its direction (a late
            arm); the spot it may end at must still be ``edge_margin`` inside the table, m.
        push_clearance: a push's path keeps other objects' centres this far from the line the
            pushed object's centre and the hand behind it sweep, m.
        push_behind: the hand pushes from this far behind the object's centre (the push
            skill's ``push_offset``), m.
    """

    table_center: tuple[float, float, float] = (0.5, 0.0, 0.0)
    table_size: tuple[float, float] = (0.5, 0.7)
    object_size: float = 0.04
    side_gap: float = 0.07
    edge_margin: float = 0.03
    min_move: float = 0.06
    place_tolerance: float = 0.025
    side_margin: float = 0.01
    tight_side_margin: float = 0.005
    tight_edge_margin: float = 0.023
    push_overshoot: float = 0.02
    push_clearance: float = 0.05
    push_behind: float = 0.045

    @property
    def rest_z(self) -> float:
        return float(self.table_center[2]) + self.object_size / 2


# What "left of" / "right of" mean, in cube sizes (used by :func:`holds` and by the goals
# squeezed against the table edge, which must land inside it): the centres at least SIDE_MIN
# apart sideways, at most SIDE_ALONG apart along the table's depth and SIDE_PLANAR in all.
SIDE_MIN = 0.75
SIDE_ALONG = 2.5
SIDE_PLANAR = 4.0


class TargetError(ValueError):
    """No place satisfies the sub-goal (e.g. no free room left of an object at the table edge)."""


def _table_bounds(g: Geometry, inset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(lower (2,), upper (2,)) x-y of the table top, ``inset`` inside its edges, m."""
    lo = np.asarray(g.table_center[:2]) - np.asarray(g.table_size) / 2 + inset
    hi = np.asarray(g.table_center[:2]) + np.asarray(g.table_size) / 2 - inset
    return lo, hi


def _on_table(xy: np.ndarray, g: Geometry) -> bool:
    lo, hi = _table_bounds(g, g.edge_margin)
    return bool(np.all(xy >= lo) and np.all(xy <= hi))


def _clearance(xy: np.ndarray, positions: Mapping[str, np.ndarray], ignore: tuple[str, ...]) -> float:
    d = [np.linalg.norm(xy - np.asarray(p)[:2]) for n, p in positions.items() if n not in ignore]
    return float(min(d)) if d else np.inf


def goal_position(goal: SubGoal, positions: Mapping[str, np.ndarray], g: Geometry) -> np.ndarray:
    """(3,) position for the object's centre that makes ``goal`` hold, chosen clear of other objects.

    Raises:
        TargetError: when the object or the reference object is not in ``positions``, or no
            free place exists.
    """
    obj = goal.object
    if obj not in positions:
        raise TargetError(f"{obj} is not visible (it may be under another object)")
    here = np.asarray(positions[obj], dtype=np.float64)
    rel, value = goal.target.relation, goal.target.value
    clear = 1.5 * g.object_size
    if rel == PLACE:
        xy = np.asarray(value, dtype=np.float64)
        blocking = [n for n, p in positions.items() if n != obj and np.linalg.norm(np.asarray(p)[:2] - xy) < clear]
        if blocking:
            raise TargetError(f"the place ({xy[0]:+.3f}, {xy[1]:+.3f}) is taken by {', '.join(blocking)}")
        return np.array([xy[0], xy[1], g.rest_z])
    if rel == "region":
        lo, hi = region_bounds(g.table_center, g.table_size, value)
        table_lo, table_hi = _table_bounds(g, g.edge_margin)
        lo, hi = np.maximum(lo + g.object_size, table_lo), np.minimum(hi - g.object_size, table_hi)
        grid = [np.array([x, y]) for x in np.linspace(lo[0], hi[0], 7) for y in np.linspace(lo[1], hi[1], 7)]
        # The free spot nearest the object (short moves are fast and overshoot little; the
        # grid keeps a cube's width inside the region's border, so small errors still land in
        # it); the object itself does not block.
        free = [p for p in grid if _clearance(p, positions, (obj,)) >= clear]
        if goal.skill == "push":
            # A push ends late on a late arm: not where that carries the object off the
            # table; and a clear straight path first (the others go round, :func:`push_route`).
            free = [p for p in free if _push_lands(here, p, positions, obj, g)] or free
            free = [p for p in free if push_path_clear(here, p, positions, obj, g)] or free
        # ... but not a nudge of a few cm: the skills were trained on longer moves, and a push
        # that starts right at its goal tends to flick the cube away.
        far_enough = [p for p in free if np.linalg.norm(p - here[:2]) >= g.min_move] or free
        best = min(far_enough or grid, key=lambda p: (np.linalg.norm(p - here[:2]), -_clearance(p, positions, (obj,))))
        return np.array([best[0], best[1], g.rest_z])
    if value not in positions:
        raise TargetError(f"{value} is not visible (it may be under another object)")
    ref = np.asarray(positions[value], dtype=np.float64)
    if rel == "on":
        return ref + np.array([0.0, 0.0, g.object_size])
    if rel == "next_to":
        dirs = [np.array(d, dtype=np.float64) for d in ((0, 1), (0, -1), (-1, 0), (1, 0))]
    else:
        side = 1.0 if rel == "left_of" else -1.0
        # Straight beside first, then slightly in front or behind (still clearly to that side).
        dirs = [np.array((dx, side)) for dx in (0.0, -0.5, 0.5)]
    candidates = []
    for scale in (1.0, 1.3, 0.8, 1.6):
        for d in dirs:
            xy = ref[:2] + d * g.side_gap * scale
            if _on_table(xy, g) and _clearance(xy, positions, (obj, value)) >= clear:
                if goal.skill == "push" and not _push_lands(here, xy, positions, obj, g):
                    continue
                candidates.append((scale, float(np.linalg.norm(xy - here[:2])), xy))
    if goal.skill == "push":
        # Straight paths that sweep no other object (the reference included) first.
        candidates = [c for c in candidates if push_path_clear(here, c[2], positions, obj, g)] or candidates
    if not candidates and rel != "next_to" and goal.skill == "pick_place":
        # Only a placement from above is precise enough for the squeezed spot: a push ends
        # 1-2 cm off and may knock the cube it goes beside (scripts/bench_side_room.py).
        # First with the usual margins; then, rather than refuse a cube the scene may well have
        # been set up with (cubes start 6 cm from the edge), closer to the edge and to the
        # relation's minimum: a placement lands within about 5 mm (scripts/bench_side_room.py).
        side = 1.0 if rel == "left_of" else -1.0
        for side_margin, edge_margin in ((g.side_margin, g.edge_margin), (g.tight_side_margin, g.tight_edge_margin)):
            squeezed = _squeezed_side_spot(ref, side, positions, (obj, value), g, side_margin, edge_margin)
            if squeezed is not None:
                return np.array([squeezed[0], squeezed[1], g.rest_z])
    if not candidates:
        note = _edge_note(ref, rel, g, goal.skill)
        raise TargetError(f"no free room {rel.replace('_', ' ')} {value} on the table{note}")
    _, _, xy = candidates[0] if rel != "next_to" else min(candidates, key=lambda c: (c[0], c[1]))
    return np.array([xy[0], xy[1], g.rest_z])


def _overshoot_on_table(start: np.ndarray, goal: np.ndarray, g: Geometry) -> bool:
    """Whether a push from ``start`` that ends ``push_overshoot`` past ``goal`` (x-y, m) still
    leaves the object ``edge_margin`` inside the table."""
    d = np.asarray(goal[:2], dtype=np.float64) - np.asarray(start[:2], dtype=np.float64)
    n = float(np.linalg.norm(d))
    return n < 1e-9 or _on_table(np.asarray(goal[:2]) + d / n * g.push_overshoot, g)


def _push_lands(here: np.ndarray, xy: np.ndarray, positions: Mapping[str, np.ndarray], obj: str, g: Geometry) -> bool:
    """Whether a push of ``obj`` to ``xy`` leaves room on the table for ending late, along
    its last straight leg (from the via point round what is in the way, if any)."""
    vias = push_route(here, np.array([xy[0], xy[1], g.rest_z]), positions, obj, g)
    return _overshoot_on_table(vias[-1] if vias else here, xy, g)


def _sweep_clearance(a: np.ndarray, b: np.ndarray, points: np.ndarray, behind: float) -> np.ndarray:
    """(M,) the smallest distance from ``points`` (N, 2) to each of M pushes from ``a`` to ``b``
    ((M, 2) each, x-y, m), the swept line starting ``behind`` the start (where the hand is)."""
    d = b - a
    n = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.maximum(n, 1e-9)
    a = a - u * behind
    d = b - a
    t = np.clip(np.einsum("mnk,mk->mn", points[None] - a[:, None], d) / np.einsum("mk,mk->m", d, d)[:, None], 0, 1)
    closest = a[:, None] + t[..., None] * d[:, None]
    return np.linalg.norm(points[None] - closest, axis=-1).min(axis=1) if len(points) else np.full(len(a), np.inf)


def _obstacles(positions: Mapping[str, np.ndarray], obj: str, g: Geometry) -> np.ndarray:
    """(N, 2) x-y of the objects a push of ``obj`` must keep clear of (those on the table)."""
    pts = [np.asarray(p, dtype=np.float64)[:2] for n, p in positions.items() if n != obj and _above_table_top(p, g)]
    return np.array(pts).reshape(-1, 2)


def push_path_clear(
    start: np.ndarray, goal: np.ndarray, positions: Mapping[str, np.ndarray], obj: str, g: Geometry
) -> bool:
    """Whether a straight push of ``obj`` from ``start`` to ``goal`` (world frame, m) sweeps
    no other object: each stays ``push_clearance`` from the line its centre and the hand
    behind it cover."""
    a, b = np.asarray(start, dtype=np.float64)[None, :2], np.asarray(goal, dtype=np.float64)[None, :2]
    return bool(_sweep_clearance(a, b, _obstacles(positions, obj, g), g.push_behind)[0] >= g.push_clearance)


def push_route(
    start: np.ndarray, goal: np.ndarray, positions: Mapping[str, np.ndarray], obj: str, g: Geometry
) -> list[np.ndarray]:
    """Via points ((3,) each, world frame, m) for pushing ``obj`` from ``start`` to ``goal``
    round the objects in the way: none when the straight push is clear, else the one via
    point (on a half-cube grid, ``edge_margin`` plus ``push_overshoot`` inside the table)
    with the shortest route whose two straight pushes are both clear and whose last leaves
    room for ending ``push_overshoot`` late. None is found either
    when no such point exists; the push then goes straight, as it would have."""
    if push_path_clear(start, goal, positions, obj, g):
        return []
    pts = _obstacles(positions, obj, g)
    lo, hi = _table_bounds(g, g.edge_margin + g.push_overshoot)
    on_lo, on_hi = _table_bounds(g, g.edge_margin)
    step = g.object_size / 2
    xs, ys = np.arange(lo[0], hi[0] + 1e-9, step), np.arange(lo[1], hi[1] + 1e-9, step)
    via = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1).reshape(-1, 2)
    a = np.broadcast_to(np.asarray(start, dtype=np.float64)[:2], via.shape)
    b = np.broadcast_to(np.asarray(goal, dtype=np.float64)[:2], via.shape)
    to_goal = b - via
    late = b + to_goal / np.maximum(np.linalg.norm(to_goal, axis=-1, keepdims=True), 1e-9) * g.push_overshoot
    ok = (
        (_sweep_clearance(a, via, pts, g.push_behind) >= g.push_clearance)
        & (_sweep_clearance(via, b, pts, g.push_behind) >= g.push_clearance)
        & np.all((late >= on_lo) & (late <= on_hi), axis=-1)
    )
    if not ok.any():
        return []
    length = np.linalg.norm(via - a, axis=-1) + np.linalg.norm(b - via, axis=-1)
    best = via[ok][int(np.argmin(length[ok]))]
    return [np.array([best[0], best[1], float(np.asarray(goal)[2])])]


def _edge_note(ref: np.ndarray, rel: str, g: Geometry, skill: str) -> str:
    """Why a left/right goal found no room: how far the reference is from that table edge, and
    how far it must be for a ``skill`` goal beside it (a pick_place may squeeze in)."""
    if rel == "next_to":
        return ""
    centre, half = float(g.table_center[1]), float(g.table_size[1]) / 2
    gap = centre + half - ref[1] if rel == "left_of" else ref[1] - (centre - half)
    if skill == "pick_place":
        need = SIDE_MIN * g.object_size + min(g.side_margin + g.edge_margin, g.tight_side_margin + g.tight_edge_margin)
    else:
        need = 0.8 * g.side_gap + g.edge_margin
    side = "left" if rel == "left_of" else "right"
    return f" (it is {100 * gap:.1f} cm from the table's {side} edge; a cube beside it needs {100 * need:.1f} cm)"


def _squeezed_side_spot(
    ref: np.ndarray,
    side: float,
    positions: Mapping[str, np.ndarray],
    ignore: tuple[str, str],
    g: Geometry,
    side_margin: float,
    edge_margin: float,
) -> np.ndarray | None:
    """A pick-and-place spot to one side (``side`` +1 left, -1 right) of ``ref`` when the table edge leaves
    less room there than ``side_gap``: closer sideways (down to :data:`SIDE_MIN` cube sizes
    plus ``side_margin``), at least ``edge_margin`` inside the table's edge, and moved in
    front or behind, so the centres stay as far apart as the usual spots' (0.8 ``side_gap``:
    room for the fingers). The most clearly sideways spot wins, then the least moved along,
    then (in front and behind tie) the one farther from the table's edges: beside a cube in a
    corner, a placement in front would go to the near edge too, where a late, noisy arm can
    drop it off the table. None when there is none either.
    """
    s = g.object_size
    least_side = SIDE_MIN * s + side_margin
    most_along = SIDE_ALONG * s - side_margin
    table = replace(g, edge_margin=edge_margin)
    lo, hi = _table_bounds(g)
    spots = []
    for u in np.linspace(least_side, g.side_gap, 15):
        for v in np.linspace(-most_along, most_along, 37):
            xy = ref[:2] + np.array([v, side * u])
            if np.hypot(u, v) < 0.8 * g.side_gap or not _on_table(xy, table):
                continue
            if _clearance(xy, positions, ignore) >= 1.5 * s:
                # The distances to the four edges, nearest first, compared in turn (the nearest is
                # often the squeezing edge itself, the same for both). Rounded so that only a true
                # tie (same sideways offset, in front or behind by the same amount) gets here.
                edges = tuple(round(-d, 9) for d in sorted(np.concatenate([xy - lo, hi - xy])))
                spots.append((round(-u, 9), round(abs(v), 9), edges, xy))
    return min(spots, key=lambda c: c[:3])[3] if spots else None


def nearest_edge(position: np.ndarray, g: Geometry) -> tuple[str, float]:
    """The table edge nearest ``position`` ("near", "far", "right", "left") and how far the
    x-y point is inside it (negative: beyond it), m."""
    lo, hi = _table_bounds(g)
    xy = np.asarray(position, dtype=np.float64)[:2]
    gaps = {"near": xy[0] - lo[0], "far": hi[0] - xy[0], "right": xy[1] - lo[1], "left": hi[1] - xy[1]}
    edge = min(gaps, key=gaps.get)
    return edge, float(gaps[edge])


def _above_table_top(position: np.ndarray, g: Geometry) -> bool:
    """The object's centre is above the table top (resting on it, on another cube, or held),
    not fallen to the floor (where it may still be under the table's x-y, :func:`_on_table`)."""
    return bool(position[2] > g.table_center[2])


def holds(goal: SubGoal, positions: Mapping[str, np.ndarray], g: Geometry) -> bool:
    """Whether ``goal`` is true of ``positions`` (False when an object involved is not there,
    or has fallen off the table: two cubes on the floor side by side are not "next to")."""
    obj = goal.object
    if obj not in positions or not _above_table_top(np.asarray(positions[obj]), g):
        return False
    a = np.asarray(positions[obj], dtype=np.float64)
    s = g.object_size
    rel, value = goal.target.relation, goal.target.value
    if rel == PLACE:
        resting = abs(a[2] - g.rest_z) < 0.5 * s
        return resting and float(np.linalg.norm(a[:2] - np.asarray(value))) < g.place_tolerance
    if rel == "region":
        lo, hi = region_bounds(g.table_center, g.table_size, value)
        return bool(np.all(a[:2] >= lo) and np.all(a[:2] <= hi))
    if value not in positions or not _above_table_top(np.asarray(positions[value]), g):
        return False
    b = np.asarray(positions[value], dtype=np.float64)
    d = a - b
    planar = float(np.linalg.norm(d[:2]))
    if rel == "on":
        return planar < 0.6 * s and 0.7 * s < d[2] < 1.3 * s
    same_level = abs(d[2]) < 0.5 * s
    if rel == "next_to":
        return same_level and planar < 2.9 * s
    side = d[1] if rel == "left_of" else -d[1]
    return same_level and side > SIDE_MIN * s and abs(d[0]) < SIDE_ALONG * s and planar < SIDE_PLANAR * s
