"""The report's summary as markdown tables: the Prefect artifact each run publishes, and `report --md`."""

from __future__ import annotations

from collections.abc import Sequence

from flows.insights.summary import ReportData


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("-" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min" if value < 7200 else f"{value / 3600:.1f} h"


def render_markdown(data: ReportData) -> str:
    sections = [f"## leadsync report, {data.since:%Y-%m-%d} to {data.now:%Y-%m-%d %H:%M} UTC",
                "### Funnel", _table(["step", "leads"], list(data.funnel.items())),
                "### MQL rate per source",
                _table(["source", "leads", "MQLs", "rate"],
                       [(s, n, m, f"{r:.1%}") for s, n, m, r in data.mql_rate_by_source]),
                "### Owner load",
                _table(["owner", "team", "leads", "fair share"],
                       [(o.owner, o.team, o.leads, o.fair_share) for o in data.owner_load]),
                "### Timing",
                _table(["measure", "leads", "p50", "p95"],
                       [("speed to lead", data.speed_to_lead.count, _seconds(data.speed_to_lead.p50),
                         _seconds(data.speed_to_lead.p95))]
                       + ([("time to first touch", data.first_touch.count, _seconds(data.first_touch.p50),
                            _seconds(data.first_touch.p95))] if data.first_touch else []))]
    if data.sla_breaches:
        sections += ["### SLA breaches", _table(["owner", "kind", "count"], data.sla_breaches)]
    if data.dead_letters:
        sections += ["### Dead letters by code", _table(["code", "stage", "open", "total"], data.dead_letters)]
    waiting, oldest = data.backlog
    sections.append(f"Waiting in the inbox: {waiting}" + (f" (oldest {_seconds(oldest)})" if oldest else ""))
    sections += [f"_{note}_" for note in data.notes]
    return "\n\n".join(sections) + "\n"
