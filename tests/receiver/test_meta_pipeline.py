"""Meta webhook end to end: signed notification stored, leads read from the Graph API (respx) when processed.

A throttled Graph API leaves the notifications in the inbox for a later attempt; an expired token
dead-letters them with that reason; nothing is lost either way and a replay finishes the job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import yaml

from connectors.retry import RetryPolicy
from connectors.sources.meta_webhook import MetaWebhookSource
from connectors.sources.webhooks import WebhookSource
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import Runtime, build_runtime
from flows.receiver import create_app
from tests.receiver.server import META_APP_SECRET, META_HEADERS, META_VERIFY_TOKEN, SAMPLES, serve

TOKEN = "EAAB-pipeline-page-token-0123456789"
GRAPH = "https://graph.facebook.com/v21.0/"
IDS = ["3412987654321001", "3412987654321002", "3412987654321003"]
SOURCE = "meta_webhook:clinics"


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def lead(leadgen_id: str, email: str) -> httpx.Response:
    item: dict[str, Any] = json.loads((SAMPLES / "fb_lead_single.json").read_text())
    item["id"] = leadgen_id
    item["field_data"][1]["values"] = [email]
    return httpx.Response(200, json=item)


def error(code: int) -> httpx.Response:
    return httpx.Response(400, json={"error": {"message": f"(#{code}) failed", "type": "OAuthException",
                                               "code": code}})


@pytest.fixture
def graph_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.route(url__startswith="http://127.0.0.1:").pass_through()  # the receiver is real
        yield router


def meta_runtime(demo_config: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock,
                 **processing: float) -> Runtime:
    """The demo config with one meta_webhook source; the source gets a test clock and no HTTP-level retries."""
    for name, value in (("META_VT", META_VERIFY_TOKEN), ("META_APP_SECRET", META_APP_SECRET), ("META_TOKEN", TOKEN)):
        monkeypatch.setenv(name, value)
    config = yaml.safe_load(demo_config.read_text())
    config["sources"] = [{"type": "meta_webhook", "name": "clinics", "verify_token": "${META_VT}",
                          "app_secret": "${META_APP_SECRET}", "access_token": "${META_TOKEN}"}]
    # A throttled lead is tried again once its claim's lease runs out: here after 0.12 s.
    config["processing"].update({"lease_minutes": 0.002, **processing})
    demo_config.write_text(yaml.safe_dump(config))
    runtime = build_runtime(demo_config)
    built = runtime.sources[SOURCE]
    assert isinstance(built, MetaWebhookSource)
    runtime.sources[SOURCE] = MetaWebhookSource(built.config, clock=clock,
                                                policy=RetryPolicy(attempts=1, sleep=lambda _: None))
    return runtime


def post_sample(runtime: Runtime) -> httpx.Response:
    hooks = {n: s for n, s in runtime.sources.items() if isinstance(s, WebhookSource)}
    with serve(create_app(runtime.store, hooks)) as url:
        return httpx.post(f"{url}/meta_webhook/clinics", content=(SAMPLES / "fb_webhook.json").read_bytes(),
                          headers={"Content-Type": "application/json",
                                   "X-Hub-Signature-256": META_HEADERS["X-Hub-Signature-256"]})


def test_meta_notification_to_crm_through_throttling_and_token_expiry(
        demo_config: Path, monkeypatch: pytest.MonkeyPatch, graph_api: respx.MockRouter) -> None:
    graph = {i: graph_api.get(GRAPH + i) for i in IDS}
    graph[IDS[0]].mock(return_value=lead(IDS[0], "anja.weiss@klinikum-beispiel.de"))
    graph[IDS[1]].mock(side_effect=[error(17), lead(IDS[1], "tom.berger@praxis-beispiel.de")])
    graph[IDS[2]].mock(side_effect=[error(190), lead(IDS[2], "lea.roth@zahnarzt-beispiel.de")])
    clock = Clock()
    runtime = meta_runtime(demo_config, monkeypatch, clock)
    try:
        response = post_sample(runtime)
        assert response.json() == {"stored": True, "records": 3, "duplicates": 0}

        first = run_sync(runtime)  # lead 1 in; Meta throttles lead 2, so lead 3 waits without a call
        assert (first.outcomes, graph[IDS[1]].call_count, graph[IDS[2]].call_count) == ({"created": 1}, 1, 0)
        assert runtime.store.inbox_status_counts() == {"done": 1, "processing": 2}
        assert runtime.store.list_dead_letters() == []

        clock.now += 3600  # Meta's pause is over; the claims' leases have run out too
        time.sleep(0.2)
        second = run_sync(runtime)  # lead 2 in; the token has expired when lead 3 is read
        assert second.outcomes == {"created": 1}
        [letter] = runtime.store.list_dead_letters()
        assert (letter.source_record_id, letter.stage, letter.failure_type, letter.code) == (
            IDS[2], "normalise", "config", "META_190")
        assert "expired or revoked" in letter.message and TOKEN not in letter.message

        clock.now += 3600  # a new token is in place: the dead letter is replayed
        runtime.store.replay_dead_letters([letter.id])
        third = run_sync(runtime)
        assert third.outcomes == {"created": 1}
        emails = {row["email"] for row in runtime.sink.all_leads()}  # type: ignore[attr-defined]
        assert emails == {"anja.weiss@klinikum-beispiel.de", "tom.berger@praxis-beispiel.de",
                          "lea.roth@zahnarzt-beispiel.de"}
        assert runtime.store.inbox_status_counts() == {"done": 3}
    finally:
        runtime.close()


def test_a_lead_meta_keeps_throttling_is_dead_lettered_after_the_last_attempt(
        demo_config: Path, monkeypatch: pytest.MonkeyPatch, graph_api: respx.MockRouter) -> None:
    for leadgen_id in IDS:
        graph_api.get(GRAPH + leadgen_id).mock(return_value=error(17))
    clock = Clock()
    runtime = meta_runtime(demo_config, monkeypatch, clock, max_attempts=2)
    try:
        assert post_sample(runtime).status_code == 200
        run_sync(runtime)
        assert runtime.store.inbox_status_counts() == {"processing": 3} and runtime.store.list_dead_letters() == []
        clock.now += 3600
        time.sleep(0.2)
        run_sync(runtime)
        letters = runtime.store.list_dead_letters()
        assert sorted(d.source_record_id for d in letters) == IDS
        assert {(d.stage, d.failure_type, d.code) for d in letters} == {("normalise", "transient_exhausted", "META_17")}
        assert runtime.store.inbox_status_counts() == {"dead": 3}
    finally:
        runtime.close()
