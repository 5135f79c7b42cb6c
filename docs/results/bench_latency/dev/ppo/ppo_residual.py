"""Experiment: on-policy residual RL (PPO) over the push prior, with side-by-side evaluation.

Now shipped as ``embodied train algo=ppo`` (configs/algo/ppo.yaml; the policy is
``embodied.learning.policies.ResidualPPOPolicy``, which this script uses); kept to reproduce
the development results in this folder.

Why: SAC + HER residuals never measurably beat their prior here, neither in success nor in
steps to success, although the push prior leaves steps on the table (its ``push_speed`` 0.045
instead of 0.03 is 3-4 steps faster on the same development episodes). An off-policy critic
must resolve a Q difference of a few tenths (gamma 0.95) between the prior's action and a
faster one; PPO's advantages come from the episodes' own returns (-1 per step until success,
the env ends an episode at success), so "fewer steps" is what it sees directly.

The policy is a Gaussian whose mean is ``prior(s, g) + scale * tanh(mu(s, g))``, ``mu``'s
output layer zeroed (the untrained mean is exactly the prior), a learned state-independent
std; observations normalised as in training (``measure_normalization``).

    python docs/results/bench_latency/dev/ppo/ppo_residual.py --steps 600000 --seed 1 --std 0.05 \
        --lr 5e-5 --target-kl 0.01 --n-steps 4096 --out DIR           # the recipe that found speed
    python docs/results/bench_latency/dev/ppo/ppo_residual.py --load DIR/ppo.zip --eval-seed 20000 \
        --eval-episodes 1000 --conditions randomised --out DIR2       # a saved run on fresh episodes
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv

ROOT = Path(__file__).resolve().parents[5]
sys.path.insert(0, str(ROOT))

from embodied.learning.catalogue import prior_layout, skill_config  # noqa: E402
from embodied.learning.envs import make_env  # noqa: E402
from embodied.learning.evaluation import evaluate  # noqa: E402
from embodied.learning.policies import ResidualPPOPolicy  # noqa: E402
from embodied.learning.priors import ObsLayout, PriorConfig, prior_action  # noqa: E402
from embodied.learning.training import measure_normalization  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skill", default="push")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--std", type=float, default=0.1, help="initial exploration std, action units")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--n-steps", type=int, default=1024)
    parser.add_argument("--target-kl", type=float, default=None, help="stop an update's epochs past this KL")
    parser.add_argument("--raw-advantages", action="store_true", help="do not normalise advantages per batch")
    parser.add_argument("--eval-seed", type=int, default=10000)
    parser.add_argument("--eval-episodes", type=int, default=300)
    parser.add_argument("--load", default=None, help="evaluate this saved ppo.zip instead of training")
    parser.add_argument("--conditions", nargs="+", default=["clean", "randomised"], choices=["clean", "randomised"])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    skill = skill_config(args.skill)
    randomization = OmegaConf.to_container(OmegaConf.load(ROOT / "configs/randomization/default.yaml"))
    cfg = OmegaConf.create({"skill": OmegaConf.to_container(skill), "algo": {"time_feature": False}})
    env = make_vec_env(
        lambda: make_env(skill, randomization=randomization), n_envs=2, seed=args.seed, vec_env_cls=DummyVecEnv
    )
    if args.load:
        model = PPO.load(args.load, env=env, device="cpu")
        history: list = []
    else:
        model, history = train(args, skill, cfg, env)
    results = {"args": vars(args), "history": history}
    evaluate_side_by_side(args, skill, env, model, randomization, results)
    (out / "result.json").write_text(json.dumps(results))


def train(args: argparse.Namespace, skill, cfg, env):  # noqa: ANN001, ANN201
    """PPO from the prior; (model, training history)."""
    norm = measure_normalization(cfg, 20, args.seed)
    model = PPO(
        ResidualPPOPolicy,
        env,
        learning_rate=args.lr,
        n_steps=args.n_steps,
        batch_size=256,
        n_epochs=10,
        gamma=args.gamma,
        gae_lambda=0.95,
        clip_range=0.2,
        ent_coef=0.0,
        target_kl=args.target_kl,
        normalize_advantage=not args.raw_advantages,
        seed=args.seed,
        device="cpu",
        policy_kwargs={
            "prior": dict(skill.prior),
            "layout": prior_layout(skill),
            "initial_std": args.std,
            "net_arch": {"pi": [256, 256], "vf": [256, 256]},
            "features_extractor_kwargs": {"mean": norm[0], "std": norm[1]},
        },
        verbose=0,
    )
    t0 = time.perf_counter()
    history = []
    chunk = max(args.steps // 5, 1)
    while model.num_timesteps < args.steps:
        model.learn(chunk, reset_num_timesteps=False)
        ep = [e["l"] for e in model.ep_info_buffer]
        history.append(
            {
                "steps": model.num_timesteps,
                "seconds": round(time.perf_counter() - t0),
                "train_ep_len": float(np.mean(ep)) if ep else None,
                "std": model.policy.log_std.exp().tolist(),
            }
        )
        print(json.dumps(history[-1]), flush=True)
    model.save(Path(args.out) / "ppo.zip")
    return model, history


def evaluate_side_by_side(args: argparse.Namespace, skill, env, model, randomization, results: dict) -> None:  # noqa: ANN001
    """Prior and policy on the same deterministic episodes, paired differences in ``results``."""
    layout = ObsLayout(**prior_layout(skill))
    prior_cfg = PriorConfig(**dict(skill.prior))

    def prior(obs: dict) -> np.ndarray:
        with torch.no_grad():
            o = torch.as_tensor(obs["observation"], dtype=torch.float32)[None]
            g = torch.as_tensor(obs["desired_goal"], dtype=torch.float32)[None]
            return prior_action(o, g, layout, prior_cfg, env.action_space.shape[0])[0].numpy()

    for name in args.conditions:
        rnd = randomization if name == "randomised" else None
        row = {}
        for source, pol in (("prior", prior), ("policy", model)):
            res = evaluate(pol, make_env(skill, randomization=rnd), args.eval_episodes, args.eval_seed)
            row[source] = {"successes": [bool(s) for s in res.successes], "steps": list(map(int, res.lengths))}
        p, q = row["prior"], row["policy"]
        both = [i for i in range(args.eval_episodes) if p["successes"][i] and q["successes"][i]]
        d = np.array([q["steps"][i] - p["steps"][i] for i in both], dtype=float)
        dsucc = np.array(q["successes"], float) - np.array(p["successes"], float)
        row["summary"] = {
            "prior": float(np.mean(p["successes"])),
            "policy": float(np.mean(q["successes"])),
            "success_diff": [float(dsucc.mean()), float(1.96 * dsucc.std(ddof=1) / math.sqrt(len(dsucc)))],
            "steps_diff": [float(d.mean()), float(1.96 * d.std(ddof=1) / math.sqrt(len(d)))],
            "prior_steps": float(np.mean([p["steps"][i] for i in both])),
        }
        print(name, json.dumps(row["summary"]), flush=True)
        results[name] = row


if __name__ == "__main__":
    main()
