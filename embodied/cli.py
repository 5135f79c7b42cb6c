"""The ``embodied`` command: parses the command line and dispatches to ``embodied/jobs/``.

Usage: ``embodied SUBCOMMAND [INSTRUCTION | SKILL] [key=value ...]``. Arguments with ``=``
are Hydra overrides composed onto ``configs/<subcommand>.yaml``; ``--cfg`` prints the
composed config; ``SUBCOMMAND --help`` lists the main options with their defaults.

Only the job that runs is imported, so a command pays for what it uses.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from types import ModuleType

JOBS: dict[str, tuple[str, str]] = {
    "run": ("run", "the main job: plan, execute and check an instruction; report.json + video"),
    "plan": ("plan", "plan an instruction in the perceived scene; prints JSON"),
    "eval": ("eval", "run an instruction suite + CALVIN-style chains; eval.json + plot"),
    "deploy": ("deploy", "run an instruction on a ROS 2 arm through the safety layer, after a dry run"),
    "fake-arm": ("fake_arm", "stand-in ROS 2 arm driver (PyBullet) for dry runs and tests"),
    "estop": ("estop", "publish the operator e-stop (or --reset) to every deploy and stand-in on the domain"),
    "demo": ("demo", "build the scene, stack two cubes with scripted motions, write video + pictures"),
    "envs": ("envs", "list the gymnasium skill environments"),
    "train": ("train", "train a skill policy with stable-baselines3 (SAC/TQC + HER, or PPO)"),
    "eval-skill": ("eval_skill", "evaluate a skill policy; last line is JSON"),
    "export": ("export", "export a skill policy to ONNX / TorchScript with a parity check"),
}
"""Subcommand -> (module in ``embodied.jobs``, one-line summary)."""

EXIT_BAD_INPUT = 2


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="embodied",
        description="Language-conditioned robot manipulation, from a sentence to a simulated or real arm.",
        epilog="Configuration: key=value Hydra overrides composed onto configs/<subcommand>.yaml, "
        'e.g. `embodied run "put the red cube on the blue cube" seed=3`. '
        "`embodied SUBCOMMAND --help` lists a command's options and their defaults.",
    )
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for name, (_, summary) in JOBS.items():
        sub.add_parser(name, help=summary, add_help=False)
    return parser


class _JobParser(argparse.ArgumentParser):
    """A subcommand's parser whose help ends with the job's main options and their defaults
    (composed from ``configs/`` and described by the config schema when help is asked for)."""

    job: ModuleType

    def format_help(self) -> str:
        text = super().format_help()
        config = getattr(self.job, "CONFIG", None)
        if config is None:
            return text
        from embodied.common.options import describe_options

        try:
            lines = describe_options(config, getattr(self.job, "OPTIONS", ()), getattr(self.job, "HELP_OVERRIDES", ()))
        except Exception as exc:  # noqa: BLE001 (help must print even if the configs are broken)
            lines = [f"  (options unavailable: {exc})"]
        return text + "\nmain options (key=value, default shown; --cfg prints them all):\n" + "\n".join(lines) + "\n"


def _job_parser(name: str, job: ModuleType) -> argparse.ArgumentParser:
    parser = _JobParser(
        prog=f"embodied {name}",
        description=job.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.job = job
    positional = getattr(job, "POSITIONAL", None)
    metavar = f"[{positional[0]}] key=value" if positional else "key=value"
    helptext = f"{positional[1]}, then Hydra overrides such as seed=3" if positional else "Hydra overrides, e.g. seed=3"
    parser.add_argument("tokens", nargs="*", metavar=metavar, help=helptext)
    if getattr(job, "CONFIG", None):
        parser.add_argument("--cfg", action="store_true", help="print the composed config and exit")
    add = getattr(job, "add_arguments", None)
    if add is not None:
        add(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns its exit status (2: bad input, 128+N: signal N)."""
    os.environ.setdefault("HYDRA_FULL_ERROR", "0")
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in JOBS:
        parser = _top_parser()
        if not argv:
            parser.print_help()
            return EXIT_BAD_INPUT
        parser.parse_args(argv)  # --help (exit 0) or an unknown subcommand (exit 2), argparse's words
        return EXIT_BAD_INPUT
    name = argv[0]
    job = importlib.import_module(f"embodied.jobs.{JOBS[name][0]}")
    args = _job_parser(name, job).parse_args(argv[1:])
    args.command = name
    from embodied.execution.interrupts import Terminated, redelivered_if_inside_logging

    def terminate(signum, frame):  # noqa: ANN001
        if not redelivered_if_inside_logging(signum, frame):
            raise Terminated(signum)

    signal.signal(signal.SIGTERM, terminate)
    # Ctrl-C unwinds the command even where the shell started it with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from embodied.common.config_loader import ConfigError
    from embodied.jobs.terminal import console
    from robots.robot import Interrupted

    try:
        return job.main(args)
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, Terminated, Interrupted) as exc:
        signum = exc.exit_code - 128 if isinstance(exc, Interrupted) else getattr(exc, "signum", signal.SIGINT)
        console.print(f"[yellow]interrupted[/yellow] ({signal.Signals(signum).name})")
        return 128 + signum


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
