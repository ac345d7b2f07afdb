"""The source interface: declare a name, read pages since a cursor, map one record to a Lead.

A source whose to_lead must look details up per record (the Meta webhook reads each lead from
the Graph API) may also implement `Prefetching`; the process stage then hands it each batch's
records once, before the to_lead calls, so the lookups are batched too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class Prefetching(Protocol):
    """Optional hook of a source: look up a whole batch's details before its to_lead calls.

    Called once per batch with that source's records, in inbox order. It must not raise for a
    vendor's answer: whatever it could not fetch, to_lead fetches or reports per record as it
    would without the hook. What it holds is for this batch only and bounded in size.
    """

    def prefetch(self, raws: Sequence[RawSubmission]) -> None:
        """Fetch and hold the details `to_lead` will need for these records."""
        ...
