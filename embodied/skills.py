"""The skill catalogue on the learning side: skill configs, their envs, shipped policies, evaluation.

A *skill* is a goal-conditioned env (``configs/skill/<name>.yaml``) plus a stable-baselines3
policy trained on it. The shipped policies live in ``embodied/assets/skills/<name>.zip`` with
a model card beside them. Everything that loads a checkpoint goes through
:func:`load_policy`, which turns SB3's deep errors into one :class:`SkillError` that says
what is wrong and what to do.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig, OmegaConf

from embodied.config import CONFIG_DIR, ConfigError

SKILLS_DIR = Path(__file__).resolve().parent / "assets" / "skills"
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
    from embodied.algos import ALGORITHMS

    return dict(ALGORITHMS)


class SeededResets(gym.Wrapper):
    """Makes every reset of a panda-gym env follow the first seed.

    panda-gym re-seeds its task from OS entropy on each ``reset(seed=None)``, so after the
    first episode goals and cube positions no longer depend on the seed. This wrapper draws
    each later episode's seed from a generator seeded by the first one.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._episode_seeds = np.random.default_rng(0)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        if seed is not None:
            self._episode_seeds = np.random.default_rng(seed)
        return self.env.reset(seed=int(self._episode_seeds.integers(2**31 - 1)), options=options)


def make_env(
    skill: DictConfig | dict,
    render_mode: str | None = None,
    camera: dict | None = None,
    time_feature: bool = False,
    randomization: dict | None = None,
) -> gym.Env:
    """One env for a skill config; panda-gym ids (``Panda*``) work too (for the benchmark).

    ``randomization`` (fields of :class:`sims.randomization.RandomizationConfig`) wraps the
    env in domain randomisation, noise and latency; our envs only.
    """
    import sims  # noqa: F401  (registers the embodied/* ids)

    env_id = str(skill["env_id"])
    kwargs: dict[str, Any] = {}
    if env_id.startswith("Panda"):
        import panda_gym  # noqa: F401  (registers the Panda* ids)
    else:
        task = skill.get("task")
        kwargs["task_config"] = OmegaConf.to_container(task) if isinstance(task, DictConfig) else dict(task or {})
        if camera is not None:
            kwargs["camera"] = camera
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.Error as exc:
        raise SkillError(f"skill {skill.get('name')!r}: cannot make env {env_id!r}: {exc}") from exc
    if env_id.startswith("Panda"):
        env = SeededResets(env)
    if randomization is not None:
        from sims.randomization import RandomizedEnv

        if env_id.startswith("Panda"):
            raise SkillError(f"randomization works on our embodied/* envs, not on {env_id}")
        try:
            env = RandomizedEnv(env, dict(randomization))
        except ValueError as exc:
            raise SkillError(str(exc)) from exc
    if time_feature:
        from sb3_contrib.common.wrappers import TimeFeatureWrapper

        env = TimeFeatureWrapper(env)
    return env


def shipped_checkpoint(skill: str) -> Path:
    return SKILLS_DIR / f"{skill}.zip"


def _space_shapes(space: gym.spaces.Space) -> dict[str, tuple]:
    if isinstance(space, gym.spaces.Dict):
        return {k: tuple(s.shape) for k, s in space.spaces.items()}
    return {"": tuple(space.shape)}


def load_policy(skill: str, checkpoint: str | Path | None = None, env: gym.Env | None = None, device: str = "cpu"):  # noqa: ANN201
    """Load a skill's SB3 model (the shipped one unless ``checkpoint`` is given).

    Checks that the checkpoint exists, is a readable SB3 zip, and was trained for the same
    observation and action spaces as ``env`` (built from the skill's config when None).

    Raises:
        SkillError: with what is wrong and what to do.
    """
    cfg = skill_config(skill)
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
    if not zipfile.is_zipfile(path):
        raise SkillError(
            f"checkpoint {path} is not a stable-baselines3 zip (corrupt or wrong file); retrain or re-copy it"
        )
    from stable_baselines3.common.save_util import load_from_zip_file

    try:
        data, _, _ = load_from_zip_file(path, device="cpu", load_data=True)
        saved_obs, saved_act = data["observation_space"], data["action_space"]
    except Exception as exc:  # noqa: BLE001 (SB3 raises many kinds for a damaged zip)
        raise SkillError(f"checkpoint {path} could not be loaded ({type(exc).__name__}: {exc}); retrain it") from exc
    env = env if env is not None else make_env(cfg)
    want, got = _space_shapes(env.observation_space), _space_shapes(saved_obs)
    if want != got or env.action_space.shape != saved_act.shape:
        raise SkillError(
            f"checkpoint {path} was trained for observations {got} and actions {saved_act.shape}, but skill "
            f"{skill!r} ({cfg.env_id}, task {dict(cfg.get('task') or {})}) gives {want} and {env.action_space.shape}: "
            "it belongs to another skill or scene; pass the matching skill or retrain"
        )
    from sb3_contrib.tqc.policies import TQCPolicy

    policy_class = data.get("policy_class")
    name = "tqc" if isinstance(policy_class, type) and issubclass(policy_class, TQCPolicy) else "sac"
    try:
        # HER replay buffers need an env at load time, even when only predicting.
        return algorithms()[name].load(path, env=env, device=device)
    except Exception as exc:  # noqa: BLE001 (SB3 raises many kinds)
        raise SkillError(f"checkpoint {path} could not be loaded as {name.upper()} ({exc}); retrain it") from exc


@dataclass
class EvalResult:
    """Outcome of deterministic evaluation episodes."""

    successes: list[bool] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)

    @property
    def episodes(self) -> int:
        return len(self.successes)

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.successes)) if self.successes else 0.0


def evaluate(
    policy: Callable[[dict], np.ndarray] | Any,
    env: gym.Env,
    episodes: int,
    seed: int,
    on_episode: Callable[[int, bool], None] | None = None,
    on_frame: Callable[[np.ndarray, int, int], None] | None = None,
) -> EvalResult:
    """Run ``episodes`` deterministic episodes; episode i is reset with seed ``seed + i``.

    ``policy`` is an SB3 model (``predict`` is called deterministically) or a function from
    observation to action. ``on_frame(frame, episode, step)`` gets rendered frames when the
    env renders RGB arrays.
    """
    if episodes < 1:
        raise SkillError(f"episodes must be >= 1, got {episodes}")
    act = (lambda o: policy.predict(o, deterministic=True)[0]) if hasattr(policy, "predict") else policy
    result = EvalResult()
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i)
        done, length, ret = False, 0, 0.0
        if on_frame is not None:
            on_frame(env.render(), i, 0)
        while not done:
            obs, reward, terminated, truncated, info = env.step(act(obs))
            done = terminated or truncated
            length += 1
            ret += float(reward)
            if on_frame is not None:
                on_frame(env.render(), i, length)
        success = bool(info.get("is_success", False))
        result.successes.append(success)
        result.lengths.append(length)
        result.returns.append(ret)
        if on_episode is not None:
            on_episode(i, success)
    return result
