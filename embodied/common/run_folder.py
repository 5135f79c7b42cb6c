"""Run folders: the one place an output folder is named, made and described.

Every job writes into ``runs/<job...>/<date>-<time>[-seed<N>]`` unless its ``run_dir`` key
names a folder; the composed config goes beside the outputs as ``config.yaml``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from embodied.common.config_loader import ConfigError


def make_run_dir(configured: object, *job: str, seed: int | None = None) -> Path:
    """The output folder of a job, created: ``configured`` (the ``run_dir`` key) or
    ``runs/<job...>/<date>-<time>[-seed<N>]``.

    Raises:
        ConfigError: the folder cannot be created (names the key and the reason).
    """
    if configured:
        path = Path(str(configured)).expanduser()
    else:
        stamp = f"{datetime.now():%Y%m%d-%H%M%S-%f}" + (f"-seed{seed}" if seed is not None else "")
        path = Path("runs", *job, stamp)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"run_dir={path}: cannot be created ({exc.strerror or exc})") from exc
    return path


def prepare_run_dir(cfg: DictConfig, job: str = "run") -> Path:
    """The run folder of a job that has ``run_dir`` and ``seed`` keys, with ``config.yaml`` in it."""
    run_dir = make_run_dir(cfg.run_dir, job, seed=int(cfg.seed))
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return run_dir
