"""stable-baselines3 callbacks and logger outputs of ``embodied train``."""

from __future__ import annotations

import json
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import CSVOutputFormat

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


class TrainMonitor(BaseCallback):
    """Live progress (steps/s, rollout and evaluation success), periodic evaluation, checkpoints."""

    def __init__(
        self,
        run_dir: Path,
        eval_env: Any,
        every: int,
        episodes: int,
        eval_seed: int,
        total: int,
        console: Console | None,
        history: list[dict] | None = None,
        wall_offset: float = 0.0,
        checkpoint_every: int = 0,
    ) -> None:
        super().__init__()
        self.checkpoint_every = checkpoint_every  # env steps between last.zip + buffer saves (0: only at the end)
        self.next_checkpoint = 0
        self.run_dir, self.eval_env = run_dir, eval_env
        self.every, self.episodes, self.eval_seed, self.total = every, episodes, eval_seed, total
        self.console = console
        self.history: list[dict] = history or []
        self.best = max((h["success_rate"] for h in self.history), default=-1.0)
        self.recent: deque[float] = deque(maxlen=100)
        self.next_eval = 0
        self.start = time.perf_counter()
        self.start_steps = 0
        self.progress = None
        self.wall_offset = wall_offset  # wall-clock seconds of earlier sessions of a resumed run

    def _on_training_start(self) -> None:
        self.start = self.t_begin = time.perf_counter()
        self.start_steps = self.num_timesteps
        self.next_eval = self.num_timesteps if not self.history else self.num_timesteps + self.every
        self.next_checkpoint = self.num_timesteps + self.checkpoint_every
        if self.console is not None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("[bold]training"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[summary]}"),
                console=self.console,
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=self.total, completed=self.num_timesteps, summary="")

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
            if done:
                self.recent.append(float(info.get("is_success", False)))
        if self.every and self.num_timesteps >= self.next_eval:
            self.evaluate_now()
            self.next_eval = self.num_timesteps + self.every
        if self.checkpoint_every and self.num_timesteps >= self.next_checkpoint:
            self.save_last()  # a run killed at any point resumes from here, losing < checkpoint_every steps
            self.next_checkpoint = self.num_timesteps + self.checkpoint_every
        if self.progress is not None and self.n_calls % 50 == 0:
            self.progress.update(self.task, completed=self.num_timesteps, summary=self.summary())
        return True

    def _on_training_end(self) -> None:
        if not self.history or self.history[-1]["steps"] != self.num_timesteps:
            self.evaluate_now()
        self.save_last()
        if self.progress is not None:
            self.progress.update(self.task, completed=self.num_timesteps, summary=self.summary())
            self.progress.stop()

    def steps_per_second(self) -> float:
        return (self.num_timesteps - self.start_steps) / max(time.perf_counter() - self.start, 1e-9)

    def summary(self) -> str:
        train = f"{np.mean(self.recent):.0%}" if self.recent else "-"
        last = f"{self.history[-1]['success_rate']:.0%}" if self.history else "-"
        return f"{self.steps_per_second():.0f} steps/s | rollout success {train} | eval success {last}"

    def evaluate_now(self) -> None:
        t0 = time.perf_counter()
        result = evaluate(self.model, self.eval_env, self.episodes, self.eval_seed)
        rate = result.success_rate
        entry = {
            "steps": int(self.num_timesteps),
            "success_rate": rate,
            "episodes": result.episodes,
            "mean_length": float(np.mean(result.lengths)),
            "wall_seconds": round(time.perf_counter() - self.t_begin + self.wall_offset, 1),
        }
        self.history.append(entry)
        self.logger.record("eval/success_rate", rate)
        self.logger.record("eval/mean_episode_length", entry["mean_length"])
        self.logger.record("time/steps_per_second", self.steps_per_second())
        self.logger.dump(self.num_timesteps)
        if rate > self.best:
            self.best = rate
            self.model.save(self.run_dir / BEST)
        (self.run_dir / "evaluations.json").write_text(json.dumps(self.history, indent=1))
        self.start += time.perf_counter() - t0  # steps/s counts training only
        if self.console is not None:
            self.console.log(f"eval @ {self.num_timesteps} steps: success {rate:.0%} over {result.episodes} episodes")

    def save_last(self) -> None:
        """``last.zip`` and its replay buffer, each written aside and renamed into place, so a
        run killed while saving keeps its previous checkpoint whole."""
        buffer_tmp, model_tmp = self.run_dir / "last_replay_buffer.tmp.pkl", self.run_dir / "last.tmp.zip"
        self.model.save_replay_buffer(buffer_tmp)
        self.model.save(model_tmp)
        os.replace(buffer_tmp, self.run_dir / BUFFER)
        os.replace(model_tmp, self.run_dir / LAST)
