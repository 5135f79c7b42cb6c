"""Goal-conditioned tasks. Every module in this folder that defines a :class:`Task` subclass
is found automatically, so a new task is one new file."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from sims.tasks.base import Task, TaskConfig


def _discover() -> dict[str, type[Task]]:
    found: dict[str, type[Task]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, Task) and not inspect.isabstract(obj):
                found[obj.name] = obj
    return dict(sorted(found.items()))


TASKS: dict[str, type[Task]] = _discover()
"""Task classes by config name ("reach", "push", "pick_place")."""


def get_task(name: str) -> type[Task]:
    """The task class registered under ``name``."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}") from None


__all__ = ["TASKS", "Task", "TaskConfig", "get_task"]
