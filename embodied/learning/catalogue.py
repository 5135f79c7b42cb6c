"""The skill catalogue: which skills exist, their configs, algorithms and shipped policies.

A *skill* is a goal-conditioned env (``configs/skill/<name>.yaml``) plus a stable-baselines3
policy trained on it. The shipped policies live in ``embodied/assets/skills/<name>.zip`` with
a model card beside them.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from embodied.common.config_loader import CONFIG_DIR, ConfigError

SKILLS_DIR = Path(__file__).resolve().parents[1] / "assets" / "skills"
"""Where the shipped policies and their model cards are."""


class SkillError(ConfigError):
    """A skill or checkpoint cannot be used; the message names the problem and the fix."""


def available_skills() -> list[str]:
    """Names of the skill configs in ``configs/skill/``."""
    return sorted(p.stem for p in (CONFIG_DIR / "skill").glob("*.yaml"))


def skill_config(name: str) -> DictConfig:
    """The skill's config (``configs/skill/<name>.yaml``) as a DictConfig."""
    if name not in available_skills():
        raise SkillError(f"unknown skill {name!r}; available skills: {', '.join(available_skills())}")
    return OmegaConf.load(CONFIG_DIR / "skill" / f"{name}.yaml")


def algorithms() -> dict[str, type]:
    """Algorithm classes by config name."""
    from embodied.learning.algorithms import ALGORITHMS

    return dict(ALGORITHMS)


def shipped_checkpoint(skill: str) -> Path:
    return SKILLS_DIR / f"{skill}.zip"
