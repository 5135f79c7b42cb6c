"""Shipped skills through the DDS path to the stand-in arm, against the same skills in direct simulation.

    python scripts/bench_deploy.py --instructions 10 --seeds 0 1     # ~6 min on 2 cores

For each instruction of the shipped suite (every k-th line, so all families appear) and
seed: (a) `embodied run` in simulation; (b) `embodied deploy target=ros2 confirm=true
dry_run=false` against `embodied fake-arm` in its own process: every arm motion goes through
the safety layer, Ros2Arm, DDS and the stand-in's trajectory controller, and the twin
follows the joint states the stand-in reports. Success is the controller's camera check (in
the twin for (b)). Prints both success rates and writes runs/bench/deploy.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from robots.ros2.discovery import keep_on_loopback  # noqa: E402

keep_on_loopback()  # every DDS participant of this benchmark, and of the processes it starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instructions", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--domain", type=int, default=170)
    parser.add_argument("--skills", default="learned", choices=["learned", "scripted"])
    parser.add_argument("--out", default="runs/bench/deploy.json")
    args = parser.parse_args()
    logging.getLogger("embodied.safety").setLevel(logging.ERROR)

    from embodied.common.config_loader import load_config
    from embodied.execution.session import Session
    from embodied.execution.skill_executors import library_from_config
    from embodied.jobs.deploy import deploy
    from embodied.jobs.eval import load_eval_suite
    from embodied.planning.planner import make_planner

    suite = load_eval_suite("tabletop")
    step = max(1, len(suite) // args.instructions)
    cases = suite[::step][: args.instructions]
    base = load_config("run", [f"skills={args.skills}", "video=false"])
    planner = make_planner(base.planner)
    library = library_from_config(base.skills)
    driver = subprocess.Popen(
        [sys.executable, "-m", "embodied.cli", "fake-arm", f"domain={args.domain}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for case in cases:
                for seed in args.seeds:
                    common = [
                        f"seed={seed}",
                        f"hide={json.dumps(case.get('hide', []))}",
                        f"skills={args.skills}",
                        "video=false",
                    ]
                    session = Session(load_config("run", common), planner=planner, library=library)
                    t0 = time.perf_counter()
                    direct = session.run(case["instruction"], None).report
                    t_direct = time.perf_counter() - t0
                    session.close()
                    cfg = load_config(
                        "deploy",
                        [*common, f"domain={args.domain}", "confirm=true", "dry_run=false", "connect_timeout=30"],
                    )
                    t0 = time.perf_counter()
                    out = deploy(
                        cfg, case["instruction"], Path(tmp) / "d", lambda q: True, planner=planner, library=library
                    )
                    t_dds = time.perf_counter() - t0
                    live = out.hardware.report if out.hardware else {"success": False, "error": "not run"}
                    rows.append(
                        {
                            "instruction": case["instruction"],
                            "family": case.get("family", "other"),
                            "seed": seed,
                            "direct": bool(direct["success"]),
                            "dds": bool(live["success"]),
                            "dds_error": live.get("reason") if not live["success"] else None,
                            "direct_seconds": round(t_direct, 1),
                            "dds_seconds": round(t_dds, 1),
                            "safety_interventions": out.safety_interventions,
                        }
                    )
                    r = rows[-1]
                    print(
                        f"{r['direct']!s:5} {r['dds']!s:5} {r['dds_seconds']:5.1f}s  seed {seed}  {case['instruction']}"
                    )
    finally:
        driver.send_signal(signal.SIGTERM)
        driver.wait(timeout=20)
    n = len(rows)
    direct_rate = sum(r["direct"] for r in rows) / n
    dds_rate = sum(r["dds"] for r in rows) / n
    result = {
        "runs": n,
        "skills": args.skills,
        "direct_success": direct_rate,
        "dds_success": dds_rate,
        "gap_pp": round(100 * (direct_rate - dds_rate), 1),
        "within_10pp": direct_rate - dds_rate <= 0.10,
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(
        f"\ndirect simulation {direct_rate:.1%}, through DDS to the stand-in {dds_rate:.1%} "
        f"({result['gap_pp']:+.1f} pp) over {n} runs; wrote {out}"
    )


if __name__ == "__main__":
    main()
