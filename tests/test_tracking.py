"""Object tracking during skills: the camera tracker against the simulator's ground truth,
frames at the camera's rate and latency, and the held object following the gripper."""

from __future__ import annotations

import numpy as np
import pytest

from embodied.execution.hierarchical_controller import Controller
from embodied.execution.skill_executors import SkillLibrary
from embodied.perception.config import PerceptionConfig
from embodied.perception.tracker import CameraTracker, SimulatedStream


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_stream_delivers_frames_at_the_rate_and_after_the_latency():
    clock, rendered = Clock(), []

    def render():
        rendered.append(clock.t)
        return clock.t  # stands for a frame: the time it was exposed

    stream = SimulatedStream(render, clock, rate=15.0, latency=0.05)
    delivered = []
    for step in range(1, 251):  # 10 s of 25 Hz control steps
        clock.t = step * 0.04
        for exposed, frame in stream.poll():
            assert frame == exposed and clock.t >= exposed + 0.05 - 1e-9  # never before the latency
            assert clock.t - exposed < 0.05 + 0.04 + 1e-9  # but at the first step after it
            delivered.append(exposed)
    assert 148 <= len(rendered) <= 151  # 15 frames per second
    assert delivered == rendered[: len(delivered)] and len(delivered) >= len(rendered) - 2


def run_tracked(world, skill, goal_of, steps, seed):
    """Run ``skill`` on the red cube with camera tracking; per step (estimate, truth, held)."""
    world.reset(np.random.default_rng(seed))
    world.settle()
    controller = Controller(world, SkillLibrary("scripted"), perception=PerceptionConfig(tracking="camera"))
    scene = controller.perceive()
    tracker = controller.tracker(scene, "red_cube")
    assert isinstance(tracker, CameraTracker)
    executor = controller.library.get(skill)
    log = []

    def on_step():
        log.append((tracker.state().position.copy(), world.scene.object_position("red_cube"), tracker._held_offset))

    executor.run(world, tracker, goal_of(scene.get("red_cube").position), steps, on_step)
    return tracker, log


def towards_centre(p: np.ndarray) -> np.ndarray:
    """A push goal 10 cm from ``p`` towards the table's centre (0.5, 0)."""
    return p + 0.1 * (np.array([0.5, 0.0, p[2]]) - p) / np.linalg.norm(p[:2] - [0.5, 0.0])


def pushed_cube_bounds_hold(errors: np.ndarray) -> bool:
    """The pushed-cube test's bounds on the per-step errors (m); scripts/bench_tracking.py
    reports them over more seeds.

    The hand hides the cube while it pushes: the estimate goes with the hand's motion and
    slides on after it (pushed straight away from the fingers it ran 5-8 cm off on seeds 0
    and 3: median 2.5 cm, 80th percentile 5.6 cm). The largest error is at the end, when the
    skill stops with the hand still over a cube that left the hand's line (off-centre contact).
    """
    return bool(
        np.median(errors) < 0.006 and np.percentile(errors, 80) < 0.02 and errors.max() < 0.04 and errors[-1] < 0.04
    )


@pytest.mark.parametrize("seed", [0, 1, 3, 4])
def test_camera_tracker_follows_a_pushed_cube(world, seed):
    tracker, log = run_tracked(world, "push", towards_centre, 60, seed)
    errors = np.array([np.linalg.norm(est - truth) for est, truth, _ in log])
    moved = np.linalg.norm(log[-1][1] - log[0][1])
    assert moved > 0.05  # the cube really moved, so this tests tracking, not holding still
    assert pushed_cube_bounds_hold(errors), np.round(errors, 3)
    assert tracker.frames >= len(log) * 0.04 * 15 * 0.8  # frames came at about the camera's rate


def test_held_cube_follows_the_gripper_while_the_hand_hides_it(world):
    tracker, log = run_tracked(world, "pick_place", lambda p: p + np.array([0.05, 0.05, 0.1]), 80, 2)
    held = [(est, truth) for est, truth, offset in log if offset is not None]
    assert len(held) >= 5  # it was picked up and carried
    lifted = [np.linalg.norm(est - truth) for est, truth in held if truth[2] > 0.04]
    assert lifted and max(lifted) < 0.015  # in the air, where the camera cannot see it, within 1.5 cm


@pytest.mark.parametrize("seed", [0, 3])
def test_a_hand_coming_down_over_the_cube_does_not_move_its_estimate(world, seed):
    """Partly hidden, the cube's visible part says where it can be, not how it moves: under a
    descending hand the estimate of a cube at rest stays on it (it once ran off 3.5 cm and the
    grasp missed)."""
    tracker, log = run_tracked(world, "pick_place", lambda p: p + np.array([0.05, 0.05, 0.1]), 80, seed)
    start = log[0][1]
    at_rest = [
        np.linalg.norm(est - truth)
        for est, truth, offset in log
        if offset is None and np.linalg.norm(truth - start) < 1e-3  # the approach, before the grasp
    ]
    assert len(at_rest) >= 15
    assert max(at_rest) < 0.01, np.round(at_rest, 4)  # the old code: 2.9 and 3.3 cm
