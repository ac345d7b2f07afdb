"""The source interface: declare a name, read pages since a cursor, map one record to a Lead."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from connectors.records import Lead, RawSubmission


@dataclass(frozen=True)
class Page:
    """A page of submissions from one partition, and the cursor to store once they are in the inbox."""

    partition: str
    records: list[RawSubmission]
    cursor: str | None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(record id, reason) for records seen but deliberately not captured (e.g. an auto-reply)."""
    ack: tuple[object, ...] = ()
    """What the source needs to acknowledge this page upstream in commit() (e.g. IMAP folder and UIDs)."""


class Source(Protocol):
    """A lead source. Constructors take typed config and plain credential values, never env vars."""

    name: str

    def read(self, cursors: Mapping[str, str]) -> Iterator[Page]:
        """Yield pages of new submissions per partition, starting after the stored cursors."""
        ...

    def to_lead(self, raw: RawSubmission) -> Lead:
        """Map one stored submission to a Lead; raise RecordRejectedError naming the field."""
        ...

    def commit(self, page: Page) -> None:
        """Called once the page's records (and skips) are stored in the inbox and its cursor saved.

        Sources that must acknowledge upstream (flag or move IMAP messages) do it here, never
        earlier; the others do nothing.
        """
        ...
