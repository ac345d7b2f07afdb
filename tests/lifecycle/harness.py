"""A pipeline with a controllable clock: real sources, inbox, profile store, rules and the local CRM.

`EventFeed` stands in for the engagement sources (tracking, e-mail events) a later change adds:
an ordinary Source whose records are events-only leads (or identify calls) fed by the test.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.crm.local import LocalCrmConfig, LocalCrmSink, LocalUser
from connectors.normalise import build_lead
from connectors.records import Consent, Event, Lead, RawSubmission
from connectors.sources.base import Page, Source
from flows.config.models import ProcessingConfig
from flows.pipeline.capture import capture_source_safely
from flows.pipeline.process import ProcessContext, process_next_batch
from flows.pipeline.rescore import rescore_next_batch
from flows.pipeline.run import rescore_due
from flows.pipeline.summary import RunSummary
from flows.state import StateStore
from rules import Ruleset, load_ruleset

REPO = Path(__file__).resolve().parents[2]
USERS = ["alice@ourco.example", "bob@ourco.example", "carol@ourco.example", "dan@ourco.example",
         "erin@ourco.example"]


class EventFeed:
    """Events-only records (and form-like identify calls) appended by the test, read once each."""

    def __init__(self, name: str = "feed:test") -> None:
        self.name = name
        self.records: list[dict[str, Any]] = []

    def add(self, at: datetime, *, events: list[Event] | None = None, email: str | None = None,
            anonymous_id: str | None = None, fields: Mapping[str, Any] | None = None,
            consent_email: bool | None = None, email_invalid: bool | None = None) -> None:
        """`consent_email` / `email_invalid`: what an e-mail engagement event says (unsubscribe, hard bounce)."""
        self.records.append({"at": at.isoformat(), "email": email, "anonymous_id": anonymous_id,
                             "events": [e.model_dump(mode="json") for e in events or []], "fields": dict(fields or {}),
                             "consent_email": consent_email, "email_invalid": email_invalid})

    def read(self, cursors: Mapping[str, str]) -> Iterator[Page]:
        done = int(cursors.get("", "0"))
        raws = [RawSubmission(source=self.name, source_record_id=f"rec-{n}", received_at=datetime.fromisoformat(
            record["at"]), cursor_value=str(n + 1), payload=record) for n, record in enumerate(self.records)
            if n >= done]
        yield Page(partition="", records=raws, cursor=str(len(self.records)))

    def to_lead(self, raw: RawSubmission) -> Lead:
        payload = raw.payload
        events = [Event.model_validate(e) for e in payload["events"]]
        anonymous = [payload["anonymous_id"]] if payload["anonymous_id"] else []
        if payload["fields"]:  # a form fill: lead data
            lead = build_lead(raw, {**payload["fields"], "email": payload["email"], "events": events})
            lead.anonymous_ids = anonymous
            return lead
        key = f"a-{payload['anonymous_id']}" if not payload["email"] else f"x-{payload['email']}"
        return Lead(lead_key=key, source=raw.source, source_record_id=raw.source_record_id,
                    received_at=raw.received_at, email=payload["email"], anonymous_ids=anonymous, events=events,
                    events_only=True, consent=Consent(email=payload.get("consent_email")),
                    email_invalid=payload.get("email_invalid"))

    def commit(self, page: Page) -> None:
        """Nothing to acknowledge."""


@dataclass
class Pipeline:
    store: StateStore
    sink: LocalCrmSink
    ruleset: Ruleset
    sources: dict[str, Source] = field(default_factory=dict)
    runs: int = 0

    def run(self, now: datetime) -> RunSummary:
        """One run as `leadsync run` does it (capture, process the inbox, re-score due profiles) at `now`."""
        self.runs += 1
        summary = RunSummary(run_id=f"run-{self.runs}")
        for source in self.sources.values():
            summary.captures.append(capture_source_safely(self.store, source))
        ctx = ProcessContext(store=self.store, sink=self.sink, ruleset=self.ruleset, sources=self.sources,
                             settings=ProcessingConfig(), run_id=summary.run_id, now=lambda: now,
                             managed_statuses=self.ruleset.status_values())
        while (batch := process_next_batch(ctx)) is not None:
            summary.add_batch(batch)
        rescore_due(ctx, summary, rescore_next_batch)
        return summary

    def crm_lead(self, email: str) -> dict[str, Any]:
        [found] = [lead for lead in self.sink.all_leads() if lead["email"] == email]
        return found

    def close(self) -> None:
        self.sink.close()
        self.store.dispose()


def pipeline(store_url: str, tmp_path: Path, *sources: Source) -> Pipeline:
    store = StateStore(store_url)
    store.create_schema()
    sink = LocalCrmSink(LocalCrmConfig(path=str(tmp_path / "crm.db"), users=[LocalUser(email=u) for u in USERS],
                                       queues=["Unassigned Leads"]))
    return Pipeline(store=store, sink=sink, ruleset=load_ruleset(Path(__file__).with_name("rules.yaml")),
                    sources={s.name: s for s in sources})
