"""Compose Hydra configs from ``configs/`` with ``key=value`` overrides, with clear errors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
"""The project's config groups. Found next to the packages (install with ``pip install -e .``)."""


class ConfigError(ValueError):
    """A config could not be composed or has a bad value; the message says which."""


def load_config(name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``configs/<name>.yaml`` with Hydra overrides such as ``seed=3`` or ``sim.gui=true``."""
    if not CONFIG_DIR.is_dir():
        raise ConfigError(
            f"config folder {CONFIG_DIR} not found; install from a source checkout with `pip install -e .`"
        )
    for o in overrides:
        if "=" not in o:
            raise ConfigError(f"override {o!r} is not of the form key=value")
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            return compose(config_name=name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(f"bad configuration: {exc}") from exc


def section(cfg: DictConfig, key: str) -> dict:
    """A config section as a plain dict (for the dataclass schemas)."""
    value = OmegaConf.select(cfg, key)
    if value is None:
        raise ConfigError(f"config has no section {key!r}")
    return OmegaConf.to_container(value, resolve=True)  # type: ignore[return-value]


def dds_settings(cfg: DictConfig):  # noqa: ANN201 (robots.ros2.discovery.Discovery; imported lazily)
    """The resolved DDS discovery settings of a config's ``dds`` section (over the environment).

    Raises:
        ConfigError: a bad range, interface, peer or domain id, in config or environment.
    """
    from robots.ros2.discovery import DiscoveryError, resolve

    values = section(cfg, "dds")
    values.pop("estop_topic", None)  # ours, not a discovery setting
    try:
        return resolve(**values)
    except DiscoveryError as exc:
        raise ConfigError(str(exc)) from exc
