"""Meta Lead Ads pull with respx: paging (including an empty page with a next link), throttling, expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from connectors.errors import FatalError, RetriableError
from connectors.retry import RetryPolicy
from connectors.sources.meta_lead_ads import MetaLeadAdsConfig, MetaLeadAdsSource, regain_seconds

SAMPLES = Path("/work/shared/samples")
TOKEN = "EAAB-secret-page-token-0123456789"
LEADS_URL = "https://graph.facebook.com/v21.0/912345678901234/leads"
NEXT_1 = "https://graph.facebook.com/v21.0/912345678901234/leads?after=EMPTY"
NEXT_2 = "https://graph.facebook.com/v21.0/912345678901234/leads?after=LAST"


def source(waits: list[float] | None = None) -> MetaLeadAdsSource:
    sleeps = waits if waits is not None else []
    policy = RetryPolicy(attempts=4, base_delay=0.01, sleep=sleeps.append)
    return MetaLeadAdsSource(MetaLeadAdsConfig(name="clinics", form_ids=["912345678901234"], access_token=TOKEN),
                             policy=policy)


def page(name: str, next_url: str | None) -> dict[str, object]:
    body = json.loads((SAMPLES / name).read_text())
    body["paging"] = {"next": next_url} if next_url else {}
    return body


@respx.mock
def test_pages_are_followed_even_after_an_empty_one() -> None:
    first = respx.get(LEADS_URL, params={"limit": "100"}).mock(
        return_value=httpx.Response(200, json=page("fb_leads_page1.json", NEXT_1)))
    respx.get(NEXT_1).mock(return_value=httpx.Response(200, json={"data": [], "paging": {"next": NEXT_2}}))
    respx.get(NEXT_2).mock(return_value=httpx.Response(200, json=page("fb_leads_page2.json", None)))
    src = source()
    pages = list(src.read({"912345678901234": "1772600000"}))
    assert [len(p.records) for p in pages] == [3, 0, 2]
    assert [p.cursor for p in pages][:2] == [None, None]  # the cursor moves only once the form is complete
    newest = int(datetime(2026, 3, 4, 13, 0, tzinfo=UTC).timestamp())
    assert pages[-1].cursor == str(newest)
    sent = first.calls.last.request.url.params
    assert json.loads(sent["filtering"]) == [{"field": "time_created", "operator": "GREATER_THAN",
                                              "value": 1772600000 - 60}]


def test_field_data_mapping() -> None:
    src = source()
    items = json.loads((SAMPLES / "fb_leads_page1.json").read_text())["data"]
    from connectors.records import RawSubmission

    leads = [src.to_lead(RawSubmission(source=src.name, partition="f", source_record_id=i["id"],
                                       received_at=datetime(2026, 3, 4, tzinfo=UTC), payload=i)) for i in items]
    first, second, organic = leads
    assert (first.email, first.first_name, first.company, first.title) == (
        "anja.weiss@klinikum-beispiel.de", "Anja", "Klinikum Beispiel GmbH", "Leiterin IT")
    assert first.consent.email is True and first.custom["which_modules_are_you_interested_in?"] == [
        "scheduling", "crm_sync", "reporting"]
    assert (second.email, second.attribution.source, second.consent.email) == ("marcus.oneill@gmail.com",
                                                                               "instagram", False)
    assert organic.custom["is_organic"] is True and organic.email == "xiaolong.li@example-logistics.cn"
    assert organic.attribution.ad_id is None


@respx.mock
def test_throttling_longer_than_the_policy_is_not_waited_out_nor_retried() -> None:
    throttled = json.loads((SAMPLES / "fb_error_rate_limit.json").read_text())
    headers = {"X-Business-Use-Case-Usage": throttled["_headers"]["X-Business-Use-Case-Usage"]}
    route = respx.get(LEADS_URL).mock(side_effect=[
        httpx.Response(400, json={"error": throttled["error"]}, headers=headers),
        httpx.Response(200, json={"data": []})])
    waits: list[float] = []
    with pytest.raises(RetriableError) as info:
        list(source(waits).read({}))
    # 17 minutes to regain access: no call sooner would succeed, so none is made; the run puts it off.
    assert route.call_count == 1 and waits == []
    assert (info.value.code, info.value.retry_after) == ("META_17", 17 * 60)
    assert "17 min" in str(info.value)


@respx.mock
def test_throttling_without_an_estimate_is_retried_with_backoff() -> None:
    route = respx.get(LEADS_URL).mock(side_effect=[
        httpx.Response(400, json={"error": {"code": 4, "message": "(#4) Application request limit reached"}},
                       headers={"X-App-Usage": '{"call_count":100}'}),
        httpx.Response(200, json={"data": []})])
    waits: list[float] = []
    assert [p.cursor for p in source(waits).read({})] == ["0"]
    assert route.call_count == 2 and len(waits) == 1


@pytest.mark.parametrize(("header", "error", "seconds"), [
    ('{"1":[{"type":"leadgen","estimated_time_to_regain_access":25}]}', {}, 25 * 60),
    ('{"1":[{"estimated_time_to_regain_access":3}],"2":[{"estimated_time_to_regain_access":9},'
     '{"estimated_time_to_regain_access":"4"}]}', {}, 9 * 60),  # the longest of every business and type
    (None, {"error_data": {"estimated_time_to_regain_access": 25}}, 25 * 60),  # in the error body
    ('{"1":[{"estimated_time_to_regain_access":0}]}', {}, None),
    ('{"1":[{"estimated_time_to_regain_access":-5}]}', {}, None),
    ('{"1":[{"estimated_time_to_regain_access":"\u00b2"}]}', {}, None),  # a superscript digit
    ('{"1":{"estimated_time_to_regain_access":true}}', {}, None),
    ("not json", {}, None), ("[" * 5000, {}, None), ('{"1": 7}', {}, None), ('"x"', {}, None),
    ('{"1":[{"estimated_time_to_regain_access":99999999}]}', {}, 24 * 60 * 60),  # capped at a day
])
def test_regain_time_is_read_from_any_shape_meta_sends(header: str | None, error: dict[str, object],
                                                       seconds: float | None) -> None:
    assert regain_seconds(header, error) == seconds


@respx.mock
def test_expired_token_is_fatal_and_never_shows_the_token() -> None:
    respx.get(LEADS_URL).mock(return_value=httpx.Response(400, json={"error": {
        "message": "Error validating access token: Session has expired", "type": "OAuthException", "code": 190,
        "error_subcode": 463}}))
    with pytest.raises(FatalError, match="expired or revoked") as info:
        list(source().read({}))
    assert TOKEN not in str(info.value)


@respx.mock
def test_server_errors_are_retried_then_succeed() -> None:
    route = respx.get(LEADS_URL).mock(side_effect=[httpx.Response(500), httpx.ConnectError("reset"),
                                                   httpx.Response(200, json={"data": []})])
    assert [p.cursor for p in source().read({})] == ["0"]
    assert route.call_count == 3
