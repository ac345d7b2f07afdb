"""The webhook receiver over real HTTP on 127.0.0.1, with the vendors' sample payloads and signatures."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.sources.webhooks import WebFormConfig, WebhookSource
from flows.state import StateStore
from tests.receiver.server import GOOGLE_KEY, JSON_SECRET, SAMPLES, TF_SECRET, meta_signature, webflow_headers

__all__ = ["GOOGLE_KEY", "SAMPLES", "TF_SECRET"]  # the pipeline test reads the sample secrets from here


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


ENDPOINTS = ["/typeform/demo", "/google_ads/leadform", "/web_form/demo-request", "/meta_webhook/clinics",
             "/webflow/site", "/json/partner", "/json/open", "/segment/web/v1/track", "/segment/web/v1/batch",
             "/sendgrid/mail"]


def assert_all_or_nothing(response: httpx.Response, before: int, after: int) -> None:
    """A 4xx stores nothing; a 2xx stores exactly the records it reports as new."""
    assert response.status_code < 500
    if response.status_code != 200:
        assert after == before
        return
    answer = response.json()
    if "records" in answer or "duplicate" in answer:
        new = answer["records"] - answer["duplicates"] if "records" in answer else int(not answer["duplicate"])
        assert after == before + new
    else:  # Segment's own answer ({"success": true}) has no counts: the requests here carry one message each
        assert answer.get("success") is True and after - before in (0, 1)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(ENDPOINTS), body=st.binary(max_size=2048),
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "multipart/form-data",
                                     "text/plain", ""]))
def test_malformed_bodies_never_5xx_and_never_half_stored(receiver: tuple[str, StateStore], path: str, body: bytes,
                                                          content_type: str) -> None:
    url, store = receiver
    before = store.inbox_count()
    response = httpx.post(url + path, content=body, headers={"Content-Type": content_type} if content_type else {})
    assert_all_or_nothing(response, before, store.inbox_count())


_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                                          max_size=3), max_leaves=12)
_vendorish = st.fixed_dictionaries({}, optional={
    "object": st.sampled_from(["page", "user"]) | _json_values,
    "entry": st.lists(st.fixed_dictionaries({}, optional={
        "id": _json_values, "changes": st.lists(st.fixed_dictionaries({}, optional={
            "field": st.sampled_from(["leadgen", "feed"]),
            "value": st.fixed_dictionaries({}, optional={"leadgen_id": _json_values, "form_id": _json_values})}),
            max_size=3) | _json_values}), max_size=3) | _json_values,
    "triggerType": st.just("form_submission") | _json_values,
    "payload": st.fixed_dictionaries({}, optional={"id": _json_values, "data": _json_values,
                                                   "formId": _json_values}) | _json_values,
    "lead": st.fixed_dictionaries({}, optional={"ref": _json_values, "contact": _json_values}) | _json_values,
})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/meta_webhook/clinics", "/webflow/site", "/json/partner"]),
       body=st.one_of(_vendorish.map(lambda d: json.dumps(d).encode()),
                      _json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=512)))
def test_signed_but_malformed_bodies_reach_the_parser_and_store_all_or_nothing(
        receiver: tuple[str, StateStore], path: str, body: bytes) -> None:
    url, store = receiver
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body),
               "X-Partner-Token": JSON_SECRET, **webflow_headers(body)}
    before = store.inbox_count()
    response = httpx.post(url + path, content=body, headers=headers)
    assert response.status_code != 401  # the signature held: the body itself was judged
    assert_all_or_nothing(response, before, store.inbox_count())
