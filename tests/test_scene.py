"""The tabletop scene: names, seeded placement without overlap, regions, the report fields."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sims.config import SceneConfig

CUBES = ["red_cube", "green_cube", "blue_cube", "yellow_cube"]


def test_default_scene_has_the_four_named_cubes_on_the_table(world):
    assert world.scene.object_names == CUBES
    for name, pos in world.scene.object_positions().items():
        assert world.scene.on_table(pos), name
        assert pos[2] == pytest.approx(0.02, abs=1e-6)


def test_same_seed_same_scene_different_seed_different_scene(world):
    world.reset(np.random.default_rng(7))
    a = world.scene.object_positions()
    world.reset(np.random.default_rng(8))
    b = world.scene.object_positions()
    world.reset(np.random.default_rng(7))
    c = world.scene.object_positions()
    for name in CUBES:
        np.testing.assert_array_equal(a[name], c[name])
    assert any(np.linalg.norm(a[n] - b[n]) > 0.01 for n in CUBES)


def test_cubes_never_overlap_and_keep_off_the_edges(world):
    scene = world.scene
    cfg = scene.config
    for seed in range(200):
        positions = scene.sample_positions(np.random.default_rng(seed), 4)
        for p, q in itertools.combinations(positions, 2):
            assert np.linalg.norm(p[:2] - q[:2]) >= cfg.min_separation - 1e-12
        assert np.all(positions[:, :2] >= scene.table_lower + cfg.edge_margin)
        assert np.all(positions[:, :2] <= scene.table_upper - cfg.edge_margin)


def test_placed_cubes_stay_put(world):
    start = world.scene.object_positions()
    world.client.advance(1.0)
    for name, pos in world.scene.object_positions().items():
        assert np.linalg.norm(pos - start[name]) < 1e-3


def test_regions_follow_the_robot_frame(world):
    s = world.scene
    cx, cy = s.table_center[:2]
    hx, hy = s.table_size / 2
    assert s.regions_of([cx, cy + 0.9 * hy, 0]) == ["left"]  # +y is the robot's left
    assert s.regions_of([cx, cy - 0.9 * hy, 0]) == ["right"]
    assert s.regions_of([cx + 0.9 * hx, cy, 0]) == ["far"]  # +x is away from the robot
    assert s.regions_of([cx - 0.9 * hx, cy, 0]) == ["near"]
    assert s.regions_of([cx, cy, 0]) == ["center"]
    assert s.in_region([cx, cy, 0], "middle")
    assert set(s.regions_of([cx + 0.9 * hx, cy + 0.9 * hy, 0])) == {"far", "left"}
    with pytest.raises(ValueError, match="unknown region 'up'"):
        s.region_bounds("up")


def test_describe_gives_the_report_fields(world):
    d = world.scene.describe()
    assert set(d["objects"]) == set(CUBES)
    assert len(d["objects"]["red_cube"]["position"]) == 3
    assert d["table"] == {"center": [0.5, 0.0, 0.0], "size": [0.5, 0.7]}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_separation": 0.03}, "cube diagonal"),
        ({"cube_size": -1}, "cube_size"),
        ({"cubes": [{"name": "a", "rgba": (1, 0, 0, 1)}, {"name": "a", "rgba": (0, 1, 0, 1)}]}, "duplicate"),
        ({"edge_margin": 1.0}, "no room"),
    ],
)
def test_bad_scene_config_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SceneConfig(**kwargs)
