"""stable-baselines3 callbacks of ``embodied train``: SB3's own scheduling and checkpointing,
subclassed only where ours adds something.

- :class:`SuccessEvaluation` runs under :class:`Periodically`, SB3's
  :class:`EveryNTimesteps` (every ``eval.every`` env steps): deterministic episodes on
  fixed held-out seeds (the ones ``eval-skill`` uses), success rate to the logger and
  ``evaluations.json``, ``best.zip`` by success rate.
- :class:`LastCheckpoint` is SB3's :class:`CheckpointCallback` writing one ``last.zip`` and
  its replay buffer, each written aside and renamed into place, so a run killed while saving
  keeps its previous checkpoint whole and ``resume=`` always finds a matching pair.
- :class:`TrainingProgress` is the progress bar (:mod:`embodied.common.progress`).
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback, EveryNTimesteps
from stable_baselines3.common.logger import CSVOutputFormat

from embodied.common.progress import progress_bar
from embodied.learning.checkpoints import BEST, BUFFER, LAST
from embodied.learning.evaluation import evaluate


class AppendingCSV(CSVOutputFormat):
    """SB3's progress.csv writer, appending to an existing file (a resumed run keeps its
    earlier rows; SB3's own writer truncates it). New columns are merged as SB3 does."""

    def __init__(self, filename: str) -> None:  # noqa: D107 (SB3's writer, opened for appending)
        # r+ (not a+): SB3 rewrites the file from the top when new columns appear.
        self.file = open(filename, "r+t" if os.path.exists(filename) else "w+t")  # noqa: SIM115 (SB3 closes it)
        self.file.seek(0)
        header = self.file.readline().strip()
        self.keys = header.split(",") if header else []
        self.file.seek(0, os.SEEK_END)
        self.separator = ","
        self.quotechar = '"'


class SuccessEvaluation(BaseCallback):
    """Held-out success rate, each time it is triggered (and once before and after training).

    Args:
        run_dir: where ``best.zip`` and ``evaluations.json`` go.
        eval_env: a single (not vectorised) env, reset with seeds ``seed .. seed + episodes - 1``.
        history: the evaluations of earlier sessions of a resumed run.
        wall_offset: wall-clock seconds of those sessions.
    """

    def __init__(
        self,
        run_dir: Path,
        eval_env: Any,
        episodes: int,
        seed: int,
        history: list[dict] | None = None,
        wall_offset: float = 0.0,
        console: Console | None = None,
    ) -> None:
        super().__init__()
        self.run_dir, self.eval_env, self.episodes, self.seed = run_dir, eval_env, episodes, seed
        self.history: list[dict] = list(history or [])
        self.best = max((h["success_rate"] for h in self.history), default=-1.0)
        self.wall_offset = wall_offset
        self.console = console
        self.started = time.perf_counter()
        self.eval_seconds = 0.0  # time spent evaluating (not training), for steps/s

    def _on_training_start(self) -> None:
        self.started = time.perf_counter()
        if not self.history:
            self.evaluate_now()  # the untrained policy (the prior alone, for residual policies)

    def _on_step(self) -> bool:
        self.evaluate_now()
        return True

    def _on_training_end(self) -> None:
        if not self.history or self.history[-1]["steps"] != self.num_timesteps:
            self.evaluate_now()

    def evaluate_now(self) -> None:
        t0 = time.perf_counter()
        result = evaluate(self.model, self.eval_env, self.episodes, self.seed)
        entry = {
            "steps": int(self.num_timesteps),
            "success_rate": result.success_rate,
            "episodes": result.episodes,
            "mean_length": float(np.mean(result.lengths)),
            "wall_seconds": round(time.perf_counter() - self.started + self.wall_offset, 1),
        }
        self.history.append(entry)
        self.logger.record("eval/success_rate", entry["success_rate"])
        self.logger.record("eval/mean_episode_length", entry["mean_length"])
        self.logger.dump(self.num_timesteps)
        if entry["success_rate"] > self.best:
            self.best = entry["success_rate"]
            self.model.save(self.run_dir / BEST)
        (self.run_dir / "evaluations.json").write_text(json.dumps(self.history, indent=1))
        self.eval_seconds += time.perf_counter() - t0
        if self.console is not None:
            self.console.log(
                f"eval @ {self.num_timesteps} steps: success {entry['success_rate']:.0%} "
                f"over {result.episodes} episodes"
            )


class Periodically(EveryNTimesteps):
    """SB3's :class:`EveryNTimesteps`, counting from where this session starts (a resumed run
    does not evaluate at once), passing the end of training on to its callback, and
    ``n_steps=0`` meaning never in between (start and end only)."""

    def _on_training_start(self) -> None:
        self.last_time_trigger = self.num_timesteps
        super()._on_training_start()

    def _on_step(self) -> bool:
        return True if self.n_steps <= 0 else super()._on_step()

    def _on_training_end(self) -> None:
        if self.callback is not None:
            self.callback.on_training_end()


class LastCheckpoint(CheckpointCallback):
    """SB3's checkpoint callback, keeping one ``last.zip`` (+ ``last_replay_buffer.pkl`` off-policy).

    Args:
        save_freq: env steps between saves (SB3 counts calls; divided by the number of envs).
        n_envs: envs of the training VecEnv.
    """

    def __init__(self, run_dir: Path, save_freq: int, n_envs: int) -> None:
        super().__init__(max(1, save_freq // max(1, n_envs)), str(run_dir), name_prefix="last", save_replay_buffer=True)
        self.run_dir = Path(run_dir)

    def _checkpoint_path(self, checkpoint_type: str = "", extension: str = "") -> str:
        # One pair of files written aside; _on_step renames them into place once both exist.
        return str(self.run_dir / ("last_replay_buffer.tmp.pkl" if checkpoint_type else "last.tmp.zip"))

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq == 0:
            self.save_now()
        return True

    def _on_training_end(self) -> None:
        self.save_now()

    def save_now(self) -> None:
        """Write ``last.zip`` and its replay buffer, if the algorithm has one (also on Ctrl-C,
        from the training job). On-policy PPO keeps nothing between updates but the model."""
        off_policy = getattr(self.model, "replay_buffer", None) is not None
        if off_policy:
            self.model.save_replay_buffer(self._checkpoint_path("replay_buffer_", "pkl"))
        self.model.save(self._checkpoint_path(extension="zip"))
        if off_policy:
            os.replace(self._checkpoint_path("replay_buffer_", "pkl"), self.run_dir / BUFFER)
        os.replace(self._checkpoint_path(extension="zip"), self.run_dir / LAST)


class TrainingProgress(BaseCallback):
    """A progress bar: steps, time left, env steps/s, rollout and evaluation success."""

    def __init__(self, total: int, console: Console | None, evaluation: SuccessEvaluation) -> None:
        super().__init__()
        self.total, self.console, self.evaluation = total, console, evaluation
        self.recent: deque[float] = deque(maxlen=100)
        self.bar = None
        self.start_steps = 0

    def _on_training_start(self) -> None:
        self.start_steps = self.num_timesteps
        self.bar = progress_bar(self.console, "training", self.total, completed=self.num_timesteps)
        self.bar.__enter__()

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
            if done:
                self.recent.append(float(info.get("is_success", False)))
        if self.n_calls % 50 == 0:
            self.logger.record("time/steps_per_second", self.steps_per_second())
            self.bar.update(self.num_timesteps, self.summary())
        return True

    def _on_training_end(self) -> None:
        self.bar.update(self.num_timesteps, self.summary())
        self.bar.__exit__(None, None, None)

    def steps_per_second(self) -> float:
        """Env steps per second of training, evaluation time left out."""
        seconds = time.perf_counter() - self.evaluation.started - self.evaluation.eval_seconds
        return (self.num_timesteps - self.start_steps) / max(seconds, 1e-9)

    def summary(self) -> str:
        train = f"{np.mean(self.recent):.0%}" if self.recent else "-"
        h = self.evaluation.history
        last = f"{h[-1]['success_rate']:.0%}" if h else "-"
        return f"{self.steps_per_second():.0f} steps/s | rollout success {train} | eval success {last}"
