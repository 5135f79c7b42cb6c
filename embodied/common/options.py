"""A command's main options for ``--help``: each key with its default (composed from ``configs/``)
and its one-line description (from the config schema, the one place keys are documented)."""

from __future__ import annotations

from collections.abc import Sequence

from embodied.common.config_loader import CONFIG_DIR, load_config


def describe_options(config: str, keys: Sequence[str], overrides: Sequence[str] = ()) -> list[str]:
    """Lines ``  key=default   description`` for ``keys`` of ``configs/<config>.yaml``.

    A key that names a config group (``planner``, ``skills``) lists the group's choices.
    """
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from embodied.common.config_schema import describe

    cfg = load_config(config, overrides)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        choices_made = compose(
            config_name=config, overrides=list(overrides), return_hydra_config=True
        ).hydra.runtime.choices
    rows = []
    for key in keys:
        group = CONFIG_DIR / key
        if group.is_dir():
            choices = sorted(p.stem for p in group.glob("*.yaml"))
            default = choices_made.get(key, "?")
            rows.append((f"{key}={default}", f"config group: {' | '.join(choices)}"))
            continue
        value = OmegaConf.select(cfg, key, default=None)
        if OmegaConf.is_config(value):
            value = OmegaConf.to_container(value, resolve=True)
        shown = "null" if value is None else str(value).replace(" ", "").replace("'", "")
        if isinstance(value, bool):
            shown = shown.lower()
        rows.append((f"{key}={shown}", describe(config, key) or ""))
    width = max((len(k) for k, _ in rows), default=0)
    return [f"  {k.ljust(width)}  {d}".rstrip() for k, d in rows]
