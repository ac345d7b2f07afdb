"""Meta webhook source with respx: the Graph API read by leadgen id, its failures, and notification parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from connectors.errors import FatalError, RecordRejectedError, RetriableError
from connectors.records import RawSubmission
from connectors.retry import RetryPolicy
from connectors.sources.meta_webhook import MetaWebhookConfig, MetaWebhookSource, leadgen_notifications

SAMPLES = Path("/work/shared/samples")
TOKEN = "EAAB-secret-page-token-for-webhooks-0123"
LEAD_ID = "3412987654321001"
LEAD_URL = f"https://graph.facebook.com/v21.0/{LEAD_ID}"
THROTTLED = json.loads((SAMPLES / "fb_error_rate_limit.json").read_text())
EXPIRED = {"error": {"message": "Error validating access token: Session has expired", "type": "OAuthException",
                     "code": 190, "error_subcode": 463}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source(clock: Clock | None = None, waits: list[float] | None = None) -> MetaWebhookSource:
    policy = RetryPolicy(attempts=2, base_delay=0.01, sleep=(waits if waits is not None else []).append)
    config = MetaWebhookConfig(name="clinics", verify_token="vt-0123", app_secret="as-0123456789",
                               access_token=TOKEN, field_map={"what_is_your_timeline?": "inquiry"})
    return MetaWebhookSource(config, policy=policy, clock=clock or Clock())


def notification(leadgen_id: str = LEAD_ID) -> RawSubmission:
    payload = {"leadgen_id": leadgen_id, "form_id": "912345678901234", "ad_id": "120210000000000101",
               "page_id": "104857600123456", "created_time": 1772619322}
    return RawSubmission(source="meta_webhook:clinics", partition="912345678901234", source_record_id=leadgen_id,
                         received_at=datetime(2026, 3, 4, tzinfo=UTC), payload=payload)


def throttled() -> httpx.Response:
    headers = {k: v for k, v in THROTTLED["_headers"].items() if v is not None}
    return httpx.Response(400, json={"error": THROTTLED["error"]}, headers=headers)


@respx.mock
def test_the_lead_is_read_by_its_leadgen_id_and_mapped() -> None:
    route = respx.get(LEAD_URL).mock(return_value=httpx.Response(
        200, content=(SAMPLES / "fb_lead_single.json").read_bytes()))
    lead = source().to_lead(notification())
    params = route.calls.last.request.url.params
    assert params["access_token"] == TOKEN and "field_data" in params["fields"].split(",")
    assert (lead.email, lead.first_name, lead.last_name, lead.phone, lead.company, lead.title) == (
        "anja.weiss@klinikum-beispiel.de", "Dr.", "Anja Weiß-Öztürk", "+4915112345678", "Klinikum Beispiel GmbH",
        "Leiterin IT")
    assert (lead.inquiry, lead.consent.email, lead.attribution.ad_id, lead.attribution.campaign) == (
        "within_3_months", True, "120210000000000101", "Q1 Lead Gen – Clinics")
    assert lead.custom["which_modules_are_you_interested_in?"] == ["scheduling", "crm_sync", "reporting"]
    assert lead.received_at == datetime(2026, 3, 4, tzinfo=UTC)


@respx.mock
def test_throttling_is_retriable_and_pauses_further_calls_until_meta_allows() -> None:
    route = respx.get(url__startswith="https://graph.facebook.com/v21.0/").mock(side_effect=[
        throttled(), throttled(), httpx.Response(200, content=(SAMPLES / "fb_lead_single.json").read_bytes())])
    clock, waits = Clock(), []
    src = source(clock, waits)
    with pytest.raises(RetriableError) as info:
        src.to_lead(notification())
    assert (info.value.code, info.value.retry_after, route.call_count, waits) == ("META_17", 17 * 60, 2, [30.0])
    with pytest.raises(RetriableError):
        src.to_lead(notification("3412987654321002"))  # the rest of the batch waits without calling Meta
    assert route.call_count == 2
    clock.now += 17 * 60 + 1
    assert src.to_lead(notification()).email == "anja.weiss@klinikum-beispiel.de"
    assert route.call_count == 3


@respx.mock
def test_expired_token_is_fatal_with_a_clear_reason_and_no_token() -> None:
    route = respx.get(LEAD_URL).mock(return_value=httpx.Response(400, json=EXPIRED))
    src = source()
    for _ in range(2):
        with pytest.raises(FatalError, match="expired or revoked") as info:
            src.to_lead(notification())
        assert info.value.code == "META_190" and TOKEN not in str(info.value)
    assert route.call_count == 1


@pytest.mark.parametrize(("response", "code"), [
    (httpx.Response(400, json={"error": {"message": "Unsupported get request. Object with ID does not exist",
                                         "type": "GraphMethodException", "code": 100, "error_subcode": 33}}),
     "META_LEAD_UNAVAILABLE"),
    (httpx.Response(200, json={"id": LEAD_ID, "created_time": "2026-03-04T10:15:22+0000"}), "META_NO_FIELD_DATA"),
])
@respx.mock
def test_a_lead_meta_does_not_serve_is_rejected_naming_the_leadgen_id(response: httpx.Response, code: str) -> None:
    respx.get(LEAD_URL).mock(return_value=response)
    with pytest.raises(RecordRejectedError) as info:
        source().to_lead(notification())
    assert info.value.code == code and LEAD_ID in str(info.value)


def test_sample_notification_has_three_leads_with_their_pages() -> None:
    body = json.loads((SAMPLES / "fb_webhook.json").read_text())
    found = leadgen_notifications(body)
    assert [(n["leadgen_id"], n["form_id"], n["page_id"], n.get("ad_id")) for n in found] == [
        ("3412987654321001", "912345678901234", "104857600123456", "120210000000000101"),
        ("3412987654321002", "912345678901234", "104857600123456", "120210000000000102"),
        ("3412987654321003", "998877665544332", "104857600999999", None)]


@pytest.mark.parametrize("body", [
    {}, {"object": "user", "entry": []}, {"object": "page", "entry": {}}, {"object": "page", "entry": [3]},
    {"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id": ""}}]}]},
    {"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id": True}}]}]},
    {"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": [1]}]}]},
])
def test_malformed_notifications_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"entr|leadgen_id|page"):
        leadgen_notifications(body)


def test_other_fields_are_ignored() -> None:
    body = {"object": "page", "entry": [{"id": "1", "changes": [{"field": "feed", "value": {"post_id": "9"}}]}]}
    assert leadgen_notifications(body) == []
