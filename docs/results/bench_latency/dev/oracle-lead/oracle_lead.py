"""A diagnostic, not shipped: the push prior told each episode's drawn latency or actuator gain.

    python docs/results/bench_latency/dev/oracle-lead/oracle_lead.py MODE EPISODES SEED CONDITION
    e.g. ... lead 500 10000 "delay 3"        (45 s on one core)

MODE: ``none`` (the shipped prior), ``lead`` (its ``lead`` scaled by the episode's total
latency, delay plus observation delay, over 3 periods: 0.5 at 3, 0.67 at 4, 0 at none),
``gain`` (its ``gain`` divided by the drawn actuator gain scale) or ``gainlead`` (both).
CONDITION as scripts/bench_latency.py (randomised or 'delay d'; not clean, which draws
nothing). Writes oracle-MODE-CONDITION-SEED.json (the successes) beside the working directory.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[5]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
torch.set_num_threads(1)
from bench_latency import conditions, prior_policy  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from embodied.learning.catalogue import skill_config  # noqa: E402
from embodied.learning.envs import make_env  # noqa: E402

mode, n, seed, cond = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cfg = skill_config("push")
shipped = dict(cfg.prior)
base = OmegaConf.to_container(OmegaConf.load(ROOT / "configs/randomization/default.yaml"))
env = make_env(cfg, randomization=conditions(base, [cond])[cond])
wins = []
for i in range(n):
    obs, info = env.reset(seed=seed + i)
    draw, settings = info["randomization"], dict(shipped)
    if "gain" in mode:
        settings["gain"] = min(1.0, shipped["gain"] / draw["actuator_gain_scale"])
    if "lead" in mode:
        settings["lead"] = min(1.0, shipped["lead"] * (draw["delay"] + draw["observation_delay"]) / 3.0)
    act, done = prior_policy(OmegaConf.merge(cfg, {"prior": settings})), False
    while not done:
        obs, _, terminated, truncated, info = env.step(act(obs))
        done = terminated or truncated
    wins.append(bool(info.get("is_success")))
print(mode, cond, float(np.mean(wins)))
Path(f"oracle-{mode}-{cond.replace(' ', '')}-{seed}.json").write_text(json.dumps(wins))
