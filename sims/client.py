"""The only module that imports PyBullet: a thin, name-keyed wrapper around one client.

Everything else (the scene, tasks, the simulated arm through ``robots.physics.ArmPhysics``)
goes through these methods, so a different engine or a real arm can stand in.

Calls pass ``physicsClientId`` to the module functions directly instead of going through
``pybullet_utils.BulletClient``, whose per-call ``__getattr__`` costs ~50 us per env step.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pybullet_data

from sims.config import SimConfig


def _quiet_import():  # noqa: ANN202
    """Import pybullet without its "pybullet build time" banner, which its C code writes to the
    process's stderr at import and which would otherwise open the output of every command."""
    import sys

    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import pybullet

    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return pybullet


pb = _quiet_import()


ROBOT_ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "robots", "urdf")
"""The URDFs this project ships (``robots/urdf``, written by ``scripts/make_arm_urdf.py``)."""


def resolve_data_path(path: str) -> str:
    """Absolute path of an asset: as given if it exists, else in ``robots/urdf``, else inside ``pybullet_data``."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    for root in (ROBOT_ASSETS, pybullet_data.getDataPath()):
        candidate = os.path.join(root, path)
        if os.path.exists(candidate):
            return candidate
    raise FileNotFoundError(f"asset {path!r} not found (looked in the working directory, robots/urdf, pybullet_data)")


class PyBulletClient:
    """One PyBullet physics client with bodies addressed by name.

    Args:
        config: timestep, substeps, solver iterations, gravity, GUI.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        c = self.config
        if c.gui:
            self._id = pb.connect(pb.GUI)
            pb.configureDebugVisualizer(pb.COV_ENABLE_GUI, 0, physicsClientId=self._id)
        else:
            self._id = pb.connect(pb.DIRECT)
        if self._id < 0:
            raise RuntimeError("could not connect to PyBullet (is another GUI client already open?)")
        pb.setTimeStep(c.timestep, physicsClientId=self._id)
        pb.setPhysicsEngineParameter(
            numSolverIterations=c.solver_iterations,
            deterministicOverlappingPairs=int(c.sort_contact_pairs),  # why: SimConfig.sort_contact_pairs
            physicsClientId=self._id,
        )
        pb.setGravity(0.0, 0.0, c.gravity, physicsClientId=self._id)
        self._bodies: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._dof_index: dict[str, dict[int, int]] = {}
        self._steps = 0
        self._revision = 0
        self.gain_scale = 1.0
        """Factor on ``config.position_gain`` (domain randomisation varies it per episode)."""

    # -- lifecycle -------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._id >= 0 and pb.isConnected(physicsClientId=self._id)

    def close(self) -> None:
        """Disconnect; safe to call twice."""
        if self._id >= 0 and pb.isConnected(physicsClientId=self._id):
            pb.disconnect(physicsClientId=self._id)
        self._id = -1

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the module may be gone
            pass

    # -- time ------------------------------------------------------------------------
    @property
    def time(self) -> float:
        """Simulated time, s."""
        return self._steps * self.config.timestep

    @property
    def revision(self) -> int:
        """Changes on every step, restore and teleport, so readers can cache state."""
        return self._revision

    def step(self, n: int = 1) -> None:
        """Advance ``n`` physics steps."""
        cid = self._id
        for _ in range(n):
            pb.stepSimulation(physicsClientId=cid)
        self._steps += n
        self._revision += 1

    def advance(self, seconds: float) -> None:
        """Advance by ``seconds`` of simulated time (rounded to whole physics steps)."""
        self.step(max(1, round(seconds / self.config.timestep)))

    def save_state(self) -> int:
        """Snapshot of the whole world (positions, velocities, contacts) in memory."""
        return pb.saveState(physicsClientId=self._id)

    def restore_state(self, state: int) -> None:
        """Return to a snapshot; contact caches are restored too, which keeps resets deterministic."""
        pb.restoreState(stateId=state, physicsClientId=self._id)
        self._revision += 1

    # -- bodies ----------------------------------------------------------------------
    def _register(self, name: str, body: int) -> None:
        if name in self._bodies:
            raise ValueError(f"a body named {name!r} already exists")
        self._bodies[name] = body
        self._names[body] = name
        self._revision += 1

    def body_id(self, name: str) -> int:
        try:
            return self._bodies[name]
        except KeyError:
            raise KeyError(f"no body named {name!r}; bodies: {sorted(self._bodies)}") from None

    @property
    def body_names(self) -> dict[int, str]:
        """Map from engine body id to name (used to label segmentation masks)."""
        return dict(self._names)

    def load_urdf(
        self,
        name: str,
        path: str,
        position: Sequence[float] = (0.0, 0.0, 0.0),
        orientation: Sequence[float] = (0.0, 0.0, 0.0, 1.0),
        fixed_base: bool = False,
    ) -> None:
        """Load a URDF (relative paths resolve inside pybullet_data) as body ``name``."""
        body = pb.loadURDF(
            resolve_data_path(path),
            basePosition=position,
            baseOrientation=orientation,
            useFixedBase=fixed_base,
            flags=pb.URDF_ENABLE_CACHED_GRAPHICS_SHAPES,
            physicsClientId=self._id,
        )
        self._register(name, body)
        # PyBullet's Jacobian has one column per movable joint, in joint order.
        movable = [
            j
            for j in range(pb.getNumJoints(body, physicsClientId=self._id))
            if pb.getJointInfo(body, j, physicsClientId=self._id)[2] != pb.JOINT_FIXED
        ]
        self._dof_index[name] = {j: k for k, j in enumerate(movable)}

    def create_box(
        self,
        name: str,
        half_extents: Sequence[float],
        mass: float,
        position: Sequence[float],
        rgba: Sequence[float],
        lateral_friction: float = 0.5,
        spinning_friction: float = 0.001,
        collision: bool = True,
    ) -> None:
        """A box body; ``mass = 0`` makes it static, ``collision=False`` makes it visual only."""
        col = (
            pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half_extents, physicsClientId=self._id)
            if collision
            else -1
        )
        vis = pb.createVisualShape(pb.GEOM_BOX, halfExtents=half_extents, rgbaColor=rgba, physicsClientId=self._id)
        body = pb.createMultiBody(
            baseMass=mass,
            baseCollisionShapeIndex=col,
            baseVisualShapeIndex=vis,
            basePosition=position,
            physicsClientId=self._id,
        )
        if collision:
            pb.changeDynamics(
                body,
                -1,
                lateralFriction=lateral_friction,
                spinningFriction=spinning_friction,
                physicsClientId=self._id,
            )
        self._register(name, body)

    def set_friction(self, body: str, link: int, lateral: float, spinning: float = 0.001) -> None:
        self.set_dynamics(body, link, lateral_friction=lateral, spinning_friction=spinning)

    def set_dynamics(
        self,
        body: str,
        link: int,
        *,
        mass: float | None = None,
        lateral_friction: float | None = None,
        spinning_friction: float | None = None,
        linear_damping: float | None = None,
        angular_damping: float | None = None,
        joint_damping: float | None = None,
    ) -> None:
        """Change a link's dynamics (link -1 is the base); None leaves a property as it is."""
        names = {
            "mass": mass,
            "lateralFriction": lateral_friction,
            "spinningFriction": spinning_friction,
            "linearDamping": linear_damping,
            "angularDamping": angular_damping,
            "jointDamping": joint_damping,
        }
        kwargs = {k: float(v) for k, v in names.items() if v is not None}
        pb.changeDynamics(self.body_id(body), link, physicsClientId=self._id, **kwargs)

    def dynamics(self, body: str, link: int = -1) -> dict[str, float]:
        """A link's mass (kg) and lateral friction (the base is link -1)."""
        info = pb.getDynamicsInfo(self.body_id(body), link, physicsClientId=self._id)
        return {"mass": info[0], "lateral_friction": info[1]}

    def set_color(self, name: str, rgba: Sequence[float]) -> None:
        """Repaint a body's base visual (RGBA in [0, 1])."""
        pb.changeVisualShape(self.body_id(name), -1, rgbaColor=list(rgba), physicsClientId=self._id)

    def remove_body(self, name: str) -> None:
        body = self._bodies.pop(name)
        del self._names[body]
        self._dof_index.pop(name, None)
        pb.removeBody(body, physicsClientId=self._id)
        self._revision += 1

    def base_pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(position (3,), quaternion xyzw (4,)) of a body's base, world frame."""
        pos, quat = pb.getBasePositionAndOrientation(self._bodies[name], physicsClientId=self._id)
        return np.array(pos), np.array(quat)

    def base_velocity(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(linear m/s (3,), angular rad/s (3,)) velocity of a body's base, world frame."""
        lin, ang = pb.getBaseVelocity(self._bodies[name], physicsClientId=self._id)
        return np.array(lin), np.array(ang)

    def set_base_pose(
        self, name: str, position: Sequence[float], orientation: Sequence[float] = (0.0, 0.0, 0.0, 1.0)
    ) -> None:
        """Teleport a body's base and zero its velocity."""
        body = self._bodies[name]
        pb.resetBasePositionAndOrientation(body, position, orientation, physicsClientId=self._id)
        pb.resetBaseVelocity(body, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), physicsClientId=self._id)
        self._revision += 1

    # -- joints (the ArmPhysics protocol) --------------------------------------------
    def joint_indices(self, body: str, joint_names: Sequence[str]) -> list[int]:
        b = self.body_id(body)
        by_name = {
            pb.getJointInfo(b, j, physicsClientId=self._id)[1].decode(): j
            for j in range(pb.getNumJoints(b, physicsClientId=self._id))
        }
        missing = [n for n in joint_names if n not in by_name]
        if missing:
            raise KeyError(f"body {body!r} has no joint(s) {missing}; it has {sorted(by_name)}")
        return [by_name[n] for n in joint_names]

    def link_index(self, body: str, link_name: str) -> int:
        b = self.body_id(body)
        for j in range(pb.getNumJoints(b, physicsClientId=self._id)):
            if pb.getJointInfo(b, j, physicsClientId=self._id)[12].decode() == link_name:
                return j
        raise KeyError(f"body {body!r} has no link {link_name!r}")

    def couple_joints(self, body: str, joint_a: int, joint_b: int, ratio: float, max_force: float) -> None:
        b = self.body_id(body)
        c = pb.createConstraint(
            b, joint_a, b, joint_b, pb.JOINT_GEAR, (1, 0, 0), (0, 0, 0), (0, 0, 0), physicsClientId=self._id
        )
        pb.changeConstraint(c, gearRatio=ratio, erp=0.1, maxForce=max_force, physicsClientId=self._id)

    def reset_joints(self, body: str, joints: Sequence[int], positions: Sequence[float]) -> None:
        b = self._bodies[body]
        for j, q in zip(joints, positions, strict=True):
            pb.resetJointState(b, j, float(q), 0.0, physicsClientId=self._id)
        self._revision += 1

    def set_joint_targets(
        self, body: str, joints: Sequence[int], positions: Sequence[float], forces: Sequence[float]
    ) -> None:
        pb.setJointMotorControlArray(
            self._bodies[body],
            joints,
            pb.POSITION_CONTROL,
            targetPositions=positions,
            forces=forces,
            positionGains=[self.config.position_gain * self.gain_scale] * len(joints),
            physicsClientId=self._id,
        )

    def joint_states(self, body: str, joints: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        states = pb.getJointStates(self._bodies[body], joints, physicsClientId=self._id)
        return np.array([s[0] for s in states]), np.array([s[1] for s in states])

    def link_state(self, body: str, link: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = pb.getLinkState(
            self._bodies[body], link, computeLinkVelocity=1, computeForwardKinematics=1, physicsClientId=self._id
        )
        return np.array(s[4]), np.array(s[5]), np.array(s[6])

    def jacobian(self, body: str, link: int, joints: Sequence[int], positions: Sequence[float]) -> np.ndarray:
        b = self._bodies[body]
        dof = self._dof_index[body]
        given = dict(zip(joints, map(float, positions), strict=True))
        try:
            q = [given[j] for j in dof]
        except KeyError:  # some movable joints not given: take them from the current state
            current = pb.getJointStates(b, list(dof), physicsClientId=self._id)
            q = [given.get(j, s[0]) for j, s in zip(dof, current, strict=True)]
        zeros = [0.0] * len(q)
        lin, ang = pb.calculateJacobian(b, link, (0.0, 0.0, 0.0), q, zeros, zeros, physicsClientId=self._id)
        return np.array(lin + ang)[:, [dof[j] for j in joints]]

    # -- rendering -------------------------------------------------------------------
    def render(
        self,
        width: int,
        height: int,
        view_matrix: Sequence[float],
        projection_matrix: Sequence[float],
        segmentation: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Render (rgb uint8 (H, W, 3), depth buffer float32 (H, W) in [0, 1], body ids int32 (H, W) or None).

        Matrices are OpenGL column-major 4x4, flattened. Headless runs use the CPU
        TinyRenderer; with the GUI the OpenGL renderer is used.
        """
        flags = 0 if segmentation else pb.ER_NO_SEGMENTATION_MASK
        renderer = pb.ER_BULLET_HARDWARE_OPENGL if self.config.gui else pb.ER_TINY_RENDERER
        _, _, rgba, depth, seg = pb.getCameraImage(
            width,
            height,
            viewMatrix=view_matrix,
            projectionMatrix=projection_matrix,
            renderer=renderer,
            flags=flags,
            physicsClientId=self._id,
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3]
        depth_buffer = np.asarray(depth, dtype=np.float32).reshape(height, width)
        ids = np.asarray(seg, dtype=np.int32).reshape(height, width) if segmentation else None
        return rgb, depth_buffer, ids
