"""Shared fixtures. Tests run headless (PyBullet DIRECT) and offline."""

from __future__ import annotations

import os

import numpy as np
import pytest

from robots.ros2.discovery import keep_on_loopback  # noqa: E402 (no DDS is imported by it)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# DDS stays on loopback for this process and every process a test starts (they inherit the
# environment), before any participant exists: LOCALHOST range, no static peers, and our
# loopback Cyclone XML in CYCLONEDDS_URI for participants that bypass robots.ros2.discovery.
keep_on_loopback()


@pytest.fixture
def world():
    from sims.world import TabletopWorld

    w = TabletopWorld()
    w.reset(np.random.default_rng(0))
    yield w
    w.close()
