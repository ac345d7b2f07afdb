"""The report as one self-contained HTML file: plotly charts with plotly.js inlined (opens offline)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from flows.insights.backtest import BacktestResult
from flows.insights.queries import Percentiles
from flows.insights.summary import ReportData

_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}
h1{margin-bottom:0}p.meta{color:#666}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}section{margin-bottom:2rem}"""


def render_html(data: ReportData, extra_sections: Sequence[str] = ()) -> str:
    """The whole page. `extra_sections` are ready HTML fragments (e.g. a backtest's section)."""
    charts = [
        ("Submissions per source and week", _stacked(data.submissions_per_source_week, "submissions")),
        ("Leads per campaign and week", _stacked(data.leads_per_campaign_week, "leads")),
        ("Funnel", _funnel(data.funnel)),
        ("MQLs per week", _bar([w for w, _ in data.mql_per_week], [c for _, c in data.mql_per_week], "MQLs")),
        ("MQL rate per source", _bar([r[0] for r in data.mql_rate_by_source],
                                     [r[3] * 100 for r in data.mql_rate_by_source], "MQL rate (%)")),
        ("Owner load against fair share", _owner_load(data)),
        ("Dead letters by code", _bar([f"{c} ({s})" for c, s, _, _ in data.dead_letters],
                                      [t for _, _, _, t in data.dead_letters], "dead letters")),
        ("Pipeline lag: received to decided, per day", _lag(data)),
    ]
    if data.sla_breaches:
        charts.append(("SLA breaches", _stacked([(o, k, n) for o, k, n in data.sla_breaches], "breaches")))
    parts = [f"<h1>leadsync report</h1><p class=meta>{data.since:%Y-%m-%d %H:%M} to {data.now:%Y-%m-%d %H:%M} UTC"
             "; weeks start on Monday</p>", _timing_table(data)]
    parts += [f"<p class=meta>{html.escape(note)}</p>" for note in data.notes]
    first = True
    for title, figure in charts:
        body = pio.to_html(figure, full_html=False, include_plotlyjs=first, config={"displaylogo": False})
        first = False
        parts.append(f"<section><h2>{html.escape(title)}</h2>{body}</section>")
    parts += list(extra_sections)
    return (f"<!doctype html><html><head><meta charset=utf-8><title>leadsync report</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>")


def _layout(figure: go.Figure, y_title: str, categorical: bool = True) -> go.Figure:
    figure.update_layout(height=360, margin={"l": 50, "r": 20, "t": 20, "b": 60}, yaxis_title=y_title,
                         template="plotly_white", legend={"orientation": "h"})
    if categorical:  # weeks, days, names: never a continuous time axis (the funnel's x is its values)
        figure.update_xaxes(type="category")
    return figure


def _stacked(rows: Sequence[tuple[str, str, int]], y_title: str) -> go.Figure:
    """rows: (x, series, value); one bar series per name, stacked."""
    figure = go.Figure()
    for name in sorted({series for _, series, _ in rows}):
        points = [(x, v) for x, s, v in rows if s == name]
        figure.add_bar(name=name, x=[x for x, _ in points], y=[v for _, v in points])
    figure.update_layout(barmode="stack")
    return _layout(figure, y_title)


def _bar(x: Sequence[Any], y: Sequence[float], y_title: str) -> go.Figure:
    return _layout(go.Figure(go.Bar(x=list(x), y=list(y))), y_title)


def _funnel(funnel: dict[str, int | None]) -> go.Figure:
    steps = [(k, v) for k, v in funnel.items() if v is not None]
    return _layout(go.Figure(go.Funnel(y=[k for k, _ in steps], x=[v for _, v in steps],
                                       textinfo="value+percent initial")), "", categorical=False)


def _owner_load(data: ReportData) -> go.Figure:
    names = [f"{r.owner} ({r.team})" if r.team else r.owner for r in data.owner_load]
    figure = go.Figure(go.Bar(name="leads", x=names, y=[r.leads for r in data.owner_load]))
    figure.add_scatter(name="fair share", x=names, y=[r.fair_share for r in data.owner_load], mode="markers",
                       marker={"symbol": "line-ew-open", "size": 30, "line": {"width": 3}})
    return _layout(figure, "leads")


def _lag(data: ReportData) -> go.Figure:
    days = [d for d, _ in data.lag_per_day]
    figure = go.Figure()
    figure.add_scatter(name="p50 (s)", x=days, y=[p.p50 for _, p in data.lag_per_day], mode="lines+markers")
    figure.add_scatter(name="p95 (s)", x=days, y=[p.p95 for _, p in data.lag_per_day], mode="lines+markers")
    return _layout(figure, "seconds")


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


def _timing_table(data: ReportData) -> str:
    rows: list[tuple[str, Percentiles | None]] = [("speed to lead (received to routed)", data.speed_to_lead),
                                                   ("time to first touch", data.first_touch)]
    body = "".join(f"<tr><td>{html.escape(name)}</td><td>{p.count if p else '-'}</td>"
                   f"<td>{_fmt(p.p50) if p else '-'}</td><td>{_fmt(p.p95) if p else '-'}</td></tr>"
                   for name, p in rows)
    waiting, oldest = data.backlog
    return (f"<table><tr><th>timing</th><th>leads</th><th>p50</th><th>p95</th></tr>{body}</table>"
            f"<p>waiting in the inbox now: {waiting}" + (f", oldest {_fmt(oldest)}" if oldest is not None else "")
            + "</p>")


def backtest_section(result: BacktestResult, current: str, candidate: str) -> str:
    """The backtest side by side: MQLs per week and leads per owner, current against candidate."""
    weeks = sorted(set(result.current.mql_per_week) | set(result.candidate.mql_per_week))
    mqls = go.Figure()
    mqls.add_bar(name=f"current {current}", x=weeks, y=[result.current.mql_per_week[w] for w in weeks])
    mqls.add_bar(name=f"candidate {candidate}", x=weeks, y=[result.candidate.mql_per_week[w] for w in weeks])
    owners = sorted(set(result.current.load) | set(result.candidate.load))
    load = go.Figure()
    load.add_bar(name="current", x=owners, y=[result.current.load[o] for o in owners])
    load.add_bar(name="candidate", x=owners, y=[result.candidate.load[o] for o in owners])
    rows = "".join(f"<tr><td>{html.escape(c.person or c.lead_key)}</td><td>{html.escape('; '.join(c.what))}</td></tr>"
                   for c in result.examples)
    changed = ", ".join(f"{k} {v}" for k, v in sorted(result.changed.items())) or "nothing"
    return str(f"<section><h2>Backtest: {result.leads} leads, current against candidate</h2>"
            f"<p>changed: {html.escape(changed)}</p>"
            + pio.to_html(_layout(mqls, "MQLs"), full_html=False, include_plotlyjs=False)
            + pio.to_html(_layout(load, "leads"), full_html=False, include_plotlyjs=False)
            + f"<table><tr><th>lead</th><th>what changes</th></tr>{rows}</table></section>")
