"""Meta Lead Ads, Webflow and generic JSON webhooks over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.records import RawSubmission
from flows.state import StateStore
from tests.receiver.conftest import receiver_sources
from tests.receiver.server import (
    JSON_SECRET,
    META_HEADERS,
    META_VERIFY_TOKEN,
    SAMPLES,
    meta_signature,
    webflow_headers,
)

META_BODY = (SAMPLES / "fb_webhook.json").read_bytes()
WEBFLOW_BODY = json.dumps({"triggerType": "form_submission", "payload": {
    "name": "Partner form", "siteId": "65427cf400e02b306eaa049c",
    "data": {"First Name": "Zaphod", "Last Name": "Beeblebrox", "email": "Zaphod@HeartOfGold.example",
             "Phone Number": 15550000000, "Organisation": "Heart of Gold Ltd", "utm_campaign": "launch"},
    "schema": [{"fieldName": "First Name", "fieldType": "FormTextInput", "fieldElementId": "285042f7"}],
    "submittedAt": "2022-09-14T12:35:16.117Z", "id": "6321ca84df3949bfc6752327",
    "formId": "65429eadebe8a9f3a30f62d0"}}).encode()


def rows(store: StateStore, source: str) -> list[RawSubmission]:
    claimed = store.claim_batch("test", 100, timedelta(seconds=1), sources=[source])
    store.release_claims("test", [r.id for r in claimed], "looked at by a test", count_attempt=False)
    return [r.raw for r in claimed]


@pytest.mark.parametrize(("query", "status", "text"), [
    ({"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": META_VERIFY_TOKEN}, 200,
     "1158201444"),
    ({"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "meatyhamhock"}, 403, None),
    ({"hub.mode": "subscribe", "hub.challenge": "1158201444"}, 403, None),
    ({"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": META_VERIFY_TOKEN}, 403, None),
    ({"hub.mode": "subscribe", "hub.verify_token": META_VERIFY_TOKEN}, 400, None),
])
def test_meta_verification_handshake(receiver: tuple[str, StateStore], query: dict[str, str], status: int,
                                     text: str | None) -> None:
    url, _ = receiver
    response = httpx.get(f"{url}/meta_webhook/clinics", params=query)
    assert response.status_code == status
    if text is not None:
        assert response.text == text and response.headers["content-type"].startswith("text/plain")


def test_no_handshake_for_other_endpoints(receiver: tuple[str, StateStore]) -> None:
    url, _ = receiver
    query = {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": META_VERIFY_TOKEN}
    assert httpx.get(f"{url}/typeform/demo", params=query).status_code == 404


def test_meta_sample_notification_is_stored_per_leadgen_id_once(receiver: tuple[str, StateStore]) -> None:
    url, store = receiver
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": META_HEADERS["X-Hub-Signature-256"]}
    first = httpx.post(f"{url}/meta_webhook/clinics", content=META_BODY, headers=headers)
    again = httpx.post(f"{url}/meta_webhook/clinics", content=META_BODY, headers=headers)  # Meta re-delivers
    assert (first.status_code, first.json(), again.json()) == (
        200, {"stored": True, "records": 3, "duplicates": 0}, {"stored": True, "records": 3, "duplicates": 3})
    stored = {r.source_record_id: r for r in rows(store, "meta_webhook:clinics")}
    assert set(stored) == {"3412987654321001", "3412987654321002", "3412987654321003"}
    organic = stored["3412987654321003"]
    assert (organic.partition, organic.payload["page_id"], "ad_id" in organic.payload) == (
        "998877665544332", "104857600999999", False)


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=" + META_HEADERS["X-Hub-Signature"][5:],
                                       META_HEADERS["X-Hub-Signature-256"].upper(), meta_signature(META_BODY, "wrong")])
def test_meta_forged_or_missing_signature_is_401_and_nothing_stored(receiver: tuple[str, StateStore],
                                                                    signature: str | None) -> None:
    url, store = receiver
    body = META_BODY.replace(b"3412987654321001", b"3412987654329999")  # a forger's own lead id
    if signature == META_HEADERS["X-Hub-Signature-256"].upper():
        body = META_BODY.replace(b"3412987654321001", b"3412987654329998")
    before = store.inbox_count()
    headers = {"Content-Type": "application/json", **({"X-Hub-Signature-256": signature} if signature else {})}
    assert httpx.post(f"{url}/meta_webhook/clinics", content=body, headers=headers).status_code == 401
    assert store.inbox_count() == before


def test_meta_numeric_ids_are_strings_and_a_change_without_id_rejects_the_whole_body(
        receiver: tuple[str, StateStore]) -> None:
    url, store = receiver
    numeric = json.dumps({"object": "page", "entry": [{"id": 7, "time": 1, "changes": [
        {"field": "leadgen", "value": {"leadgen_id": 444000111, "form_id": 55, "ad_id": 0, "created_time": 1}}]}]})
    broken = json.dumps({"object": "page", "entry": [{"id": "7", "changes": [
        {"field": "leadgen", "value": {"leadgen_id": "444000112"}}, {"field": "leadgen", "value": {"form_id": "1"}}]}]})
    before = store.inbox_count()
    for body, status in ((broken, 400), (numeric, 200)):
        response = httpx.post(f"{url}/meta_webhook/clinics", content=body,
                              headers={"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(
                                  body.encode())})
        assert response.status_code == status
    assert store.inbox_count() == before + 1
    [row] = [r for r in rows(store, "meta_webhook:clinics") if r.source_record_id == "444000111"]
    assert (row.partition, row.payload["form_id"], row.payload["ad_id"], row.payload["page_id"]) == ("55", "55", 0, "7")


def test_webflow_signed_submission_stored_once_and_mapped(receiver: tuple[str, StateStore]) -> None:
    url, store = receiver
    first = httpx.post(f"{url}/webflow/site", content=WEBFLOW_BODY, headers=webflow_headers(WEBFLOW_BODY))
    again = httpx.post(f"{url}/webflow/site", content=WEBFLOW_BODY, headers=webflow_headers(WEBFLOW_BODY))
    assert (first.json(), again.json()) == ({"stored": True, "duplicate": False}, {"stored": True, "duplicate": True})
    [raw] = rows(store, "webflow:site")
    lead = receiver_sources()["webflow:site"].to_lead(raw)
    assert (lead.email, lead.first_name, lead.last_name, lead.phone, lead.company) == (
        "zaphod@heartofgold.example", "Zaphod", "Beeblebrox", "+15550000000", "Heart of Gold Ltd")
    assert (lead.attribution.campaign, lead.attribution.form_id, raw.partition) == (
        "launch", "65429eadebe8a9f3a30f62d0", "65429eadebe8a9f3a30f62d0")
    assert lead.received_at == datetime(2022, 9, 14, 12, 35, 16, 117000, tzinfo=UTC)


@pytest.mark.parametrize(("change", "status"), [
    ("stale", 401), ("future", 401), ("wrong-secret", 401), ("no-timestamp", 401), ("tampered", 401),
    ("not-a-form", 400), ("no-id", 400),
])
def test_webflow_rejections_store_nothing(receiver: tuple[str, StateStore], change: str, status: int) -> None:
    url, store = receiver
    body = WEBFLOW_BODY.replace(b"6321ca84df3949bfc6752327", b"ffff0000ffff0000ffff0000")
    headers = webflow_headers(body)
    if change == "stale":
        headers = webflow_headers(body, age_seconds=301)
    elif change == "future":
        headers = webflow_headers(body, age_seconds=-400)
    elif change == "wrong-secret":
        headers = webflow_headers(body, secret="not-the-secret")
    elif change == "no-timestamp":
        del headers["x-webflow-timestamp"]
    elif change == "tampered":
        body = body.replace(b"Zaphod", b"Arthur")
    elif change == "not-a-form":
        body = body.replace(b'"form_submission"', b'"site_publish"')
        headers = webflow_headers(body)
    elif change == "no-id":
        body = body.replace(b'"id": "ffff0000ffff0000ffff0000", ', b"")
        headers = webflow_headers(body)
    before = store.inbox_count()
    assert httpx.post(f"{url}/webflow/site", content=body, headers=headers).status_code == status
    assert store.inbox_count() == before


def test_webflow_honeypot_is_spam(receiver: tuple[str, StateStore]) -> None:
    url, store = receiver
    body = WEBFLOW_BODY.replace(b'"utm_campaign"', b'"website": "http://bot.example", "utm_campaign"').replace(
        b"6321ca84df3949bfc6752327", b"b0b0b0b0b0b0b0b0b0b0b0b0")
    assert httpx.post(f"{url}/webflow/site", content=body, headers=webflow_headers(body)).status_code == 200
    assert store.inbox_count(source="webflow:site", status="spam") == 1


PARTNER = {"lead": {"ref": "P-1001", "contact": {"email": "Li.Wei@Partner.example", "name": "Li Wei"},
                    "company": "Partner AG", "utm": {"campaign": "reseller-q3"}, "optin": "yes", "plan": "pro"}}


@pytest.mark.parametrize(("token", "status"), [(JSON_SECRET, 200), (None, 401), ("guess", 401),
                                               (JSON_SECRET + "x", 401)])
def test_json_endpoint_shared_secret(receiver: tuple[str, StateStore], token: str | None, status: int) -> None:
    url, store = receiver
    body = json.dumps({"lead": {**PARTNER["lead"], "ref": f"P-secret-{token!r}"}})
    before = store.inbox_count()
    headers = {"Content-Type": "application/json", **({"X-Partner-Token": token} if token else {})}
    assert httpx.post(f"{url}/json/partner", content=body, headers=headers).status_code == status
    assert store.inbox_count() == before + (status == 200)


def test_json_endpoint_maps_paths_and_dedupes_on_the_id_path(receiver: tuple[str, StateStore]) -> None:
    url, store = receiver
    headers = {"Content-Type": "application/json", "X-Partner-Token": JSON_SECRET}
    first = httpx.post(f"{url}/json/partner", content=json.dumps(PARTNER), headers=headers)
    changed = {"lead": {**PARTNER["lead"], "plan": "enterprise"}}  # same ref: the same record, re-sent
    again = httpx.post(f"{url}/json/partner", content=json.dumps(changed), headers=headers)
    no_ref = httpx.post(f"{url}/json/partner", content=json.dumps({"lead": {"contact": {}}}), headers=headers)
    assert (first.json()["duplicate"], again.json()["duplicate"], no_ref.status_code) == (False, True, 400)
    [raw] = [r for r in rows(store, "json:partner") if r.source_record_id == "P-1001"]
    lead = receiver_sources()["json:partner"].to_lead(raw)
    assert (lead.email, lead.first_name, lead.last_name, lead.company, lead.attribution.campaign,
            lead.consent.email, lead.custom) == ("li.wei@partner.example", "Li", "Wei", "Partner AG", "reseller-q3",
                                                 True, {"plan": "pro"})


def test_json_endpoint_without_id_path_dedupes_on_content(receiver: tuple[str, StateStore]) -> None:
    url, store = receiver
    headers = {"Content-Type": "application/json"}
    first = httpx.post(f"{url}/json/open", content=b'{"email": "a@b.example", "phone": "+1 415 555 0100"}',
                       headers=headers)
    spaced = httpx.post(f"{url}/json/open", content=b'{ "phone" : "+1 415 555 0100",\n "email": "a@b.example" }',
                        headers=headers)
    other = httpx.post(f"{url}/json/open", content=b'{"email": "c@d.example"}', headers=headers)
    assert [r.json()["duplicate"] for r in (first, spaced, other)] == [False, True, False]
    assert store.inbox_count(source="json:open") == 2
