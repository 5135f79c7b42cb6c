"""A URDF with simple shapes, written from an arm's kinematic model (DH parameters) and a
parallel gripper: for arms whose maker publishes the kinematics, masses and limits but whose
meshes we do not ship (the UR5e, the xArm 6).

The kinematic chain is exact: the transform from the base to each joint and to the
end-effector point equals :class:`robots.forward_kinematics.ArmModel` at every joint
position (checked against PyBullet in ``tests/test_kinematics.py``). The links are capsule-like
cylinders between consecutive joints, with the published link masses and the inertia of a
solid cylinder. The gripper is a palm and two prismatic fingers, opening along the
end-effector frame's y axis, whose pads meet at the end-effector point (``ee_link``).

``python scripts/make_arm_urdf.py`` writes the URDFs the descriptions name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from robots.description import RobotDescription
from robots.forward_kinematics import _link

FINGER_LENGTH = 0.035
"""Length of a finger along the approach axis, m; its centre is at the end-effector point, so
with the point at a 4 cm cube's centre the fingertips stay clear of the table."""


def rpy_from_matrix(r: np.ndarray) -> tuple[float, float, float]:
    """URDF roll-pitch-yaw (R = Rz(yaw) Ry(pitch) Rx(roll)) of a rotation matrix."""
    pitch = math.asin(max(-1.0, min(1.0, -float(r[2, 0]))))
    if abs(math.cos(pitch)) > 1e-9:
        roll = math.atan2(float(r[2, 1]), float(r[2, 2]))
        yaw = math.atan2(float(r[1, 0]), float(r[0, 0]))
    else:  # gimbal lock: put it all in yaw
        roll, yaw = 0.0, math.atan2(-float(r[0, 1]), float(r[1, 1]))
    return roll, pitch, yaw


def _origin(t: np.ndarray) -> str:
    x, y, z = (f"{v:.9g}" for v in t[:3, 3])
    r, p, w = (f"{v:.9g}" for v in rpy_from_matrix(t[:3, :3]))
    return f'<origin xyz="{x} {y} {z}" rpy="{r} {p} {w}"/>'


def _translation(v: Sequence[float]) -> np.ndarray:
    t = np.eye(4)
    t[:3, 3] = v
    return t


def joint_transforms(description: RobotDescription) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """(origin of each arm joint in its parent link, flange in the last link, TCP in the flange).

    The model's chain ``prod_i L_i(q_i + offset_i) * tool`` is rewritten as
    ``prod_i (S_{i-1} P_i Rz(offset_i)) Rz(q_i)`` so that every joint turns about its own z:
    standard DH ``L = Rz(theta) Tz(d) Tx(a) Rx(alpha)`` gives ``P = I, S = Tz(d) Tx(a) Rx(alpha)``;
    modified ``L = Rx(alpha) Tx(a) Rz(theta) Tz(d)`` gives ``P = Rx(alpha) Tx(a), S = Tz(d)``.
    """
    k = description.kinematics
    if k is None:
        raise ValueError(f"robot {description.name!r} has no kinematics to write a URDF from")
    modified = k.convention == "modified"
    origins, before = [], np.eye(4)
    for row in k.dh:
        a, d, alpha = (float(v) for v in row[:3])
        offset = float(row[3]) if len(row) > 3 else 0.0
        if modified:
            p, s = _link(a, 0.0, alpha, 0.0, True), _translation((0.0, 0.0, d))
        else:
            p, s = np.eye(4), _link(a, d, alpha, 0.0, False)
        origins.append(before @ p @ _link(0.0, 0.0, 0.0, offset, True))
        before = s
    tool = _link(0.0, float(k.tool), 0.0, float(k.tool_yaw), True)
    return origins, before, tool


def _cylinder_between(start: np.ndarray, end: np.ndarray, radius: float) -> str:
    """Visual and collision cylinder from ``start`` to ``end`` (link frame, m); empty if they coincide."""
    v = end - start
    length = float(np.linalg.norm(v))
    if length < 1e-4:
        return ""
    z = v / length
    x = np.cross([0.0, 0.0, 1.0], z) if abs(z[2]) < 0.99 else np.array([1.0, 0.0, 0.0])
    x = x / np.linalg.norm(x)
    t = np.eye(4)
    t[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    t[:3, 3] = (start + end) / 2
    geometry = f'<geometry><cylinder radius="{radius}" length="{length:.6g}"/></geometry>'
    return (
        f"<visual>{_origin(t)}{geometry}<material name='grey'/></visual><collision>{_origin(t)}{geometry}</collision>"
    )


def _inertial(mass: float, radius: float, length: float, centre: np.ndarray) -> str:
    ixx = mass * (3 * radius**2 + length**2) / 12
    izz = mass * radius**2 / 2
    c = " ".join(f"{v:.6g}" for v in centre)
    return (
        f'<inertial><origin xyz="{c}" rpy="0 0 0"/><mass value="{mass}"/>'
        f'<inertia ixx="{ixx:.6g}" iyy="{ixx:.6g}" izz="{izz:.6g}" ixy="0" ixz="0" iyz="0"/></inertial>'
    )


def _frame_link(name: str) -> str:
    """A massless frame (PyBullet gives a link without inertial data 1 kg: give it 1 g)."""
    return f'<link name="{name}">{_inertial(0.001, 0.001, 0.001, np.zeros(3))}</link>'


def write_urdf(
    description: RobotDescription,
    masses: Sequence[float],
    radii: Sequence[float],
    flange_link: str,
    base_link: str = "base_link",
) -> str:
    """The URDF text of ``description``'s arm with a simple parallel gripper.

    Args:
        description: joints, limits, gripper and kinematics (``kinematics`` required).
        masses: base then one per arm link, kg (published link masses).
        radii: base then one per arm link, m (the cylinders' radii).
        flange_link: the vendor's name of the tool flange frame (``tool0``, ``link_eef``).
    """
    d = description
    n = d.n_joints
    if len(masses) != n + 1 or len(radii) != n + 1:
        raise ValueError(f"give {n + 1} masses and radii (base + {n} links)")
    origins, flange, tool = joint_transforms(d)
    links = [base_link] + [f"link{i + 1}" for i in range(n)]
    # Each link's body runs from its joint to the next joint (or the flange).
    ends = [o[:3, 3] for o in origins[1:]] + [flange[:3, 3]]
    parts = [
        f'<?xml version="1.0"?>\n<robot name="{d.name}">',
        "<material name='grey'><color rgba='0.6 0.6 0.62 1'/></material>",
    ]
    base_end = origins[0][:3, 3]
    parts.append(
        f'<link name="{base_link}">{_cylinder_between(np.zeros(3), base_end, radii[0])}'
        f"{_inertial(masses[0], radii[0], float(np.linalg.norm(base_end)) or 0.05, base_end / 2)}</link>"
    )
    for i, spec in enumerate(d.arm_joints):
        end = ends[i]
        body = _cylinder_between(np.zeros(3), end, radii[i + 1])
        joint_ball = (
            f'<visual><geometry><sphere radius="{radii[i + 1] * 1.15:.4g}"/></geometry><material name="grey"/></visual>'
        )
        length = float(np.linalg.norm(end)) or 2 * radii[i + 1]
        inertial = _inertial(masses[i + 1], radii[i + 1], length, end / 2)
        parts.append(f'<link name="{links[i + 1]}">{joint_ball}{body}{inertial}</link>')
        parts.append(
            f'<joint name="{spec.name}" type="revolute"><parent link="{links[i]}"/><child link="{links[i + 1]}"/>'
            f'{_origin(origins[i])}<axis xyz="0 0 1"/>'
            f'<limit lower="{spec.lower}" upper="{spec.upper}" '
            f'velocity="{spec.max_velocity}" effort="{spec.max_effort}"/>'
            '<dynamics damping="0.0" friction="0.0"/></joint>'
        )
    parts.append(_frame_link(flange_link))
    parts.append(
        f'<joint name="{flange_link}_fixed" type="fixed"><parent link="{links[-1]}"/><child link="{flange_link}"/>'
        f"{_origin(flange)}</joint>"
    )
    # Gripper: palm on the flange, fingers reaching to the end-effector point.
    g = d.gripper
    reach = float(tool[2, 3])
    palm_depth = max(reach - FINGER_LENGTH / 2, 0.02)
    half_width = g.max_width / 2
    palm = np.eye(4)
    palm[:3, :3] = tool[:3, :3]  # the palm turns with the tool frame (fingers along its y)
    palm[2, 3] = palm_depth / 2
    palm_box = f'<geometry><box size="0.03 {g.max_width + 0.04:.4g} {palm_depth:.4g}"/></geometry>'
    parts.append(
        f'<link name="gripper_palm"><visual><origin xyz="0 0 0" rpy="0 0 0"/>{palm_box}<material name="grey"/></visual>'
        f'<collision><origin xyz="0 0 0" rpy="0 0 0"/>{palm_box}</collision>'
        f"{_inertial(0.5, 0.03, palm_depth, np.zeros(3))}</link>"
    )
    parts.append(
        f'<joint name="gripper_palm_fixed" type="fixed"><parent link="{flange_link}"/><child link="gripper_palm"/>'
        f"{_origin(palm)}</joint>"
    )
    finger_box = f'<geometry><box size="0.02 0.01 {FINGER_LENGTH}"/></geometry>'
    for side, joint in zip((1.0, -1.0), g.joints, strict=False):
        name = f"finger_{'left' if side > 0 else 'right'}"
        # Closed: the pad's inner face at the centre line; a joint position of w/2 opens it by w/2.
        origin = f'<origin xyz="0 {side * 0.005:.4g} {palm_depth / 2 + FINGER_LENGTH / 2:.6g}" rpy="0 0 0"/>'
        parts.append(
            f'<link name="{name}"><visual><origin xyz="0 0 0" rpy="0 0 0"/>{finger_box}<material name="grey"/></visual>'
            f'<collision><origin xyz="0 0 0" rpy="0 0 0"/>{finger_box}</collision>'
            f"{_inertial(0.05, 0.01, FINGER_LENGTH, np.zeros(3))}</link>"
        )
        parts.append(
            f'<joint name="{joint}" type="prismatic"><parent link="gripper_palm"/><child link="{name}"/>{origin}'
            f'<axis xyz="0 {side:g} 0"/><limit lower="0" upper="{half_width}" '
            f'velocity="{g.max_speed}" effort="{g.max_effort}"/></joint>'
        )
    tcp = np.eye(4)
    tcp[2, 3] = reach - palm_depth / 2
    parts.append(_frame_link(d.ee_link))
    parts.append(
        f'<joint name="{d.ee_link}_fixed" type="fixed"><parent link="gripper_palm"/><child link="{d.ee_link}"/>'
        f"{_origin(tcp)}</joint>"
    )
    parts.append("</robot>\n")
    return "\n".join(parts)
