"""A vendor asks for a longer wait than a run can give: the source stops cleanly, the next run waits too.

Meta's code 17 with estimated_time_to_regain_access (pull and webhook) and LinkedIn's Retry-After,
through the whole run (respx in front of the real sources), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import update

from connectors.records import RawSubmission
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.pipeline.summary import RunSummary
from flows.state.schema import source_pauses

SAMPLES = Path("/work/shared/samples")
THROTTLED = json.loads((SAMPLES / "fb_error_rate_limit.json").read_text())
FORM = "912345678901234"
LEADS_URL = f"https://graph.facebook.com/v21.0/{FORM}/leads"
GRAPH = "https://graph.facebook.com/v21.0/"
SOURCES = f"""
  - {{type: meta_lead_ads, name: clinics, form_ids: ["{FORM}"], access_token: "${{META_TOKEN}}"}}
  - {{type: meta_webhook, name: pushed, verify_token: "${{META_TOKEN}}", app_secret: "${{META_TOKEN}}",
     access_token: "${{META_TOKEN}}"}}
  - {{type: linkedin_lead_gen, name: emea, owner: "urn:li:sponsoredAccount:508123456",
     access_token: "${{META_TOKEN}}"}}
"""


def throttled(minutes: int = 25) -> httpx.Response:
    usage = {"104857600123456": [{"type": "leadgen", "call_count": 100, "estimated_time_to_regain_access": minutes}]}
    return httpx.Response(400, json={"error": THROTTLED["error"]},
                          headers={"X-Business-Use-Case-Usage": json.dumps(usage)})


@pytest.fixture
def config(demo_config: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("META_TOKEN", "EAAB-test-token-000000000000")
    text = demo_config.read_text(encoding="utf-8").replace("sqlite:///../var/state.db", store_url)
    text = text.replace("sources:\n", "sources:" + SOURCES, 1)
    demo_config.write_text(text, encoding="utf-8")
    return demo_config


@pytest.fixture
def graph() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.get(LEADS_URL).mock(return_value=throttled())
        router.get(url__startswith=GRAPH).mock(return_value=throttled())
        router.route(method="GET", path="/rest/leadForms").mock(return_value=httpx.Response(
            429, headers={"Retry-After": "3600"}))
        router.route(method="GET", path="/rest/leadFormResponses").mock(return_value=httpx.Response(
            429, headers={"Retry-After": "3600"}))
        yield router


def sync(config: Path, **kwargs: Any) -> tuple[RunSummary, dict[str, str], dict[str, int]]:
    runtime = build_runtime(config, check_owners=False)
    try:
        summary = run_sync(runtime, **kwargs)
        cursors = runtime.store.get_cursors("meta_lead_ads:clinics")
        return summary, cursors, runtime.store.inbox_status_counts()
    finally:
        runtime.close()


def calls(router: respx.MockRouter) -> int:
    return sum(route.call_count for route in router.routes)


def end_pauses(config: Path) -> None:
    """As if the stated time had passed."""
    runtime = build_runtime(config, check_owners=False)
    try:
        with runtime.store.engine.begin() as conn:
            conn.execute(update(source_pauses).values(until=datetime.now(UTC) - timedelta(seconds=1)))
    finally:
        runtime.close()


def test_pulled_sources_stop_cleanly_and_the_next_run_does_not_call_before_the_time(
        config: Path, graph: respx.MockRouter) -> None:
    first, cursors, _ = sync(config)
    by_source = {c.source: c for c in first.captures}
    for name, minutes in (("meta_lead_ads:clinics", 25), ("linkedin_lead_gen:emea", 60)):
        capture = by_source[name]
        assert capture.error is None and capture.paused_until is not None  # not a failed run
        left = (capture.paused_until - datetime.now(UTC)).total_seconds() / 60
        assert minutes - 1 < left <= minutes
        assert f"{name} paused until" in first.paused[name]
    assert "25 min" in first.paused["meta_lead_ads:clinics"]
    assert not any(c.error for c in first.captures) and first.stopped is None
    assert cursors == {}  # kept as it was (none yet)
    made = calls(graph)
    assert made == 2  # one call each: no retry could succeed sooner than the stated time

    again, _, _ = sync(config)
    assert calls(graph) == made  # nothing called before the stated time
    assert {c.source for c in again.captures if c.paused_until} == {"meta_lead_ads:clinics",
                                                                   "linkedin_lead_gen:emea"}

    end_pauses(config)
    graph.get(LEADS_URL).mock(return_value=httpx.Response(200, content=(SAMPLES / "fb_leads_page1.json")
                                                          .read_bytes().replace(b'"paging"', b'"_paging"')))
    later, cursors, _ = sync(config)
    meta = next(c for c in later.captures if c.source == "meta_lead_ads:clinics")
    assert meta.paused_until is None and meta.error is None and meta.new >= 1 and FORM in cursors


def test_webhook_leads_wait_in_the_inbox_while_meta_is_paused(config: Path, graph: respx.MockRouter) -> None:
    runtime = build_runtime(config, check_owners=False)
    try:
        runtime.store.inbox_add([RawSubmission(
            source="meta_webhook:pushed", partition=FORM, source_record_id=f"34129876543210{n:02d}",
            received_at=datetime.now(UTC), payload={"leadgen_id": f"34129876543210{n:02d}", "form_id": FORM})
            for n in range(3)])
    finally:
        runtime.close()
    first, _, counts = sync(config, capture=False)
    assert "meta_webhook:pushed" in first.paused and "25 min" in first.paused["meta_webhook:pushed"]
    assert first.stopped is None and not first.rejections and "dead" not in counts  # nothing lost
    made = calls(graph)
    assert made == 1  # one read for the batch, not one per lead and no retries

    end_leases = (update(source_pauses).values(until=datetime.now(UTC) + timedelta(minutes=25)))
    runtime = build_runtime(config, check_owners=False)
    try:
        from flows.state.schema import inbox

        with runtime.store.engine.begin() as conn:  # the claim's lease ran out, the pause did not
            conn.execute(update(inbox).where(inbox.c.status == "processing").values(
                lease_until=datetime.now(UTC) - timedelta(seconds=1)))
            conn.execute(end_leases)
    finally:
        runtime.close()
    again, _, counts = sync(config, capture=False)
    assert calls(graph) == made and again.claimed == 0  # the rows wait for the end of the pause
    assert counts.get("processing", 0) + counts.get("pending", 0) == 3
