"""The one progress display of every long job (training, evaluations, the demo): rich's
progress bar on stderr, with a label, done/total, elapsed or remaining time and one line of
live text. A job run without a console (tests, ``progress=false``) shows nothing."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressBar:
    """A context manager around one rich task; ``update`` moves it and sets its text."""

    def __init__(
        self, console: Console | None, label: str, total: int | None, completed: int = 0, transient: bool = False
    ) -> None:
        known = total is not None
        columns = [SpinnerColumn()] if not known else []
        columns += [TextColumn(f"[bold]{label}" if label else "{task.description}")]
        if known:
            columns += [BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        else:
            columns += [TimeElapsedColumn()]
        columns.append(TextColumn("{task.fields[text]}"))
        self._progress = Progress(*columns, console=console, transient=transient, disable=console is None)
        self._task = self._progress.add_task(label, total=total, completed=completed, text="")

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()

    def update(
        self, completed: int | None = None, text: str | None = None, total: int | None = None, advance: int = 0
    ) -> None:
        """Set what is done (or ``advance`` it), the total, and the live text."""
        fields: dict = {}
        if text is not None:
            fields["text"] = text
        if total is not None:
            fields["total"] = total
        if completed is not None:
            fields["completed"] = completed
        self._progress.update(self._task, advance=advance or None, **fields)


def progress_bar(
    console: Console | None, label: str, total: int | None = None, completed: int = 0, transient: bool = False
) -> ProgressBar:
    """A progress bar (``total``) or a spinner with elapsed time (``total=None``)."""
    return ProgressBar(console, label, total, completed, transient)
