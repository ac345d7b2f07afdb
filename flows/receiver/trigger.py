"""Speed to lead: after the receiver stores a submission, process the inbox at once.

Bursts are coalesced (a short debounce), and runs never overlap: a poke during a run schedules
exactly one more run after it. The callback runs in one background thread, never in the request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class DebouncedTrigger:
    def __init__(self, callback: Callable[[], object], debounce_seconds: float = 0.2) -> None:
        self._callback = callback
        self._debounce = debounce_seconds
        self._poked = threading.Event()
        self._stopping = threading.Event()
        self.runs = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._loop, name="leadsync-process-trigger", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._poked.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            if not self._poked.wait(timeout=0.5):
                continue
            self._stopping.wait(self._debounce)  # let the rest of a burst arrive
            self._poked.clear()
            try:
                self._callback()
            except Exception:
                self.failures += 1
                log.exception("processing after a webhook failed; leads stay in the inbox")
            self.runs += 1

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)
