"""Pictures and videos: caption frames, colour depth and segmentation, write PNG and MP4."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
from PIL import Image, ImageDraw


def caption(frame: np.ndarray, text: str) -> np.ndarray:
    """Copy of an RGB frame (H, W, 3) uint8 with ``text`` on a dark band at the top."""
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    band = 14
    draw.rectangle((0, 0, image.width, band), fill=(20, 20, 20))
    draw.text((4, 1), text, fill=(255, 255, 255))
    return np.asarray(image)


def depth_image(depth: np.ndarray, near: float | None = None, far: float | None = None) -> np.ndarray:
    """Depth (H, W) in m as a grey RGB image, near = bright; range from the data by default."""
    lo = float(depth.min()) if near is None else near
    hi = float(depth.max()) if far is None else far
    scaled = 1.0 - (np.clip(depth, lo, hi) - lo) / max(hi - lo, 1e-9)
    grey = (scaled * 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def segmentation_image(ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """Body ids (H, W) as an RGB image, a fixed random colour per id, background black."""
    palette = np.random.default_rng(seed).integers(40, 256, size=(int(ids.max()) + 2, 3), dtype=np.uint8)
    palette[0] = 0  # id -1 (background) maps to index 0
    return palette[ids + 1]


def write_png(path: str | Path, image: np.ndarray) -> Path:
    path = Path(path)
    imageio.imwrite(path, image)
    return path


def write_video(path: str | Path, frames: Sequence[np.ndarray], fps: int = 25) -> Path:
    """MP4 (H.264 through imageio-ffmpeg) of RGB frames; frame sizes must be even."""
    path = Path(path)
    if not frames:
        raise ValueError("no frames to write")
    with imageio.get_writer(path, fps=fps, codec="libx264", quality=7, macro_block_size=8) as writer:
        for frame in frames:
            writer.append_data(frame)
    return path
