"""`leadsync backtest`: replay captured history through the current and a candidate ruleset.

Writes nothing anywhere and calls no CRM: the inbox's stored submissions are read in lead-key
order (streamed), each person's submissions are normalised and merged as the process stage does,
and the person is decided by both rulesets as of their last submission. Rotation turns are
simulated from an empty state for each ruleset. Memory holds counters and the first examples,
never the history.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Engine, select

from connectors.errors import LeadsyncError
from connectors.records import Decision, Lead, RawSubmission
from connectors.sources.base import Source
from flows.insights.queries import STREAM_ROWS, week_of
from flows.pipeline.merge import merge_leads
from flows.state.engine import as_utc
from flows.state.schema import inbox
from rules import DecisionContext, RotationState, Ruleset

CHUNK = 500
EXAMPLES = 50


@dataclass(frozen=True)
class Change:
    lead_key: str
    person: str
    what: list[str]


@dataclass
class Side:
    """One ruleset's totals."""

    mql_per_week: Counter[str] = field(default_factory=Counter)
    load: Counter[str] = field(default_factory=Counter)
    mql_per_source: Counter[str] = field(default_factory=Counter)


@dataclass
class BacktestResult:
    since: datetime
    leads: int = 0
    rejected: int = 0
    current: Side = field(default_factory=Side)
    candidate: Side = field(default_factory=Side)
    leads_per_source: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    examples: list[Change] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        # asdict() rebuilds a Counter from its items (tuple keys): the counters are copied as plain dicts.
        def side(s: Side) -> dict[str, dict[str, int]]:
            return {"mql_per_week": dict(s.mql_per_week), "load": dict(s.load),
                    "mql_per_source": dict(s.mql_per_source)}

        return {"since": self.since.isoformat(), "leads": self.leads, "rejected": self.rejected,
                "current": side(self.current), "candidate": side(self.candidate),
                "leads_per_source": dict(self.leads_per_source), "changed": dict(self.changed),
                "examples": [asdict(c) for c in self.examples]}


def history(engine: Engine, sources: Mapping[str, Source], since: datetime,
            result: BacktestResult) -> Iterator[Lead]:
    """Each person with a settled submission since `since`, merged from all their stored submissions."""
    query = (select(inbox.c.lead_key, inbox.c.source, inbox.c.partition, inbox.c.source_record_id,
                    inbox.c.received_at, inbox.c.payload)
             .where(inbox.c.status == "done", inbox.c.lead_key.is_not(None))
             .order_by(inbox.c.lead_key, inbox.c.id))
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(query)
        for lead_key, group in itertools.groupby(rows, key=lambda r: r.lead_key):
            leads = list(_leads(group, sources, since, result))
            if leads and max(lead.received_at for lead in leads) >= since:
                merged = leads[0] if len(leads) == 1 else merge_leads(leads)  # one submission: nothing to merge
                merged.lead_key = lead_key  # the key the process stage settled the person under
                yield merged


def _leads(rows: Iterable[Any], sources: Mapping[str, Source], since: datetime,
           result: BacktestResult) -> Iterator[Lead]:
    for row in rows:
        source = sources.get(row.source)
        if source is None:
            continue  # a source removed from the config since: its history is not replayable
        raw = RawSubmission(source=row.source, partition=row.partition, source_record_id=row.source_record_id,
                            received_at=as_utc(row.received_at) or since, payload=row.payload)
        try:
            yield source.to_lead(raw)
        except LeadsyncError:
            result.rejected += 1


def as_of(lead: Lead) -> datetime:
    """The moment the person was last decided on: their last submission or event."""
    moments = [lead.received_at, *(event.at for event in lead.events)]
    return max(moments)


def run_backtest(leads: Iterable[Lead], current: Ruleset, candidate: Ruleset, since: datetime,
                 result: BacktestResult | None = None) -> BacktestResult:
    result = result or BacktestResult(since=since)
    states = {"current": RotationState(), "candidate": RotationState()}
    chunk: list[Lead] = []
    for lead in leads:
        chunk.append(lead)
        if len(chunk) >= CHUNK:
            _decide_chunk(chunk, current, candidate, states, result)
            chunk = []
    if chunk:
        _decide_chunk(chunk, current, candidate, states, result)
    return result


def _decide_chunk(chunk: list[Lead], current: Ruleset, candidate: Ruleset, states: dict[str, RotationState],
                  result: BacktestResult) -> None:
    # Leads are decided as of the end of the day of their last activity; one call per day in the chunk.
    by_day: dict[date, list[Lead]] = {}
    for lead in chunk:
        by_day.setdefault(as_of(lead).date(), []).append(lead)
    for day, leads in sorted(by_day.items()):
        now = datetime.combine(day, time.max, tzinfo=as_of(leads[0]).tzinfo)
        ours = current.decide(leads, DecisionContext(now=now, rotation=states["current"]))
        theirs = candidate.decide(leads, DecisionContext(now=now, rotation=states["candidate"]))
        states["current"], states["candidate"] = ours.rotation, theirs.rotation
        for lead, old, new in zip(leads, ours.decisions, theirs.decisions, strict=True):
            _count(result, lead, old, new, week_of(now).isoformat())


def _stage(decision: Decision) -> str:
    return decision.stage or decision.status_key


def _count(result: BacktestResult, lead: Lead, old: Decision, new: Decision, week: str) -> None:
    result.leads += 1
    result.leads_per_source[lead.source] += 1
    for side, decision in ((result.current, old), (result.candidate, new)):
        if decision.mql:
            side.mql_per_week[week] += 1
            side.mql_per_source[lead.source] += 1
        side.load[decision.owner or f"queue: {decision.queue}"] += 1
    what: list[str] = []
    if (old.owner, old.queue) != (new.owner, new.queue):
        what.append(f"owner {old.owner or old.queue} -> {new.owner or new.queue}")
    if _stage(old) != _stage(new):
        what.append(f"stage {_stage(old)} -> {_stage(new)}")
    if sorted(old.lists_add) != sorted(new.lists_add):
        what.append(f"lists {sorted(old.lists_add)} -> {sorted(new.lists_add)}")
    for item in what:
        result.changed[item.split(" ", 1)[0]] += 1
    if what and len(result.examples) < EXAMPLES:
        person = " ".join(p for p in (lead.display_name, f"<{lead.email}>" if lead.email else "") if p)
        result.examples.append(Change(lead.lead_key, person, what))
