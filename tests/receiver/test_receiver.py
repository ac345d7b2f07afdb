"""The webhook receiver over real HTTP on 127.0.0.1, with the vendors' sample payloads and signatures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.sources.webhooks import GoogleAdsConfig, TypeformConfig, WebFormConfig, WebhookSource
from flows.receiver import create_app
from flows.state import StateStore
from tests.support.postgres import free_port

SAMPLES = Path("/work/shared/samples")
TF_SECRET = json.loads((SAMPLES / "typeform_webhook.headers.json").read_text())["_secret"]
GOOGLE_KEY = json.loads((SAMPLES / "google_ads.headers.json").read_text())["_configured_google_key"]


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StateStore]]:
    store = StateStore(f"sqlite:///{tmp_path_factory.mktemp('rx') / 'state.db'}")
    store.create_schema()
    sources = {s.name: s for s in (
        WebhookSource(WebFormConfig(name="demo-request", honeypot_field="website")),
        WebhookSource(TypeformConfig(name="demo", secret=TF_SECRET)),
        WebhookSource(GoogleAdsConfig(name="leadform", google_key=GOOGLE_KEY)))}
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store, sources, max_body_bytes=64 * 1024), host="127.0.0.1",
                                           port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", store
    server.should_exit = True
    thread.join(5)


def count(store: StateStore, source: str) -> int:
    return store.inbox_count(source=source)


def test_typeform_sample_with_its_signature_is_stored_once(receiver: tuple[str, StateStore]) -> None:
    url, store = receiver
    body = (SAMPLES / "typeform_webhook.json").read_bytes()
    signature = json.loads((SAMPLES / "typeform_webhook.headers.json").read_text())["Typeform-Signature"]
    headers = {"Content-Type": "application/json", "Typeform-Signature": signature}
    first = httpx.post(f"{url}/typeform/demo", content=body, headers=headers)
    again = httpx.post(f"{url}/typeform/demo", content=body, headers=headers)  # re-delivered
    assert (first.status_code, first.json(), again.json()) == (200, {"stored": True, "duplicate": False},
                                                               {"stored": True, "duplicate": True})
    assert count(store, "typeform:demo") == 1


@pytest.mark.parametrize("signature", [None, "sha256=AAAA", "sha256=" + "x" * 44, "md5=abc"])
def test_forged_or_missing_signature_is_401_and_nothing_stored(receiver: tuple[str, StateStore],
                                                               signature: str | None) -> None:
    url, store = receiver
    before = store.inbox_count()
    body = (SAMPLES / "typeform_webhook.json").read_bytes().replace(b"Kierkegaard", b"Forged")
    headers = {"Content-Type": "application/json", **({"Typeform-Signature": signature} if signature else {})}
    assert httpx.post(f"{url}/typeform/demo", content=body, headers=headers).status_code == 401
    assert store.inbox_count() == before


def test_google_ads_sample_and_wrong_key(receiver: tuple[str, StateStore]) -> None:
    url, store = receiver
    body = (SAMPLES / "google_ads_lead.json").read_bytes()
    assert httpx.post(f"{url}/google-ads/leadform", content=body).status_code == 404  # kind is google_ads
    ok = httpx.post(f"{url}/google_ads/leadform", content=body, headers={"Content-Type": "application/json"})
    assert ok.status_code == 200 and count(store, "google_ads:leadform") == 1
    forged = body.replace(GOOGLE_KEY.encode(), b"gk_wrong")
    bad = httpx.post(f"{url}/google_ads/leadform", content=forged, headers={"Content-Type": "application/json"})
    assert bad.status_code == 401 and count(store, "google_ads:leadform") == 1


def test_html_form_sample_urlencoded(receiver: tuple[str, StateStore]) -> None:
    url, store = receiver
    raw = (SAMPLES / "html_form.txt").read_bytes()
    body = raw.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[1]
    response = httpx.post(f"{url}/web_form/demo-request", content=body.strip(),
                          headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert response.status_code == 200
    [row] = store.claim_batch("t", 100, __import__("datetime").timedelta(minutes=1),
                              sources=["web_form:demo-request"])
    fields = row.raw.payload["fields"]
    assert fields["email"] == "zoe.nakamura+demo@example.co.uk"  # %2B is a plus, not a space
    assert fields["interest"] == ["lead_routing", "crm_sync"]   # repeated keys kept
    assert fields["first_name"] == "Zoë" and "👋" in fields["message"]
    lead = WebhookSource(WebFormConfig(name="demo-request", honeypot_field="website")).to_lead(row.raw)
    assert (lead.attribution.gclid, lead.attribution.campaign) == ("Cj0KCQiA5rGuBhCnARIsAN11vgT_fake_gclid_BwE",
                                                                   "uk_brand_2026q1")
    assert lead.product_interest == ["lead_routing", "crm_sync"] and lead.consent.email is True
    store.set_inbox_status([row.id], "done")


def test_multipart_form_and_honeypot_spam(receiver: tuple[str, StateStore]) -> None:
    url, store = receiver
    ok = httpx.post(f"{url}/web_form/demo-request", data={"email": "ann@bigco.example", "first_name": "Ann"},
                    files={"cv": ("cv.txt", b"not lead data")})
    bot = httpx.post(f"{url}/web_form/demo-request", data={"email": "bot@spam.example", "website": "http://x"})
    assert ok.status_code == bot.status_code == 200
    assert store.inbox_count(source="web_form:demo-request", status="spam") == 1


@pytest.mark.parametrize(("path", "body", "headers", "status"), [
    ("/typeform/demo", b"x" * (65 * 1024), {"Content-Type": "application/json"}, 413),
    ("/web_form/demo-request", b"<xml/>", {"Content-Type": "text/xml"}, 415),
    ("/google_ads/leadform", b"{not json", {"Content-Type": "application/json"}, 401),
    ("/web_form/demo-request", b"{not json", {"Content-Type": "application/json"}, 400),
    ("/web_form/nope", b"a=b", {"Content-Type": "application/x-www-form-urlencoded"}, 404),
])
def test_bad_requests_store_nothing(receiver: tuple[str, StateStore], path: str, body: bytes,
                                   headers: dict[str, str], status: int) -> None:
    url, store = receiver
    before = store.inbox_count()
    response = httpx.post(url + path, content=body, headers=headers)
    assert response.status_code == status and "error" in response.json()
    assert store.inbox_count() == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/typeform/demo", "/google_ads/leadform", "/web_form/demo-request"]),
       body=st.binary(max_size=2048),
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "multipart/form-data",
                                     "text/plain", ""]))
def test_malformed_bodies_never_5xx_and_never_half_stored(receiver: tuple[str, StateStore], path: str, body: bytes,
                                                          content_type: str) -> None:
    url, store = receiver
    before = store.inbox_count()
    response = httpx.post(url + path, content=body, headers={"Content-Type": content_type} if content_type else {})
    assert response.status_code < 500
    after = store.inbox_count()
    assert after == before or (response.status_code == 200 and after == before + 1)
