"""Splitting a command line into the positional argument (instruction, skill) and ``key=value``
overrides, and the shorthands some commands accept."""

from __future__ import annotations

import re

from embodied.common.config_loader import ConfigError

_OVERRIDE = re.compile(r"[\w.@/+~-]+=\S*")


def is_override(token: str) -> bool:
    """``seed=3`` is an override; "put the red cube on the blue cube" is not."""
    return _OVERRIDE.fullmatch(token) is not None


def instruction_and_overrides(tokens: list[str]) -> tuple[str | None, list[str]]:
    """The instruction (the one token that is not ``key=value``) and the overrides, in any order
    (``tracking=`` is short for ``perception.tracking=``).

    Raises:
        ConfigError: more than one instruction.
    """
    instruction, overrides = None, []
    for token in tokens:
        if is_override(token):
            overrides.extend(tracking_shorthand([token]))
        elif instruction is not None:
            raise ConfigError(
                f"give one instruction, in quotes (got {instruction!r} and {token!r}); settings are key=value"
            )
        else:
            instruction = token
    return instruction, overrides


def tracking_shorthand(overrides: list[str]) -> list[str]:
    """``tracking=camera`` is short for ``perception.tracking=camera``."""
    return ["perception." + o if o.startswith("tracking=") else o for o in overrides]


def dds_shorthand(overrides: list[str]) -> list[str]:
    """``domain=N`` is short for ``dds.domain=N`` (the ROS_DOMAIN_ID of commands that speak DDS)."""
    return ["dds." + o if o.startswith("domain=") else o for o in overrides]


def deploy_overrides(overrides: list[str]) -> list[str]:
    """Deploy's overrides; ``target=`` says where (ros2, sim), ``robot=`` which arm (panda, ...).

    Raises:
        ConfigError: ``robot=ros2``/``robot=sim`` or ``arm=`` (the names of an older release).
    """
    for o in overrides:
        key, _, value = o.partition("=")
        if key == "robot" and value in ("ros2", "sim"):
            raise ConfigError(f"robot={value}: robot names the arm (panda, ur5e, xarm6); say target={value}")
        if key == "arm":
            raise ConfigError(f"arm={value}: the arm is chosen with robot={value}")
    return dds_shorthand(overrides)


def skill_and_overrides(command: str, tokens: list[str]) -> list[str]:
    """``SKILL key=value ...`` as overrides with ``skill=SKILL`` first.

    Raises:
        ConfigError: no skill, or an unknown one (listing the known ones).
    """
    skill, overrides = instruction_and_overrides(tokens)
    if skill is None:
        named = [o for o in overrides if o.startswith("skill=")]
        if not named:
            raise ConfigError(f"name a skill: `embodied {command} SKILL`, e.g. `embodied {command} push`")
        return overrides
    from embodied.learning.catalogue import skill_config

    skill_config(skill)  # unknown skill: one clear error listing the known ones
    return [f"skill={skill}", *overrides]
