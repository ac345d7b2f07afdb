"""Leads created directly in the CRM (by hand or by other tools) that nobody routed yet.

The CRM sink supplies an `UnroutedFeed`: records with no owner, or sitting in a configured
queue, or carrying a configured status, modified after the cursor. They are decided by the
same rules and written back onto the same record (the lead carries its crm_id, so the sink
updates it instead of creating a twin). Records leadsync itself wrote carry its lead key and
are left out, so leadsync never feeds on its own writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from connectors.normalise import build_lead
from connectors.records import Lead, RawSubmission
from connectors.sources.base import Page


class UnroutedRecord(BaseModel):
    crm_id: str
    modified_at: datetime
    fields: dict[str, Any] = Field(description="Current values keyed by logical field names.")


@runtime_checkable
class UnroutedFeed(Protocol):
    def fetch_unrouted(self, after: tuple[datetime, str] | None, limit: int, queues: Sequence[str],
                       statuses: Sequence[str]) -> list[UnroutedRecord]:
        """Unrouted records ordered by (modified_at, crm_id), strictly after `after`; never leadsync's own.

        The cursor is the pair, not the time alone, so records sharing a timestamp are neither
        skipped nor read forever at a page boundary.
        """
        ...


class CrmUnroutedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["crm_unrouted"] = "crm_unrouted"
    name: str = Field(default="crm", description="Source name; stored as crm_unrouted:<name>.")
    queues: list[str] = Field(default_factory=list, description="Leads in these queues count as unrouted.")
    statuses: list[str] = Field(default_factory=list, description="Leads with these statuses count as unrouted.")
    batch_size: int = Field(default=500, ge=1, le=2000)
    default_region: str = "US"


class CrmUnroutedSource:
    def __init__(self, config: CrmUnroutedConfig, feed: UnroutedFeed) -> None:
        self.config = config
        self.feed = feed
        self.name = f"crm_unrouted:{config.name}"

    def read(self, cursors: Mapping[str, str]) -> Iterator[Page]:
        after = _parse_cursor(cursors.get("records"))
        while True:
            records = self.feed.fetch_unrouted(after, self.config.batch_size, self.config.queues,
                                               self.config.statuses)
            if not records:
                return
            after = (records[-1].modified_at, records[-1].crm_id)
            # One submission per record *version*: an edit after routing is a new thing to decide.
            raws = [RawSubmission(source=self.name, partition="records",
                                  source_record_id=f"{r.crm_id}@{r.modified_at.isoformat()}",
                                  received_at=datetime.now(UTC), cursor_value=r.modified_at.isoformat(),
                                  payload={"crm_id": r.crm_id, "fields": _jsonable(r.fields)}) for r in records]
            yield Page(partition="records", records=raws, cursor=f"{after[0].isoformat()}|{after[1]}")
            if len(records) < self.config.batch_size:
                return

    def to_lead(self, raw: RawSubmission) -> Lead:
        fields = dict(raw.payload["fields"])
        mapped = {k: fields.get(k) for k in ("email", "first_name", "last_name", "phone", "company", "title",
                                             "website", "industry", "employees", "street", "city", "state",
                                             "postal_code", "country")}
        mapped["mobile"] = fields.get("mobile_phone")
        mapped["inquiry"] = fields.get("description")
        mapped["attribution"] = {"source": fields.get("lead_source")}
        lead = build_lead(raw, mapped, self.config.default_region)
        lead.crm_id = str(raw.payload["crm_id"])
        return lead

    def commit(self, page: Page) -> None:
        """The CRM needs no acknowledgement: the cursor on modification time is the whole state."""


def _parse_cursor(value: str | None) -> tuple[datetime, str] | None:
    if not value:
        return None
    when, _, crm_id = value.partition("|")
    return datetime.fromisoformat(when), crm_id


def _jsonable(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()}
