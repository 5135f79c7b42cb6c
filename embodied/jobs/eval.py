"""Run an instruction suite (goal predicates) over several seeds and CALVIN-style chains of 5;
print plan and execution success, per-family results, time per instruction and the average
chain length; save eval.json and success_by_family.png. The last line is eval.json's path.
A killed evaluation keeps journal.jsonl; `embodied eval resume=RUN_FOLDER` continues it.

Example: embodied eval seeds=[0,1,2] chains=10 skills=scripted


Success is judged from the simulator's final object positions with the same predicates the
controller checks from the camera (:func:`embodied.execution.goal_geometry.holds`), so the two can be
compared: the report's claim and the ground truth must agree.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from embodied.common.config_loader import ConfigError
from embodied.execution.goal_geometry import TargetError, goal_position, holds
from embodied.execution.session import Session
from embodied.execution.skill_executors import library_from_config
from embodied.planning.planner import make_planner
from embodied.planning.subgoals import PlanError, SubGoal, Target
from embodied.planning.suites import load_eval_suite, predicate


def truth_holds(session: Session, goals: list[SubGoal]) -> bool:
    positions = session.world.scene.object_positions()
    return all(holds(g, positions, session.controller.geometry) for g in goals)


@dataclass
class ChainTemplate:
    relation: str
    phrasings: tuple[str, ...]


CHAIN_TEMPLATES = (
    ChainTemplate("on", ("put the {x} on the {y}", "stack the {x} on top of the {y}", "place the {x} onto the {y}")),
    ChainTemplate("next_to", ("put the {x} next to the {y}", "place the {x} beside the {y}")),
    ChainTemplate("left_of", ("put the {x} to the left of the {y}", "move the {x} left of the {y}")),
    ChainTemplate("right_of", ("put the {x} to the right of the {y}", "place the {x} on the right of the {y}")),
    ChainTemplate("region", ("move the {x} to the {r} side of the table", "put the {x} in the {r} region")),
    ChainTemplate("push", ("push the {x} to the {r} side", "slide the {x} towards the {r} side of the table")),
)


def _clear(name: str, positions: dict[str, np.ndarray], size: float) -> bool:
    """Nothing rests on ``name``."""
    p = positions[name]
    return not any(
        n != name and np.linalg.norm(q[:2] - p[:2]) < 0.8 * size and q[2] > p[2] + 0.5 * size
        for n, q in positions.items()
    )


def sample_chain_step(session: Session, rng: np.random.Generator) -> tuple[str, SubGoal]:
    """An instruction feasible in the current (true) state, and the predicate it must make hold."""
    positions = session.world.scene.object_positions()
    size = session.controller.geometry.object_size
    names = sorted(positions)
    movable = [n for n in names if _clear(n, positions, size)]
    for _ in range(100):
        t = CHAIN_TEMPLATES[int(rng.integers(len(CHAIN_TEMPLATES)))]
        x = movable[int(rng.integers(len(movable)))]
        phrase = t.phrasings[int(rng.integers(len(t.phrasings)))]
        nice = lambda n: n.replace("_", " ")  # noqa: E731
        if t.relation in ("region", "push"):
            region = ("left", "right", "far", "near")[int(rng.integers(4))]
            goal = SubGoal(skill="pick_place", object=x, target=Target(region=region))
            if holds(goal, positions, session.controller.geometry) or positions[x][2] > 1.5 * size:
                continue  # already there, or on top of another cube (pushing it would topple)
            return phrase.format(x=nice(x), r=region), goal
        others = [n for n in movable if n != x and positions[n][2] < 0.75 * size]
        if not others:
            continue
        y = others[int(rng.integers(len(others)))]
        goal = SubGoal(skill="pick_place", object=x, target=Target(**{t.relation: y}))
        if holds(goal, positions, session.controller.geometry):
            continue
        try:  # only feasible steps, as CALVIN samples its chains (no room beside a cube at the edge)
            goal_position(goal, positions, session.controller.geometry)
        except TargetError:
            continue
        return phrase.format(x=nice(x), y=nice(y)), goal
    raise RuntimeError("no feasible chain step found")


JOURNAL = "journal.jsonl"
"""Each finished instruction run and chain, one JSON line each, written as the evaluation goes."""


def evaluate(
    cfg: DictConfig, progress: Callable[[str, int, int], None] | None = None, journal: Path | None = None
) -> dict:
    """Run the suite over ``cfg.seeds`` and ``cfg.chains`` chains per seed; return the results.

    With ``journal``, every finished run and chain is appended to it at once, and whatever it
    already holds is kept and not run again: a killed evaluation continues where it stopped
    (each chain draws from its own generator, seeded by (seed, chain), so skipping finished
    chains changes none of the others).
    """
    try:
        entries = load_eval_suite(str(cfg.suite))
    except PlanError as exc:
        raise ConfigError(f"suite={cfg.suite}: {exc}") from exc
    if cfg.limit is not None:
        entries = entries[: int(cfg.limit)]  # 0: chains only
    seeds = list(cfg.seeds)
    if not seeds or any(not isinstance(s, int) or s < 0 for s in seeds):
        raise ConfigError(f"seeds must be a non-empty list of non-negative integers, got {seeds}")
    done_rows: dict[tuple[int, int], dict] = {}
    done_chains: dict[tuple[int, int], dict] = {}
    if journal is not None and journal.exists():
        for line in journal.read_text().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if item.pop("kind") == "row":
                done_rows[(item["seed"], item["index"])] = item
            else:
                done_chains[(item["seed"], item["chain"])] = item
    planner = make_planner(cfg.planner)
    library = library_from_config(cfg.skills)
    sessions: dict[tuple, Session] = {}

    def session_for(hide: list[str], seed: int, draw: int) -> Session:
        key = tuple(sorted(hide))
        if key not in sessions:
            sub = OmegaConf.merge(cfg, {"hide": list(key), "seed": seed, "video": False})
            sessions[key] = Session(sub, planner=planner, library=library)
        s = sessions[key]
        s.reset(seed, draw)
        return s

    def record(kind: str, item: dict) -> None:
        if journal is not None:
            with journal.open("a") as f:
                f.write(json.dumps({"kind": kind, **item}) + "\n")

    rows = []
    chains = []
    total = len(seeds) * (len(entries) + int(cfg.chains))
    done = 0
    try:
        for seed in seeds:
            for index, entry in enumerate(entries):
                if (seed, index) in done_rows:
                    rows.append(done_rows[(seed, index)])
                    done += 1
                    continue
                session = session_for(entry.get("hide", []), seed, index)
                goals = [predicate(p) for p in entry["goal"]]
                start = time.perf_counter()
                outcome = session.run(entry["instruction"], None)
                seconds = time.perf_counter() - start
                planned = outcome.plan.ok and _plan_predicates(outcome.report["plan"]) == _canon(entry["goal"])
                ok = truth_holds(session, goals)
                rows.append(
                    {
                        "seed": seed,
                        "index": index,
                        "instruction": entry["instruction"],
                        "family": entry.get("family", "other"),
                        "three_cube_tower": _is_three_tower(entry["goal"]),
                        "planned": bool(planned),
                        "success": bool(ok),
                        "claimed": bool(outcome.report["success"]),
                        "seconds": round(seconds, 3),
                        "reason": outcome.report["reason"],
                        "delay": session.draw.delay if session.draw is not None else None,
                    }
                )
                record("row", rows[-1])
                done += 1
                if progress:
                    progress(f"seed {seed}: {entry['instruction'][:50]}", done, total)
        for seed in seeds:
            for c in range(int(cfg.chains)):
                if (seed, c) in done_chains:
                    chains.append(done_chains[(seed, c)])
                    done += 1
                    continue
                session = session_for([], seed, 100_000 + c)
                rng = np.random.default_rng([10_000 + seed, c])
                session.reset(seed * 1000 + c)
                completed, steps = 0, []
                for _ in range(int(cfg.chain_length)):
                    text, goal = sample_chain_step(session, rng)
                    session.run(text, None)
                    ok = truth_holds(session, [goal])
                    steps.append({"instruction": text, "success": ok})
                    if not ok:
                        break
                    completed += 1
                chains.append({"seed": seed, "chain": c, "completed": completed, "steps": steps})
                record("chain", chains[-1])
                done += 1
                if progress:
                    progress(f"seed {seed}: chain {c + 1}", done, total)
    finally:
        for s in sessions.values():
            s.close()
    return summarise(rows, chains, cfg)


def _group(rows: list[dict], key: str) -> dict:
    groups: dict = defaultdict(list)
    for r in rows:
        groups[r.get(key)].append(r)
    return groups


def _canon(preds: list[dict]) -> list[str]:
    return sorted(json.dumps(p, sort_keys=True) for p in preds)


def _plan_predicates(plan: list[dict]) -> list[str]:
    out = []
    for i, g in enumerate(plan):
        if not any(later["object"] == g["object"] for later in plan[i + 1 :]):
            out.append({"object": g["object"], **g["target"]})
    return _canon(out)


def _is_three_tower(goal: list[dict]) -> bool:
    ons = [p for p in goal if "on" in p]
    if len(ons) != 2 or len(goal) != 2:
        return False
    a, b = ons
    return a["object"] == b["on"] or b["object"] == a["on"]


def summarise(rows: list[dict], chains: list[dict], cfg: DictConfig) -> dict:
    def rate(rs: list[dict], key: str) -> float | None:
        return round(sum(r[key] for r in rs) / len(rs), 4) if rs else None

    families: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        families[r["family"]].append(r)
    towers = [r for r in rows if r["three_cube_tower"]]
    lengths = [c["completed"] for c in chains]
    return {
        "suite": str(cfg.suite),
        "skills": str(cfg.skills.source),
        "planner": str(cfg.planner.name),
        "randomized": bool(cfg.get("randomize")),
        "seeds": list(cfg.seeds),
        "instructions": len({r["instruction"] for r in rows}),
        "runs": len(rows),
        "plan_success": rate(rows, "planned"),
        "execution_success": rate(rows, "success"),
        "three_cube_tower_success": rate(towers, "success"),
        "three_cube_tower_runs": len(towers),
        "claims_agree_with_truth": rate([{**r, "agree": r["claimed"] == r["success"]} for r in rows], "agree"),
        "mean_seconds_per_instruction": round(float(np.mean([r["seconds"] for r in rows])), 3) if rows else None,
        "by_family": {k: {"success": rate(v, "success"), "runs": len(v)} for k, v in sorted(families.items())},
        "by_delay": {
            str(d): {"success": rate(v, "success"), "runs": len(v)}
            for d, v in sorted(_group(rows, "delay").items())
            if d is not None
        },
        "chains": len(chains),
        "chain_length": int(cfg.chain_length),
        "average_chain_length": round(float(np.mean(lengths)), 3) if lengths else None,
        "chain_success_at": {
            str(k): round(float(np.mean([n >= k for n in lengths])), 4) for k in range(1, int(cfg.chain_length) + 1)
        }
        if lengths
        else {},
        "failures": [r for r in rows if not r["success"]][:50],
        "chain_details": chains,
    }


def plot(results: dict, path: Path) -> Path:
    """Bar chart of execution success per family (and the chain score) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fams = results["by_family"]
    names = list(fams)
    values = [100 * (fams[n]["success"] or 0) for n in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    bars = ax.bar(names, values, color="#4C72B0")
    ax.bar_label(bars, labels=[f"{v:.0f}%" for v in values], fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("execution success (%)")
    chain = results.get("average_chain_length")
    ax.set_title(
        f"{results['suite']} suite, {results['skills']} skills, seeds {results['seeds']}: "
        f"{100 * (results['execution_success'] or 0):.1f}% overall"
        + (f"; chains {chain:.2f}/{results['chain_length']}" if chain is not None else ""),
        fontsize=9,
    )
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


CONFIG = "eval"
OPTIONS = (
    "suite",
    "seeds",
    "limit",
    "chains",
    "chain_length",
    "planner",
    "skills",
    "tracking",
    "randomize",
    "resume",
    "run_dir",
)


def main(args: argparse.Namespace) -> int:
    """``embodied eval``: exit 0 when the evaluation finished."""
    from rich.table import Table

    from embodied.common.config_loader import load_config
    from embodied.common.progress import progress_bar
    from embodied.common.run_folder import make_run_dir
    from embodied.execution.interrupts import Terminated
    from embodied.jobs.arguments import tracking_shorthand
    from embodied.jobs.terminal import console, print_config

    if args.cfg:
        return print_config(CONFIG, tracking_shorthand(args.tokens))
    cfg = load_config(CONFIG, tracking_shorthand(args.tokens))
    if cfg.resume:
        run_dir = Path(str(cfg.resume))
        saved = run_dir / "config.yaml"
        if not (run_dir / JOURNAL).is_file() or not saved.is_file():
            raise ConfigError(f"resume={cfg.resume}: not an `embodied eval` run folder (no {JOURNAL} / config.yaml)")
        old = OmegaConf.load(saved)
        for key in ("suite", "seeds", "limit", "chains", "chain_length", "planner.name", "skills.source", "randomize"):
            if OmegaConf.select(old, key) != OmegaConf.select(cfg, key):
                raise ConfigError(
                    f"resume={cfg.resume}: that evaluation ran {key}={OmegaConf.select(old, key)}, "
                    f"not {OmegaConf.select(cfg, key)}; continue it with the same settings"
                )
    else:
        run_dir = make_run_dir(cfg.run_dir, "eval")
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    with progress_bar(console, "eval", total=0) as bar:
        try:
            results = evaluate(
                cfg, lambda text, done, total: bar.update(done, text=text, total=total), run_dir / JOURNAL
            )
        except (KeyboardInterrupt, Terminated):
            console.print(f"kept what was done in {run_dir / JOURNAL}: continue with `embodied eval resume={run_dir}`")
            raise
    (run_dir / "eval.json").write_text(json.dumps(results, indent=2))
    plot(results, run_dir / "success_by_family.png")
    table = Table(
        title=f"{results['suite']} suite: {results['skills']} skills, {results['planner']} planner"
        + (", randomised" if results["randomized"] else "")
    )
    table.add_column("family")
    table.add_column("execution success", justify="right")
    table.add_column("runs", justify="right")
    for fam, v in results["by_family"].items():
        table.add_row(fam, f"{100 * v['success']:.1f}%", str(v["runs"]))
    console.print(table)
    pct = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    console.print(
        f"plan success {pct(results['plan_success'])}, execution success {pct(results['execution_success'])} "
        f"({results['runs']} runs), three-cube towers {pct(results['three_cube_tower_success'])}, "
        f"claims agree with ground truth {pct(results['claims_agree_with_truth'])}, "
        f"{results['mean_seconds_per_instruction']} s per instruction"
    )
    if results["average_chain_length"] is not None:
        console.print(
            f"chains: average length {results['average_chain_length']:.2f} / {results['chain_length']} "
            f"over {results['chains']} chains; success at k: {results['chain_success_at']}"
        )
    print(run_dir / "eval.json")
    return 0
