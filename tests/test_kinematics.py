"""The NumPy kinematic model that hardware code relies on (no simulator on a real cell) agrees
with PyBullet's forward kinematics and Jacobian on the same URDF."""

import numpy as np
import pytest

from robots.description import load_description
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


def _pybullet_flange(urdf: str, link: str, joints: list[str], samples: np.ndarray) -> list[np.ndarray]:
    """(4, 4) world pose of ``link`` in PyBullet for each joint vector (a bare client, fixed base)."""
    import pybullet as pb

    cid = pb.connect(pb.DIRECT)
    try:
        body = pb.loadURDF(urdf, useFixedBase=True, physicsClientId=cid)
        index = {
            pb.getJointInfo(body, i, physicsClientId=cid)[1].decode(): i
            for i in range(pb.getNumJoints(body, physicsClientId=cid))
        }
        links = {pb.getJointInfo(body, i, physicsClientId=cid)[12].decode(): i for i in index.values()}
        out = []
        for q in samples:
            for name, v in zip(joints, q, strict=True):
                pb.resetJointState(body, index[name], float(v), physicsClientId=cid)
            state = pb.getLinkState(body, links[link], computeForwardKinematics=1, physicsClientId=cid)
            pose = np.eye(4)
            pose[:3, :3] = np.array(pb.getMatrixFromQuaternion(state[5])).reshape(3, 3)
            pose[:3, 3] = state[4]
            out.append(pose)
        return out
    finally:
        pb.disconnect(cid)


def test_xarm6_model_matches_pybullet_on_the_published_urdf():
    """UFACTORY's modified DH (with joint offsets) against pybullet_data's xArm 6 URDF: the
    flange frame (joint 6) in position and orientation, over the joint limits."""
    import pybullet_data

    from robots.description import load_description

    d = load_description("xarm6")
    model = ArmModel(d)
    rng = np.random.default_rng(0)
    lower = np.array([j.lower for j in d.arm_joints])
    upper = np.array([j.upper for j in d.arm_joints])
    samples = rng.uniform(lower, upper, (25, 6))
    urdf = f"{pybullet_data.getDataPath()}/xarm/xarm6_with_gripper.urdf"
    # The URDF writes pi/2 as 1.5708 (3.7e-6 rad off) and PyBullet reports link poses in
    # single precision: agreement to 2e-5 m / 2e-5 is that, not a model error (a wrong
    # offset or length is off by centimetres).
    for q, theirs in zip(samples, _pybullet_flange(urdf, "link6", d.joint_names, samples), strict=True):
        ours = model.frames(q)[5]
        np.testing.assert_allclose(ours[:3, 3], theirs[:3, 3], atol=2e-5)
        np.testing.assert_allclose(ours[:3, :3], theirs[:3, :3], atol=2e-5)
        tcp, _ = model.forward(q)
        np.testing.assert_allclose(tcp, theirs[:3, 3] + 0.172 * theirs[:3, 2], atol=2e-5)  # along the flange's z
    # The end-effector Jacobian agrees with finite differences of the model's own FK.
    q = samples[0]
    jac = model.jacobian(q)
    for i in range(6):
        dq = np.zeros(6)
        dq[i] = 1e-6
        np.testing.assert_allclose((model.forward(q + dq)[0] - model.forward(q - dq)[0]) / 2e-6, jac[:3, i], atol=1e-6)


@pytest.mark.parametrize("arm", ["ur5e", "xarm6"])
def test_shipped_urdf_matches_the_kinematic_model_in_pybullet(arm):
    """The URDF written from the DH model (robots/urdf/) gives PyBullet the same end-effector
    pose as the model, over random joint positions within the limits."""
    import pybullet as pb

    from sims.client import resolve_data_path

    d = load_description(arm)
    model = ArmModel(d)
    cid = pb.connect(pb.DIRECT)
    try:
        body = pb.loadURDF(resolve_data_path(d.urdf), useFixedBase=True, physicsClientId=cid)
        info = [
            pb.getJointInfo(body, i, physicsClientId=cid) for i in range(pb.getNumJoints(body, physicsClientId=cid))
        ]
        joints = {i[1].decode(): i[0] for i in info}
        links = {i[12].decode(): i[0] for i in info}
        rng = np.random.default_rng(1)
        for _ in range(100):
            q = rng.uniform(np.maximum(d.lower_limits, -np.pi), np.minimum(d.upper_limits, np.pi))
            for name, value in zip(d.joint_names, q, strict=True):
                pb.resetJointState(body, joints[name], value, physicsClientId=cid)
            state = pb.getLinkState(body, links[d.ee_link], computeForwardKinematics=True, physicsClientId=cid)
            position, quaternion = model.forward(q)
            np.testing.assert_allclose(state[4], position, atol=2e-5)
            assert abs(float(np.dot(state[5], quaternion))) > 1 - 1e-6
    finally:
        pb.disconnect(cid)


def test_shipped_urdfs_are_what_the_generator_writes():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "scripts/make_arm_urdf.py", "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
