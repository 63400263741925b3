"""Progress on a terminal, silence elsewhere: a bar only when stderr is a TTY and not --quiet."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


class Progress:
    def __init__(self, enabled: bool | None = None, quiet: bool = False):
        if enabled is None:
            enabled = not quiet and sys.stderr.isatty()
        self.enabled = enabled
        self._progress = None
        if enabled:
            from rich.progress import (BarColumn, Progress as RichProgress, TextColumn,
                                       TimeElapsedColumn, TaskProgressColumn)
            from rich.console import Console
            self._progress = RichProgress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                          TimeElapsedColumn(), console=Console(stderr=True), transient=True)

    def __enter__(self) -> "Progress":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator["Task"]:
        if self._progress is None:
            yield Task(None, None)
            return
        tid = self._progress.add_task(description, total=total)
        try:
            yield Task(self._progress, tid)
        finally:
            self._progress.update(tid, completed=total if total else 1, total=total or 1)
            self._progress.remove_task(tid)


class Task:
    def __init__(self, progress, tid):
        self._p, self._tid = progress, tid

    def advance(self, amount: float = 1) -> None:
        if self._p is not None:
            self._p.advance(self._tid, amount)

    def update(self, completed: float) -> None:
        if self._p is not None:
            self._p.update(self._tid, completed=completed)

    def describe(self, description: str) -> None:
        """Change the task's label (a crawl shows its running page and card counts there)."""
        if self._p is not None:
            self._p.update(self._tid, description=description)
