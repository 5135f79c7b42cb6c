"""Env steps per second: our Push/PickPlace against panda-gym, side by side in one process.

Rounds are interleaved (ours, theirs, ours, theirs, ...) so machine noise hits both alike;
each env's throughput is the median over rounds. Also reports where our step time goes
(physics vs Python), the raw ``stepSimulation`` limit, and scaling with SubprocVecEnv.

    python scripts/bench_envs.py                 # full run (~3 min on 2 cores)
    python scripts/bench_envs.py --rounds 3 --steps 500 --no-vec   # quick look

Needs ``pip install panda-gym`` (the ``bench`` extra) for the comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import sims  # noqa: F401  (registers embodied/* ids)

PAIRS = {"Push": ("embodied/Push-v0", "PandaPush-v3"), "PickPlace": ("embodied/PickPlace-v0", "PandaPickAndPlace-v3")}


def rollout_rate(env: gym.Env, actions: np.ndarray, seed: int) -> float:
    """Steps per second over ``len(actions)`` steps, resetting when an episode ends."""
    env.reset(seed=seed)
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    return len(actions) / (time.perf_counter() - start)


class PhysicsTimer:
    """Wraps our client's ``step`` to accumulate the seconds spent inside stepSimulation."""

    def __init__(self, env: gym.Env) -> None:
        self.client = env.unwrapped.client
        self.seconds = 0.0
        self.calls = 0
        inner: Callable[[int], None] = self.client.step

        def timed(n: int = 1) -> None:
            t = time.perf_counter()
            inner(n)
            self.seconds += time.perf_counter() - t
            self.calls += n

        self.client.step = timed


def vec_rate(env_id: str, n_envs: int, steps: int, subproc: bool) -> float:
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    cls = SubprocVecEnv if subproc else DummyVecEnv
    venv = make_vec_env(env_id, n_envs=n_envs, seed=0, vec_env_cls=cls)
    venv.reset()
    rng = np.random.default_rng(0)
    shape = (n_envs, *venv.action_space.shape)
    for _ in range(20):  # warm-up (process start, first contacts)
        venv.step(rng.uniform(-1, 1, shape).astype(np.float32))
    start = time.perf_counter()
    for _ in range(steps // n_envs):
        venv.step(rng.uniform(-1, 1, shape).astype(np.float32))
    rate = (steps // n_envs) * n_envs / (time.perf_counter() - start)
    venv.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per env (median is reported)")
    parser.add_argument("--steps", type=int, default=1500, help="env steps per round")
    parser.add_argument("--no-vec", action="store_true", help="skip the SubprocVecEnv scaling measurement")
    parser.add_argument("--json", type=str, default=None, help="also write the results to this JSON file")
    args = parser.parse_args()

    try:
        import panda_gym  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise SystemExit("panda-gym is not installed: pip install -e '.[bench]'") from exc

    envs = {}
    for name, (ours, theirs) in PAIRS.items():
        envs[f"ours/{name}"] = gym.make(ours)
        envs[f"panda-gym/{name}"] = gym.make(theirs)
    timers = {name: PhysicsTimer(env) for name, env in envs.items() if name.startswith("ours/")}
    rates: dict[str, list[float]] = {name: [] for name in envs}
    for r in range(args.rounds):
        for name, env in envs.items():
            if name in timers:
                timers[name].seconds, timers[name].calls = 0.0, 0
            rng = np.random.default_rng(1000 + r)
            actions = rng.uniform(-1, 1, (args.steps, *env.action_space.shape)).astype(np.float32)
            rates[name].append(rollout_rate(env, actions, seed=r))
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1]:.0f}/s" for k, v in rates.items()), flush=True)

    results: dict[str, object] = {"rounds": args.rounds, "steps_per_round": args.steps}
    print("\nenv steps/s (median over rounds, single process, random actions)")
    print(f"{'task':<10} {'ours':>8} {'panda-gym':>10} {'ratio':>7} {'physics share':>14} {'raw limit':>10}")
    for name in PAIRS:
        ours = statistics.median(rates[f"ours/{name}"])
        theirs = statistics.median(rates[f"panda-gym/{name}"])
        timer = timers[f"ours/{name}"]
        env = envs[f"ours/{name}"].unwrapped
        substeps = env.client.config.substeps
        # Physics share of the last round, and the rate if Python cost nothing.
        steps = timer.calls / substeps
        physics_per_step = timer.seconds / steps
        wall_per_step = 1.0 / rates[f"ours/{name}"][-1]
        share = physics_per_step / wall_per_step
        raw_limit = 1.0 / physics_per_step
        print(f"{name:<10} {ours:>8.0f} {theirs:>10.0f} {ours / theirs:>6.2f}x {share:>13.0%} {raw_limit:>9.0f}/s")
        results[name] = {
            "ours": ours,
            "panda_gym": theirs,
            "ratio": ours / theirs,
            "physics_share": share,
            "raw_step_limit": raw_limit,
            "substeps": substeps,
            "timestep": env.client.config.timestep,
        }

    if not args.no_vec:
        print("\nscaling (embodied/PickPlace-v0, steps/s summed over envs)")
        one = vec_rate("embodied/PickPlace-v0", 1, args.steps * 2, subproc=False)
        two = vec_rate("embodied/PickPlace-v0", 2, args.steps * 2, subproc=True)
        print(f"DummyVecEnv x1: {one:.0f}/s   SubprocVecEnv x2: {two:.0f}/s   speed-up {two / one:.2f}x")
        results["scaling"] = {"dummy_1": one, "subproc_2": two, "speedup": two / one}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
