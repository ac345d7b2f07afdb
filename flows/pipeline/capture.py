"""Capture stage: source -> inbox. The cursor moves in the same transaction that stores the page,
and the source is told to acknowledge upstream (flag/move mail) only after that commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.errors import LeadsyncError
from connectors.redaction import redact
from connectors.sources.base import Source
from flows.state import StateStore


@dataclass
class CaptureResult:
    source: str
    pages: int = 0
    seen: int = 0
    new: int = 0
    skipped: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def duplicates(self) -> int:
        return self.seen - self.new


PageCallback = Callable[[str, int], None]


def capture_source(store: StateStore, source: Source, on_page: PageCallback | None = None) -> CaptureResult:
    """Read every new page of `source` into the inbox; safe to re-run at any point."""
    result = CaptureResult(source=source.name)
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
    run resumes from there.
    """
    try:
        return capture_source(store, source, on_page)
    except LeadsyncError as exc:
        return CaptureResult(source=source.name, error=f"{exc.code}: {redact(exc)}")
