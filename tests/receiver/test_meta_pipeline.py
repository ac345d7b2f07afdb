"""Meta webhook end to end: signed notification stored, leads read from the Graph API (respx) when processed.

The process stage reads a batch's leads with one multi-id Graph call. A throttled Graph API leaves
the notifications in the inbox for a later attempt; an expired token dead-letters them with that
reason; nothing is lost either way and a replay finishes the job. A lead Meta does not return is
dead-lettered alone.
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
EMAILS = ["anja.weiss@klinikum-beispiel.de", "tom.berger@praxis-beispiel.de", "lea.roth@zahnarzt-beispiel.de"]


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def lead(leadgen_id: str, email: str) -> dict[str, Any]:
    item: dict[str, Any] = json.loads((SAMPLES / "fb_lead_single.json").read_text())
    item["id"] = leadgen_id
    item["field_data"][1]["values"] = [email]
    return item


def multi_id_answer(leadgen_ids: list[str]) -> httpx.Response:
    """The multi-id read's answer: one object keyed by leadgen id."""
    return httpx.Response(200, json={i: lead(i, EMAILS[IDS.index(i)]) for i in leadgen_ids})


def error(code: int) -> httpx.Response:
    return httpx.Response(400, json={"error": {"message": f"(#{code}) failed", "type": "OAuthException",
                                               "code": code}})


@pytest.fixture
def graph_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.route(url__startswith="http://127.0.0.1:").pass_through()  # the receiver is real
        yield router


def multi_id_route(graph_api: respx.MockRouter, *answers: httpx.Response) -> respx.Route:
    """`GET /v21.0/?ids=...` giving `answers` in turn, each time asked for the three leads at once.

    No other Graph URL is mocked: a lead read alone (`GET /v21.0/{id}`) would fail the test.
    """
    replies = iter(answers)

    def reply(request: httpx.Request) -> httpx.Response:
        assert request.url.params["ids"].split(",") == IDS
        return next(replies)

    return graph_api.get(GRAPH).mock(side_effect=reply)


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


def test_a_throttled_batch_read_waits_in_the_inbox_and_the_next_run_reads_it(
        demo_config: Path, monkeypatch: pytest.MonkeyPatch, graph_api: respx.MockRouter) -> None:
    graph = multi_id_route(graph_api, error(17), multi_id_answer(IDS))
    clock = Clock()
    runtime = meta_runtime(demo_config, monkeypatch, clock)
    try:
        assert post_sample(runtime).status_code == 200
        first = run_sync(runtime)
        assert (first.outcomes, first.requeued, runtime.store.inbox_status_counts()) == ({}, 3, {"processing": 3})
        clock.now += 3600
        time.sleep(0.2)
        second = run_sync(runtime)
        assert (second.outcomes, graph.call_count, runtime.store.inbox_status_counts()) == (
            {"created": 3}, 2, {"done": 3})
        assert runtime.store.list_dead_letters() == []
    finally:
        runtime.close()


def test_meta_notification_to_crm_through_throttling_and_token_expiry(
        demo_config: Path, monkeypatch: pytest.MonkeyPatch, graph_api: respx.MockRouter) -> None:
    graph = multi_id_route(graph_api, error(17), error(190), multi_id_answer(IDS))
    clock = Clock()
    runtime = meta_runtime(demo_config, monkeypatch, clock)
    try:
        response = post_sample(runtime)
        assert response.json() == {"stored": True, "records": 3, "duplicates": 0}

        first = run_sync(runtime)  # Meta throttles the batch's one read: the three leads wait
        assert (first.outcomes, graph.call_count) == ({}, 1)
        assert runtime.store.inbox_status_counts() == {"processing": 3}
        assert runtime.store.list_dead_letters() == []

        clock.now += 3600  # Meta's pause is over; the claims' leases have run out too
        time.sleep(0.2)
        second = run_sync(runtime)  # the token has expired when the batch is read
        assert (second.outcomes, graph.call_count) == ({}, 2)
        letters = runtime.store.list_dead_letters()
        assert sorted(d.source_record_id for d in letters) == IDS
        assert {(d.stage, d.failure_type, d.code) for d in letters} == {("normalise", "config", "META_190")}
        assert all("expired or revoked" in d.message and TOKEN not in d.message for d in letters)

        clock.now += 3600  # a new token is in place: the dead letters are replayed
        runtime.store.replay_dead_letters([d.id for d in letters])
        third = run_sync(runtime)
        assert (third.outcomes, graph.call_count) == ({"created": 3}, 3)
        emails = {row["email"] for row in runtime.sink.all_leads()}  # type: ignore[attr-defined]
        assert emails == set(EMAILS)
        assert runtime.store.inbox_status_counts() == {"done": 3}
    finally:
        runtime.close()


def test_a_lead_meta_keeps_throttling_is_dead_lettered_after_the_last_attempt(
        demo_config: Path, monkeypatch: pytest.MonkeyPatch, graph_api: respx.MockRouter) -> None:
    graph = multi_id_route(graph_api, error(17), error(17))
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
        assert graph.call_count == 2  # one read per batch
    finally:
        runtime.close()


def test_a_lead_missing_from_the_batch_read_is_dead_lettered_alone(
        demo_config: Path, monkeypatch: pytest.MonkeyPatch, graph_api: respx.MockRouter) -> None:
    graph = multi_id_route(graph_api, multi_id_answer(IDS[:2]))
    runtime = meta_runtime(demo_config, monkeypatch, Clock())
    try:
        assert post_sample(runtime).status_code == 200
        summary = run_sync(runtime)
        assert (summary.outcomes, graph.call_count) == ({"created": 2}, 1)
        [letter] = runtime.store.list_dead_letters()
        assert (letter.source_record_id, letter.stage, letter.failure_type, letter.code) == (
            IDS[2], "normalise", "data", "META_LEAD_UNAVAILABLE")
        assert IDS[2] in letter.message
        assert runtime.store.inbox_status_counts() == {"done": 2, "dead": 1}
    finally:
        runtime.close()
