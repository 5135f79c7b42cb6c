"""The joint trajectory controller's acceptance rules, applied before anything moves.

Mirrors what ros2_controllers' joint_trajectory_controller checks on an incoming
``JointTrajectory`` (joint names known and not repeated, array sizes, strictly increasing
``time_from_start``), plus what a careful stand-in must add: finite numbers, joint limits,
and bounded sizes so a huge message cannot stall the controller.
"""

import math
from collections.abc import Sequence

MAX_POINTS = 1000
"""Longest trajectory accepted."""


class TrajectoryRejected(ValueError):
    """A trajectory that must not be executed; ``rule`` names the broken rule, the message explains."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def validate_trajectory(
    msg,
    joint_names: Sequence[str],
    lower: Sequence[float],
    upper: Sequence[float],
    max_points: int = MAX_POINTS,
    start: Sequence[float] | None = None,
    max_velocities: Sequence[float] | None = None,
) -> list[tuple[float, list[float]]]:
    """Check a JointTrajectory; return its points as (time s, positions in ``joint_names`` order).

    With ``start`` (the joints now, rad) and ``max_velocities`` (rated, rad/s), a trajectory
    whose straight segments would need a joint faster than rated is refused, as a real arm's
    driver does (a Franka reflex, a UR protective stop).

    Raises:
        TrajectoryRejected: naming the broken rule.
    """
    names = list(msg.joint_names)
    if not names:
        raise TrajectoryRejected("names", "empty joint_names")
    if len(names) > 4 * len(joint_names):
        raise TrajectoryRejected("size", f"{len(names)} joint names for a {len(joint_names)}-joint arm")
    if len(set(names)) != len(names):
        raise TrajectoryRejected("names", f"duplicate joint names {names}")
    unknown = [n for n in names if n not in joint_names]
    if unknown:
        raise TrajectoryRejected("names", f"unknown joints {unknown}; this arm has {list(joint_names)}")
    if set(names) != set(joint_names):
        raise TrajectoryRejected(
            "names", f"joints {sorted(set(joint_names) - set(names))} missing (partial goals not allowed)"
        )
    points = list(msg.points)
    if not points:
        raise TrajectoryRejected("size", "no points")
    if len(points) > max_points:
        raise TrajectoryRejected("size", f"{len(points)} points; at most {max_points} accepted")
    order = [names.index(n) for n in joint_names]
    out = []
    previous = -math.inf
    for k, p in enumerate(points):
        if len(p.positions) != len(names):
            raise TrajectoryRejected("size", f"point {k}: {len(p.positions)} positions for {len(names)} joints")
        for field in ("velocities", "accelerations"):
            values = getattr(p, field)
            if len(values) not in (0, len(names)):
                raise TrajectoryRejected("size", f"point {k}: {len(values)} {field} for {len(names)} joints")
            if not all(math.isfinite(v) for v in values):
                raise TrajectoryRejected("finite", f"point {k}: non-finite {field}")
        if len(p.effort) not in (0, len(names)):
            raise TrajectoryRejected("size", f"point {k}: {len(p.effort)} efforts for {len(names)} joints")
        if not all(math.isfinite(v) for v in p.positions):
            raise TrajectoryRejected("finite", f"point {k}: non-finite positions {list(p.positions)}")
        t = p.time_from_start.sec + p.time_from_start.nanosec * 1e-9
        if p.time_from_start.nanosec >= 1_000_000_000 or t < 0:
            raise TrajectoryRejected("time", f"point {k}: invalid time_from_start")
        if t <= previous:
            raise TrajectoryRejected("time", f"point {k}: time_from_start {t:.3f} s is not after {previous:.3f} s")
        previous = t
        q = [float(p.positions[i]) for i in order]
        for name, v, lo, hi in zip(joint_names, q, lower, upper, strict=True):
            if not lo <= v <= hi:
                raise TrajectoryRejected("limits", f"point {k}: {name} = {v:.4f} outside its limits [{lo}, {hi}]")
        out.append((t, q))
    if start is not None and max_velocities is not None:
        prev_t, prev_q = 0.0, [float(v) for v in start]
        for k, (t, q) in enumerate(out):
            dt = t - prev_t
            for name, a, b, vmax in zip(joint_names, prev_q, q, max_velocities, strict=True):
                if abs(b - a) > vmax * max(dt, 0.0) + 1e-6:
                    speed = abs(b - a) / dt if dt > 0 else math.inf
                    raise TrajectoryRejected(
                        "velocity", f"point {k}: {name} would move at {speed:.2f} rad/s (rated {vmax} rad/s)"
                    )
            prev_t, prev_q = t, q
    return out
