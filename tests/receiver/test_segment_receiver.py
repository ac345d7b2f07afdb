"""Segment's HTTP Tracking API on the receiver, with Segment's own Python library as the client.

segment-analytics-python posts to `<host>/v1/batch` with the write key in the body (since 2.3);
the raw-HTTP tests cover HTTP Basic (what analytics.js and the HTTP API docs use), the limits,
bad input and the flood cap. Every 4xx stores nothing (checked by counting inbox rows).
"""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from segment.analytics.client import Client
from segment.analytics.request import APIError
from starlette.applications import Starlette

from connectors.sources.event_mapping import EventMapping
from connectors.sources.segment import SegmentConfig, SegmentSource
from flows.receiver import create_app
from flows.receiver.app import _body as receiver_body
from flows.receiver.app import _content_type as receiver_content_type
from flows.receiver.segment import HourlyCap, segment_routes
from flows.state import StateStore
from tests.receiver.server import serve

WRITE_KEY = "wk-site-7f3a9c"
CAP = 5


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def make_source() -> SegmentSource:
    return SegmentSource(SegmentConfig(name="site", write_key=WRITE_KEY, max_per_anonymous_id_per_hour=CAP,
                                       events=EventMapping(pages={"/pricing*": "pricing_page_visit"})))


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StateStore]]:
    store = StateStore(f"sqlite:///{tmp_path_factory.mktemp('seg') / 'state.db'}")
    store.create_schema()
    source = make_source()
    with serve(create_app(store, {source.name: source})) as url:
        yield url, store
    store.dispose()


def stored(store: StateStore) -> dict[str, dict[str, object]]:
    rows = store.claim_batch("look", 10_000, timedelta(seconds=1), sources=["segment:site"])
    store.release_claims("look", [r.id for r in rows], "looked at by a test", count_attempt=False)
    return {r.raw.source_record_id: r.raw.payload for r in rows}


def client(url: str, write_key: str = WRITE_KEY, **options: object) -> Client:
    return Client(write_key, host=f"{url}/segment/site", sync_mode=True, max_retries=0, **options)


def basic(key: str = WRITE_KEY) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
            "Content-Type": "application/json"}


@pytest.mark.parametrize("use_gzip", [False, True])
def test_segment_library_track_page_identify_are_stored_once_each(tracking: tuple[str, StateStore],
                                                                  use_gzip: bool) -> None:
    url, store = tracking
    visitor = f"anon-{uuid.uuid4()}"
    segment = client(url, gzip=use_gzip)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    segment.page(anonymous_id=visitor, name="Pricing", message_id=ids[0],
                 properties={"path": "/pricing", "url": "https://acme.example/pricing", "title": "Pricing"})
    segment.track(anonymous_id=visitor, event="Whitepaper Downloaded", message_id=ids[1],
                  properties={"title": "State of B2B"})
    segment.identify(anonymous_id=visitor, user_id="user-42", message_id=ids[2],
                     traits={"email": "ann@acme.example", "firstName": "Ann", "company": "Acme"})
    segment.track(anonymous_id=visitor, event="Whitepaper Downloaded", message_id=ids[1])  # a retry
    rows = stored(store)
    assert [rows[i]["type"] for i in ids] == ["page", "track", "identify"]
    assert rows[ids[2]]["traits"] == {"email": "ann@acme.example", "firstName": "Ann", "company": "Acme"}
    assert sum(1 for p in rows.values() if p.get("anonymousId") == visitor) == 3


def test_library_batches_from_its_queue_are_stored(tracking: tuple[str, StateStore]) -> None:
    url, store = tracking
    errors: list[Exception] = []
    segment = Client(WRITE_KEY, host=f"{url}/segment/site", upload_size=50, max_retries=0,
                     on_error=lambda exc, batch: errors.append(exc))
    ids = [str(uuid.uuid4()) for _ in range(120)]
    for i, message_id in enumerate(ids):
        segment.track(user_id=f"user-{i % 7}", event="Feature Used", message_id=message_id)
    segment.flush()
    segment.join()
    assert errors == []
    assert set(ids) <= set(stored(store))


@pytest.mark.parametrize("key", ["wrong-key", WRITE_KEY.upper()])
def test_library_with_a_wrong_write_key_gets_401_and_nothing_is_stored(tracking: tuple[str, StateStore],
                                                                       key: str) -> None:
    url, store = tracking
    before = store.inbox_count("segment:site")
    with pytest.raises(APIError) as info:
        client(url, write_key=key).track(anonymous_id="anon-x", event="Signed Up")
    assert (info.value.status, info.value.code) == (401, "unauthorized")
    assert store.inbox_count("segment:site") == before


@pytest.mark.parametrize(("call", "body"), [
    ("track", {"anonymousId": "a-1", "event": "Signed Up"}),
    ("page", {"userId": "u-1", "properties": {"path": "/pricing"}}),
    ("identify", {"userId": "u-1", "traits": {"email": "bo@acme.example"}}),
    ("screen", {"anonymousId": "a-1", "name": "Home"}),
    ("group", {"userId": "u-1", "groupId": "g-1", "traits": {"name": "Acme"}}),
    ("alias", {"previousId": "a-1", "userId": "u-1"}),
])
def test_single_calls_with_http_basic_write_key(tracking: tuple[str, StateStore], call: str,
                                                body: dict[str, object]) -> None:
    url, store = tracking
    message_id = str(uuid.uuid4())
    response = httpx.post(f"{url}/segment/site/v1/{call}", json={**body, "messageId": message_id}, headers=basic())
    assert (response.status_code, response.json()["success"]) == (200, True)
    assert stored(store)[message_id]["type"] == call
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(("headers", "body", "status", "says"), [
    ({"Content-Type": "application/json"}, {"anonymousId": "a", "event": "e"}, 401, "write key"),
    (basic("nope"), {"anonymousId": "a", "event": "e"}, 401, "invalid write key"),
    ({"Content-Type": "application/json"}, {"anonymousId": "a", "event": "e", "writeKey": "nope"}, 401, "write key"),
    (basic(), {"event": "e"}, 400, "userId or anonymousId"),
    (basic(), {"anonymousId": "a"}, 400, "message.event: required for track"),
    (basic(), {"anonymousId": "a", "event": "e", "properties": "x"}, 400, "message.properties"),
    (basic(), {"anonymousId": "a", "event": "e", "timestamp": "yesterday"}, 400, "message.timestamp"),
    ({**basic(), "Content-Type": "application/xml"}, {"anonymousId": "a", "event": "e"}, 415, "content type"),
])
def test_bad_single_calls_get_a_clear_4xx_and_store_nothing(tracking: tuple[str, StateStore],
                                                            headers: dict[str, str], body: dict[str, object],
                                                            status: int, says: str) -> None:
    url, store = tracking
    before = store.inbox_count("segment:site")
    response = httpx.post(f"{url}/segment/site/v1/track", content=json.dumps(body), headers=headers)
    assert response.status_code == status
    assert says in response.json()["message"] and response.json()["code"]
    assert store.inbox_count("segment:site") == before


def test_a_bad_message_in_a_batch_stores_none_of_it(tracking: tuple[str, StateStore]) -> None:
    url, store = tracking
    before = store.inbox_count("segment:site")
    batch = [{"type": "track", "anonymousId": "a", "event": "ok", "messageId": str(uuid.uuid4())},
             {"type": "track", "anonymousId": "a", "messageId": str(uuid.uuid4())}]
    response = httpx.post(f"{url}/segment/site/v1/batch", json={"batch": batch}, headers=basic())
    assert (response.status_code, response.json()["message"]) == (400, "batch[1].event: required for track")
    assert store.inbox_count("segment:site") == before


@pytest.mark.parametrize(("call", "payload", "says"), [
    ("track", {"anonymousId": "a", "event": "big", "properties": {"blob": "x" * (33 * 1024)}}, "32 KB"),
    ("batch", {"batch": [{"type": "track", "anonymousId": f"a{i}", "event": "e", "properties": {"b": "x" * 20_000}}
                         for i in range(27)]}, "500 KB"),
    ("batch", {"batch": [{"type": "track", "anonymousId": "a", "event": "big",
                          "properties": {"blob": "x" * (33 * 1024)}}]}, "batch[0]: larger than 32 KB"),
])
def test_over_segments_size_limits_is_400(tracking: tuple[str, StateStore], call: str, payload: dict[str, object],
                                          says: str) -> None:
    url, store = tracking
    before = store.inbox_count("segment:site")
    response = httpx.post(f"{url}/segment/site/v1/{call}", json=payload, headers=basic())
    assert response.status_code == 400 and says in response.json()["message"]
    assert store.inbox_count("segment:site") == before


def test_a_batch_just_under_500_kb_is_stored(tracking: tuple[str, StateStore]) -> None:
    url, store = tracking
    batch = [{"type": "track", "userId": f"u{i}", "event": "Viewed", "messageId": str(uuid.uuid4()),
              "properties": {"pad": "y" * 21_000}} for i in range(24)]
    body = json.dumps({"batch": batch}).encode()
    assert 480 * 1024 < len(body) < 500 * 1024
    response = httpx.post(f"{url}/segment/site/v1/batch", content=body, headers=basic())
    assert response.json() == {"success": True, "stored": 24, "duplicates": 0}
    assert {m["messageId"] for m in batch} <= set(stored(store))


def test_gzip_bomb_is_refused(tracking: tuple[str, StateStore]) -> None:
    url, store = tracking
    before = store.inbox_count("segment:site")
    bomb = gzip.compress(b'{"batch": [' + b" " * (4 << 20) + b"]}")
    response = httpx.post(f"{url}/segment/site/v1/batch", content=bomb,
                          headers={**basic(), "Content-Encoding": "gzip"})
    assert response.status_code == 400 and "inflated" in response.json()["message"]
    assert store.inbox_count("segment:site") == before


def test_analytics_js_requests_as_it_sends_them_are_stored(tracking: tuple[str, StateStore]) -> None:
    """analytics-next: text/plain, writeKey in the body, one-letter paths, /b for batches (its source, read)."""
    url, store = tracking
    page = {"type": "page", "anonymousId": "ajs-anon-1", "userId": None, "messageId": "ajs-next-1",
            "writeKey": WRITE_KEY, "timestamp": "2026-11-30T10:00:00.000Z", "sentAt": "2026-11-30T10:00:00.100Z",
            "properties": {"path": "/pricing", "url": "https://acme.example/pricing", "title": "Pricing",
                           "referrer": "", "search": ""},
            "context": {"page": {"path": "/pricing", "url": "https://acme.example/pricing"},
                        "library": {"name": "analytics.js", "version": "next-1.82.0"}, "userAgent": "Mozilla/5.0"},
            "integrations": {}, "_metadata": {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []}}
    single = httpx.post(f"{url}/segment/site/v1/p", content=json.dumps(page),
                        headers={"Content-Type": "text/plain", "Origin": "https://acme.example"})
    track = {**page, "type": "track", "event": "Whitepaper Downloaded", "messageId": "ajs-next-2"}
    batched = httpx.post(f"{url}/segment/site/v1/b", content=json.dumps(
        {"writeKey": WRITE_KEY, "batch": [track], "sentAt": "2026-11-30T10:00:01.000Z"}),
        headers={"Content-Type": "text/plain"})
    assert (single.status_code, batched.status_code) == (200, 200)
    assert single.headers["access-control-allow-origin"] == "*"
    rows = stored(store)
    assert (rows["ajs-next-1"]["type"], rows["ajs-next-2"]["type"]) == ("page", "track")
    assert "writeKey" not in rows["ajs-next-1"] and "writeKey" not in rows["ajs-next-2"]  # a credential


def test_absurdly_nested_json_is_400_not_a_crash(tracking: tuple[str, StateStore]) -> None:
    url, _ = tracking
    body = b'{"batch": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = httpx.post(f"{url}/segment/site/v1/batch", content=gzip.compress(body),
                          headers={**basic(), "Content-Encoding": "gzip"})
    assert response.status_code == 400 and "JSON" in response.json()["message"]


def test_unknown_call_or_source_is_404(tracking: tuple[str, StateStore]) -> None:
    url, _ = tracking
    assert httpx.post(f"{url}/segment/site/v1/purchase", json={}, headers=basic()).status_code == 404
    assert httpx.post(f"{url}/segment/other/v1/track", json={}, headers=basic()).status_code == 404


def test_preflight_allows_a_web_page_to_post(tracking: tuple[str, StateStore]) -> None:
    url, _ = tracking
    response = httpx.options(f"{url}/segment/site/v1/batch", headers={"Origin": "https://acme.example"})
    assert response.status_code == 204 and "POST" in response.headers["access-control-allow-methods"]


def test_a_flooding_anonymous_id_is_capped_per_hour_with_429(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.create_schema()
    clock = FakeClock()
    source = make_source()
    routes = segment_routes(store, {source.name: source}, lambda r, limit: receiver_body(r, limit, 30),
                            receiver_content_type,
                            cap=HourlyCap(clock))
    flooder, other = f"bot-{uuid.uuid4()}", f"human-{uuid.uuid4()}"

    def batch_of(who: str, n: int) -> list[dict[str, object]]:
        return [{"type": "page", "anonymousId": who, "messageId": str(uuid.uuid4()),
                 "properties": {"path": f"/p{i}"}} for i in range(n)]

    with serve(Starlette(routes=routes)) as url:
        first = batch_of(flooder, CAP - 1)
        assert httpx.post(f"{url}/segment/site/v1/batch", json={"batch": first}, headers=basic()).status_code == 200
        # a re-delivery of stored messages is not counted again
        assert httpx.post(f"{url}/segment/site/v1/batch", json={"batch": first}, headers=basic()).status_code == 200
        mixed = [*batch_of(flooder, 3), *batch_of(other, 2)]
        response = httpx.post(f"{url}/segment/site/v1/batch", json={"batch": mixed}, headers=basic())
        assert response.status_code == 429
        assert response.json()["code"] == "rate_limited" and "2 message(s) refused" in response.json()["message"]
        assert 0 < int(response.headers["retry-after"]) <= 3600
        assert response.headers["x-ratelimit-reset"] == response.headers["retry-after"]  # analytics.js reads it
        rows = stored(store)
        assert sum(p.get("anonymousId") == flooder for p in rows.values()) == CAP
        assert sum(p.get("anonymousId") == other for p in rows.values()) == 2
        clock.now += 3600  # the next hour: the visitor may send again
        again = batch_of(flooder, 2)
        assert httpx.post(f"{url}/segment/site/v1/batch", json={"batch": again}, headers=basic()).status_code == 200
    store.dispose()
