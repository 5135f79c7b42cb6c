"""Shared fixtures. Tests run headless (PyBullet DIRECT) and offline."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def world():
    from sims.world import TabletopWorld

    w = TabletopWorld()
    w.reset(np.random.default_rng(0))
    yield w
    w.close()
