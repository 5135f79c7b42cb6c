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


def test_perception_needs_segmentation(world):
    from embodied.perception.scene import perceive

    frame = world.camera.render(segmentation=False)
    with pytest.raises(ValueError, match="segmentation"):
        perceive(frame)
