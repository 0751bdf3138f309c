"""Rich progress bars for long work, fed by the ``progress(task, done, total)`` callbacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int], None] | None]:
    """Yield a callback; each distinct task name gets its own bar."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bars = Progress(
        TextColumn("[bold]{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def update(task: str, done: int, total: int) -> None:
        # "group:step" shares one bar per group, its description naming the step
        group, _, step = task.partition(":")
        if step:
            if group not in tasks:
                tasks[group] = bars.add_task(group, total=max(total, 1))
            bars.update(
                tasks[group], completed=done, total=max(total, 1), description=f"{group}: {step}"
            )
            return
        if task not in tasks:
            tasks[task] = bars.add_task(task, total=max(total, 1))
        bars.update(tasks[task], completed=done, total=max(total, 1))

    with bars:
        yield update
