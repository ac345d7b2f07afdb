"""Attendance lists (webinars, events) through the CSV source: each row also carries one event.

`events: {type: event_attended, at_column: Joined At, detail_column: Webinar}` on a csv source
adds an Event of that type to every row's lead, at the row's time, so the rules can score the
attendance. The row is still an ordinary lead (attendees are people with lead data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.errors import RecordRejectedError
from connectors.records import Event
from connectors.sources.event_mapping import check_event_type


@lru_cache(maxsize=4096)  # a file has a few dozen headers, read for every row
def header_key(text: str) -> str:
    """Headers compare without case, spaces or punctuation ('E-Mail Address' = 'email address')."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


class CsvEvents(BaseModel):
    """`events:` of a csv source: which columns say what happened when."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(description="The rules' event type of every row, e.g. event_attended, webinar_attended.")
    at_column: str = Field(description="Column with the time it happened, e.g. 'Joined At'.")
    at_format: str | None = Field(default=None, description="strptime format of that column, e.g. "
                                  "'%m/%d/%Y %I:%M %p'; default ISO 8601 ('2026-11-20 10:02' or with an offset).")
    timezone: str = Field(default="UTC", description="IANA zone of times written without an offset.")
    detail_column: str | None = Field(default=None, description="Column naming the occasion, e.g. 'Webinar'.")
    detail: str | None = Field(default=None, description="The occasion, when the file has no such column.")
    property_columns: list[str] = Field(default_factory=list, description="Columns copied onto the event "
                                        "(e.g. 'Duration (Minutes)'), keyed by their header.")

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        return check_event_type(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not an IANA time zone (e.g. UTC, Europe/Berlin)") from None
        return value

    def columns(self) -> set[str]:
        """Header keys this mapping reads (kept out of the lead's custom fields)."""
        names = [self.at_column, *([self.detail_column] if self.detail_column else []), *self.property_columns]
        return {header_key(n) for n in names}

    def missing_columns(self, headers: list[str]) -> list[str]:
        present = {header_key(h) for h in headers}
        names = [self.at_column, *([self.detail_column] if self.detail_column else []), *self.property_columns]
        return [n for n in names if header_key(n) not in present]

    def row_event(self, row: Mapping[str, str], record: str, event_id: str) -> Event:
        by_key = {header_key(k): (v or "").strip() for k, v in row.items()}
        written = by_key.get(header_key(self.at_column), "")
        if not written:
            raise RecordRejectedError(record, self.at_column, "missing: an event row needs its time",
                                      code="MISSING_EVENT_TIME")
        at = self._parse(written, record)
        detail = by_key.get(header_key(self.detail_column)) if self.detail_column else self.detail
        properties = {name: by_key[header_key(name)] for name in self.property_columns if by_key.get(header_key(name))}
        return Event(type=self.type, at=at, detail=detail or self.detail, properties=properties, event_id=event_id)

    def _parse(self, written: str, record: str) -> datetime:
        try:
            at = (datetime.strptime(written, self.at_format) if self.at_format  # noqa: DTZ007 - zone added below
                  else datetime.fromisoformat(written.replace("Z", "+00:00")))
        except ValueError:
            expected = f"'{self.at_format}'" if self.at_format else "ISO 8601, e.g. 2026-11-20 10:02"
            raise RecordRejectedError(record, self.at_column, f"not a date/time (expected {expected})",
                                      code="INVALID_EVENT_TIME") from None
        return at if at.tzinfo else at.replace(tzinfo=ZoneInfo(self.timezone))
