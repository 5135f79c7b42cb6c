"""Reliability of the ROS 2 path, between real processes over loopback DDS.

    python scripts/bench_ros2.py                  # all four figures, ~4 min on 2 cores
    python scripts/bench_ros2.py --only watchdog --trials 20

1. watchdog: a separate commanding process (Ros2Arm) streams commands to the stand-in arm
   (`embodied fake-arm`) and is killed with SIGKILL at a random moment; the stand-in must
   command a hold within 120 ms of the last command it received. ``--trials`` times.
2. malformed: >= 1000 malformed commands over 18 categories (robots/ros2/malformed.py) are
   sent; none may be executed, every one must be rejected, and a separate subscriber must
   keep receiving /joint_states at >= 95 % of the stand-in's rate meanwhile.
3. safety: 10,000 random actions (finite, huge, NaN, inf) through the SafetyLayer around a
   simulated arm; counts outputs beyond the joint limits or the velocity limit.
4. reconnect: the stand-in is killed and restarted while a client keeps trying to move; the
   client must send no motion while the driver is gone and move again within 2 s of the new
   driver's first joint state.
5. timing (not in the default run): late commands. Through the safety layer, Ros2Arm drives
   the stand-in out and back at the velocity limit while the stand-in delays every command
   80 ms and ``--jitters`` of them a period more (latest wins). Side by side for
   ``ros2.late_commands`` 0 (one-period trajectories) and the description's: commands the
   stand-in refused for speed, and how far the measured joints trail the commanded ones once
   moving (the cost of timing trajectories for late commands). ``--timing-trials`` times each.

Prints a table and writes runs/bench/ros2.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from robots.ros2.discovery import keep_on_loopback  # noqa: E402

keep_on_loopback()  # every DDS participant of this benchmark, and of the processes it starts

COMMANDER = """
import sys, time
from robots.robot import RobotAction
from robots.ros2.arm import Ros2Arm
arm = Ros2Arm("panda", domain=int(sys.argv[1]), connect_timeout=20.0)
arm.connect()
q = arm.get_observation().joint_positions
for k in range(10**9):
    arm.send_action(RobotAction(joint_positions=q))
    if k == 10:
        print("ready", flush=True)
"""


def start_stand_in(domain: int, stats: Path, duration: float = 3600, extra: tuple[str, ...] = ()) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "embodied.cli",
            "fake-arm",
            f"domain={domain}",
            f"duration={duration}",
            f"stats={stats}",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )


def stop_stand_in(proc: subprocess.Popen, stats: Path) -> dict:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    return json.loads(stats.read_text())


def connect(domain: int):  # noqa: ANN201
    from robots.ros2.arm import Ros2Arm

    arm = Ros2Arm("panda", domain=domain, connect_timeout=30.0)
    arm.connect()
    return arm


def bench_watchdog(domain: int, trials: int, tmp: Path) -> dict:
    stats = tmp / "watchdog.json"
    driver = start_stand_in(domain, stats)
    connect(domain)  # wait until the stand-in publishes
    rng = random.Random(0)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for trial in range(trials):
        cmd = subprocess.Popen(
            [sys.executable, "-c", COMMANDER, str(domain)], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
        )
        if cmd.stdout.readline().strip() != "ready":
            raise RuntimeError(f"commander {trial} did not start")
        time.sleep(rng.uniform(0.0, 0.2))
        cmd.kill()  # SIGKILL: no goodbye, no last message
        cmd.wait()
        time.sleep(0.3)
        print(f"\rwatchdog trial {trial + 1}/{trials}", end="", flush=True)
    print()
    summary = stop_stand_in(driver, stats)
    delays = summary["hold_delays"]
    return {
        "trials": trials,
        "holds": len(delays),
        "within_120ms": int(sum(d <= 0.120 for d in delays)),
        "hold_delay_ms": {
            "median": round(1000 * float(np.median(delays)), 1) if delays else None,
            "max": round(1000 * max(delays), 1) if delays else None,
        },
        "passed": len(delays) == trials and all(d <= 0.120 for d in delays),
    }


def bench_malformed(domain: int, rounds: int, tmp: Path) -> dict:
    from cyclonedds.core import Policy, Qos
    from cyclonedds.util import duration

    from robots.ros2.dds import Node, take, wait_for_match
    from robots.ros2.malformed import malformed_gripper_commands, malformed_trajectories
    from robots.ros2.messages import Float64MultiArray, JointState, JointTrajectory

    stats = tmp / "malformed.json"
    driver = start_stand_in(domain, stats)
    arm = connect(domain)
    q0 = arm.get_observation().joint_positions
    node = Node(domain)
    qos = Qos(Policy.Reliability.Reliable(duration(seconds=20)), Policy.History.KeepAll)
    traj_writer = node.writer(arm.description.ros2.command_topic, JointTrajectory, qos)
    grip_writer = node.writer(arm.description.ros2.gripper_topic, Float64MultiArray, qos)
    monitor = node.reader(
        arm.description.ros2.joint_states_topic,
        JointState,
        Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(10000)),
    )
    assert wait_for_match(traj_writer) and wait_for_match(grip_writer)
    cases = [(traj_writer, k, v) for k, v in malformed_trajectories(arm.description.joint_names, q0).items()]
    cases += [(grip_writer, k, v) for k, v in malformed_gripper_commands(arm.description.gripper.max_width).items()]
    take(monitor, 100000)  # drop what arrived before the flood
    start = time.monotonic()
    sent = 0
    for _ in range(rounds):
        for writer, _, msg in cases:
            writer.write(msg)
            sent += 1
            time.sleep(0.003)  # the driver's command QoS keeps the last 10; a real flood would lose some
    time.sleep(0.5)
    elapsed = time.monotonic() - start
    received = len(take(monitor, 100000))
    q1 = arm.get_observation().joint_positions
    summary = stop_stand_in(driver, stats)
    rate = received / elapsed
    nominal = arm.description.ros2.state_rate
    rejected = sum(summary["rejected"].values())
    return {
        "categories": len(cases),
        "sent": sent,
        "rejected": rejected,
        "rejected_by_rule": summary["rejected"],
        "executed": summary["accepted"],
        "arm_moved_rad": float(np.abs(q1 - q0).max()),
        "joint_state_rate_hz": round(rate, 1),
        "joint_state_rate_fraction": round(rate / nominal, 3),
        "max_publish_gap_ms": round(1000 * summary["max_publish_gap"], 1),
        # Samples replaced in the driver's keep-last-10 command queue before it read them are
        # neither rejected nor executed; "passed" asks that nothing was executed.
        "passed": summary["accepted"] == 0 and sent >= 1000 and rate >= 0.95 * nominal,
    }


def bench_safety(n: int) -> dict:
    from robots.robot import RobotAction
    from robots.safety import SafetyConfig, SafetyLayer
    from sims.world import TabletopWorld

    world = TabletopWorld()
    arm, d = world.robot, world.description
    sent: list[np.ndarray] = []
    inner_send = arm.send_action

    def record(action: RobotAction) -> RobotAction:  # what reaches the (simulated) hardware
        sent.append(np.asarray(action.joint_positions, dtype=np.float64))
        return inner_send(action)

    arm.send_action = record
    layer = SafetyLayer(arm, d, SafetyConfig())
    rng = np.random.default_rng(0)
    specials = np.array([np.nan, np.inf, -np.inf, 1e9, -1e9])
    beyond = 0
    previous = arm.get_observation().joint_positions
    for i in range(n):
        q = arm.get_observation().joint_positions
        if i % 3 == 0:
            target = rng.uniform(d.lower_limits - 1.0, d.upper_limits + 1.0)
            action = RobotAction(joint_positions=target)
        elif i % 3 == 1:
            action = RobotAction(joint_positions=q + rng.normal(0.0, 0.5, d.n_joints))
        else:
            action = RobotAction(ee_delta=rng.normal(0.0, 0.1, 3), gripper_width=float(rng.uniform(-1, 1)))
        if rng.random() < 0.1:
            field = action.joint_positions if action.joint_positions is not None else action.ee_delta
            field[rng.integers(len(field))] = rng.choice(specials)
        layer.send_action(action)
        out = sent[-1]
        ok = (
            np.isfinite(out).all()
            and (out >= layer.lower - 1e-9).all()
            and (out <= layer.upper + 1e-9).all()
            and (np.abs(out - previous) <= layer.max_step + 1e-9).all()
        )
        beyond += not ok
        previous = out
    world.close()
    return {
        "actions": n,
        "commands_sent": len(sent),
        "outputs_beyond_limits": beyond,
        "interventions": len(layer.interventions),
        "passed": beyond == 0 and len(sent) == n,
    }


def bench_reconnect(domain: int, trials: int, tmp: Path) -> dict:
    from cyclonedds.core import Policy, Qos
    from cyclonedds.util import duration

    from robots.robot import RobotAction
    from robots.ros2.arm import ArmDisconnected
    from robots.ros2.dds import Node, take
    from robots.ros2.messages import JointState, JointTrajectory

    driver = start_stand_in(domain, tmp / "reconnect.json")
    arm = connect(domain)
    node = Node(domain)
    # A bystander listening to the command topic: anything the client sends while the
    # driver is gone shows up here.
    spy = node.reader(
        arm.description.ros2.command_topic,
        JointTrajectory,
        Qos(Policy.Reliability.Reliable(duration(seconds=1)), Policy.History.KeepLast(10000)),
    )
    states = node.reader(arm.description.ros2.joint_states_topic, JointState)
    rows = []
    for trial in range(trials):
        q = arm.get_observation().joint_positions
        for _ in range(5):
            arm.send_action(RobotAction(joint_positions=q))
        driver.kill()
        driver.wait()
        time.sleep(0.3)  # the last state goes stale (0.2 s)
        take(spy, 100000)
        take(states, 100000)  # the dead driver's last states
        refused = 0
        restart = time.monotonic()
        driver = start_stand_in(domain, tmp / "reconnect.json")
        first_state = None
        reconnected = None
        while time.monotonic() - restart < 60:
            if first_state is None and take(states, 1000):
                first_state = time.monotonic()
            try:
                arm.send_action(RobotAction(joint_positions=q))
                reconnected = time.monotonic()
                break
            except ArmDisconnected:
                refused += 1
                time.sleep(0.02)
        # Everything the spy saw before reconnecting was sent while disconnected.
        leaked = len(take(spy, 100000)) - 1
        first_state = first_state or reconnected
        rows.append(
            {
                "refused_while_disconnected": refused,
                "motion_sent_while_disconnected": max(leaked, 0),
                "seconds_from_driver_start": round(reconnected - restart, 2) if reconnected else None,
                "seconds_from_first_state": round(reconnected - first_state, 3) if reconnected else None,
            }
        )
        print(f"\rreconnect trial {trial + 1}/{trials}", end="", flush=True)
    print()
    driver.terminate()
    driver.wait()
    times = [r["seconds_from_first_state"] for r in rows]
    worst = max(1e9 if t is None else t for t in times)
    return {
        "trials": rows,
        "worst_seconds_from_first_state": worst,
        "motion_sent_while_disconnected": sum(r["motion_sent_while_disconnected"] for r in rows),
        "passed": worst <= 2.0 and all(r["motion_sent_while_disconnected"] == 0 for r in rows),
    }


def bench_timing(domain: int, trials: int, jitters: list[float], tmp: Path) -> dict:
    from robots.description import load_description
    from robots.robot import RobotAction
    from robots.ros2.arm import Ros2Arm
    from robots.safety import SafetyLayer

    shipped = load_description("panda")
    step = shipped.max_velocities * 0.5 * shipped.control_period  # the safety layer's largest joint step
    rows = []
    for jitter in jitters:
        for late in sorted({0, shipped.ros2.late_commands}):
            description = shipped.model_copy(update={"ros2": shipped.ros2.model_copy(update={"late_commands": late})})
            refused, trail = [], []
            for trial in range(trials):
                stats = tmp / "timing.json"
                extra = ("actuation_delay=0.08", f"jitter={jitter}", "cell_camera.enabled=false")
                driver = start_stand_in(domain, stats, duration=120, extra=extra)
                arm = Ros2Arm(description, domain=domain, connect_timeout=30.0)
                arm.connect()
                layer = SafetyLayer(arm, description)
                home = arm.get_observation().joint_positions
                far = home + np.array([0.8, 0.6, -0.8, -0.6, 0.8, 0.8, 0.8])
                behind = []
                for k in range(60):  # the velocity limit binds out (40 commands) and back
                    sent = layer.send_action(RobotAction(joint_positions=far if k < 40 else home))
                    if 10 <= k < 25:  # moving at the limit, before it slows down near `far`
                        gap = np.abs(sent.joint_positions - arm.get_observation().joint_positions) / step
                        behind.append(float(np.max(gap)))
                arm.disconnect()
                summary = stop_stand_in(driver, stats)
                refused.append(int(summary["rejected"].get("velocity", 0)))
                trail.append(float(np.mean(behind)))
                print(f"\rtiming jitter {jitter} late_commands {late}: trial {trial + 1}/{trials}", end="", flush=True)
            print()
            rows.append(
                {
                    "jitter": jitter,
                    "late_commands": late,
                    "commands": 60 * trials,
                    "refused_for_speed": sum(refused),
                    "trials_with_refusals": sum(r > 0 for r in refused),
                    "trail_steps": round(float(np.mean(trail)), 2),
                }
            )
    return {
        "rows": rows,
        "trail_steps_means": "measured joints behind the commanded target, in half-rated joint steps (one per period)",
        "passed": all(r["refused_for_speed"] == 0 for r in rows if r["late_commands"] == shipped.ros2.late_commands),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["watchdog", "malformed", "safety", "reconnect", "timing"], nargs="+")
    parser.add_argument("--trials", type=int, default=100, help="watchdog trials")
    parser.add_argument("--timing-trials", type=int, default=10, help="timing trials per jitter and setting")
    parser.add_argument("--jitters", type=float, nargs="+", default=[0.0, 0.1, 0.3], help="timing: stand-in jitters")
    parser.add_argument("--rounds", type=int, default=60, help="rounds over the 18 malformed categories")
    parser.add_argument("--reconnects", type=int, default=5)
    parser.add_argument("--safety-actions", type=int, default=10000)
    parser.add_argument("--domain", type=int, default=150, help="first DDS domain (one per part)")
    parser.add_argument("--out", default="runs/bench/ros2.json")
    args = parser.parse_args()
    parts = args.only or ["watchdog", "malformed", "safety", "reconnect"]
    results: dict = {"hardware": f"{platform.machine()}, {os.cpu_count()} CPUs", "python": platform.python_version()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for k, part in enumerate(parts):
            t0 = time.perf_counter()
            if part == "watchdog":
                results[part] = bench_watchdog(args.domain + k, args.trials, tmp)
            elif part == "malformed":
                results[part] = bench_malformed(args.domain + k, args.rounds, tmp)
            elif part == "safety":
                results[part] = bench_safety(args.safety_actions)
            elif part == "timing":
                results[part] = bench_timing(args.domain + k, args.timing_trials, args.jitters, tmp)
            else:
                results[part] = bench_reconnect(args.domain + k, args.reconnects, tmp)
            results[part]["seconds"] = round(time.perf_counter() - t0, 1)
            print(part, json.dumps(results[part]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print("\n| check | result | passed |\n| --- | --- | --- |")
    if "watchdog" in results:
        w = results["watchdog"]
        print(
            f"| watchdog hold after the commander is killed | {w['within_120ms']}/{w['trials']} within 120 ms "
            f"(median {w['hold_delay_ms']['median']} ms, max {w['hold_delay_ms']['max']} ms) | {w['passed']} |"
        )
    if "malformed" in results:
        m = results["malformed"]
        print(
            f"| malformed commands | {m['rejected']}/{m['sent']} rejected over {m['categories']} categories, "
            f"{m['executed']} executed, joint states at {m['joint_state_rate_fraction']:.1%} of nominal "
            f"| {m['passed']} |"
        )
    if "safety" in results:
        s = results["safety"]
        print(
            f"| safety layer | {s['outputs_beyond_limits']} of {s['actions']} outputs beyond limits | {s['passed']} |"
        )
    if "reconnect" in results:
        r = results["reconnect"]
        print(
            f"| reconnect after the stand-in restarts | worst {r['worst_seconds_from_first_state']} s after its first "
            f"state, {r['motion_sent_while_disconnected']} motions sent while disconnected | {r['passed']} |"
        )
    if "timing" in results:
        for r in results["timing"]["rows"]:
            print(
                f"| jitter {r['jitter']}, late_commands {r['late_commands']} | {r['refused_for_speed']} of "
                f"{r['commands']} commands refused for speed ({r['trials_with_refusals']} trials), joints "
                f"{r['trail_steps']} steps behind the commands | - |"
            )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
