"""What an active-stereo depth camera does to depth: axial noise growing with distance,
millimetre quantisation, and missing pixels at depth edges and at random.

The model (parameters in :class:`sims.config.DepthNoiseConfig`):

* axial noise, Gaussian with ``sigma(z) = z^2 * subpixel / (focal * baseline)`` (Intel's
  RMS-error formula for its D400 stereo cameras: the error of a disparity match, ``subpixel``
  pixels, turned into depth);
* quantisation to ``quantisation`` metres (a 16UC1 image in millimetres, REP 118);
* no reading (NaN) with probability ``edge_dropout`` where a 4-neighbour's depth differs by
  more than ``edge_jump`` (the stereo pair cannot match pixels one of its eyes does not see),
  and with probability ``dropout`` anywhere.

Noise is independent per pixel (a real camera's is somewhat correlated over a few pixels).
It is drawn from a generator seeded by ``seed``, a frame counter and the depth image's own
content, so the same scene rendered in the same order gives the same noisy frames.
"""

from __future__ import annotations

import zlib

import numpy as np

from sims.config import DepthNoiseConfig


def depth_sigma(depth: np.ndarray, config: DepthNoiseConfig) -> np.ndarray:
    """Axial standard deviation (m) of a depth reading of ``depth`` metres."""
    return np.square(depth) * (config.subpixel / (config.focal * config.baseline))


def depth_edges(depth: np.ndarray, jump: float) -> np.ndarray:
    """(H, W) bool: pixels with a 4-neighbour whose depth differs by more than ``jump`` m."""
    edges = np.zeros(depth.shape, dtype=bool)
    dy = np.abs(np.diff(depth, axis=0)) > jump
    dx = np.abs(np.diff(depth, axis=1)) > jump
    edges[:-1] |= dy
    edges[1:] |= dy
    edges[:, :-1] |= dx
    edges[:, 1:] |= dx
    return edges


def add_depth_noise(depth: np.ndarray, config: DepthNoiseConfig, frame: int = 0) -> np.ndarray:
    """A noisy copy of ``depth`` ((H, W) float32, m, along the optical axis); NaN = no reading.

    ``frame`` numbers the frames of one run, so consecutive views of a still scene differ.
    """
    if not config.enabled:
        return depth
    rng = np.random.default_rng([config.seed, frame, zlib.crc32(np.ascontiguousarray(depth).tobytes())])
    noisy = depth.astype(np.float64) + rng.standard_normal(depth.shape) * depth_sigma(depth.astype(np.float64), config)
    if config.quantisation > 0:
        noisy = np.round(noisy / config.quantisation) * config.quantisation
    lost = rng.random(depth.shape) < config.dropout
    if config.edge_dropout > 0:
        lost |= depth_edges(depth, config.edge_jump) & (rng.random(depth.shape) < config.edge_dropout)
    noisy[lost] = np.nan
    return noisy.astype(np.float32)
