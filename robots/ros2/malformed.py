"""A catalogue of malformed commands, by category, for fault-injection tests and benchmarks.

Each category breaks one rule a joint trajectory controller (or the gripper's forward
command controller) must enforce. The stand-in arm must reject every one of them, execute
nothing, and keep publishing joint states while they arrive.
"""

from collections.abc import Sequence

from robots.ros2.messages import Duration, Float64MultiArray, JointTrajectory, JointTrajectoryPoint

NAN, INF = float("nan"), float("inf")


def _point(q: Sequence[float], t: float = 0.1, **fields) -> JointTrajectoryPoint:  # noqa: ANN003
    return JointTrajectoryPoint(positions=list(q), time_from_start=Duration.from_seconds(t), **fields)


def malformed_trajectories(names: Sequence[str], good: Sequence[float]) -> dict[str, JointTrajectory]:
    """One bad JointTrajectory per category (14 categories).

    Args:
        names: the arm's joint names, in order.
        good: a valid pose (radians, ``names`` order) into which the faults are put, so each
            message breaks exactly one rule.
    """
    names, good = list(names), [float(v) for v in good]
    n = len(names)

    def traj(joint_names: list[str], points: list[JointTrajectoryPoint]) -> JointTrajectory:
        return JointTrajectory(joint_names=joint_names, points=points)

    return {
        "nan_position": traj(names, [_point([NAN, *good[1:]])]),
        "inf_position": traj(names, [_point([*good[:-1], INF])]),
        "wrong_length": traj(names, [_point(good[: n - 2])]),
        "empty_points": traj(names, []),
        "empty_names": traj([], [_point(good)]),
        "unknown_joint": traj([*names[:-1], "elbow_of_doom"], [_point(good)]),
        "duplicate_joint": traj([*names[:-1], names[0]], [_point(good)]),
        "partial_goal": traj(names[:-1], [_point(good[:-1])]),
        "non_increasing_time": traj(names, [_point(good, 0.5), _point(good, 0.5)]),
        "decreasing_time": traj(names, [_point(good, 0.5), _point(good, 0.2)]),
        "out_of_limits": traj(names, [_point([5.0] * n)]),
        "huge": traj(names, [_point(good, 0.001 * (k + 1)) for k in range(1500)]),
        "wrong_velocity_length": traj(names, [_point(good, velocities=[0.0] * 3)]),
        "nan_velocity": traj(names, [_point(good, velocities=[NAN] * n)]),
    }


def malformed_gripper_commands(max_width: float) -> dict[str, Float64MultiArray]:
    """One bad gripper command (Float64MultiArray, width in m) per category (4 categories)."""
    return {
        "gripper_nan": Float64MultiArray(data=[NAN]),
        "gripper_empty": Float64MultiArray(data=[]),
        "gripper_wrong_length": Float64MultiArray(data=[0.01, 0.02, 0.03]),
        "gripper_out_of_range": Float64MultiArray(data=[10 * max_width]),
    }
