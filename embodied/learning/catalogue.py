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


def checkpoint_path(skill: str, checkpoint: str | Path | None) -> Path:
    """The zip a skill runs: ``checkpoint`` (a run folder means its best.zip, else last.zip),
    or the shipped one when None.

    Raises:
        SkillError: the file does not exist, with what to do about it.
    """
    path = Path(checkpoint) if checkpoint is not None else shipped_checkpoint(skill)
    if path.is_dir():
        path = path / "best.zip" if (path / "best.zip").exists() else path / "last.zip"
    if not path.exists():
        hint = (
            f"train one with `embodied train skill={skill}` and pass checkpoint=runs/train/{skill}/<run>/best.zip"
            if checkpoint is not None
            else f"the package ships no {skill} policy; reinstall, or train one with `embodied train skill={skill}`"
        )
        raise SkillError(f"checkpoint {path} not found: {hint}")
    return path


def prior_layout(skill: DictConfig | dict) -> dict:
    """Where a skill's motion prior reads the observation: ``ee``, ``width``, ``obj`` indices
    and ``table_z`` (m), as :class:`embodied.learning.priors.ObsLayout` takes them.

    For our envs the indices come from the observation builder (:mod:`sims.observation`),
    so they cannot disagree with it; panda-gym's envs (benchmarks) state them in the skill
    config's ``layout``.
    """
    env_id = str(skill["env_id"])
    layout = dict(skill.get("layout") or {})
    if env_id.startswith("Panda"):
        return layout
    from sims import observation_layout

    task = skill.get("task")
    task = OmegaConf.to_container(task) if isinstance(task, DictConfig) else dict(task or {})
    return {**observation_layout(env_id, task).prior_layout(), "table_z": float(layout.get("table_z", 0.0))}
