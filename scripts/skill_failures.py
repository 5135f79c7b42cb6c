"""What a skill's failed episodes have in common: the randomisation draw and how far off they ended.

    python scripts/skill_failures.py --skill push --condition "delay 3"             # prior, 500 episodes, ~1 min
    python scripts/skill_failures.py --skill push --condition randomised --source policy

Runs the episodes ``bench_latency.py`` runs (seeds ``--seed`` + i, the same condition names)
and, per episode, records success, the distance of the achieved goal to the desired goal at
the end and at its closest (m, in the table plane for push, in 3-D otherwise; as the skill
observed it, so with the condition's observation delay and noise), the step of the closest,
and the episode's draw (friction, mean cube mass, damping, actuator gain, delay, lag,
observation delay). Prints the mean of each for the successes and for the failures, then
every failure, and writes runs/bench/failures.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DRAW_KEYS = [
    "friction_scale",
    "mass_scale",
    "object_damping",
    "actuator_gain_scale",
    "delay",
    "lag",
    "observation_delay",
]


def episode_row(draw: dict, distances: list[float], success: bool) -> dict:
    """One episode's record: success, end / closest distance (m), the step of the closest, the draw."""
    row = {
        "success": success,
        "final_distance": round(distances[-1], 4),
        "closest_distance": round(min(distances), 4),
        "closest_step": int(np.argmin(distances)),
        "steps": len(distances),
    }
    for key in DRAW_KEYS:
        value = draw.get(key)
        if isinstance(value, dict):  # one mass scale per cube: their mean
            value = float(np.mean(list(value.values())))
        row[key] = value
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skill", default="push", choices=["reach", "push", "pick_place"])
    parser.add_argument("--condition", default="delay 3", help="clean, randomised or 'delay d' (as bench_latency.py)")
    parser.add_argument("--source", default="prior", choices=["prior", "policy"])
    parser.add_argument("--checkpoint", default=None, help="a policy checkpoint instead of the shipped one")
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--out", default="runs/bench/failures.json")
    args = parser.parse_args()
    if args.episodes < 1:
        parser.error(f"--episodes must be at least 1, got {args.episodes}")

    import torch
    from bench_latency import conditions, prior_policy
    from omegaconf import OmegaConf
    from tqdm import tqdm

    from embodied.learning.catalogue import skill_config
    from embodied.learning.checkpoints import SkillError, load_policy
    from embodied.learning.envs import make_env

    torch.set_num_threads(1)
    base = OmegaConf.to_container(OmegaConf.load(ROOT / "configs/randomization/default.yaml"))
    try:
        randomization = conditions(base, [args.condition])[args.condition]
    except ValueError as err:
        parser.error(str(err))
    cfg = skill_config(args.skill)
    env = make_env(cfg, randomization=randomization)
    if args.source == "prior":
        act = prior_policy(cfg)
    else:
        try:
            model = load_policy(args.skill, args.checkpoint, env=env)
        except SkillError as err:
            parser.error(str(err))
        act = lambda obs: model.predict(obs, deterministic=True)[0]  # noqa: E731
    planar = args.skill == "push"  # push succeeds on the distance in the table plane
    rows = []
    for i in tqdm(range(args.episodes), desc=f"{args.skill} {args.condition} {args.source}", unit="ep"):
        obs, info = env.reset(seed=args.seed + i)
        draw = info.get("randomization") or {}
        distances, done = [], False
        while not done:
            obs, _, terminated, truncated, info = env.step(act(obs))
            diff = obs["achieved_goal"] - obs["desired_goal"]
            distances.append(float(np.linalg.norm(diff[:2] if planar else diff)))
            done = terminated or truncated
        rows.append({"episode": i, **episode_row(draw, distances, bool(info.get("is_success", False)))})
    env.close()

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**vars(args), "rows": rows}))
    failures = [r for r in rows if not r["success"]]
    print(f"\n{args.skill}, {args.condition}, {args.source}: {len(rows) - len(failures)} of {len(rows)} succeeded")
    print(f"{'':22s} {'successes':>10s} {'failures':>10s}")
    for key in ["final_distance", "closest_step", *DRAW_KEYS]:
        means = []
        for group in (True, False):
            values = [r[key] for r in rows if r["success"] is group and r[key] is not None]
            means.append(f"{np.mean(values):10.3f}" if values else f"{'-':>10s}")
        print(f"{key:22s} {means[0]} {means[1]}")
    for r in failures:
        print("  " + "  ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
