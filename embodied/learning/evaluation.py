"""Deterministic evaluation episodes of a skill policy: success, length and return per episode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig

from embodied.common.media import caption, write_video
from embodied.learning.catalogue import SkillError
from embodied.learning.envs import make_env


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


def record_video(
    model: Any, skill: DictConfig, camera: dict, path: Path, episodes: int, seed: int, time_feature: bool = False
) -> EvalResult:
    """Evaluation episodes of ``skill`` through ``camera``, captioned, written to ``path`` (MP4)."""
    env = make_env(skill, render_mode="rgb_array", camera=camera, time_feature=time_feature)
    frames: list[np.ndarray] = []

    def on_frame(frame: np.ndarray, episode: int, step: int) -> None:
        frames.append(caption(frame, f"{skill.name}  episode {episode + 1}/{episodes}  step {step}"))

    def on_episode(i: int, success: bool) -> None:
        # Hold the last frame for half a second with the outcome written on it.
        label = "success" if success else "failure"
        frames.extend([caption(frames[-1], f"{skill.name}  episode {i + 1}/{episodes}  {label}")] * 12)

    result = evaluate(model, env, episodes, seed, on_episode=on_episode, on_frame=on_frame)
    env.close()
    write_video(path, frames, fps=25)
    return result
