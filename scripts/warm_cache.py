"""Build the compiled artefacts the default commands use, so the first command starts fast.

Exports the default planner's sentence encoder and every learned skill (with the default
run configuration's execution-time prior overrides) to ONNX, each checked against its model,
into the cache (``$EMBODIED_CACHE_DIR`` or ``~/.cache/embodied``; see
``embodied/common/artifact_cache.py``). Entries that exist are kept. ``scripts/install.sh``
runs this; without it the first command that needs an entry builds it (tens of seconds once).

Usage: python scripts/warm_cache.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    from embodied.common.artifact_cache import cache_dir
    from embodied.common.config_loader import load_config
    from embodied.execution.skill_executors import library_from_config
    from embodied.planning.planner import make_planner
    from embodied.planning.subgoals import CATALOGUE

    start = time.perf_counter()
    cfg = load_config("run", [])
    planner = make_planner(cfg.planner)
    encoder = getattr(planner, "encoder", None)
    if encoder is not None:
        print(f"encoder: {encoder.backend}")
    library = library_from_config(cfg.skills)
    library.prepare(list(CATALOGUE))
    print(f"skills: {', '.join(CATALOGUE)} ({library.runtime})")
    print(f"cache ready in {cache_dir()} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
