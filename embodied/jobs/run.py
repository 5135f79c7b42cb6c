"""The main job: plan INSTRUCTION from the camera, execute it with the skills, check every
sub-goal from the camera (retry, replan), write report.json and run.mp4, print the report's
path last. Exit 0 on success, 1 if execution failed, 2 if the instruction was refused.
Without an instruction: an interactive prompt on one persistent scene (type help).

Example: embodied run "put the red cube on the blue cube, then push the green cube to the left" seed=3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CONFIG = "run"
POSITIONAL = ("INSTRUCTION", "what to do, in quotes (none: an interactive prompt)")
OPTIONS = ("seed", "planner", "skills", "robot", "randomize", "video", "video_every", "hide", "run_dir")


def main(args: argparse.Namespace) -> int:
    """``embodied run``: one instruction, or the interactive prompt."""
    from embodied.common.config_loader import load_config
    from embodied.common.run_folder import prepare_run_dir
    from embodied.execution.interrupts import halt_on_signals
    from embodied.execution.session import Session
    from embodied.jobs.arguments import instruction_and_overrides
    from embodied.jobs.terminal import EXIT_BAD_INPUT, print_config, run_events, summarise

    instruction, overrides = instruction_and_overrides(args.tokens)
    if args.cfg:
        return print_config(CONFIG, overrides)
    cfg = load_config(CONFIG, overrides)
    run_dir = prepare_run_dir(cfg)
    session = Session(cfg, run_events)
    try:
        if instruction is None:
            return interactive(session, run_dir)
        with halt_on_signals():  # Ctrl-C / SIGTERM: the report of what was done is still written
            outcome = session.run(instruction, run_dir)
        summarise(outcome.report)
        print(outcome.report_path)
        if outcome.report["error"]:
            return EXIT_BAD_INPUT
        halted = outcome.execution.halted if outcome.execution else None
        if halted is not None:
            return halted.exit_code
        return 0 if outcome.report["success"] else 1
    finally:
        session.close()


HELP = (
    "instructions such as 'put the red cube on the blue cube'; then 'now put the green one on top of it' "
    "(it, that one, the same one: the object last moved), 'again', 'do the same with the blue cube', "
    "'undo' (puts back what the last command moved; again to step further back); "
    "after a refusal with a suggestion, answer y or n; scene; reset [SEED]; quit"
)


def interactive(session, run_dir: Path) -> int:  # noqa: ANN001 (embodied.execution.session.Session)
    """A prompt on one persistent scene: instructions with conversation context ("it", "again",
    "do the same with ...", "undo"), suggestions asked as yes/no, ``scene``, ``reset [SEED]``, ``help``, ``quit``."""
    from embodied.execution.conversation import Conversation
    from embodied.execution.interrupts import halt_on_signals
    from embodied.jobs.terminal import console, summarise
    from embodied.planning.subgoals import PlanError

    console.print(
        f"[bold]embodied[/bold]: one scene (seed {session.seed}); type an instruction, "
        "'scene', 'reset [SEED]', 'help' or 'quit'."
    )
    conversation = Conversation()
    n = 0

    def ask(question: str) -> str | None:
        console.print(question, end="")
        line = sys.stdin.readline()
        return line.strip() if line else None

    def execute(text: str, plan=None, undo: bool = False) -> int | None:  # noqa: ANN001
        nonlocal n
        n += 1
        with halt_on_signals():
            outcome = session.run(text, run_dir / f"{n:03d}", previous=conversation.moved, plan=plan)
        summarise(outcome.report)
        print(outcome.report_path, flush=True)
        if outcome.execution is not None and undo:
            conversation.undone(outcome.plan, outcome.execution.success)
        elif outcome.execution is not None:
            conversation.remember(text, outcome.plan, outcome.scene)
        halted = outcome.execution.halted if outcome.execution else None
        if halted is not None:
            return halted.exit_code
        suggestion = outcome.plan.details.get("suggestion") if not outcome.plan.ok else None
        if suggestion is not None:
            answer = ask(f"[bold]did you mean: {suggestion['sentence']}?[/bold] \\[y/n] ")
            if answer is None:
                return 0
            if answer.lower() in ("y", "yes", "yeah", "yep", "sure", "ok", "okay"):
                return execute(suggestion["sentence"])
        return None

    while True:
        line = ask("[bold cyan]>[/bold cyan] ")
        if line is None:
            return 0
        text = line
        if text in ("quit", "exit", "q"):
            return 0
        if not text:
            continue
        if text == "help":
            console.print(HELP)
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
        try:
            repeated = conversation.repeat(text)
        except PlanError as exc:
            console.print(f"[red]{exc}[/red]")
            continue
        phrase = conversation.same_with(text)
        if conversation.wants_undo(text):
            g = session.controller.geometry
            code = execute(
                text, plan=lambda scene, g=g: conversation.undo(scene, g.object_size, g.place_tolerance), undo=True
            )
        elif repeated is not None:
            code = execute(repeated)
        elif phrase is not None:
            code = execute(f"do the same with {phrase}", plan=lambda scene, p=phrase: conversation.substitute(p, scene))
        else:
            code = execute(text)
        if code is not None:
            return code
