"""The ``embodied`` command: one entry point, one small function per subcommand.

Usage: ``embodied SUBCOMMAND [INSTRUCTION] [key=value ...]``. Arguments with ``=`` are Hydra
overrides composed onto ``configs/<subcommand>.yaml``; ``--cfg`` prints the composed config.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.table import Table

from embodied.config import ConfigError, load_config
from robots.robot import Interrupted

EXIT_BAD_INPUT = 2
console = Console(stderr=True, soft_wrap=True)


def _print_config(name: str, overrides: Sequence[str]) -> int:
    from omegaconf import OmegaConf

    print(OmegaConf.to_yaml(load_config(name, overrides), resolve=True))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the tabletop scene, stack one cube on another with scripted motions, save video + pictures."""
    if args.cfg:
        return _print_config("demo", args.overrides)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from embodied.demo import run_demo

    cfg = load_config("demo", args.overrides)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("building scene", total=None)
        result = run_demo(cfg, lambda n, label: bar.update(task, description=f"step {n:4d}  {label}"))
    s = result.summary
    table = Table(title=f"demo, seed {s['seed']}: {s['task']}", show_header=True)
    table.add_column("object")
    table.add_column("final position (x, y, z) m", justify="right")
    for name, obj in s["objects"].items():
        table.add_row(name, ", ".join(f"{v:+.3f}" for v in obj["position"]))
    console.print(table)
    verdict = "[green]stacked[/green]" if s["success"] else "[red]not stacked[/red]"
    console.print(
        f"{verdict} in {s['control_steps']} control steps ({s['sim_seconds']} s simulated, "
        f"{s['wall_seconds']} s wall-clock, video included)"
    )
    print(result.run_dir / "summary.json")
    return 0 if s["success"] else 1


def cmd_envs(args: argparse.Namespace) -> int:
    """List the registered skill environments with their observation and action sizes."""
    import gymnasium as gym

    import sims

    rows = []
    for env_id in sims.ENV_IDS:
        env = gym.make(env_id)
        rows.append(
            {
                "id": env_id,
                "observation": env.observation_space["observation"].shape[0],
                "goal": env.observation_space["desired_goal"].shape[0],
                "action": env.action_space.shape[0],
                "max_episode_steps": env.spec.max_episode_steps,
            }
        )
        env.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="skill environments (25 Hz, 5 cm success threshold)")
    for col in rows[0]:
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train a skill with stable-baselines3 + HER: progress bar, TensorBoard (or wandb), periodic
    evaluation on held-out seeds, best/last checkpoints, resume, evaluation video, model card.
    Example: embodied train skill=push algo=sac seed=1 n_envs=2 device=auto total_steps=100000"""
    if args.cfg:
        return _print_config("train", args.overrides)
    from embodied.train import train

    cfg = load_config("train", args.overrides)
    console.print(
        f"training [bold]{cfg.skill.name}[/bold] with {cfg.algo.name.upper()} + HER"
        f" (prior: {cfg.skill.prior.kind if cfg.algo.residual else 'none'}), seed {cfg.seed}, {cfg.n_envs} envs"
    )
    result = train(cfg, args.overrides, console if cfg.progress else None)
    c = result.card
    console.print(
        f"[green]done[/green]: {c['steps']} steps in {c['wall_seconds']:.0f} s ({c['steps_per_second']:.0f} steps/s); "
        f"success {c['success_rate']:.0%} (before training {c['initial_success_rate']:.0%}, "
        f"best {c['best_success_rate']:.0%}) over {c['eval_episodes']} held-out episodes"
    )
    print(result.run_dir / "card.json")
    return 0


def _skill_overrides(args: argparse.Namespace) -> list[str]:
    if not args.skill:
        raise ConfigError(f"name a skill: `embodied {args.command} SKILL`, e.g. `embodied {args.command} push`")
    if "=" in args.skill:
        raise ConfigError(f"the first argument must be a skill name, got {args.skill!r}")
    from embodied.skills import skill_config

    skill_config(args.skill)  # unknown skill: one clear error listing the known ones
    return [f"skill={args.skill}", *args.overrides]


def cmd_eval_skill(args: argparse.Namespace) -> int:
    """Evaluate a skill policy (shipped, or checkpoint=PATH) over deterministic held-out episodes.
    Prints a summary; the last line is JSON with skill, episodes and success_rate."""
    overrides = _skill_overrides(args)
    if args.cfg:
        return _print_config("eval_skill", overrides)
    from embodied.skill_eval import eval_skill

    cfg = load_config("eval_skill", overrides)
    report = eval_skill(cfg, console)
    print(json.dumps(report))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a skill policy to ONNX or TorchScript (normalisation, prior and network in one
    file) and check it gives the torch policy's actions within the tolerance."""
    overrides = _skill_overrides(args)
    if args.cfg:
        return _print_config("export", overrides)
    from embodied.skill_eval import export_skill

    cfg = load_config("export", overrides)
    report = export_skill(cfg, console)
    print(report["path"])
    return 0 if report["max_abs_diff"] <= cfg.tolerance else 1


def _instruction_args(args: argparse.Namespace) -> tuple[str | None, list[str]]:
    """Split the positional instruction from Hydra overrides ("seed=3" alone is an override)."""
    instruction, overrides = args.instruction, list(args.overrides)
    if instruction is not None and re.fullmatch(r"[\w.@/+~-]+=\S*", instruction):
        return None, [instruction, *overrides]
    return instruction, overrides


def _show_plan(result, title: str) -> None:
    if result.ok:
        table = Table(title=f"{title} ({result.seconds * 1000:.1f} ms)")
        for col in ("#", "skill", "object", "target"):
            table.add_column(col)
        for i, goal in enumerate(result.plan.subgoals, start=1):
            table.add_row(str(i), goal.skill, goal.object, f"{goal.target.relation}: {goal.target.value}")
        console.print(table)
    else:
        console.print(f"[yellow]refused:[/yellow] {result.error}")


def cmd_plan(args: argparse.Namespace) -> int:
    """Perceive the scene of a seed and plan an instruction. Prints the plan, or the refusal
    ({"error": ..., "plan": []}, exit status 2), as JSON on stdout and nothing else there.
    Example: embodied plan "put the red cube on the blue cube, then push the green one left" seed=3"""
    instruction, overrides = _instruction_args(args)
    if args.cfg:
        return _print_config("plan", overrides)
    if instruction is None:
        raise ConfigError('give an instruction in quotes: embodied plan "put the red cube on the blue cube" seed=3')
    from embodied.planning import plan_instruction

    cfg = load_config("plan", overrides)
    outcome = plan_instruction(cfg, instruction)
    result = outcome.result
    if cfg.show_scene:
        seen = ", ".join(f"{o.name} ({o.position[0]:+.2f}, {o.position[1]:+.2f})" for o in outcome.scene.objects)
        console.print(f"[dim]seed {cfg.seed}: the camera sees {seen or 'nothing'}[/dim]")
    _show_plan(result, f"plan ({cfg.planner.name} planner)")
    print(json.dumps(result.to_json()))
    return 0 if result.ok else EXIT_BAD_INPUT


def _run_events(kind: str, info: dict) -> None:
    if kind == "plan":
        _show_plan(info["result"], "plan")
    elif kind == "start":
        again = " (again: it stopped holding)" if info.get("replanned") else ""
        g = info["subgoal"]
        rel, value = next(iter(g["target"].items()))
        console.print(f"[bold]{info['index'] + 1}.[/bold] {g['skill']} {g['object']} {rel} {value}{again} ...")
    elif kind == "attempt" and info["attempt"] > 1:
        console.print(f"   retry {info['attempt'] - 1}")
    elif kind == "done":
        mark = "[green]done[/green]" if info["outcome"] == "success" else f"[red]failed[/red]: {info['reason']}"
        console.print(f"   {mark} ({info['sim_steps']} steps, {info['seconds']:.1f} s)")
    elif kind == "replan":
        console.print(f"[yellow]replanning:[/yellow] {info['subgoal']['object']} {info['reason']}")
    elif kind == "stop":
        console.print(f"[red]stopping safely[/red] (gripper open, arm home): {info['reason']}")
    elif kind == "halt":
        console.print(f"[bold red]arm held, job ended[/bold red]: {info['reason']}")


def _summarise(report: dict) -> None:
    if report["error"]:
        console.print(f"[yellow]nothing moved:[/yellow] {report['error']}")
        return
    verdict = "[green]success[/green]" if report["success"] else f"[red]failed[/red]: {report['reason']}"
    console.print(f"{verdict} in {report['wall_seconds']:.1f} s wall-clock, {report['replans']} replan(s)")


def cmd_run(args: argparse.Namespace) -> int:
    """The main job: plan INSTRUCTION from the camera, execute it with the skills, check every
    sub-goal from the camera (retry, replan), write report.json and run.mp4, print the report's
    path last. Exit 0 on success, 1 if execution failed, 2 if the instruction was refused.
    Without an instruction: an interactive prompt on one persistent scene (type help).
    Example: embodied run "put the red cube on the blue cube, then push the green cube to the left" seed=3"""
    instruction, overrides = _instruction_args(args)
    if args.cfg:
        return _print_config("run", overrides)
    from embodied.run import Session, halt_on_signals, prepare_run_dir

    cfg = load_config("run", overrides)
    run_dir = prepare_run_dir(cfg)
    session = Session(cfg, _run_events)
    try:
        if instruction is not None:
            with halt_on_signals():  # Ctrl-C / SIGTERM: the report of what was done is still written
                outcome = session.run(instruction, run_dir)
            _summarise(outcome.report)
            print(outcome.report_path)
            if outcome.report["error"]:
                return EXIT_BAD_INPUT
            halted = outcome.execution.halted if outcome.execution else None
            if halted is not None:
                return halted.exit_code
            return 0 if outcome.report["success"] else 1
        return _interactive(session, run_dir)
    finally:
        session.close()


def _deploy_args(tokens: list[str]) -> tuple[str | None, list[str]]:
    """The instruction (the one token that is not key=value) and the overrides, in any order.

    ``robot=ros2|sim`` names the deploy target (``target``); ``arm=NAME`` the description.
    """
    instruction, overrides = None, []
    for token in tokens:
        if not re.fullmatch(r"[\w.@/+~-]+=\S*", token):
            if instruction is not None:
                raise ConfigError("give one instruction, in quotes")
            instruction = token
        elif token.startswith("robot="):
            overrides.append("target=" + token.split("=", 1)[1])
        elif token.startswith("arm="):
            overrides.append("robot=" + token.split("=", 1)[1])
        else:
            overrides.append(token)
    return instruction, _dds_shorthand(overrides)


def _dds_shorthand(overrides: list[str]) -> list[str]:
    """``domain=N`` is short for ``dds.domain=N`` (the ROS_DOMAIN_ID of commands that speak DDS)."""
    return ["dds." + o if o.startswith("domain=") else o for o in overrides]


def cmd_deploy(args: argparse.Namespace) -> int:
    """Run an instruction on an arm behind a ROS 2 driver (a real arm, or `embodied fake-arm`):
    planner, controller and skills drive the arm through the safety layer. With dry_run=true
    (default) the plan is first played in simulation mirrored from the arm's joint state, and
    the arm moves only after you confirm (confirm=true skips the question). robot=ros2 (default)
    or robot=sim (dry run only); arm=panda|ur5e|xarm6; domain=N (default ROS_DOMAIN_ID);
    dds.discovery_range=LOCALHOST|SUBNET|OFF, dds.interface=eth1, dds.peers=[IP] (default: loopback).
    On robot=ros2 the safety layer is always armed with the hardware floors: watchdog, state
    age, limits, workspace, unexpected-motion check, and the operator e-stop topic
    (`embodied estop`). Ctrl-C / SIGTERM hold the arm at once and keep the reports.
    Exit 0 success, 1 failed or halted (e-stop, driver lost, unexpected motion), 2 refused/bad
    input, 3 not confirmed, 130 SIGINT, 143 SIGTERM.
    Example: embodied deploy robot=ros2 "put the red cube on the blue cube" seed=3"""
    from embodied.config import dds_settings
    from embodied.deploy import check_target, deploy, write_summary
    from embodied.run import prepare_run_dir

    instruction, overrides = _deploy_args(list(args.overrides))
    if args.cfg:
        return _print_config("deploy", overrides)
    if not instruction:
        raise ConfigError(
            'deploy needs an instruction, e.g. embodied deploy robot=ros2 "put the red cube on the blue cube"'
        )
    cfg = load_config("deploy", overrides)
    check_target(cfg)
    if cfg.target == "ros2":
        console.print(f"[dim]{dds_settings(cfg).describe()}[/dim]")
    run_dir = prepare_run_dir(cfg, "deploy")
    # Every safety intervention goes to safety.log in the run folder, not to the terminal.
    import logging

    safety_log = logging.getLogger("embodied.safety")
    safety_log.propagate = False
    safety_log.addHandler(logging.FileHandler(run_dir / "safety.log"))

    def ask(question: str) -> bool:
        console.print(f"[bold yellow]{question}[/bold yellow] [y/N] ", end="")
        answer = sys.stdin.readline().strip().lower()
        return answer in ("y", "yes")

    outcome = deploy(cfg, instruction, run_dir, ask, _run_events)
    # The arm is held and released by now: a late Ctrl-C must not cost the record.
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    if outcome.dry_run is not None:
        console.print("[bold]dry run (simulation, mirrored from the arm):[/bold]")
        _summarise(outcome.dry_run.report)
    if outcome.hardware is not None:
        console.print(f"[bold]on the arm[/bold] ({outcome.safety_interventions} safety interventions):")
        _summarise(outcome.hardware.report)
    elif outcome.dry_run is not None and outcome.dry_run.report["success"] and cfg.target == "ros2":
        if outcome.halted is None:
            console.print("not confirmed: the arm was not moved")
    if outcome.halted is not None:
        console.print(f"[bold red]halted[/bold red] ({outcome.halted.kind}): {outcome.halted.message}")
    print(write_summary(outcome, run_dir))
    return outcome.exit_code


def _interactive(session, run_dir) -> int:
    console.print(
        f"[bold]embodied[/bold]: one scene (seed {session.seed}); type an instruction, "
        "'scene', 'reset [SEED]', 'help' or 'quit'."
    )
    n = 0
    while True:
        console.print("[bold cyan]>[/bold cyan] ", end="")
        line = sys.stdin.readline()
        if not line:
            return 0
        text = line.strip()
        if text in ("quit", "exit", "q"):
            return 0
        if not text:
            continue
        if text == "help":
            console.print("instructions such as 'put the red cube on the blue cube'; scene; reset [SEED]; quit")
            continue
        if text == "scene":
            for o in session.controller.perceive().objects:
                console.print(f"  {o.name}: ({o.position[0]:+.3f}, {o.position[1]:+.3f}, {o.position[2]:+.3f})")
            continue
        if text.split()[0] == "reset":
            parts = text.split()
            seed = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else session.seed + 1
            session.reset(seed)
            console.print(f"new scene, seed {seed}")
            continue
        n += 1
        from embodied.run import halt_on_signals

        with halt_on_signals():
            outcome = session.run(text, run_dir / f"{n:03d}")
        _summarise(outcome.report)
        print(outcome.report_path, flush=True)
        halted = outcome.execution.halted if outcome.execution else None
        if halted is not None:
            return halted.exit_code


def cmd_eval(args: argparse.Namespace) -> int:
    """Run an instruction suite (goal predicates) over several seeds and CALVIN-style chains of 5;
    print plan and execution success, per-family results, time per instruction and the average
    chain length; save eval.json and success_by_family.png. The last line is eval.json's path.
    Example: embodied eval seeds=[0,1,2] chains=10 skills=scripted"""
    if args.cfg:
        return _print_config("eval", args.overrides)

    from pathlib import Path

    from omegaconf import OmegaConf
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from embodied.config import run_dir as make_run_dir
    from embodied.evaluation import JOURNAL, evaluate, plot

    cfg = load_config("eval", args.overrides)
    if cfg.resume:
        run_dir = Path(str(cfg.resume))
        saved = run_dir / "config.yaml"
        if not (run_dir / JOURNAL).is_file() or not saved.is_file():
            raise ConfigError(f"resume={cfg.resume}: not an `embodied eval` run folder (no {JOURNAL} / config.yaml)")
        old = OmegaConf.load(saved)
        for key in ("suite", "seeds", "limit", "chains", "chain_length", "planner.name", "skills.source"):
            if OmegaConf.select(old, key) != OmegaConf.select(cfg, key):
                raise ConfigError(
                    f"resume={cfg.resume}: that evaluation ran {key}={OmegaConf.select(old, key)}, "
                    f"not {OmegaConf.select(cfg, key)}; continue it with the same settings"
                )
    else:
        run_dir = make_run_dir(cfg.run_dir, "eval")
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("loading", total=None)
        try:
            results = evaluate(
                cfg,
                lambda text, done, total: bar.update(task, description=text, completed=done, total=total),
                run_dir / JOURNAL,
            )
        except (KeyboardInterrupt, Terminated):
            console.print(f"kept what was done in {run_dir / JOURNAL}: continue with `embodied eval resume={run_dir}`")
            raise
    (run_dir / "eval.json").write_text(json.dumps(results, indent=2))
    plot(results, run_dir / "success_by_family.png")
    table = Table(title=f"{results['suite']} suite: {results['skills']} skills, {results['planner']} planner")
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


def cmd_fake_arm(args: argparse.Namespace) -> int:
    """Start a stand-in for an arm's ROS 2 driver: a PyBullet arm that publishes /joint_states
    and executes /joint_trajectory_controller/joint_trajectory like ros2_control's joint
    trajectory controller (validation rules, command timeout). Runs until Ctrl-C, or duration=S.
    DDS stays on loopback unless dds.discovery_range / dds.interface say otherwise.
    Example: embodied fake-arm robot=panda domain=7"""
    overrides = _dds_shorthand(list(args.overrides))
    if args.cfg:
        return _print_config("fake_arm", overrides)
    import signal
    from pathlib import Path

    from embodied.config import dds_settings

    cfg = load_config("fake_arm", overrides)
    discovery = dds_settings(cfg)

    from sims.fake_arm import FakeArm

    try:
        arm = FakeArm(
            cfg.robot.description,
            rate=cfg.rate,
            command_timeout=float(cfg.command_timeout),
            discovery=discovery,
            max_writers=int(cfg.max_writers),
            estop_topic=str(cfg.dds.estop_topic),
        )
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigError(str(exc)) from exc
    spec = arm.description.ros2
    console.print(
        f"fake {arm.description.name}: publishing {spec.joint_states_topic} at "
        f"{arm.rate:.0f} Hz, executing {spec.command_topic}; Ctrl-C to stop\n[dim]{discovery.describe()}[/dim]"
    )

    def stop(signum, frame):  # noqa: ANN001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        arm.run(cfg.duration)
    except KeyboardInterrupt:
        pass
    finally:
        st = arm.stats
        summary = {
            "published": st.published,
            "accepted": st.accepted,
            "rejected": dict(st.rejected),
            "holds": st.holds,
            "estops": st.estops,
            "estop_delays": [round(d, 4) for d in st.estop_delays],
            "max_writers_seen": st.max_writers_seen,
            "command_times": [round(t, 4) for t in st.command_times],
            "hold_delays": [round(d, 4) for d in st.hold_delays],
            "max_publish_gap": round(st.max_publish_gap, 4),
            "seconds": round(__import__("time").monotonic() - st.started, 3),
        }
        if cfg.stats:
            Path(cfg.stats).write_text(json.dumps(summary))
        arm.close()
    print(json.dumps({k: v for k, v in summary.items() if k != "command_times"}))
    return 0


def cmd_estop(args: argparse.Namespace) -> int:
    """Publish the operator e-stop: every `embodied deploy` and `embodied fake-arm` on the domain
    holds its arm at once and latches; deploy ends its job (exit 1) and keeps its reports.
    --reset releases the stand-in's latch (a deploy that stopped has ended; start a new one).
    Exit 0 when at least one subscriber acknowledged, 1 when nobody was listening.
    Example: embodied estop domain=7        embodied estop --reset domain=7"""
    overrides = _dds_shorthand(list(args.overrides))
    if args.cfg:
        return _print_config("estop", overrides)
    from embodied.config import dds_settings

    cfg = load_config("estop", overrides)
    discovery = dds_settings(cfg)
    if not float(cfg.wait) > 0:
        raise ConfigError(f"wait must be > 0 seconds, got {cfg.wait}")
    from robots.ros2.estop import publish_estop

    stop = not args.reset
    heard = publish_estop(discovery, str(cfg.dds.estop_topic), stop, float(cfg.wait))
    what = "e-stop" if stop else "e-stop reset"
    if heard == 0:
        console.print(
            f"[red]{what} published on {cfg.dds.estop_topic}, but nobody is subscribed[/red] ({discovery.describe()})"
        )
        return 1
    console.print(f"{what} delivered to {heard} subscriber(s) on {cfg.dds.estop_topic} ({discovery.describe()})")
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "deploy": (cmd_deploy, "run an instruction on a ROS 2 arm through the safety layer, after a dry run"),
    "fake-arm": (cmd_fake_arm, "stand-in ROS 2 arm driver (PyBullet) for dry runs and tests"),
    "estop": (cmd_estop, "publish the operator e-stop (or --reset) to every deploy and stand-in on the domain"),
    "eval": (cmd_eval, "run an instruction suite + CALVIN-style chains; eval.json + plot"),
    "run": (cmd_run, "the main job: plan, execute and check an instruction; report.json + video"),
    "plan": (cmd_plan, "plan an instruction in the perceived scene; prints JSON"),
    "demo": (cmd_demo, "build the scene, stack two cubes with scripted motions, write video + pictures"),
    "envs": (cmd_envs, "list the gymnasium skill environments"),
    "train": (cmd_train, "train a skill policy with stable-baselines3 + HER"),
    "eval-skill": (cmd_eval_skill, "evaluate a skill policy; last line is JSON"),
    "export": (cmd_export, "export a skill policy to ONNX / TorchScript with a parity check"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="embodied",
        description="Language-conditioned robot manipulation, from a sentence to a simulated or real arm.",
        epilog="Configuration: key=value Hydra overrides composed onto configs/<subcommand>.yaml, "
        "e.g. `embodied demo seed=3 pick=green_cube place_on=yellow_cube sim.gui=true`.",
    )
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for name, (func, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=func.__doc__)
        if name == "envs":
            p.add_argument("--json", action="store_true", help="print JSON instead of a table")
            p.set_defaults(func=func)
            continue
        if name in ("plan", "run"):
            p.add_argument("instruction", nargs="?", metavar="INSTRUCTION", help="what to do, in quotes")
        if name in ("eval-skill", "export"):
            p.add_argument("skill", nargs="?", metavar="SKILL", help="reach | push | pick_place")
        if name == "estop":
            p.add_argument("--reset", action="store_true", help="release the e-stop instead of latching it")
        p.add_argument("overrides", nargs="*", metavar="key=value", help="Hydra overrides, e.g. seed=3")
        p.add_argument("--cfg", action="store_true", help="print the composed config and exit")
        p.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HYDRA_FULL_ERROR", "0")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    import signal

    def terminate(signum, frame):  # noqa: ANN001
        raise Terminated(signum)

    signal.signal(signal.SIGTERM, terminate)
    # Ctrl-C unwinds the command even where the shell started it with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return args.func(args)
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, Terminated, Interrupted) as exc:
        signum = exc.exit_code - 128 if isinstance(exc, Interrupted) else getattr(exc, "signum", signal.SIGINT)
        console.print(f"[yellow]interrupted[/yellow] ({signal.Signals(signum).name})")
        return 128 + signum


class Terminated(Exception):
    """SIGTERM, turned into an exception so that a command unwinds like on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


FAST_EXIT = ("deploy",)
"""Commands that leave at once when done: their record is written, the arm is held and
released, and tearing down the interpreter (DDS participants, torch, PyBullet) took 1.5 s
after a lost driver, time in which an operator sees a job that has not ended."""


def entry() -> None:
    """The console script: :func:`main`, then exit (at once for :data:`FAST_EXIT` commands)."""
    code = main()
    if len(sys.argv) > 1 and sys.argv[1] in FAST_EXIT:
        import logging

        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
