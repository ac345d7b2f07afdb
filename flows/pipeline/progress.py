"""Progress of a run as it happens: rows read per source, leads decided, leads written.

The stages report to whatever observer is installed (the CLI's live display, the flow's run
logger); by default nobody listens and reporting costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class RunProgress:
    rows_read: int = 0
    rows_processed: int = 0
    leads_decided: int = 0
    leads_written: int = 0
    current: str = ""
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self) -> str:
        return (f"progress {self.elapsed:,.0f}s: {self.rows_read:,} rows read, {self.rows_processed:,} processed, "
                f"{self.leads_decided:,} leads decided, {self.leads_written:,} written"
                + (f" ({self.current})" if self.current else ""))


Listener = Callable[[RunProgress], None]
_listeners: list[Listener] = []


@contextmanager
def observe(listener: Listener) -> Iterator[None]:
    """Call `listener` with the run's progress after every page read and every batch processed."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


class Reporter:
    """What the stages call; one per run."""

    def __init__(self) -> None:
        self.progress = RunProgress()

    def _notify(self) -> None:
        for listener in list(_listeners):
            listener(self.progress)

    def page_read(self, source: str, rows: int) -> None:
        self.progress.rows_read += rows
        self.progress.current = f"reading {source}"
        self._notify()

    def batch_done(self, rows: int, decided: int, written: int) -> None:
        self.progress.rows_processed += rows
        self.progress.leads_decided += decided
        self.progress.leads_written += written
        self.progress.current = "deciding and writing"
        self._notify()


class PeriodicLines:
    """A plain line every `every` seconds (logs, pipes, CI): no escape codes, nothing redrawn."""

    def __init__(self, emit: Callable[[str], None], every: float = 5.0) -> None:
        self._emit = emit
        self._every = every
        self._last = time.monotonic()

    def __call__(self, progress: RunProgress) -> None:
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._emit(progress.line())
