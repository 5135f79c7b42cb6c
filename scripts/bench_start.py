"""Wall-clock of one-shot commands, as a user sees them: fresh processes, median of N.

Measures `embodied plan` (an instruction the lexicon reads; one with a word only the
sentence encoder grounds; a refusal, which loads the encoder for its suggestion) and a
two-step `embodied run` with its video, each with the default runtimes (the encoder and the
skills as cached ONNX exports) and, side by side, with torch/transformers and SB3
(``planner.encoder_backend=torch skills.runtime=sb3``). Also scores the planner on the dev
and held-out suites side by side. Run ``scripts/warm_cache.py`` first (install does).

Usage: python scripts/bench_start.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

COMMANDS = {
    "plan (lexicon)": ["plan", "put the red cube on the blue cube", "seed=3"],
    "plan (encoder word)": ["plan", "rearrange the red cube onto the blue cube", "seed=3"],
    "plan (refusal + suggestion)": ["plan", "please toss the red cube to the left", "seed=3"],
    "run, two steps, video": [
        "run",
        "put the red cube on the blue cube, then push the green cube to the left",
        "seed=3",
    ],
}


RUNTIMES = {"onnx": [], "torch": ["planner.encoder_backend=torch"]}
"""The default runtimes, and the libraries the models come from."""


def timed(argv: list[str], run_dir: Path) -> tuple[float, int]:
    """Wall-clock of one fresh ``embodied`` process; a failed command stops the benchmark."""
    extra = [f"run_dir={run_dir}"] if argv[0] == "run" else []
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "embodied.cli", *argv, *extra], capture_output=True, text=True, cwd=ROOT
    )
    seconds = time.perf_counter() - start
    failed = proc.returncode not in (0, 2) or any(line.startswith("error:") for line in proc.stderr.splitlines())
    if failed:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    return seconds, proc.returncode


def suites() -> dict:
    import torch

    torch.set_num_threads(1)
    from embodied.planning.grounded_planner import GroundedPlanner
    from embodied.planning.suites import load_suite, run_suite

    planner = GroundedPlanner()
    out = {}
    for name in ("planner_dev", "planner_heldout"):
        report = run_suite(planner, load_suite(ROOT / "tests" / "data" / f"{name}.jsonl"))
        out[name] = report.summary() | {"misses": [m["entry"]["instruction"] for m in report.misses]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory() as tmp:
        for label, argv in COMMANDS.items():
            for runtime, extra in RUNTIMES.items():
                times, codes = [], set()
                for k in range(args.repeats):  # alternate nothing: each setting's repeats back to back
                    slow_skills = ["skills.runtime=sb3"] if runtime == "torch" and argv[0] == "run" else []
                    seconds, code = timed(
                        [*argv, *extra, *slow_skills], Path(tmp) / f"{argv[0]}-{len(results)}-{runtime}-{k}"
                    )
                    times.append(seconds)
                    codes.add(code)
                key = f"{label} [{runtime}]"
                results[key] = {
                    "median_s": round(statistics.median(times), 2),
                    "min_s": round(min(times), 2),
                    "max_s": round(max(times), 2),
                    "exit_codes": sorted(codes),
                }
                r = results[key]
                print(f"{key:42s} median {r['median_s']:.2f} s  (min {r['min_s']:.2f}, max {r['max_s']:.2f})")
            fast, slow = results[f"{label} [onnx]"], results[f"{label} [torch]"]
            print(f"{'':42s} ratio torch/onnx {slow['median_s'] / fast['median_s']:.2f}")
    results["suites"] = suites()
    for name, s in results["suites"].items():
        print(
            f"{name:16s} plans {s['plan_accuracy']:.1%} of {s['plan_entries']}, "
            f"refusals {s['refusal_accuracy']:.1%} of {s['refusal_entries']}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
