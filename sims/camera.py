"""A configurable pinhole camera: RGB, metric depth and segmentation, with its calibration.

Matrices are built here with NumPy (OpenGL look-at and perspective), so the intrinsics and
extrinsics handed to perception are exactly those used to render.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sims.client import PyBulletClient
from sims.config import CameraConfig
from sims.depth_noise import add_depth_noise


@dataclass(frozen=True)
class CameraFrame:
    """One rendered view.

    Attributes:
        rgb: (H, W, 3) uint8 colour image.
        depth: (H, W) float32 depth along the optical axis, m; NaN where the camera has no
            reading (its noise model, ``camera.noise``, loses pixels at edges).
        segmentation: (H, W) int32 engine body id per pixel, -1 for background; or None.
            For pictures only (``embodied demo``): perception never reads it.
        labels: body id -> object name for the ids that can appear in ``segmentation``.
        intrinsics: (3, 3) pinhole matrix K in pixels (u right, v down).
        camera_to_world: (4, 4) pose of the camera in the world frame, optical convention
            (x right, y down, z forward), so ``p_world = T @ [x, y, z, 1]``.
    """

    rgb: np.ndarray
    depth: np.ndarray
    segmentation: np.ndarray | None
    labels: dict[int, str]
    intrinsics: np.ndarray
    camera_to_world: np.ndarray

    def points_world(self) -> np.ndarray:
        """(H, W, 3) world-frame position of every pixel, back-projected from depth, m (NaN: no reading)."""
        h, w = self.depth.shape
        k = self.intrinsics
        # Pixel centres at integer coordinates, as ROS's CameraInfo.K has them.
        u, v = np.meshgrid(np.arange(w), np.arange(h))
        z = self.depth.astype(np.float64)
        cam = np.stack([(u - k[0, 2]) * z / k[0, 0], (v - k[1, 2]) * z / k[1, 1], z], axis=-1)
        return cam @ self.camera_to_world[:3, :3].T + self.camera_to_world[:3, 3]


class Camera:
    """Renders a :class:`PyBulletClient` from the pose and optics in a :class:`CameraConfig`."""

    def __init__(self, client: PyBulletClient, config: CameraConfig | None = None) -> None:
        self.client = client
        self.config = c = config or CameraConfig()
        eye, target, up = (np.asarray(v, dtype=np.float64) for v in (c.eye, c.target, c.up))
        forward = target - eye
        if np.linalg.norm(forward) < 1e-9:
            raise ValueError("camera.eye and camera.target must differ")
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, up)
        if np.linalg.norm(right) < 1e-9:
            raise ValueError("camera.up must not be parallel to the viewing direction")
        right /= np.linalg.norm(right)
        true_up = np.cross(right, forward)
        # Optical frame: x right, y down, z forward.
        self.camera_to_world = np.eye(4)
        self.camera_to_world[:3, :3] = np.stack([right, -true_up, forward], axis=1)
        self.camera_to_world[:3, 3] = eye
        # OpenGL view matrix: x right, y up, z backward.
        view = np.eye(4)
        view[:3, :3] = np.stack([right, true_up, -forward])
        view[:3, 3] = -view[:3, :3] @ eye
        f = 1.0 / math.tan(math.radians(c.fov) / 2)
        aspect = c.width / c.height
        proj = np.zeros((4, 4))
        proj[0, 0] = f / aspect
        proj[1, 1] = f
        proj[2, 2] = (c.far + c.near) / (c.near - c.far)
        proj[2, 3] = 2 * c.far * c.near / (c.near - c.far)
        proj[3, 2] = -1.0
        # Column-major flattening, as OpenGL and PyBullet expect.
        self._view = view.T.reshape(-1).tolist()
        self._proj = proj.T.reshape(-1).tolist()
        fy = (c.height / 2) * f
        # Principal point where PyBullet's TinyRenderer puts the optical axis (measured: the
        # column W/2 and the row H/2 - 1 with pixel centres at integers; a cube's back-projected
        # centre is then within 0.5 mm of the truth, against ~3 mm with the ideal (W-1)/2, (H-1)/2).
        self.intrinsics = np.array([[fy, 0.0, c.width / 2], [0.0, fy, c.height / 2 - 1.0], [0.0, 0.0, 1.0]])
        self.frames = 0
        """Frames rendered since :meth:`restart` (numbers the depth noise draws)."""

    def restart(self) -> None:
        """Start the frame count again (a world reset), so a seed replays the same noisy frames."""
        self.frames = 0

    def render(self, segmentation: bool = False) -> CameraFrame:
        """Render the current scene, with depth noise when ``camera.noise.enabled``.

        Headless rendering runs on the CPU (TinyRenderer). ``segmentation`` also returns the
        engine's body-id mask, for pictures; perception does not use it.
        """
        c = self.config
        rgb, buffer, ids = self.client.render(c.width, c.height, self._view, self._proj, segmentation)
        depth = (c.far * c.near / (c.far - (c.far - c.near) * buffer)).astype(np.float32)
        depth = add_depth_noise(depth, c.noise, self.frames)
        self.frames += 1
        return CameraFrame(
            rgb=rgb,
            depth=depth,
            segmentation=ids,
            labels=self.client.body_names,
            intrinsics=self.intrinsics,
            camera_to_world=self.camera_to_world,
        )
