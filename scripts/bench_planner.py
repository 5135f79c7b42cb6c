"""Benchmark the planners on the CPU: load time, per-instruction latency, accuracy, and for the
(vision-)language-model path, tokens/s with and without constrained decoding.

Usage:
    python scripts/bench_planner.py                       # grounded planner + a tiny random VLM
    python scripts/bench_planner.py --vlm PATH_OR_HUB_ID  # a real VLM (needs it downloaded)
    python scripts/bench_planner.py --json out.json

Latencies are per instruction over the whole dev suite (tests/data/planner_dev.jsonl), after
loading (the encoder included); the held-out phrasing suite (tests/data/planner_heldout.jsonl) and
the spontaneous-speech suite (tests/data/planner_spoken.jsonl) are scored for accuracy: "cold" is
the first pass (every word the lexicon does not know costs one encoder call),
the others are later passes (encoder results cached). Constrained-decoding overhead is measured as a ratio of
the same model's tokens/s with and without the grammar, side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tiny_models: random tiny VLMs built from configs
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from embodied.perception.scene import Scene  # noqa: E402
from embodied.planning.suites import load_suite, run_suite  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def bench_grounded(suite: list[dict], repeats: int, scored: dict[str, list[dict]] | None = None) -> dict:
    import torch

    torch.set_num_threads(1)
    from embodied.planning.grounded_planner import GroundedPlanner

    start = time.perf_counter()
    planner = GroundedPlanner()
    planner.encoder.encode(["a cube"])  # loaded on first use: count it as loading, not as a first pass
    load = time.perf_counter() - start
    cold = run_suite(planner, suite).latencies  # first pass: unknown words go through the encoder
    latencies: list[float] = []
    report = None
    for _ in range(repeats):
        report = run_suite(planner, suite)
        latencies += report.latencies
    return {
        "planner": "grounded (all-MiniLM-L6-v2 + compositional reading)",
        "load_seconds": round(load, 3),
        "instructions": len(latencies),
        "latency_ms_p50": round(1000 * percentile(latencies, 50), 3),
        "latency_ms_p95": round(1000 * percentile(latencies, 95), 3),
        "latency_ms_max": round(1000 * max(latencies), 3),
        "cold_latency_ms_p50": round(1000 * percentile(cold, 50), 3),
        "cold_latency_ms_p95": round(1000 * percentile(cold, 95), 3),
        "cold_latency_ms_max": round(1000 * max(cold), 3),
        **report.summary(),
        **{name: run_suite(planner, entries).summary() for name, entries in (scored or {}).items()},
    }


def bench_lm(model: str, kind: str, instructions: list[str], max_new_tokens: int) -> dict:
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    from embodied.planning.language_model_planner import LanguageModelPlanner

    scene = Scene.from_names(["red_cube", "green_cube", "blue_cube", "yellow_cube"])
    image = np.full((224, 224, 3), 200, dtype=np.uint8)
    out: dict = {"model": model, "kind": kind}
    for constrained in (False, True):
        start = time.perf_counter()
        planner = LanguageModelPlanner(model, kind=kind, constrained=constrained, max_new_tokens=max_new_tokens)
        load = time.perf_counter() - start
        planner.plan(instructions[0], scene, image)  # warm-up (grammar compile is cached per scene)
        tokens, seconds, parsed = 0, 0.0, 0
        latencies = []
        for text in instructions:
            result = planner.plan(text, scene, image)
            tokens += result.details.get("tokens", 0)
            seconds += result.details.get("generate_seconds", 0.0)
            latencies.append(result.seconds)
            try:
                json.loads(result.details.get("raw", ""))
                parsed += 1
            except json.JSONDecodeError:
                pass
        key = "constrained" if constrained else "unconstrained"
        out[key] = {
            "load_seconds": round(load, 3),
            "tokens": tokens,
            "tokens_per_second": round(tokens / seconds, 1) if seconds else None,
            "latency_ms_p50": round(1000 * statistics.median(latencies), 1),
            "answers_that_parse": f"{parsed}/{len(instructions)}",
        }
    u, c = out["unconstrained"]["tokens_per_second"], out["constrained"]["tokens_per_second"]
    out["constrained_overhead"] = round(u / c, 3) if u and c else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default=str(ROOT / "tests" / "data" / "planner_dev.jsonl"))
    parser.add_argument(
        "--heldout",
        default=str(ROOT / "tests" / "data" / "planner_heldout.jsonl"),
        help="phrasing suite scored for accuracy only ('' to skip)",
    )
    parser.add_argument(
        "--spoken",
        default=str(ROOT / "tests" / "data" / "planner_spoken.jsonl"),
        help="spontaneous-speech suite (typos, self-repairs, exclusions) scored for accuracy only ('' to skip)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="passes over the suite for latency")
    parser.add_argument("--vlm", default=None, help="VLM folder or hub id (default: a tiny random one)")
    parser.add_argument("--vlm-instructions", type=int, default=10)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()

    suite = load_suite(args.suite)
    results = {
        "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "python": platform.python_version(),
        "grounded": bench_grounded(
            suite,
            args.repeats,
            {name: load_suite(path) for name, path in (("heldout", args.heldout), ("spoken", args.spoken)) if path},
        ),
    }
    instructions = [e["instruction"] for e in suite if "plan" in e][: args.vlm_instructions]
    if args.vlm:
        results["vlm"] = bench_lm(args.vlm, "vlm", instructions, args.max_new_tokens)
    else:
        from tiny_models import build_tiny_vlm

        with tempfile.TemporaryDirectory() as tmp:
            # A wider random model than the tests use, so the forward pass is not negligible
            # next to the grammar's per-token work (real VLMs are far larger still).
            path = build_tiny_vlm(Path(tmp) / "vlm", hidden=256, layers=4)
            results["vlm"] = bench_lm(str(path), "vlm", instructions, args.max_new_tokens)
            results["vlm"]["model"] = "random LLaVA-style VLM (hidden 256, 4 layers; built offline)"
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
