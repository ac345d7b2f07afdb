"""Capture stage: source -> inbox. The cursor moves in the same transaction that stores the page,
and the source is told to acknowledge upstream (flag/move mail) only after that commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.errors import LeadsyncError, RetriableError
from connectors.redaction import redact
from connectors.sources.base import Source
from flows.state import StateStore
from flows.state.engine import utcnow


@dataclass
class CaptureResult:
    source: str
    pages: int = 0
    seen: int = 0
    new: int = 0
    skipped: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    paused_until: datetime | None = None
    """The vendor asked for a longer wait than a run can give: not called again before this time."""
    paused_reason: str | None = None

    @property
    def duplicates(self) -> int:
        return self.seen - self.new


PageCallback = Callable[[str, int], None]


def capture_source(store: StateStore, source: Source, on_page: PageCallback | None = None,
                   result: CaptureResult | None = None) -> CaptureResult:
    """Read every new page of `source` into the inbox; safe to re-run at any point."""
    result = result or CaptureResult(source=source.name)
    cursors = store.get_cursors(source.name)
    for page in source.read(cursors):
        result.new += store.capture_page(source.name, page)
        source.commit(page)
        result.pages += 1
        result.seen += len(page.records)
        result.skipped += len(page.skipped)
        for _, reason in page.skipped:
            result.skip_reasons[reason] = result.skip_reasons.get(reason, 0) + 1
        if on_page is not None:
            on_page(source.name, len(page.records) + len(page.skipped))
    return result


def capture_source_safely(store: StateStore, source: Source, on_page: PageCallback | None = None) -> CaptureResult:
    """Capture, but let one source's outage not block the others or the CRM push.

    Pages stored before the failure stay stored (their cursor moved with them); the next
    run resumes from there. A vendor that names how long to wait (Meta's time to regain access,
    a Retry-After) is not an error: the source is paused until then, in the state store, and no
    run calls it before that time.
    """
    result = CaptureResult(source=source.name)
    pause = store.source_pause(source.name)
    if pause is not None:
        result.paused_until, result.paused_reason = pause.until, pause.reason
        return result
    try:
        return capture_source(store, source, on_page, result)
    except RetriableError as exc:
        if not exc.retry_after:
            result.error = f"{exc.code}: {redact(exc)}"
            return result
        result.paused_until = utcnow() + timedelta(seconds=exc.retry_after)
        result.paused_reason = f"{exc.code}: {redact(exc)}"
        store.pause_source(source.name, result.paused_until, result.paused_reason)
        return result
    except LeadsyncError as exc:
        result.error = f"{exc.code}: {redact(exc)}"
        return result


def pause_line(source: str, until: datetime, reason: str) -> str:
    """One line for the run summary and the log."""
    return (f"{source} paused until {until:%Y-%m-%d %H:%M} UTC ({reason}); nothing is lost: its cursor "
            "and its stored leads wait, and no run calls it before then")
