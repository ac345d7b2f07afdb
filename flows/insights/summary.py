"""The report's numbers in one structure: what the HTML charts, the markdown artifact and --json show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from flows.insights.queries import LeadTotals, Percentiles, StoreQueries


@dataclass(frozen=True)
class OwnerLoad:
    owner: str
    team: str | None
    leads: int
    """Team rows: rotation turns the rep got in the window; other rows: leads the rep owns (direct routes)."""
    fair_share: float | None
    """The team's turns split by weight; None outside a team."""


@dataclass
class ReportData:
    since: datetime
    now: datetime
    funnel: dict[str, int | None]
    submissions_per_source_week: list[tuple[str, str, int]]
    leads_per_campaign_week: list[tuple[str, str, int]]
    mql_per_week: list[tuple[str, int]]
    mql_rate_by_source: list[tuple[str, int, int, float]]
    owner_load: list[OwnerLoad]
    speed_to_lead: Percentiles
    first_touch: Percentiles | None
    sla_breaches: list[tuple[str, str, int]] = field(default_factory=list)
    dead_letters: list[tuple[str, str, int, int]] = field(default_factory=list)
    lag_per_day: list[tuple[str, Percentiles]] = field(default_factory=list)
    backlog: tuple[int, float | None] = (0, None)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"], data["now"] = self.since.isoformat(), self.now.isoformat()
        return data


def build_report(queries: StoreQueries, converted_ids: set[str] | None,
                 team_weights: Mapping[str, Mapping[str, float]]) -> ReportData:
    """Read every figure of the report from the store (and the CRM's converted ids, when known)."""
    totals = queries.totals(converted_ids or set())
    touched, first_touch, breaches = queries.handoff_figures()
    notes = [] if converted_ids is not None else ["conversion not read from the CRM (--no-crm)"]
    return ReportData(
        since=queries.since, now=queries.now,
        funnel={"captured": queries.captured_leads(), "qualified": totals.qualified, "mql": totals.mql,
                "touched": touched, "converted": totals.converted if converted_ids is not None else None},
        submissions_per_source_week=_weekly(queries.submissions_per_source_week()),
        leads_per_campaign_week=_weekly(totals.per_campaign_week),
        mql_per_week=[(week.isoformat(), count) for week, count in sorted(totals.mql_per_week.items())],
        mql_rate_by_source=_mql_rates(totals),
        owner_load=_owner_load(totals, queries, team_weights),
        speed_to_lead=Percentiles.of(totals.speed_seconds),
        first_touch=Percentiles.of(first_touch),
        sla_breaches=[(owner, kind, count) for (owner, kind), count in sorted(breaches.items())],
        dead_letters=queries.dead_letters_by_code(),
        lag_per_day=[(day.isoformat(), p) for day, p in queries.lag_per_day().items()],
        backlog=queries.backlog(),
        notes=notes,
    )


def _weekly(counts: Mapping[tuple[date, str], int]) -> list[tuple[str, str, int]]:
    return [(week.isoformat(), name, count) for (week, name), count in sorted(counts.items())]


def _mql_rates(totals: LeadTotals) -> list[tuple[str, int, int, float]]:
    return [(source, leads, totals.mql_per_source[source], round(totals.mql_per_source[source] / leads, 4))
            for source, leads in sorted(totals.leads_per_source.items())]


def _owner_load(totals: LeadTotals, queries: StoreQueries,
                team_weights: Mapping[str, Mapping[str, float]]) -> list[OwnerLoad]:
    """Leads each owner holds, beside the fair share of the rotation turns its team handed out."""
    turns = queries.team_assignments()
    team_turns: dict[str, int] = {}
    for (team, _), count in turns.items():
        team_turns[team] = team_turns.get(team, 0) + count
    rows: list[OwnerLoad] = []
    seen: set[str] = set()
    for team, weights in sorted(team_weights.items()):
        total_weight = sum(weights.values()) or 1.0
        for owner, weight in sorted(weights.items()):
            rows.append(OwnerLoad(owner, team, turns.get((team, owner), 0),
                                  round(team_turns.get(team, 0) * weight / total_weight, 2)))
            seen.add(owner)
    rows += [OwnerLoad(owner, None, count, None) for owner, count in sorted(totals.owner_load.items())
             if owner not in seen]
    return rows
