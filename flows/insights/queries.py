"""One read-only query layer over the state store for report, backtest summaries and explain.

Everything streams: decisions are read ordered by lead key and folded one lead at a time, so
memory holds counters, never the leads. Grouping by week is done here, not in SQL, so the same
code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import quantiles
from typing import Any

from sqlalchemy import Engine, func, select

from flows.state.engine import as_utc
from flows.state.schema import dead_letters, decisions, handoffs, inbox, rotation_ledger

STREAM_ROWS = 2000
SETTLED = ("done", "dead", "pending", "processing", "events")
"""Inbox statuses that are captured submissions (spam, test and skipped mail are not leads)."""


def week_of(moment: datetime) -> date:
    """Monday of the ISO week (UTC) the moment falls in."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class LeadFacts:
    """One lead's history folded from the decisions ledger."""

    lead_key: str
    source: str
    campaign: str | None
    received_at: datetime
    first_decided_at: datetime
    qualification: str
    mql: bool
    mql_at: datetime | None
    owner: str | None
    team: str | None
    crm_id: str | None


@dataclass(frozen=True)
class Percentiles:
    count: int
    p50: float | None
    p95: float | None

    @classmethod
    def of(cls, seconds: list[float]) -> Percentiles:
        if not seconds:
            return cls(0, None, None)
        if len(seconds) == 1:
            return cls(1, seconds[0], seconds[0])
        cuts = quantiles(seconds, n=100, method="inclusive")
        return cls(len(seconds), cuts[49], cuts[94])


@dataclass
class LeadTotals:
    """Everything the report needs from the per-lead fold, as counters (bounded memory)."""

    leads: int = 0
    qualified: int = 0
    mql: int = 0
    converted: int = 0
    per_campaign_week: Counter[tuple[date, str]] = field(default_factory=Counter)
    mql_per_week: Counter[date] = field(default_factory=Counter)
    leads_per_source: Counter[str] = field(default_factory=Counter)
    mql_per_source: Counter[str] = field(default_factory=Counter)
    owner_load: Counter[str] = field(default_factory=Counter)
    speed_seconds: list[float] = field(default_factory=list)

    def add(self, lead: LeadFacts, converted: bool) -> None:
        self.leads += 1
        self.qualified += lead.qualification == "qualified"
        self.mql += lead.mql_at is not None
        self.converted += converted
        self.per_campaign_week[(week_of(lead.received_at), lead.campaign or "(none)")] += 1
        self.leads_per_source[lead.source] += 1
        if lead.mql_at is not None:
            self.mql_per_week[week_of(lead.mql_at)] += 1
            self.mql_per_source[lead.source] += 1
        if lead.owner:
            self.owner_load[lead.owner] += 1
        # Seconds are kept per lead for exact percentiles: 8 bytes a lead, 8 MB at a million.
        self.speed_seconds.append(max(0.0, (lead.first_decided_at - lead.received_at).total_seconds()))


class StoreQueries:
    """Read-only queries over one state store for the window [since, now]."""

    def __init__(self, engine: Engine, since: datetime, now: datetime) -> None:
        self.engine, self.since, self.now = engine, since, now

    def submissions_per_source_week(self) -> Counter[tuple[date, str]]:
        query = (select(inbox.c.source, inbox.c.received_at)
                 .where(inbox.c.received_at >= self.since, inbox.c.status.in_(SETTLED)))
        counts: Counter[tuple[date, str]] = Counter()
        for row in self._stream(query):
            counts[(week_of(as_utc(row.received_at) or self.now), row.source)] += 1
        return counts

    def captured_leads(self) -> int:
        """People captured: distinct lead keys of settled rows plus rows not yet keyed (pending, dead)."""
        keyed = select(func.count(func.distinct(inbox.c.lead_key))).where(
            inbox.c.received_at >= self.since, inbox.c.lead_key.is_not(None), inbox.c.status.in_(SETTLED))
        unkeyed = select(func.count()).select_from(inbox).where(
            inbox.c.received_at >= self.since, inbox.c.lead_key.is_(None), inbox.c.status.in_(SETTLED))
        with self.engine.connect() as conn:
            return int(conn.execute(keyed).scalar_one()) + int(conn.execute(unkeyed).scalar_one())

    def leads(self) -> Iterator[LeadFacts]:
        """Each lead first decided in the window, folded from its decision rows (one lead in memory)."""
        first = (select(decisions.c.lead_key).group_by(decisions.c.lead_key)
                 .having(func.min(decisions.c.created_at) >= self.since).subquery())
        query = (select(decisions.c.lead_key, decisions.c.created_at, decisions.c.received_at,
                        decisions.c.source, decisions.c.campaign, decisions.c.crm_id, decisions.c.decision)
                 .join(first, first.c.lead_key == decisions.c.lead_key)
                 .order_by(decisions.c.lead_key, decisions.c.id))
        rows: list[Any] = []
        for row in self._stream(query):
            if rows and rows[0].lead_key != row.lead_key:
                yield _fold(rows)
                rows = []
            rows.append(row)
        if rows:
            yield _fold(rows)

    def totals(self, converted_ids: set[str]) -> LeadTotals:
        totals = LeadTotals()
        for lead in self.leads():
            totals.add(lead, lead.crm_id is not None and lead.crm_id in converted_ids)
        return totals

    def team_assignments(self) -> Counter[tuple[str, str]]:
        """Rotation turns in the window per (team, owner): the basis of fair share."""
        query = (select(rotation_ledger.c.team, rotation_ledger.c.owner, func.count())
                 .where(rotation_ledger.c.at >= self.since, rotation_ledger.c.team.is_not(None),
                        rotation_ledger.c.owner.is_not(None))
                 .group_by(rotation_ledger.c.team, rotation_ledger.c.owner))
        with self.engine.connect() as conn:
            return Counter({(r[0], r[1]): int(r[2]) for r in conn.execute(query)})

    def dead_letters_by_code(self) -> list[tuple[str, str, int, int]]:
        """(code, stage, open, total) in the window, most first."""
        query = (select(dead_letters.c.code, dead_letters.c.stage, dead_letters.c.status, func.count())
                 .where(dead_letters.c.created_at >= self.since)
                 .group_by(dead_letters.c.code, dead_letters.c.stage, dead_letters.c.status))
        table: dict[tuple[str, str], list[int]] = {}
        with self.engine.connect() as conn:
            for code, stage, status, count in conn.execute(query):
                entry = table.setdefault((code, stage), [0, 0])
                entry[0] += int(count) if status == "open" else 0
                entry[1] += int(count)
        return sorted(((c, s, o, t) for (c, s), (o, t) in table.items()), key=lambda r: (-r[3], r[0]))

    def lag_per_day(self) -> dict[date, Percentiles]:
        """Received -> decided, per day a decision was made (every decision row, re-decisions excluded)."""
        query = (select(decisions.c.created_at, decisions.c.received_at)
                 .where(decisions.c.created_at >= self.since, decisions.c.received_at.is_not(None),
                        decisions.c.outcome.in_(("created", "updated", "rejected"))))
        per_day: dict[date, list[float]] = {}
        for row in self._stream(query):
            decided, received = as_utc(row.created_at), as_utc(row.received_at)
            if decided and received:
                per_day.setdefault(decided.date(), []).append(max(0.0, (decided - received).total_seconds()))
        return {day: Percentiles.of(values) for day, values in sorted(per_day.items())}

    def backlog(self) -> tuple[int, float | None]:
        """Rows waiting in the inbox now and the age in seconds of the oldest."""
        query = select(func.count(), func.min(inbox.c.received_at)).where(
            inbox.c.status.in_(("pending", "processing")))
        with self.engine.connect() as conn:
            count, oldest = conn.execute(query).one()
        oldest_at = as_utc(oldest)
        return int(count), (self.now - oldest_at).total_seconds() if oldest_at else None

    def handoff_figures(self) -> tuple[int, list[float], Counter[tuple[str, str]]]:
        """Hand-offs in the window: leads touched, seconds to first touch, and SLA breaches per (owner, kind).

        A breach is a hand-off the SLA check escalated or re-routed, or whose due time passed before it was
        touched (or that is still untouched).
        """
        query = select(handoffs.c.lead_key, handoffs.c.owner, handoffs.c.kind, handoffs.c.due_at,
                       handoffs.c.touched_at, handoffs.c.first_touch_seconds, handoffs.c.status,
                       handoffs.c.escalation_level).where(handoffs.c.at >= self.since)
        touched: set[str] = set()
        seconds: list[float] = []
        breaches: Counter[tuple[str, str]] = Counter()
        for row in self._stream(query):
            due, touched_at = as_utc(row.due_at), as_utc(row.touched_at)
            if touched_at is not None:
                touched.add(row.lead_key)
            if row.first_touch_seconds is not None:
                seconds.append(float(row.first_touch_seconds))
            if breached(row.status, row.escalation_level, due, touched_at, self.now):
                breaches[(row.owner, row.kind)] += 1
        return len(touched), seconds, breaches

    def _stream(self, query: Any) -> Iterator[Any]:
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(query)
            yield from result


def breached(status: str, escalation_level: int, due: datetime | None, touched_at: datetime | None,
             now: datetime) -> bool:
    """Whether a hand-off missed its SLA: escalated or re-routed, or due before it was touched."""
    if escalation_level > 0 or status == "rerouted":
        return True
    return due is not None and due < now and (touched_at is None or touched_at > due)


def _fold(rows: list[Any]) -> LeadFacts:
    first, last = rows[0], rows[-1]
    latest: dict[str, Any] = last.decision if isinstance(last.decision, dict) else {}
    mql_at = next((as_utc(r.created_at) for r in rows if isinstance(r.decision, dict) and r.decision.get("mql")),
                  None)
    decided = as_utc(first.created_at)
    assert decided is not None  # created_at is NOT NULL
    crm_id = next((r.crm_id for r in reversed(rows) if r.crm_id), None)
    return LeadFacts(
        lead_key=first.lead_key, source=first.source or "(unknown)", campaign=first.campaign,
        received_at=as_utc(first.received_at) or decided, first_decided_at=decided,
        qualification=str(latest.get("qualification", "unqualified")), mql=bool(latest.get("mql")),
        mql_at=mql_at, owner=latest.get("owner"), team=latest.get("team"), crm_id=crm_id)
