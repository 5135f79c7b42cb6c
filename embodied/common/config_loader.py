"""Compose Hydra configs from ``configs/`` with ``key=value`` overrides, with clear errors."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
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
        if o.startswith(("+", "~")):
            raise ConfigError(f"override {o!r}: adding or deleting keys is not supported; set an existing key")
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            cfg = compose(config_name=name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(_explain(name, overrides, exc)) from exc
    from embodied.common.config_schema import validate

    try:
        validate(name, OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return cfg


def _explain(name: str, overrides: Sequence[str], exc: Exception) -> str:
    """Hydra's error in one line; for an unknown key, the nearest known keys instead of its "+key" hint."""
    import difflib

    text = str(exc).splitlines()[0]
    missing = re.search(r"Could not find '([\w-]+)/([^']+)'", text)
    if missing and (CONFIG_DIR / missing.group(1)).is_dir():
        group, value = missing.groups()
        choices = ", ".join(sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml")))
        return f"{group}={value}: no such choice; choose one of {choices}"
    if "Could not override" not in text and "Key '" not in text:
        return f"bad configuration: {text}"
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            base = OmegaConf.to_container(compose(config_name=name), resolve=False)
    except (HydraException, OmegaConfBaseException):
        return f"bad configuration: {text}"
    known = sorted(_keys(base))
    for o in overrides:
        key = o.split("=", 1)[0]
        if key not in known and not any(k.startswith(key + ".") for k in known):
            near = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
            command = name.replace("_", "-")
            hint = f"; did you mean {' or '.join(near)}?" if near else f"; see `embodied {command} --cfg` for its keys"
            return f"unknown key {key!r} in {o!r}{hint}"
    return f"bad configuration: {text}"


def _keys(tree: object, prefix: str = "") -> list[str]:
    if not isinstance(tree, dict):
        return [prefix[:-1]] if prefix else []
    out = [prefix[:-1]] if prefix else []
    for k, v in tree.items():
        out += _keys(v, f"{prefix}{k}.")
    return out


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
