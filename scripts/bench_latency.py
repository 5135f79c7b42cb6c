"""Skills under actuation delay: the prior alone and the learned policy, on the same episodes.

    python scripts/bench_latency.py --skills push pick_place --episodes 500          # ~1 h on 2 cores
    python scripts/bench_latency.py --skills push --episodes 100 --sources prior      # a quick look

Conditions (each on episodes seeded ``--seed`` + i, the same for every source):

- ``clean``: no randomisation;
- ``randomised``: the default randomisation (configs/randomization: physics, noise, delay
  0..3 periods, jitter, lag, observation delay);
- ``delay d`` for d = 0..3 (the table; up to 10 when named): the default randomisation with
  the actuation delay fixed at d.

Sources: ``prior`` (the skill's scripted motion prior alone, with the skill config's prior
settings) and ``policy`` (the shipped policy, or ``--checkpoint SKILL=PATH``). Every number
comes with its Wilson 95 % interval; ``policy - prior`` is paired per episode, in success and
in steps to success over the episodes both won (the sparse reward's -1 per step). Writes
runs/bench/latency.json and prints a Markdown table. ``--cards`` also writes each skill's
table into its shipped model card (embodied/assets/skills/SKILL.md and .json).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a success rate."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_difference(a: Sequence[float], b: Sequence[float], z: float = 1.96) -> tuple[float, float, float]:
    """Mean of b - a over paired episodes with a normal 95 % interval (successes as 0/1: a
    paired difference of proportions; or steps)."""
    d = np.asarray(b, float) - np.asarray(a, float)
    mean = float(d.mean())
    half = z * float(d.std(ddof=1)) / math.sqrt(len(d)) if len(d) > 1 else 1.0
    return mean, mean - half, mean + half


def paired_steps(prior: dict, policy: dict) -> dict | None:
    """Steps to success (an episode ends when it succeeds), policy - prior, over the episodes
    both won, with a normal 95 % interval; None when fewer than two were won by both. The
    sparse reward pays -1 per step until success, so this is what RL is rewarded to shorten."""
    both = np.asarray(prior["successes"]) & np.asarray(policy["successes"])
    if both.sum() < 2:
        return None
    mean, low, high = paired_difference(np.asarray(prior["steps"])[both], np.asarray(policy["steps"])[both])
    return {"mean": round(mean, 3), "ci95": [round(low, 3), round(high, 3)], "episodes": int(both.sum())}


MAX_DELAY = 10  # sims.randomization's bound on a delay, in control periods


def conditions(base: dict, names: list[str] | None = None) -> dict[str, dict | None]:
    """The named conditions (default: the table's, clean to ``delay 3``); ``delay d`` takes
    any d up to MAX_DELAY, beyond the default randomisation's 0..3 for stress tests."""
    known: dict[str, dict | None] = {"clean": None, "randomised": dict(base)}
    for d in range(MAX_DELAY + 1):
        known[f"delay {d}"] = {**base, "delay": [d, d]}
    if names is None:
        names = ["clean", "randomised", *(f"delay {d}" for d in range(4))]
    unknown = [n for n in names if n not in known]
    if unknown:
        allowed = f"clean, randomised, 'delay 0' .. 'delay {MAX_DELAY}'"
        raise ValueError(f"--conditions: {unknown[0]!r} is not one of {allowed}")
    return {n: known[n] for n in names}


def prior_policy(cfg):  # noqa: ANN001, ANN201
    import torch

    from embodied.learning.catalogue import prior_layout
    from embodied.learning.priors import ObsLayout, PriorConfig, prior_action

    layout = ObsLayout(**prior_layout(cfg))
    prior = PriorConfig(**dict(cfg.prior))
    dim = 4 if prior.kind == "pick_place" else 3

    def act(obs: dict) -> np.ndarray:
        with torch.no_grad():
            o = torch.as_tensor(obs["observation"], dtype=torch.float32)[None]
            g = torch.as_tensor(obs["desired_goal"], dtype=torch.float32)[None]
            return prior_action(o, g, layout, prior, dim)[0].numpy()

    return act


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skills", nargs="+", default=["push", "pick_place"])
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--sources", nargs="+", default=["prior", "policy"], choices=["prior", "policy"])
    parser.add_argument("--conditions", nargs="+", default=None, help="subset of: clean randomised 'delay 0' ...")
    parser.add_argument("--checkpoint", action="append", default=[], help="SKILL=PATH instead of the shipped policy")
    parser.add_argument("--set", action="append", default=[], help="skill config override, e.g. task.action_history=4")
    parser.add_argument("--out", default="runs/bench/latency.json")
    parser.add_argument("--cards", action="store_true", help="write the tables into the shipped model cards")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from omegaconf import OmegaConf

    from embodied.learning.catalogue import skill_config
    from embodied.learning.checkpoints import load_policy
    from embodied.learning.envs import make_env
    from embodied.learning.evaluation import evaluate
    from sims.randomization import RandomizationConfig

    checkpoints = dict(c.split("=", 1) for c in args.checkpoint)
    base = OmegaConf.to_container(OmegaConf.load(ROOT / "configs/randomization/default.yaml"))
    RandomizationConfig(**base)  # the shipped defaults must validate
    try:
        conds = conditions(base, args.conditions)
    except ValueError as err:
        parser.error(str(err))
    results: dict = {"episodes": args.episodes, "seed": args.seed, "randomization": base, "skills": {}}
    started = time.perf_counter()
    for skill in args.skills:
        cfg = skill_config(skill)
        if args.set:
            cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(args.set))
        sources = {}
        for source in args.sources:
            if source == "prior":
                sources[source] = prior_policy(cfg)
            else:
                model = load_policy(skill, checkpoints.get(skill), env=make_env(cfg))
                sources[source] = model
        table: dict = {}
        for name, randomization in conds.items():
            row: dict = {}
            for source, policy in sources.items():
                env = make_env(cfg, randomization=randomization)
                t0 = time.perf_counter()
                res = evaluate(policy, env, args.episodes, args.seed)
                env.close()
                wins = int(sum(res.successes))
                low, high = wilson(wins, res.episodes)
                row[source] = {
                    "success": wins / res.episodes,
                    "ci95": [round(low, 4), round(high, 4)],
                    "successes": [bool(s) for s in res.successes],
                    "steps": [int(n) for n in res.lengths],
                    "seconds": round(time.perf_counter() - t0, 1),
                }
                print(
                    f"{skill:10s} {name:10s} {source:6s} {wins / res.episodes:6.1%} [{low:.1%}, {high:.1%}]", flush=True
                )
            if "prior" in row and "policy" in row:
                mean, low, high = paired_difference(row["prior"]["successes"], row["policy"]["successes"])
                row["policy_minus_prior"] = {"mean": round(mean, 4), "ci95": [round(low, 4), round(high, 4)]}
                steps = paired_steps(row["prior"], row["policy"])
                if steps is not None:
                    row["policy_minus_prior"]["steps"] = steps
                    fewer, more = steps["ci95"]
                    print(
                        f"{skill:10s} {name:10s} steps to success, policy - prior: {steps['mean']:+.2f}"
                        f" [{fewer:+.2f}, {more:+.2f}] over {steps['episodes']} episodes both won",
                        flush=True,
                    )
            table[name] = row
        results["skills"][skill] = table
    results["wall_clock_s"] = round(time.perf_counter() - started)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results))
    print()
    print(
        "| skill | condition | "
        + " | ".join(args.sources)
        + (" | policy - prior |" if len(args.sources) == 2 else " |")
    )
    print(
        "| --- | --- | " + " | ".join("---:" for _ in args.sources) + (" | ---: |" if len(args.sources) == 2 else " |")
    )
    for skill, table in results["skills"].items():
        for name, row in table.items():
            cells = [
                f"{100 * row[s]['success']:.1f} % [{100 * row[s]['ci95'][0]:.1f}, {100 * row[s]['ci95'][1]:.1f}]"
                for s in args.sources
            ]
            if "policy_minus_prior" in row:
                d = row["policy_minus_prior"]
                cells.append(f"{100 * d['mean']:+.1f} pp [{100 * d['ci95'][0]:+.1f}, {100 * d['ci95'][1]:+.1f}]")
            print(f"| {skill} | {name} | " + " | ".join(cells) + " |")
    print(f"\n{args.episodes} episodes per cell, {results['wall_clock_s']} s; wrote {out}")
    if args.cards:
        for skill, table in results["skills"].items():
            write_card_section(skill, table, args)


CARD_HEADING = "## Under actuation delay"


def write_card_section(skill: str, table: dict, args: argparse.Namespace) -> None:
    """Put the skill's rows into its shipped model card (replacing an earlier section)."""
    from embodied.learning.catalogue import SKILLS_DIR

    md, js = SKILLS_DIR / f"{skill}.md", SKILLS_DIR / f"{skill}.json"
    if not md.exists() or not js.exists():
        print(f"{skill}: no shipped model card to write into")
        return
    sources = [s for s in ("prior", "policy") if all(s in row for row in table.values())]
    lines = [
        CARD_HEADING,
        "",
        f"`python scripts/bench_latency.py --skills {skill} --episodes {args.episodes} --seed {args.seed}`: "
        f"the same {args.episodes} episodes per row (seeds {args.seed}..{args.seed + args.episodes - 1}), "
        "Wilson 95 % intervals; `randomised` is the default randomisation (configs/randomization), "
        "`delay d` the same with the actuation delay fixed at d periods of 40 ms.",
        "",
    ]
    paired = all("policy_minus_prior" in row for row in table.values())
    steps = paired and all("steps" in row["policy_minus_prior"] for row in table.values())
    head = " | policy - prior (paired) |" if paired else " |"
    if steps:
        head += " steps to success, policy - prior (episodes both won) |"
    lines += [
        "| condition | " + " | ".join(sources) + head,
        "| --- | " + " | ".join("---:" for _ in sources) + (" | ---:" * (int(paired) + int(steps))) + " |",
    ]
    for name, row in table.items():
        cells = [
            f"{100 * row[s]['success']:.1f} % [{100 * row[s]['ci95'][0]:.1f}, {100 * row[s]['ci95'][1]:.1f}]"
            for s in sources
        ]
        if paired:
            d = row["policy_minus_prior"]
            cells.append(f"{100 * d['mean']:+.1f} pp [{100 * d['ci95'][0]:+.1f}, {100 * d['ci95'][1]:+.1f}]")
        if steps:
            d = row["policy_minus_prior"]["steps"]
            cells.append(f"{d['mean']:+.2f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = md.read_text()
    if CARD_HEADING in text:
        text = text[: text.index(CARD_HEADING)].rstrip() + "\n"
    md.write_text(text + "\n" + "\n".join(lines) + "\n")
    card = json.loads(js.read_text())
    card["under_delay"] = {
        "episodes": args.episodes,
        "seed": args.seed,
        "success": {name: {s: row[s]["success"] for s in sources} for name, row in table.items()},
    }
    if paired:
        card["under_delay"]["policy_minus_prior"] = {name: row["policy_minus_prior"] for name, row in table.items()}
    js.write_text(json.dumps(card, indent=2))
    print(f"{skill}: wrote the table into {md}")


if __name__ == "__main__":
    main()
