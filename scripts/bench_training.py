"""Sample efficiency: our recipe against the RL Zoo's TQC + HER, on panda-gym, same step budget.

Both are trained with `embodied train` (the same code path as users): ours with
``algo=sac`` (residual SAC + HER over the scripted prior, observation normalisation), the
zoo's with ``algo=tqc_zoo`` (hyperparams/tqc.yml for PandaPush / PandaPickAndPlace: TQC,
512x512x512, batch 2048, lr 1e-3, gamma 0.95, tau 0.05, HER future k=4, TimeFeatureWrapper;
SB3's MultiInputPolicy, no prior). Each run is evaluated on the same held-out seeds.

    pip install -e ".[bench]"
    python scripts/bench_training.py --env push --steps 20000 --seeds 1 2 3
Prints a table (success vs steps, wall-clock, steps/s) and writes runs/bench/training.json.

Budget the time: on one CPU core the zoo's networks train at about 1.5 env steps/s (each
update is a batch of 2048 through 512x512x512 critics), ours at about 45. Every run leaves
its evaluations in runs/bench/<env>-<recipe>-seed<seed>-<steps>/evaluations.json as they
happen, so a long zoo run can be read before it ends. On a GPU, device=auto is used.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from embodied.common.config_loader import load_config
from embodied.learning.training import hardware, train

ENVS = {"push": "panda_push", "pick_place": "panda_pick_place", "reach": "panda_reach"}
RECIPES = {"ours": ["algo=sac"], "zoo": ["algo=tqc_zoo", "n_envs=1"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", choices=sorted(ENVS), default="push")
    parser.add_argument("--steps", type=int, default=20000, help="env steps per run (same for both recipes)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), default=["ours", "zoo"])
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--evals", type=int, default=4, help="evaluations per run (success vs steps)")
    parser.add_argument("--out", default="runs/bench/training.json")
    args = parser.parse_args()

    rows = []
    for recipe in args.recipes:
        for seed in args.seeds:
            run_dir = Path("runs/bench") / f"{args.env}-{recipe}-seed{seed}-{args.steps}"
            overrides = [
                f"skill={ENVS[args.env]}",
                *RECIPES[recipe],
                f"seed={seed}",
                f"total_steps={args.steps}",
                f"eval.every={max(1, args.steps // args.evals)}",
                f"eval.episodes={args.eval_episodes}",
                "eval.video_episodes=0",
                "progress=false",
                f"run_dir={run_dir}",
            ]
            t0 = time.perf_counter()
            card = train(load_config("train", overrides), overrides).card
            rows.append(
                {
                    "recipe": recipe,
                    "env": card["env_id"],
                    "seed": seed,
                    "steps": card["steps"],
                    "success_rate": card["success_rate"],
                    "history": [(h["steps"], h["success_rate"]) for h in card["history"]],
                    "wall_seconds": round(time.perf_counter() - t0, 1),
                    "steps_per_second": card["steps_per_second"],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    print(f"\nhardware: {hardware()}, python {platform.python_version()}")
    print(
        f"{'recipe':<6} {'env':<22} {'seed':>4} {'steps':>7} {'success':>8} {'wall s':>8} {'steps/s':>8}",
        " success vs steps",
    )
    for r in rows:
        curve = ", ".join(f"{s // 1000}k:{v:.0%}" for s, v in r["history"])
        print(
            f"{r['recipe']:<6} {r['env']:<22} {r['seed']:>4} {r['steps']:>7} {r['success_rate']:>8.0%} "
            f"{r['wall_seconds']:>8.0f} {r['steps_per_second']:>8.0f}  {curve}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"hardware": hardware(), "args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
