"""Ctrl-C and SIGTERM during motion: hold the arm, then unwind so the reports are written."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from robots.robot import Interrupted


class Terminated(Exception):
    """SIGTERM, turned into an exception so that a command unwinds like on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


@contextlib.contextmanager
def halt_on_signals(layer: Callable[[], Any] | None = None) -> Iterator[None]:
    """SIGINT/SIGTERM: latch the e-stop of ``layer()`` (a :class:`robots.safety.SafetyLayer`;
    a hold goes out at once), then raise :class:`robots.robot.Interrupted`, which the
    controller turns into a "halted" record, so the job unwinds and writes its reports.

    Only in the main thread (Python delivers signals there); elsewhere a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen: list[int] = []

    def handler(signum: int, frame) -> None:  # noqa: ANN001
        name = signal.Signals(signum).name
        interrupted = Interrupted(signum, name)
        arm = layer() if layer is not None else None
        if arm is not None:
            arm.estop(f"{name} received: holding", interrupted)
        if seen:  # a second signal while the first unwinds: the hold is out, let the reports finish
            return
        seen.append(signum)
        raise interrupted

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
