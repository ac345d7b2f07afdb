"""Every figure of the report checked against plain reads of the state store, on SQLite and PostgreSQL."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from flows.insights.queries import StoreQueries, week_of
from flows.insights.summary import build_report
from flows.pipeline.runtime import build_runtime
from flows.state.engine import as_utc
from flows.state.schema import dead_letters, decisions, handoffs, inbox, rotation_ledger
from tests.insights.conftest import DemoStore

LEADS = ("spam", "test", "skipped")


def _rows(demo: DemoStore, table: Any) -> list[Any]:
    with demo.store.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)))


def _rows_by_key(demo: DemoStore, table: Any) -> list[Any]:
    with demo.store.engine.connect() as conn:
        return list(conn.execute(select(table)))


def _report(demo: DemoStore) -> Any:
    runtime = build_runtime(demo.config, check_owners=False)
    try:
        now = datetime.now(UTC) + timedelta(seconds=1)
        since = now - timedelta(days=30)
        weights = {name: team.weights() for name, team in runtime.ruleset.spec.routing.teams.items()}
        return build_report(StoreQueries(runtime.store.engine, since, now), runtime.sink.converted_since(since),
                            weights), weights
    finally:
        runtime.close()


def test_every_number_matches_the_store(demo_store: DemoStore) -> None:
    report, weights = _report(demo_store)
    submissions = [r for r in _rows(demo_store, inbox) if r.status not in LEADS]
    ledger = _rows(demo_store, decisions)
    by_lead: dict[str, list[Any]] = {}
    for row in ledger:
        by_lead.setdefault(row.lead_key, []).append(row)
    latest = {key: rows[-1].decision for key, rows in by_lead.items()}

    assert report.funnel["captured"] == len({r.lead_key for r in submissions if r.lead_key}) + \
        sum(1 for r in submissions if r.lead_key is None)
    assert report.funnel["captured"] > report.funnel["qualified"] > 0
    assert report.funnel["qualified"] == sum(d["qualification"] == "qualified" for d in latest.values())
    assert report.funnel["mql"] == sum(any(r.decision["mql"] for r in rows) for rows in by_lead.values())
    assert report.funnel["converted"] == 1  # the lead the rep converted in the CRM

    per_source_week = Counter((week_of(as_utc(r.received_at)).isoformat(), r.source) for r in submissions)
    assert report.submissions_per_source_week == sorted((w, s, n) for (w, s), n in per_source_week.items())
    campaigns = Counter((week_of(as_utc(rows[0].received_at)).isoformat(), rows[0].campaign or "(none)")
                        for rows in by_lead.values())
    assert report.leads_per_campaign_week == sorted((w, c, n) for (w, c), n in campaigns.items())
    assert ("uk_brand_2026q1" in {c for _, c, _ in report.leads_per_campaign_week})

    leads_per_source = Counter(rows[0].source for rows in by_lead.values())
    mqls_per_source = Counter(rows[0].source for rows in by_lead.values() if any(r.decision["mql"] for r in rows))
    assert [(s, n, m) for s, n, m, _ in report.mql_rate_by_source] == \
        [(s, n, mqls_per_source[s]) for s, n in sorted(leads_per_source.items())]

    turns = Counter((r.team, r.owner) for r in _rows(demo_store, rotation_ledger) if r.team and r.owner)
    for row in report.owner_load:
        if row.team:
            team_total = sum(n for (t, _), n in turns.items() if t == row.team)
            share = team_total * weights[row.team][row.owner] / sum(weights[row.team].values())
            assert (row.leads, row.fair_share) == (turns[(row.team, row.owner)], round(share, 2))
    assert {r.owner for r in report.owner_load if r.team is None} == {"erin@ourco.example"}  # account owner

    speeds = sorted((as_utc(rows[0].created_at) - as_utc(rows[0].received_at)).total_seconds()
                    for rows in by_lead.values())
    assert report.speed_to_lead.count == len(by_lead)
    assert report.speed_to_lead.p50 == statistics.quantiles(speeds, n=100, method="inclusive")[49]

    letters = Counter((r.code, r.stage) for r in _rows(demo_store, dead_letters))
    assert [(c, s, t) for c, s, _, t in report.dead_letters] == \
        sorted(((c, s, n) for (c, s), n in letters.items()), key=lambda r: (-r[2], r[0]))
    assert report.dead_letters and report.backlog == (0, None)

    handed = _rows_by_key(demo_store, handoffs)
    assert handed, "the demo rules have a followup section: routed leads are hand-offs"
    assert report.funnel["touched"] == len({h.lead_key for h in handed if h.touched_at is not None})
    assert report.first_touch is not None
    assert report.first_touch.count == sum(1 for h in handed if h.first_touch_seconds is not None)
    now = datetime.now(UTC)
    late = Counter((h.owner, h.kind) for h in handed
                   if h.escalation_level > 0 or h.status == "rerouted"
                   or (h.due_at is not None and as_utc(h.due_at) < now
                       and (h.touched_at is None or as_utc(h.touched_at) > as_utc(h.due_at))))
    assert report.sla_breaches == sorted((o, k, n) for (o, k), n in late.items())
    assert sum(p.count for _, p in report.lag_per_day) == sum(
        1 for r in ledger if r.outcome in ("created", "updated", "rejected"))


def test_window_leaves_out_older_leads(demo_store: DemoStore) -> None:
    engine = demo_store.store.engine
    future = datetime.now(UTC) + timedelta(days=1)
    queries = StoreQueries(engine, future, future + timedelta(days=1))
    assert list(queries.leads()) == [] and queries.captured_leads() == 0
