"""`embodied train` killed with SIGKILL at random moments, then resumed: does it reach its total,
and how much work was lost?

    python scripts/bench_train_resume.py --points 10      # ~5 min on 2 cores

Each point starts a small real training run (Push, SAC + HER, tiny networks) with
``checkpoint_every=200``, kills it with SIGKILL at a random moment drawn from a seeded
generator, reads the step count of the last checkpoint and the steps the run had logged
(``logs/progress.csv``), then resumes it to ``total_steps`` with ``resume=``. Passed when
the resumed run reaches its total, lost at most ``checkpoint_every`` steps, and kept its
earlier log rows. Prints a table and writes runs/bench/train_resume.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TINY = [
    "skill=push",
    "seed=5",
    "n_envs=2",
    "skill.task.max_episode_steps=50",
    "algo.kwargs.learning_starts=100",
    "algo.kwargs.batch_size=32",
    "algo.kwargs.actor_delay=150",
    "algo.policy.net_arch=[32,32]",
    "eval.every=0",
    "eval.episodes=2",
    "eval.video_episodes=0",
    "normalization_episodes=1",
    "progress=false",
]


def logged_steps(run: Path) -> list[int]:
    path = run / "logs" / "progress.csv"
    if not path.exists():
        return []
    return [int(r["time/total_timesteps"]) for r in csv.DictReader(path.open()) if r.get("time/total_timesteps")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=10)
    parser.add_argument("--total", type=int, default=3000)
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="draws the kill moments")
    parser.add_argument("--out", default="runs/bench/train_resume.json")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from embodied.learning.checkpoints import load_policy

    rng = np.random.default_rng(args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.points):
            run = Path(tmp) / f"run{k}"
            base = [*TINY, f"total_steps={args.total}", f"checkpoint_every={args.checkpoint_every}"]
            proc = subprocess.Popen(
                [sys.executable, "-m", "embodied.cli", "train", *base, f"run_dir={run}"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
            )
            while not (run / "last.zip").exists() and proc.poll() is None:
                time.sleep(0.1)
            delay = float(rng.uniform(0.0, 5.0))
            time.sleep(delay)
            proc.kill()
            proc.wait()
            saved = load_policy("push", run / "last.zip").num_timesteps
            before = logged_steps(run)
            reached = max(before, default=0)
            start = time.perf_counter()
            resumed = subprocess.run(
                [sys.executable, "-m", "embodied.cli", "train", *base, f"resume={run}"],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            final = load_policy("push", run / "last.zip").num_timesteps
            after = logged_steps(run)
            row = {
                "kill_after_first_checkpoint_s": round(delay, 2),
                "saved_steps": int(saved),
                "logged_steps_at_kill": reached,
                "lost_steps": max(0, reached - int(saved)),
                "resume_exit": resumed.returncode,
                "final_steps": int(final),
                "log_rows_kept": after[: len(before)] == before,
                "resume_seconds": round(time.perf_counter() - start, 1),
            }
            row["ok"] = (
                resumed.returncode == 0
                and final == args.total
                and row["lost_steps"] <= args.checkpoint_every
                and row["log_rows_kept"]
            )
            rows.append(row)
            print(k, json.dumps(row), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"total": args.total, "checkpoint_every": args.checkpoint_every, "points": rows}, indent=1)
    )
    lost = [r["lost_steps"] for r in rows]
    print(
        f"\n{sum(r['ok'] for r in rows)}/{len(rows)} resumed to {args.total} steps; lost steps median "
        f"{np.median(lost):g}, max {max(lost)} (checkpoint_every={args.checkpoint_every})\nwrote {out}"
    )


if __name__ == "__main__":
    main()
