"""Train one skill with stable-baselines3 (SAC/TQC + HER, or PPO) and write a self-describing run folder.

The run folder holds: ``config.yaml`` (resolved, to repeat the run exactly), ``command.txt``,
``logs/`` (TensorBoard + progress.csv; wandb/ with ``logger=wandb``), ``best.zip`` and
``last.zip`` with ``last_replay_buffer.pkl`` off-policy (for ``resume=``), ``evaluations.json`` (success
rate vs env steps), ``eval.mp4`` and ``model_card.md`` / ``card.json``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv

from embodied.common.config_loader import ConfigError, section
from embodied.common.run_folder import make_run_dir
from embodied.learning.callbacks import (
    AppendingCSV,
    LastCheckpoint,
    Periodically,
    SuccessEvaluation,
    TrainingProgress,
)
from embodied.learning.catalogue import algorithms, prior_layout, skill_config
from embodied.learning.checkpoints import BUFFER, LAST
from embodied.learning.envs import episode_steps, make_env
from embodied.learning.evaluation import record_video
from embodied.learning.model_card import write_card
from embodied.learning.policies import OBS_KEYS, POLICIES
from embodied.learning.priors import ObsLayout, PriorConfig, prior_action


@dataclass
class TrainResult:
    """Where the run went and how it ended."""

    run_dir: Path
    card: dict


# -- setup -------------------------------------------------------------------------------
def resolve_device(device: str, threads: int) -> str:
    """ "auto" -> "cuda" when a GPU is visible, else "cpu" (with ``threads`` torch threads)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device} but torch sees no CUDA GPU; use device=auto or device=cpu")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}")
    if device == "cpu":
        # Small MLPs: one thread avoids oversubscription on shared CPUs (measured many times faster).
        torch.set_num_threads(max(1, threads))
    return device


def validate(cfg: DictConfig) -> int:
    """Check the values SB3 would otherwise reject deep inside; returns the step budget."""
    if cfg.algo.name not in algorithms():
        raise ConfigError(f"unknown algorithm {cfg.algo.name!r}; available: {', '.join(algorithms())}")
    total = cfg.total_steps if cfg.total_steps is not None else cfg.skill.total_steps
    if not isinstance(total, int) or total <= 0:
        raise ConfigError(f"total_steps must be a positive integer, got {total!r}")
    if cfg.eval.every < 0 or cfg.eval.episodes < 1 or cfg.eval.video_episodes < 0:
        raise ConfigError("eval.every must be >= 0, eval.episodes >= 1 and eval.video_episodes >= 0")
    try:
        PriorConfig(**section(cfg, "skill.prior"))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"skill.prior: {exc}") from exc
    # HER samples whole episodes: the first gradient step needs one finished episode in every env.
    task = OmegaConf.select(cfg, "skill.task")
    steps = episode_steps(str(cfg.skill.env_id), OmegaConf.to_container(task, resolve=True) if task else {})
    starts = OmegaConf.select(cfg, "algo.kwargs.learning_starts")
    if cfg.algo.get("her") is not None and steps is not None and starts is not None:
        if int(starts) < int(cfg.n_envs) * steps:
            raise ConfigError(
                f"algo.kwargs.learning_starts={starts} must be at least n_envs x skill.task.max_episode_steps"
                f" = {int(cfg.n_envs)} x {steps} = {int(cfg.n_envs) * steps}: HER learns from finished episodes"
            )
    return int(total)


def hardware() -> str:
    """A one-line description of the machine (CPU model and count, GPU if any)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return f"{os.cpu_count()} x {cpu}{gpu}"


def measure_normalization(cfg: DictConfig, episodes: int, seed: int) -> tuple[list[float], list[float]]:
    """Mean and std of the flattened observation over prior (or random) rollouts.

    The prior's actions get Gaussian noise (std 0.3) so the statistics cover states slightly
    off the scripted path, where the learned policy will also go.
    """
    env = make_env(cfg.skill, time_feature=cfg.algo.time_feature)
    prior = PriorConfig(**section(cfg, "skill.prior"))
    layout = ObsLayout(**prior_layout(cfg.skill))
    rng = np.random.default_rng(seed)
    rows = []
    n_act = env.action_space.shape[0]
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        done = False
        while not done:
            rows.append(np.concatenate([obs[k] for k in OBS_KEYS]))
            if prior.kind == "none":
                action = rng.uniform(-1, 1, n_act)
            else:
                o = torch.as_tensor(obs["observation"])[None]
                g = torch.as_tensor(obs["desired_goal"])[None]
                action = prior_action(o, g, layout, prior, n_act)[0].numpy() + rng.normal(0, 0.3, n_act)
            obs, _, terminated, truncated, _ = env.step(np.clip(action, -1, 1))
            done = terminated or truncated
    env.close()
    data = np.asarray(rows, dtype=np.float64)
    return data.mean(0).tolist(), data.std(0).tolist()


def build_model(cfg: DictConfig, env: Any, device: str, normalization: tuple[list[float], list[float]] | None):
    """A fresh SB3 model from the algo and skill configs: off-policy with HER replay (n-step
    returns when ``algo.her.n_steps`` > 1), or on-policy PPO when ``algo.her`` is null."""
    from embodied.learning.replay import NStepHerReplayBuffer

    kwargs = {**section(cfg, "algo.kwargs"), **dict(cfg.skill.get("algo_kwargs") or {})}
    algo_cls = algorithms()[cfg.algo.name]
    prior = OmegaConf.select(cfg, "skill.prior.kind", default="none")
    if "prior_weight" in kwargs and (not cfg.algo.residual or prior == "none"):
        # Without a prior the "residual" is the whole action: the anchor would pull it to zero.
        kwargs["prior_weight"] = 0.0
    policy_kwargs = dict(section(cfg, "algo.policy"))
    if cfg.algo.residual:
        policy = POLICIES[cfg.algo.name]
        policy_kwargs.update(prior=section(cfg, "skill.prior"), layout=prior_layout(cfg.skill))
        if normalization is not None:
            policy_kwargs["features_extractor_kwargs"] = {"mean": normalization[0], "std": normalization[1]}
    else:
        policy = "MultiInputPolicy"
        policy_kwargs.pop("initial_std", None)
        policy_kwargs.pop("residual_scale", None)
    replay = {}
    if cfg.algo.get("her") is not None:  # off-policy; PPO (her: null) learns from its own rollouts
        replay = {
            "replay_buffer_class": NStepHerReplayBuffer,
            # The buffer discounts its n-step returns with the algorithm's own gamma.
            "replay_buffer_kwargs": {**section(cfg, "algo.her"), "gamma": float(kwargs.get("gamma", 0.99))},
        }
    return algo_cls(
        policy,
        env,
        **replay,
        policy_kwargs=policy_kwargs,
        seed=int(cfg.seed),
        device=device,
        verbose=0,
        **kwargs,
    )


# -- the job -----------------------------------------------------------------------------
def _resume_paths(resume: str) -> tuple[Path, Path]:
    path = Path(resume)
    run_dir = path.parent if path.suffix == ".zip" else path
    ckpt = path if path.suffix == ".zip" else run_dir / LAST
    if not ckpt.exists():
        raise ConfigError(f"resume={resume}: no checkpoint {ckpt}; pass a run folder written by `embodied train`")
    return run_dir, ckpt


def _start_wandb(cfg: DictConfig, run_dir: Path) -> Any:
    try:
        import wandb
    except ImportError as exc:
        raise ConfigError("logger=wandb needs the wandb package: pip install wandb") from exc
    return wandb.init(
        project=cfg.logger.project,
        entity=cfg.logger.entity,
        mode=cfg.logger.mode,
        dir=str(run_dir),
        name=run_dir.name,
        config=OmegaConf.to_container(cfg, resolve=True),
        sync_tensorboard=True,
    )


def train(cfg: DictConfig, overrides: Sequence[str] = (), console: Console | None = None) -> TrainResult:
    """Run ``embodied train`` for a composed ``configs/train.yaml``.

    Raises:
        ConfigError: bad values, unknown skill or algorithm, unusable resume folder.
    """
    from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat

    skill_config(cfg.skill.name)  # a clear error for a hand-edited skill name
    total = validate(cfg)
    device = resolve_device(str(cfg.device), int(cfg.threads))
    seed = int(cfg.seed)
    history: list[dict] = []
    wall_offset = 0.0
    if cfg.resume:
        run_dir, ckpt = _resume_paths(str(cfg.resume))
        old = OmegaConf.load(run_dir / "config.yaml")
        for key in ("skill.name", "algo.name"):
            if OmegaConf.select(old, key) != OmegaConf.select(cfg, key):
                raise ConfigError(
                    f"resume={cfg.resume}: that run trained {key}={OmegaConf.select(old, key)}, "
                    f"not {OmegaConf.select(cfg, key)}; use the same skill and algo"
                )
        if cfg.algo.get("her") is not None and not (run_dir / BUFFER).exists():
            raise ConfigError(
                f"resume={cfg.resume}: no replay buffer {run_dir / BUFFER}; cannot resume without losing it"
            )
        if (run_dir / "evaluations.json").exists():
            history = json.loads((run_dir / "evaluations.json").read_text())
            wall_offset = history[-1]["wall_seconds"] if history else 0.0
    else:
        run_dir = make_run_dir(cfg.run_dir, "train", cfg.skill.name, seed=seed)
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    command = "embodied train " + " ".join(overrides)
    with (run_dir / "command.txt").open("a") as f:
        f.write(command + "\n")

    wandb_run = _start_wandb(cfg, run_dir) if cfg.logger.name == "wandb" else None
    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    outputs = [AppendingCSV(str(logs / "progress.csv"))]
    if cfg.logger.name in ("tensorboard", "wandb"):
        outputs.append(TensorBoardOutputFormat(str(logs)))
    logger = Logger(str(logs), outputs)

    # With randomize=true both the training and the evaluation envs are randomised (physics,
    # noise, latency: configs/randomization), so "best" means best under randomisation.
    randomization = section(cfg, "randomization") if cfg.get("randomize") else None

    def env_fn():  # noqa: ANN202
        return make_env(cfg.skill, time_feature=cfg.algo.time_feature, randomization=randomization)

    env = make_vec_env(env_fn, n_envs=int(cfg.n_envs), seed=seed, vec_env_cls=DummyVecEnv)
    eval_env = env_fn()
    t0 = time.perf_counter()
    try:
        if cfg.resume:
            model = algorithms()[cfg.algo.name].load(ckpt, env=env, device=device)
            if cfg.algo.get("her") is not None:
                model.load_replay_buffer(run_dir / BUFFER)
        else:
            norm = measure_normalization(cfg, int(cfg.normalization_episodes), seed) if cfg.algo.residual else None
            model = build_model(cfg, env, device, norm)
        model.set_logger(logger)
        evaluation = SuccessEvaluation(
            run_dir, eval_env, int(cfg.eval.episodes), int(cfg.eval.seed), history, wall_offset, console
        )
        checkpoint = LastCheckpoint(run_dir, int(cfg.checkpoint_every), int(cfg.n_envs))
        callbacks = [Periodically(int(cfg.eval.every), evaluation), checkpoint]
        if console is not None:
            callbacks.append(TrainingProgress(total, console, evaluation))
        remaining = total - model.num_timesteps
        if remaining <= 0:
            raise ConfigError(
                f"the run already has {model.num_timesteps} steps >= total_steps={total}; raise total_steps to continue"
            )
        try:
            model.learn(remaining, callback=CallbackList(callbacks), reset_num_timesteps=not cfg.resume)
        except BaseException:  # Ctrl-C, SIGTERM, or a crash: keep what was learned, then stop
            if checkpoint.model is not None and model.num_timesteps > 0:
                checkpoint.save_now()
                print(
                    f"stopped at {model.num_timesteps} steps; saved {run_dir / LAST}: "
                    f"continue with `embodied train resume={run_dir}`",
                    file=sys.stderr,
                )
            raise
    finally:
        env.close()
        eval_env.close()
        if wandb_run is not None:
            wandb_run.finish()
    wall = time.perf_counter() - t0 + wall_offset
    if cfg.eval.video_episodes:
        record_video(
            model,
            cfg.skill,
            section(cfg, "video_camera"),
            run_dir / "eval.mp4",
            int(cfg.eval.video_episodes),
            int(cfg.eval.seed),
            cfg.algo.time_feature,
        )
    final = evaluation.history[-1]
    card = {
        "skill": cfg.skill.name,
        "algo": cfg.algo.name,
        "prior": cfg.skill.prior.kind if cfg.algo.residual else "none",
        "env_id": cfg.skill.env_id,
        "task": OmegaConf.to_container(cfg.skill.task) if cfg.skill.get("task") else {},
        "randomization": randomization,
        "command": command.strip(),
        "seed": seed,
        "steps": int(model.num_timesteps),
        "wall_seconds": round(wall, 1),
        "steps_per_second": round(model.num_timesteps / max(wall, 1e-9), 1),
        "hardware": hardware(),
        "device": device,
        "success_rate": final["success_rate"],
        "best_success_rate": max(h["success_rate"] for h in evaluation.history),
        "initial_success_rate": evaluation.history[0]["success_rate"],
        "eval_episodes": final["episodes"],
        "eval_seed": int(cfg.eval.seed),
        "history": evaluation.history,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
    }
    write_card(run_dir, card)
    return TrainResult(run_dir=run_dir, card=card)
