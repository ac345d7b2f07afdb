"""Run one sync in this process and kill it (SIGKILL, no cleanup) at a chosen point.

Used by test_crash_recovery.py; the kill points are patched in here, not in production code.
Usage: python -m tests.pipeline.crash_runner CONFIG POINT
POINT: after-first-capture-page | between-stages | before-crm-write | after-crm-write
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main(config: str, point: str) -> None:
    runtime = build_runtime(config)
    if point == "after-first-capture-page":
        store_page = runtime.store.capture_page

        def capture_then_die(source: str, page: Any) -> int:
            store_page(source, page)
            die()
            return 0

        runtime.store.capture_page = capture_then_die  # type: ignore[method-assign]
        run_sync(runtime)
    elif point == "between-stages":
        run_sync(runtime, process=False)
        die()
    elif point in {"before-crm-write", "after-crm-write"}:
        real_apply = runtime.sink.apply

        def apply_and_die(changes: Any) -> Any:
            if point == "after-crm-write":
                real_apply(changes)
            die()

        runtime.sink.apply = apply_and_die  # type: ignore[method-assign]
        run_sync(runtime)
    else:
        raise SystemExit(f"unknown crash point {point}")
    raise SystemExit("the crash point was never reached")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
