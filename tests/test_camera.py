"""Headless rendering: RGB, metric depth, segmentation (for checking the renderer here; perception
never reads it), and calibration that back-projects."""

from __future__ import annotations

import numpy as np
import pytest

from sims.camera import Camera
from sims.config import CameraConfig


@pytest.mark.parametrize("size", [(128, 128), (224, 224), (160, 120)])
def test_render_shapes_and_types(world, size):
    w, h = size
    frame = Camera(world.client, CameraConfig(width=w, height=h)).render(segmentation=True)
    assert frame.rgb.shape == (h, w, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.shape == (h, w) and frame.depth.dtype == np.float32
    assert frame.segmentation.shape == (h, w)
    assert frame.intrinsics.shape == (3, 3)


def test_every_cube_is_visible_and_labelled_from_the_default_camera(world):
    frame = world.camera.render(segmentation=True)
    visible = {frame.labels[i] for i in np.unique(frame.segmentation) if i >= 0}
    assert {"red_cube", "green_cube", "blue_cube", "yellow_cube", "table"} <= visible


def test_depth_back_projects_to_the_true_cube_tops(world):
    """Pixels of each cube's top face land within 5 mm of the true top (x, y, z) (exact depth)."""
    frame = Camera(world.client, CameraConfig(noise={"enabled": False})).render(segmentation=True)
    points = frame.points_world()
    for name in world.scene.object_names:
        mask = frame.segmentation == world.client.body_id(name)
        top = points[mask]
        top = top[top[:, 2] > top[:, 2].max() - 0.003]  # the top face (camera looks straight down)
        truth = world.scene.object_position(name) + [0, 0, 0.02]
        assert np.linalg.norm(top.mean(axis=0) - truth) < 0.005, name


def test_cube_colour_is_readable_from_rgb(world):
    frame = world.camera.render(segmentation=True)
    red = frame.rgb[frame.segmentation == world.client.body_id("red_cube")].mean(axis=0)
    assert red[0] > 1.5 * red[1] and red[0] > 1.5 * red[2]


def test_left_of_the_robot_is_left_in_the_image(world):
    world.client.set_base_pose("red_cube", (0.5, 0.25, 0.02))  # robot's left (+y)
    world.client.set_base_pose("blue_cube", (0.5, -0.25, 0.02))  # robot's right
    frame = world.camera.render(segmentation=True)
    cols = {n: np.nonzero(frame.segmentation == world.client.body_id(n))[1].mean() for n in ("red_cube", "blue_cube")}
    assert cols["red_cube"] < cols["blue_cube"]


@pytest.mark.parametrize(
    "kwargs, message",
    [({"fov": 0}, "fov"), ({"near": 2.0, "far": 1.0}, "greater than near"), ({"width": 0}, "width")],
)
def test_bad_camera_config_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CameraConfig(**kwargs)


def test_camera_looking_along_up_is_refused(world):
    with pytest.raises(ValueError, match="parallel"):
        Camera(world.client, CameraConfig(eye=(0.5, 0, 1), target=(0.5, 0, 0), up=(0, 0, 1)))
