"""The NumPy kinematic model that hardware code relies on (no simulator on a real cell) agrees
with PyBullet's forward kinematics and Jacobian on the same URDF."""

import numpy as np
import pytest

from robots.forward_kinematics import ArmModel
from sims.world import TabletopWorld


@pytest.fixture(scope="module")
def world():
    w = TabletopWorld(objects=[])
    yield w
    w.close()


def test_panda_model_matches_pybullet(world):
    d = world.description
    model = ArmModel(d)
    rng = np.random.default_rng(0)
    lower = np.array([j.lower for j in d.arm_joints])
    upper = np.array([j.upper for j in d.arm_joints])
    worst_pos = worst_rot = worst_jac = 0.0
    for _ in range(25):
        q = rng.uniform(lower, upper)
        world.robot.reset(q)
        obs = world.robot.get_observation()
        pos, quat = model.forward(q)
        worst_pos = max(worst_pos, float(np.abs(pos - obs.ee_position).max()))
        # q and -q are one rotation
        worst_rot = max(
            worst_rot, float(min(np.abs(quat - obs.ee_orientation).max(), np.abs(quat + obs.ee_orientation).max()))
        )
        ee = world.client.link_index(world.robot.name, d.ee_link)
        joints = world.client.joint_indices(world.robot.name, d.joint_names)
        jac = world.client.jacobian(world.robot.name, ee, joints, q.tolist())
        worst_jac = max(worst_jac, float(np.abs(model.jacobian(q) - jac).max()))
    assert worst_pos < 1e-6, worst_pos
    assert worst_rot < 1e-6, worst_rot
    assert worst_jac < 1e-6, worst_jac
