"""Ctrl-C and SIGTERM during motion: hold the arm, then unwind so the reports are written."""

from __future__ import annotations

import _thread
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from robots.robot import Interrupted

REDELIVER_AFTER = 0.005
"""Seconds after which a signal that landed inside logging is delivered again (any short wait
gets the main thread out of the log call)."""

_LOGGING_DIR = os.path.dirname(logging.__file__) + os.sep


def redelivered_if_inside_logging(signum: int, frame: Any) -> bool:
    """For a signal handler about to raise: True (and the signal delivered again in
    :data:`REDELIVER_AFTER` s) when ``frame`` or a caller is in the logging package.

    logging's handlers catch every ``Exception`` while they write and print it as a "Logging
    error": raised there, the interruption would be swallowed (seen under load, a SIGTERM
    landing while the safety log was written).
    """
    while frame is not None:
        if frame.f_code.co_filename.startswith(_LOGGING_DIR):
            threading.Timer(REDELIVER_AFTER, _thread.interrupt_main, (signum,)).start()
            return True
        frame = frame.f_back
    return False


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
    held: dict[int, Interrupted] = {}

    def handler(signum: int, frame) -> None:  # noqa: ANN001
        name = signal.Signals(signum).name
        interrupted = held.get(signum)
        if interrupted is None:  # not a re-delivery (below): hold now
            interrupted = Interrupted(signum, name)
            arm = layer() if layer is not None else None
            if arm is not None:
                arm.estop(f"{name} received: holding", interrupted)
        if seen:  # a second signal while the first unwinds: the hold is out, let the reports finish
            return
        if redelivered_if_inside_logging(signum, frame):
            held[signum] = interrupted  # the hold is out; raise when it comes back
            return
        seen.append(signum)
        raise interrupted

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
