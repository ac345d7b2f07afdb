"""Live progress of `leadsync run`: a rich display on a terminal, a plain line every few seconds otherwise."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from flows.pipeline.progress import PeriodicLines, RunProgress, observe


class LiveProgress:
    """rows read, leads decided and written, redrawn in place once the run has taken a couple of seconds."""

    def __init__(self, console: Console, show_after: float) -> None:
        self._display = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                 console=console, transient=True)
        self._task = self._display.add_task("starting", total=None)
        self._started = time.monotonic()
        self._shown = False
        self._show_after = show_after  # short runs print only their summary

    def __call__(self, progress: RunProgress) -> None:
        if not self._shown and time.monotonic() - self._started >= self._show_after:
            self._display.start()
            self._shown = True
        self._display.update(self._task, description=(
            f"{progress.rows_read:,} rows read · {progress.leads_decided:,} leads decided · "
            f"{progress.leads_written:,} written · {progress.current}"))

    def stop(self) -> None:
        if self._shown:
            self._display.stop()


@contextmanager
def run_progress(console: Console, every: float) -> Iterator[None]:
    if console.is_terminal:
        live = LiveProgress(console, show_after=min(every, 2.0))
        try:
            with observe(live):
                yield
        finally:
            live.stop()
        return
    with observe(PeriodicLines(lambda line: console.print(line, highlight=False, markup=False), every)):
        yield
