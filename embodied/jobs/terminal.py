"""What jobs print for people: the shared console (stderr), plan tables, run progress, summaries.

stdout is kept for what programs read (a report's path, JSON); everything for people goes to
stderr through :data:`console`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

EXIT_BAD_INPUT = 2
"""Exit status of a refused instruction or a bad value (nothing moved)."""

console = Console(stderr=True, soft_wrap=True)


def print_config(name: str, overrides: Sequence[str]) -> int:
    """``--cfg``: the composed ``configs/<name>.yaml`` as YAML on stdout."""
    from omegaconf import OmegaConf

    from embodied.common.config_loader import load_config

    print(OmegaConf.to_yaml(load_config(name, overrides), resolve=True))
    return 0


def show_plan(result, title: str) -> None:  # noqa: ANN001 (embodied.planning.planner.PlanResult)
    """A plan as a table, or the refusal in one line; first how the instruction was read when
    typos or self-repairs changed it."""
    read_as = result.details.get("read_as")
    if read_as:
        console.print(f"[dim]read as: {read_as}[/dim]")
    if result.ok:
        table = Table(title=f"{title} ({result.seconds * 1000:.1f} ms)")
        for col in ("#", "skill", "object", "target"):
            table.add_column(col)
        for i, goal in enumerate(result.plan.subgoals, start=1):
            table.add_row(str(i), goal.skill, goal.object, f"{goal.target.relation}: {goal.target.json_value()}")
        console.print(table)
    else:
        console.print(f"[yellow]refused:[/yellow] {result.error}")


def run_events(kind: str, info: dict) -> None:
    """The controller's progress events (``Session(on_event=...)``), one line each."""
    if kind == "plan":
        show_plan(info["result"], "plan")
    elif kind == "start":
        again = " (again: it stopped holding)" if info.get("replanned") else ""
        g = info["subgoal"]
        rel, value = next(iter(g["target"].items()))
        console.print(f"[bold]{info['index'] + 1}.[/bold] {g['skill']} {g['object']} {rel} {value}{again} ...")
    elif kind == "attempt" and info["attempt"] > 1:
        console.print(f"   retry {info['attempt'] - 1}")
    elif kind == "done":
        if info["outcome"] != "success":
            mark = f"[red]failed[/red]: {info['reason']}"
        else:
            mark = "[green]done[/green]" if info["attempts"] else f"[green]done[/green]: {info['reason']}"
        console.print(f"   {mark} ({info['sim_steps']} steps, {info['seconds']:.1f} s)")
    elif kind == "replan":
        console.print(f"[yellow]replanning:[/yellow] {info['subgoal']['object']} {info['reason']}")
    elif kind == "stop":
        console.print(f"[red]stopping safely[/red] (gripper open, arm home): {info['reason']}")
    elif kind == "halt":
        console.print(f"[bold red]arm held, job ended[/bold red]: {info['reason']}")
    elif kind == "warning":
        console.print(f"[yellow]warning[/yellow]: {info['reason']}")


def summarise(report: dict) -> None:
    """One line on how an instruction ended (``report.json``)."""
    if report["error"]:
        console.print(f"[yellow]nothing moved:[/yellow] {report['error']}")
        return
    verdict = "[green]success[/green]" if report["success"] else f"[red]failed[/red]: {report['reason']}"
    console.print(f"{verdict} in {report['wall_seconds']:.1f} s wall-clock, {report['replans']} replan(s)")
