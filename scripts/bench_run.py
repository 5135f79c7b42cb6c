"""Wall-clock of the main job end to end: `embodied run` on a two-step instruction, as a fresh
process (imports, planner load, planning, execution, video encoding, report), several seeds.

Usage: python scripts/bench_run.py [--seeds 0 1 2] [--skills learned|scripted] [--json out.json]
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

INSTRUCTION = "put the red cube on the blue cube, then push the green cube to the left"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--skills", default="learned")
    parser.add_argument("--instruction", default=INSTRUCTION)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            run_dir = Path(tmp) / str(seed)
            start = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "embodied.cli",
                    "run",
                    args.instruction,
                    f"seed={seed}",
                    f"skills={args.skills}",
                    f"run_dir={run_dir}",
                ],
                capture_output=True,
                text=True,
                env=env,
            )
            wall = time.perf_counter() - start
            report = json.loads((run_dir / "report.json").read_text())
            rows.append(
                {
                    "seed": seed,
                    "exit": proc.returncode,
                    "success": report["success"],
                    "process_seconds": round(wall, 2),
                    "job_seconds": report["wall_seconds"],
                    "video": report["video"],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    walls = [r["process_seconds"] for r in rows]
    summary = {
        "instruction": args.instruction,
        "skills": args.skills,
        "hardware": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "process_seconds_median": round(statistics.median(walls), 2),
        "process_seconds_max": round(max(walls), 2),
        "successes": f"{sum(r['success'] for r in rows)}/{len(rows)}",
        "runs": rows,
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
