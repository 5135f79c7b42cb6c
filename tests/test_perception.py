"""Perception reads objects from pixels and depth, and matches the simulator's ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from embodied.perception.scene import colour_name, perceive_world


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_positions_from_depth_are_within_1cm_of_ground_truth(world, seed):
    world.reset(np.random.default_rng(seed))
    world.client.step(5)
    scene = perceive_world(world)
    truth = world.scene.object_positions()
    assert scene.names == sorted(truth)
    for obj in scene.objects:
        assert np.linalg.norm(obj.position - truth[obj.name]) < 0.01, obj.name
        assert obj.shape == "cube" and abs(obj.size - 0.04) < 0.006


def test_names_come_from_pixels_not_from_simulator_labels(world):
    # Repaint the red cube purple: perception must call it what it looks like.
    world.client.set_color("red_cube", (0.55, 0.1, 0.75, 1.0))
    scene = perceive_world(world)
    assert "purple_cube" in scene.names and "red_cube" not in scene.names


@pytest.mark.parametrize("seed", [5, 6])
def test_without_depth_noise_positions_are_within_3mm(seed):
    from sims.world import TabletopWorld

    exact = TabletopWorld(camera={"noise": {"enabled": False}})
    try:
        exact.reset(np.random.default_rng(seed))
        exact.settle()
        truth = exact.scene.object_positions()
        for obj in perceive_world(exact).objects:
            assert np.linalg.norm(obj.position - truth[obj.name]) < 0.003, obj.name
    finally:
        exact.close()


def test_hidden_objects_are_not_invented(world):
    # Stack green exactly on red: the overhead camera cannot see the red cube any more.
    world.client.set_base_pose("red_cube", (0.5, 0.0, 0.02))
    world.client.set_base_pose("green_cube", (0.5, 0.0, 0.06))
    world.client.step(20)
    scene = perceive_world(world)
    assert "red_cube" not in scene.names
    green = scene.get("green_cube")
    assert abs(green.position[2] - 0.06) < 0.01  # seen on top of something, not on the table


def test_object_off_camera_is_not_reported(world):
    world.client.set_base_pose("blue_cube", (3.0, 3.0, 0.02))
    assert "blue_cube" not in perceive_world(world).names


@pytest.mark.parametrize(
    "rgb, name",
    [
        ((217, 31, 31), "red"),
        ((38, 178, 51), "green"),
        ((31, 76, 217), "blue"),
        ((242, 204, 25), "yellow"),
        ((240, 240, 240), "white"),
        ((10, 10, 10), "black"),
        ((128, 128, 128), "gray"),
        ((140, 25, 190), "purple"),
    ],
)
def test_colour_names(rgb, name):
    assert colour_name(rgb) == name


def test_perception_reads_no_simulator_labels(world):
    """A frame stripped of segmentation and labels (what a real RGB-D camera gives) is enough."""
    from dataclasses import replace

    from embodied.perception.scene import perceive

    world.reset(np.random.default_rng(7))
    world.settle()
    frame = replace(world.camera.render(segmentation=True), segmentation=None, labels={})
    scene = perceive(frame, table_center=(0.5, 0.0), table_size=(0.5, 0.7))
    truth = world.scene.object_positions()
    assert scene.names == sorted(truth)
    for obj in scene.objects:
        assert np.linalg.norm(obj.position - truth[obj.name]) < 0.01, obj.name


def test_touching_cubes_of_different_colours_are_two_objects(world):
    world.client.set_base_pose("red_cube", (0.5, 0.0, 0.02))
    world.client.set_base_pose("green_cube", (0.5, 0.04, 0.02))  # face to face
    world.client.step(20)
    scene = perceive_world(world)
    for name in ("red_cube", "green_cube"):
        assert np.linalg.norm(scene.get(name).position - world.scene.object_position(name)) < 0.01


def test_the_arm_in_view_is_not_an_object(world):
    from robots.robot import RobotAction

    world.reset(np.random.default_rng(2), pose="ready")  # gripper 0.2 m over the table centre
    world.settle()
    world.robot.send_action(RobotAction(ee_delta=np.array([0.0, 0.0, -0.1]), gripper_width=0.02))
    scene = perceive_world(world)
    assert set(scene.names) <= set(world.scene.object_names)


def test_no_table_in_view_is_one_clear_error(world):
    from embodied.perception.scene import NoTable, perceive
    from sims.camera import Camera
    from sims.config import CameraConfig

    sky = Camera(world.client, CameraConfig(eye=(0.5, 0.0, 1.0), target=(0.5, 0.0, 3.0), up=(1.0, 0.0, 0.0)))
    with pytest.raises(NoTable, match="table"):
        perceive(sky.render())


def test_depth_noise_grows_with_distance_and_is_quantised():
    from sims.config import DepthNoiseConfig
    from sims.depth_noise import add_depth_noise, depth_sigma

    config = DepthNoiseConfig(dropout=0.0, edge_dropout=0.0)
    near, far = np.full((200, 200), 0.5, np.float32), np.full((200, 200), 2.0, np.float32)
    noisy_near = add_depth_noise(near, config.model_copy(update={"quantisation": 0.0}))
    noisy_far = add_depth_noise(far, config.model_copy(update={"quantisation": 0.0}))
    # sigma ~ z^2: four times the distance, sixteen times the spread (within sampling error).
    ratio = float(np.std(noisy_far - far) / np.std(noisy_near - near))
    assert 14.0 < ratio < 18.0
    assert abs(float(np.std(noisy_far - far)) - float(depth_sigma(np.float64(2.0), config))) < 3e-4
    steps = add_depth_noise(far, config) / 0.001
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)  # whole millimetres


def test_depth_noise_loses_pixels_at_edges_and_is_seeded():
    from sims.config import DepthNoiseConfig
    from sims.depth_noise import add_depth_noise

    depth = np.full((100, 100), 1.0, np.float32)
    depth[40:60, 40:60] = 0.96  # a 4 cm step: a cube's top face
    config = DepthNoiseConfig(edge_dropout=1.0, dropout=0.0)
    noisy = add_depth_noise(depth, config)
    lost = np.isnan(noisy)
    assert lost[39, 50] and lost[40, 50] and lost[50, 59] and lost[50, 60]  # both sides of the step
    assert not lost[50, 50] and not lost[10, 10]
    np.testing.assert_array_equal(add_depth_noise(depth, config, frame=3), add_depth_noise(depth, config, frame=3))
    assert not np.array_equal(add_depth_noise(depth, config, frame=3), add_depth_noise(depth, config, frame=4))
    off = DepthNoiseConfig(enabled=False)
    np.testing.assert_array_equal(add_depth_noise(depth, off), depth)


def _shown(frame) -> dict[str, int]:
    """Pixels showing each body (the simulator's segmentation: read here to score, never by perception)."""
    return {name: int((frame.segmentation == body).sum()) for body, name in frame.labels.items()}


def _arm_over_table(world) -> None:
    from robots.robot import RobotAction

    world.robot.reset(world.description.ready)
    for _ in range(3):
        world.robot.send_action(RobotAction(ee_delta=np.array([0.0, 0.0, -0.03]), gripper_width=0.03))


def _stack(world, lower: str, upper: str) -> np.ndarray:
    """Put ``upper`` on ``lower`` (square to the world; ``lower`` keeps its random yaw)."""
    base = world.scene.object_position(lower)
    world.client.set_base_pose(upper, tuple(base + np.array([0.0, 0.0, 0.04])))
    world.client.step(30)
    return base


@pytest.mark.parametrize("noise", [True, False])
def test_cubes_the_arm_partly_hides_are_placed_within_1cm(noise):
    # The centroid of what is visible was 1-2.4 cm off for these scenes; the cube fitted to
    # the view (hidden part under the arm, nothing seen past it) is not.
    from sims.world import TabletopWorld

    world = TabletopWorld(camera={"noise": {"enabled": noise}})
    partly = []
    try:
        for seed in (4, 6, 8, 14, 15, 16, 18):
            world.reset(np.random.default_rng(seed))
            world.settle()
            whole = _shown(world.camera.render(segmentation=True))
            _arm_over_table(world)
            frame = world.camera.render(segmentation=True)
            shown, truth = _shown(frame), world.scene.object_positions()
            for obj in perceive_world(world, frame).objects:
                assert obj.name in truth, f"seed {seed}: {obj.name} is not in the scene"
                if shown[obj.name] < 0.8 * whole[obj.name]:
                    error = float(np.linalg.norm(obj.position - truth[obj.name]))
                    partly.append((seed, obj.name, round(1000 * error, 1)))
    finally:
        world.close()
    assert len(partly) >= 5, partly
    assert all(error < 10.0 for _, _, error in partly), partly


def test_a_cube_under_another_is_one_object_placed_within_1cm():
    # With exact depth the two visible sides of the lower cube used to come out as two
    # look-alike objects (a false "yellow_box"), and its centre 1-2 cm off.
    from sims.world import TabletopWorld

    world = TabletopWorld(camera={"noise": {"enabled": False}})
    found = 0
    try:
        for seed in (1, 6, 14, 15, 18):
            world.reset(np.random.default_rng(seed))
            world.settle()
            lower, upper = np.random.default_rng(1000 + seed).choice(world.scene.object_names, 2, replace=False)
            _stack(world, str(lower), str(upper))
            scene, truth = perceive_world(world), world.scene.object_positions()
            assert sorted(scene.names) == sorted(set(scene.names) & set(truth)), f"seed {seed}: {scene.names}"
            for obj in scene.objects:
                assert np.linalg.norm(obj.position - truth[obj.name]) < 0.01, (seed, obj.name)
            found += str(lower) in scene.names
    finally:
        world.close()
    assert found >= 4


def test_a_cube_on_a_stack_under_the_open_hand_is_not_taken_for_a_tall_one(world):
    # The hand hides the lower cube and much around the upper one: on the table the upper
    # cube would be an 8 cm block (which nothing in view contradicts; it came out so in
    # these scenes); every cube seen whole is 4 cm.
    from embodied.execution.scripted_motions import move_to

    seen = 0
    for seed in (105, 107, 117, 118):
        rng = np.random.default_rng(1000 + seed)
        world.reset(np.random.default_rng(seed))
        world.settle()
        lower, upper = (str(n) for n in rng.choice(world.scene.object_names, 2, replace=False))
        base = _stack(world, lower, upper)
        target = base + np.array([*rng.uniform(-0.02, 0.02, 2), 0.08 + rng.uniform(0.03, 0.06)])
        move_to(world.robot, target, gripper_width=0.08)
        scene = perceive_world(world)
        if upper not in scene.names:
            continue
        seen += 1
        cube = scene.get(upper)
        assert abs(cube.size - 0.04) < 0.006, (seed, cube.size)
        assert np.linalg.norm(cube.position - world.scene.object_position(upper)) < 0.01, seed
    assert seen >= 3
