"""Meta webhook source with respx: the Graph API reads (one lead, or a batch by multi-id), failures, parsing."""

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
from connectors.sources import meta_webhook
from connectors.sources.meta_webhook import MetaWebhookConfig, MetaWebhookSource, leadgen_notifications

SAMPLES = Path("/work/shared/samples")
TOKEN = "EAAB-secret-page-token-for-webhooks-0123"
LEAD_ID = "3412987654321001"
GRAPH = "https://graph.facebook.com/v21.0/"
LEAD_URL = f"{GRAPH}{LEAD_ID}"
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
        "anja.weiss@klinikum-beispiel.de", "Anja", "Weiß-Öztürk", "+4915112345678", "Klinikum Beispiel GmbH",
        "Leiterin IT")
    assert (lead.inquiry, lead.consent.email, lead.attribution.ad_id, lead.attribution.campaign) == (
        "within_3_months", True, "120210000000000101", "Q1 Lead Gen – Clinics")
    assert lead.custom["which_modules_are_you_interested_in?"] == ["scheduling", "crm_sync", "reporting"]
    assert lead.received_at == datetime(2026, 3, 4, tzinfo=UTC)


@respx.mock
def test_throttling_is_retriable_and_pauses_further_calls_until_meta_allows() -> None:
    route = respx.get(url__startswith="https://graph.facebook.com/v21.0/").mock(side_effect=[
        throttled(), httpx.Response(200, content=(SAMPLES / "fb_lead_single.json").read_bytes())])
    clock, waits = Clock(), []
    src = source(clock, waits)
    with pytest.raises(RetriableError) as info:
        src.to_lead(notification())
    # 17 minutes is longer than any wait of the policy: not retried, no call sooner than Meta allows
    assert (info.value.code, info.value.retry_after, route.call_count, waits) == ("META_17", 17 * 60, 1, [])
    with pytest.raises(RetriableError):
        src.to_lead(notification("3412987654321002"))  # the rest of the batch waits without calling Meta
    assert route.call_count == 1
    clock.now += 17 * 60 + 1
    assert src.to_lead(notification()).email == "anja.weiss@klinikum-beispiel.de"
    assert route.call_count == 2


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


class FakeGraph:
    """Graph API lead reads over the leads it holds: `/{id}` and the multi-id `/?ids=a,b` (at most 50).

    `failures` answers given call numbers (0-based) with an error instead. An unknown id is left out
    of a multi-id answer, or, with `missing_fails_read`, fails the whole read with code 803.
    """

    def __init__(self, leads: dict[str, dict[str, Any]], failures: dict[int, httpx.Response] | None = None,
                 *, missing_fails_read: bool = False) -> None:
        self.leads, self.failures, self.missing_fails_read = leads, failures or {}, missing_fails_read
        self.calls: list[list[str] | str] = []  # a multi-id read as its list of ids, a single read as its id

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.params["access_token"] == TOKEN and "field_data" in request.url.params["fields"]
        ids = request.url.params.get("ids")
        self.calls.append(ids.split(",") if ids is not None else request.url.path.rsplit("/", 1)[-1])
        if len(self.calls) - 1 in self.failures:
            return self.failures[len(self.calls) - 1]
        if ids is None:
            leadgen_id = request.url.path.rsplit("/", 1)[-1]
            return httpx.Response(200, json=self.leads[leadgen_id]) if leadgen_id in self.leads else UNKNOWN_OBJECT
        wanted = ids.split(",")
        if len(wanted) > 50:
            return httpx.Response(400, json={"error": {"message": f"(#100) Too many IDs. Maximum: 50. Provided: "
                                                                  f"{len(wanted)}.", "type": "OAuthException",
                                                       "code": 100}})
        missing = [i for i in wanted if i not in self.leads]
        if missing and self.missing_fails_read:
            return httpx.Response(400, json={"error": {"message": "(#803) Some of the aliases you requested do not "
                                                                  f"exist: {','.join(missing)}",
                                                       "type": "OAuthException", "code": 803}})
        return httpx.Response(200, json={i: self.leads[i] for i in wanted if i in self.leads})

    @property
    def multi_id_reads(self) -> list[list[str]]:
        return [call for call in self.calls if isinstance(call, list)]


UNKNOWN_OBJECT = httpx.Response(400, json={"error": {"message": "Unsupported get request. Object with ID does not "
                                                                "exist", "type": "GraphMethodException", "code": 100,
                                                     "error_subcode": 33}})


def lead_ids(count: int) -> list[str]:
    return [str(3412987654400000 + n) for n in range(count)]


def graph_leads(ids: list[str]) -> dict[str, dict[str, Any]]:
    leads = {}
    for n, leadgen_id in enumerate(ids):
        item: dict[str, Any] = json.loads((SAMPLES / "fb_lead_single.json").read_text())
        item["id"] = leadgen_id
        item["field_data"][1]["values"] = [f"lead{n}@klinik-{n}.example"]
        leads[leadgen_id] = item
    return leads


@pytest.mark.parametrize(("count", "sizes"), [(1, [1]), (50, [50]), (51, [50, 1]), (120, [50, 50, 20])])
@respx.mock
def test_a_batch_is_read_with_multi_id_calls_of_at_most_50_leads(count: int, sizes: list[int]) -> None:
    ids = lead_ids(count)
    graph = FakeGraph(graph_leads(ids))
    respx.get(url__startswith=GRAPH).mock(side_effect=graph)
    src = source()
    src.prefetch([notification(i) for i in ids])
    emails = [src.to_lead(notification(i)).email for i in ids]
    assert emails == [f"lead{n}@klinik-{n}.example" for n in range(count)]
    assert [len(call) for call in graph.calls] == sizes and graph.calls == graph.multi_id_reads
    assert [i for call in graph.multi_id_reads for i in call] == ids


@pytest.mark.parametrize(("missing_fails_read", "calls"), [
    (False, 1),  # the unknown id is left out of the answer
    (True, 7),   # the whole read fails: halves 8 -> 4+4 -> 2+2 -> 1+1 find it; 4 calls are spent on the search
])
@respx.mock
def test_a_lead_missing_from_a_multi_id_read_is_rejected_naming_it(missing_fails_read: bool, calls: int) -> None:
    ids = lead_ids(8)
    leads = graph_leads(ids)
    del leads[ids[5]]
    graph = FakeGraph(leads, missing_fails_read=missing_fails_read)
    respx.get(url__startswith=GRAPH).mock(side_effect=graph)
    src = source()
    src.prefetch([notification(i) for i in ids])
    for n, leadgen_id in enumerate(ids):
        if n == 5:
            with pytest.raises(RecordRejectedError) as info:
                src.to_lead(notification(leadgen_id))
            assert (info.value.code, info.value.field, info.value.record) == (
                "META_LEAD_UNAVAILABLE", "leadgen_id", f"meta_webhook:clinics/{leadgen_id}")
        else:
            assert src.to_lead(notification(leadgen_id)).email == f"lead{n}@klinik-{n}.example"
    assert len(graph.calls) == calls and graph.calls == graph.multi_id_reads


@pytest.mark.parametrize("failure", [throttled(), httpx.Response(503, text="Service Unavailable")],
                         ids=["throttled", "5xx"])
@pytest.mark.parametrize("failing_read", [0, 1])
@respx.mock
def test_a_failed_prefetch_leaves_the_rest_retriable_without_calls_and_a_later_batch_reads_them(
        failure: httpx.Response, failing_read: int) -> None:
    ids = lead_ids(120)
    # Read `failing_read` fails on both attempts of the retry policy (a throttle naming a 17-minute
    # wait on its only attempt: it is not retried); the reads before it succeed.
    tries = 1 if failure.status_code == 400 else 2
    graph = FakeGraph(graph_leads(ids), {failing_read + n: failure for n in range(tries)})
    respx.get(url__startswith=GRAPH).mock(side_effect=graph)
    clock = Clock()
    src = source(clock)
    src.prefetch([notification(i) for i in ids])
    served = 50 * failing_read
    for leadgen_id in ids[:served]:
        assert src.to_lead(notification(leadgen_id)).email
    for leadgen_id in ids[served:]:
        with pytest.raises(RetriableError):
            src.to_lead(notification(leadgen_id))
    assert len(graph.calls) == failing_read + tries  # nothing more once Meta said no
    clock.now += 17 * 60 + 1
    src.prefetch([notification(i) for i in ids[served:]])
    assert [src.to_lead(notification(i)).email for i in ids[served:]] == [
        f"lead{n}@klinik-{n}.example" for n in range(served, 120)]
    assert graph.calls == graph.multi_id_reads and len(graph.calls) == failing_read + tries + (3 - failing_read)


@respx.mock
def test_an_expired_token_in_prefetch_is_fatal_for_every_row_after_one_call() -> None:
    ids = lead_ids(60)
    graph = FakeGraph(graph_leads(ids), {0: httpx.Response(400, json=EXPIRED)})
    respx.get(url__startswith=GRAPH).mock(side_effect=graph)
    src = source()
    src.prefetch([notification(i) for i in ids])
    for leadgen_id in ids:
        with pytest.raises(FatalError, match="expired or revoked") as info:
            src.to_lead(notification(leadgen_id))
        assert info.value.code == "META_190" and TOKEN not in str(info.value)
    assert len(graph.calls) == 1


@respx.mock
def test_held_leads_last_one_batch_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meta_webhook, "MAX_PREFETCHED", 60)
    ids = lead_ids(121)
    graph = FakeGraph(graph_leads(ids))
    respx.get(url__startswith=GRAPH).mock(side_effect=graph)
    src = source()
    src.prefetch([notification(i) for i in ids[:120]])
    assert [len(call) for call in graph.calls] == [50, 10]
    assert [src.to_lead(notification(i)).email for i in ids[:120]] == [f"lead{n}@klinik-{n}.example"
                                                                       for n in range(120)]
    assert graph.calls[2:] == ids[60:120]  # past the bound: one read per lead, as without prefetch
    src.prefetch([notification(ids[120])])
    src.prefetch([notification(ids[0])])  # a new batch: the lead held for the previous one is dropped
    assert src.to_lead(notification(ids[120])).email == "lead120@klinik-120.example"
    assert graph.calls[-3:] == [[ids[120]], [ids[0]], ids[120]]


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
