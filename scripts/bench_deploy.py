"""The shipped instruction suite three ways, side by side on the same instructions and seeds.

    python scripts/bench_deploy.py --instructions 40 --seeds 0 1                 # Panda, ~1 h on 2 cores
    python scripts/bench_deploy.py --instructions 40 --seeds 0 1 --robot ur5e --modes dds

Modes (each instruction x seed runs in every mode asked for):

- ``sim``: `embodied run` in simulation, object poses during skills read from the simulator;
- ``camera``: the same, object poses during skills tracked from the simulated RGB-D camera
  (15 Hz, 50 ms latency, depth noise; ``tracking=camera``);
- ``dds``: `embodied deploy target=ros2 confirm=true dry_run=false` against a stand-in cell
  (`embodied fake-arm seed=S hide=[...]`, a fresh process per run) that simulates the arm
  and the cubes and publishes the camera over ROS 2. Deploy perceives the scene, checks
  sub-goals and tracks objects from the camera topics only; every motion goes through the
  safety layer, DDS and the stand-in's trajectory controller.

Success is the suite's goal checked on the true final cube positions: the simulator's for
``sim``/``camera``, the stand-in cell's (it writes them to its statistics at exit) for ``dds``.
The controller's own claim (from its camera) is recorded next to it. Prints the rates and
writes runs/bench/deploy-<robot>.json.

Under actuation delay (issue: skills that survive real latency), ``--delay-periods D`` runs
``sim``/``camera`` under the default randomisation with the delay fixed at D control periods
(``randomize=true randomization.delay=[D,D]``) and has the stand-in cell draw the same
physics and channel for the seed (``randomize=true``: friction, masses, damping, gain,
one command in ten a period late, the action noise as execution error, the observation
delay on its joint states) and hold every trajectory and gripper command back D periods
(``actuation_delay``), so the rows compare the same delay, jitter, noise and physics (the
simulation's lag is the stand-in's own interpolation). The deployment is told that delay
(``command_latency``, as one configures a measured cell) and measures the states' age itself:

    python scripts/bench_deploy.py --instructions 20 --seeds 0 --modes sim dds --delay-periods 3
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from robots.ros2.discovery import keep_on_loopback  # noqa: E402

keep_on_loopback()  # every DDS participant of this benchmark, and of the processes it starts

MODES = ("sim", "camera", "dds")


def start_cell(
    robot: str,
    seed: int,
    hide: list[str],
    domain: int,
    stats: Path,
    actuation_delay: float = 0.0,
    extra: Sequence[str] = (),
) -> subprocess.Popen:
    """A stand-in cell in its own process (arm, cubes placed by ``seed``, camera over ROS 2)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "embodied.cli",
            "fake-arm",
            f"robot={robot}",
            f"seed={seed}",
            f"hide={json.dumps(hide)}",
            f"domain={domain}",
            f"stats={stats}",
            f"actuation_delay={actuation_delay}",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )


def stop_cell(cell: subprocess.Popen, stats: Path) -> tuple[dict[str, np.ndarray], dict[str, int], int, dict]:
    """Stop the cell; its cubes' true final positions (world frame, m), the commands it
    refused, by rule (a refused command leaves the arm behind the commanded motion), its
    exit status (no positions when it died without writing them: the run counts as failed)
    and its actuation channel (delay, jitter, lag, stale commands dropped)."""
    cell.send_signal(signal.SIGTERM)
    try:
        cell.wait(timeout=30)
    except subprocess.TimeoutExpired:
        cell.kill()
        cell.wait()
    if not stats.exists():
        return {}, {}, cell.returncode, {}
    summary = json.loads(stats.read_text())
    stats.unlink()
    objects = {n: np.asarray(p) for n, p in summary.get("objects", {}).items()}
    return objects, dict(summary.get("rejected", {})), cell.returncode, dict(summary.get("actuation", {}))


def _latency(rows: list[dict]) -> dict | None:
    """Exposure-to-estimate latency over every DDS run: the frame-weighted median of the runs'
    medians and the largest p95 and max (per-frame values stay in each run's deploy.json)."""
    runs = [r["camera_to_estimate_ms"] for r in rows if r.get("camera_to_estimate_ms")]
    if not runs:
        return None
    p50 = np.repeat([r["p50"] for r in runs], [r["frames"] for r in runs])
    return {
        "frames": int(sum(r["frames"] for r in runs)),
        "median_of_p50": round(float(np.median(p50)), 1),
        "median_p95": round(float(np.median([r["p95"] for r in runs])), 1),
        "max": round(float(max(r["max"] for r in runs)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instructions", type=int, default=40, help="instructions of the suite (every k-th line)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--robot", default="panda", choices=["panda", "ur5e", "xarm6"])
    parser.add_argument("--domain", type=int, default=170)
    parser.add_argument("--actuation-delay", type=float, default=0.0, help="the stand-in's actuation delay, s")
    parser.add_argument(
        "--delay-periods",
        type=int,
        default=None,
        help="the same actuation delay on both sides, in control periods: randomised simulation with "
        "randomization.delay=[D,D] and the stand-in arm's actuation_delay (overrides --actuation-delay)",
    )
    parser.add_argument("--skills", default="learned", choices=["learned", "scripted"])
    parser.add_argument("--cell", nargs="*", default=[], help="more fake-arm overrides, e.g. rate=100")
    parser.add_argument("--skip", type=int, default=0, help="start at this case of the selection (resume)")
    parser.add_argument("--match", default=None, help="only the selected instructions containing this text (re-runs)")
    parser.add_argument("--out", default=None, help="default runs/bench/deploy-<robot>.json")
    parser.add_argument(
        "--keep-failed",
        default=None,
        metavar="DIR",
        help="copy each failed DDS run's deploy folder (report.json) to DIR/<n>-seed<S>, n as printed",
    )
    args = parser.parse_args()
    logging.getLogger("embodied.safety").setLevel(logging.ERROR)

    from embodied.common.config_loader import ConfigError, load_config
    from embodied.execution.goal_geometry import holds
    from embodied.execution.session import Session
    from embodied.execution.skill_executors import library_from_config
    from embodied.jobs.deploy import deploy
    from embodied.jobs.eval import truth_holds
    from embodied.planning.planner import make_planner
    from embodied.planning.suites import load_eval_suite, predicate

    suite = load_eval_suite("tabletop")
    step = max(1, len(suite) // args.instructions)
    cases = suite[::step][: args.instructions][args.skip :]
    if args.match is not None:
        cases = [c for c in cases if args.match in c["instruction"]]
        if not cases:
            parser.error(f"--match {args.match!r}: no selected instruction contains it")
    base = load_config("run", [f"skills={args.skills}", "video=false", f"robot={args.robot}"])
    simulated = []  # overrides of the sim and camera modes
    if args.delay_periods is not None:
        if not 0 <= args.delay_periods <= 3:
            parser.error(f"--delay-periods {args.delay_periods}: allowed 0..3 (the randomisation's range)")
        from robots.description import load_description

        args.actuation_delay = args.delay_periods * load_description(args.robot).control_period
        simulated = ["randomize=true", f"randomization.delay=[{args.delay_periods},{args.delay_periods}]"]
        args.cell = ["randomize=true", *args.cell]
    planner = make_planner(base.planner)
    library = library_from_config(base.skills)
    reference = Session(base, planner=planner, library=library)
    geometry = reference.controller.geometry  # the scene's sizes and regions, for the goal checks
    reference.close()
    tracking = {"sim": "sim", "camera": "camera"}
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            goals = [predicate(p) for p in case["goal"]]
            hide = list(case.get("hide", []))
            for seed in args.seeds:
                common = [f"seed={seed}", f"hide={json.dumps(hide)}", f"skills={args.skills}", "video=false"]
                common.append(f"robot={args.robot}")
                row = {"instruction": case["instruction"], "family": case.get("family", "other"), "seed": seed}
                for mode in args.modes:
                    t0 = time.perf_counter()
                    if mode in tracking:
                        cfg = load_config("run", [*common, *simulated, f"perception.tracking={tracking[mode]}"])
                        session = Session(cfg, planner=planner, library=library)
                        report = session.run(case["instruction"], None).report
                        ok = truth_holds(session, goals)
                        session.close()
                    else:
                        stats = Path(tmp) / "cell.json"
                        cell = start_cell(args.robot, seed, hide, args.domain, stats, args.actuation_delay, args.cell)
                        try:
                            cfg = load_config(
                                "deploy",
                                [*common, f"dds.domain={args.domain}", "confirm=true", "dry_run=false"]
                                # the cell's actuation delay, as one measures and configures a real cell's
                                + ["connect_timeout=60", f"command_latency={args.actuation_delay}"],
                            )
                            out = deploy(
                                cfg,
                                case["instruction"],
                                Path(tmp) / "d",
                                lambda q: True,
                                planner=planner,
                                library=library,
                            )
                            report = out.hardware.report if out.hardware else {"success": False, "reason": "not run"}
                            row["camera_to_estimate_ms"] = out.camera_to_estimate_ms
                        except ConfigError as exc:  # e.g. the cell's camera silent at start: a failed run
                            report = {"success": False, "reason": f"refused before moving: {exc}"}
                        finally:
                            truth, row["dds_cell_refused"], exit_status, row["dds_cell_actuation"] = stop_cell(
                                cell, stats
                            )
                        ok = bool(truth) and all(holds(g, truth, geometry) for g in goals)
                        if not ok and args.keep_failed and (Path(tmp) / "d").exists():
                            kept = Path(args.keep_failed) / f"{len(rows) + 1:03d}-seed{seed}"
                            shutil.copytree(Path(tmp) / "d", kept, dirs_exist_ok=True)
                            row["dds_kept"] = str(kept)
                        shutil.rmtree(Path(tmp) / "d", ignore_errors=True)  # the next run's folder starts empty
                        if not truth:  # the cell died: nothing to check the claim against
                            row["dds_cell_exit"] = exit_status
                            report = {**report, "reason": f"the stand-in cell exited {exit_status} without its state"}
                        elif not ok:
                            # What the camera saw last next to where the cubes are: a claim denied, or a
                            # failure's cause (a cube off the table, one hidden under another).
                            row["dds_perceived"] = {o["name"]: o["position"] for o in report.get("perceived", [])}
                            row["dds_truth"] = {n: [round(float(v), 4) for v in p] for n, p in truth.items()}
                    row[mode] = bool(ok)
                    row[f"{mode}_claimed"] = bool(report["success"])
                    row[f"{mode}_reason"] = None if ok else report.get("reason")
                    row[f"{mode}_seconds"] = round(time.perf_counter() - t0, 1)
                rows.append(row)
                marks = "  ".join(f"{m}={'ok' if row[m] else '--'}" for m in args.modes)
                why = "; ".join(f"{m}: {row[f'{m}_reason']}" for m in args.modes if not row[m])
                print(
                    f"[{len(rows)}/{len(cases) * len(args.seeds)}] {marks}  seed {seed}  {case['instruction']}"
                    + (f"  ({why[:160]})" if why else ""),
                    flush=True,
                )
    n = len(rows)
    rates = {m: sum(r[m] for r in rows) / n for m in args.modes}
    first = args.modes[0]
    result = {
        "robot": args.robot,
        "actuation_delay_s": args.actuation_delay,
        "delay_periods": args.delay_periods,
        "cell_overrides": args.cell,
        "runs": n,
        "instructions": len(cases),
        "seeds": args.seeds,
        "skills": args.skills,
        "success": rates,
        "gap_pp_to_" + first: {m: round(100 * (rates[first] - rates[m]), 1) for m in args.modes},
        "seconds_per_run": {m: round(float(np.mean([r[f"{m}_seconds"] for r in rows])), 1) for m in args.modes},
        "camera_to_estimate_ms": _latency(rows),
        "cell_refused_commands": sum(sum(r.get("dds_cell_refused", {}).values()) for r in rows),
        "cell_deaths": sum("dds_cell_exit" in r for r in rows),
        "wall_clock_s": round(time.perf_counter() - started),
        "rows": rows,
    }
    out_path = Path(args.out or f"runs/bench/deploy-{args.robot}.json")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1))
    print()
    for m in args.modes:
        print(f"{m:7s} {rates[m]:6.1%}  ({result['seconds_per_run'][m]:.1f} s/run)")
    if result["camera_to_estimate_ms"]:
        print(f"camera frame exposure to tracker estimate, ms: {result['camera_to_estimate_ms']}")
    print(f"{n} runs of {args.robot}; wrote {out_path}")


if __name__ == "__main__":
    main()
