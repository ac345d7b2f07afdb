"""LinkedIn Lead Sync pull with respx: Rest.li query, headers, paging, time window and cursor, errors, mapping."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from connectors.errors import FatalError, RetriableError
from connectors.redaction import redact
from connectors.retry import RetryPolicy
from connectors.sources.base import Page
from connectors.sources.linkedin_lead_gen import LinkedInLeadGenConfig, LinkedInLeadGenSource

SAMPLES = Path("/work/shared/samples")
TOKEN = "AQV-linkedin-secret-token-0123456789"
OWNER = "urn:li:sponsoredAccount:508123456"
OWNER_PARAM = "owner=(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A508123456)"
NOW_MS = 1772668800000
FORMS = json.loads((SAMPLES / "linkedin_form.json").read_text())
RESPONSES = json.loads((SAMPLES / "linkedin_responses.json").read_text())
FIRST_ID, SECOND_ID = (e["id"] for e in RESPONSES["elements"])


def third_lead() -> dict[str, Any]:
    lead = copy.deepcopy(RESPONSES["elements"][0])
    lead.update(id="0c0ffee0-1111-2222-3333-444455556666-1", submittedAt=RESPONSES["elements"][1]["submittedAt"],
                testLead=True)
    lead["formResponse"]["answers"][0]["answerDetails"]["textQuestionAnswer"]["answer"] = "test@fjordtech.example"
    return lead


def last_page() -> dict[str, Any]:
    return {"paging": {"start": 2, "count": 2, "total": 3, "links": []}, "elements": [third_lead()]}


def source(waits: list[float] | None = None, **config: Any) -> LinkedInLeadGenSource:
    policy = RetryPolicy(attempts=4, base_delay=0.01, sleep=(waits if waits is not None else []).append)
    return LinkedInLeadGenSource(LinkedInLeadGenConfig(name="emea", owner=OWNER, access_token=TOKEN, page_size=2,
                                                       **config), policy=policy, now_ms=lambda: NOW_MS)


def mock_api(responses: list[httpx.Response] | None = None) -> tuple[respx.Route, respx.Route]:
    forms = respx.route(method="GET", path="/rest/leadForms").mock(return_value=httpx.Response(200, json=FORMS))
    leads = respx.route(method="GET", path="/rest/leadFormResponses").mock(side_effect=responses or [
        httpx.Response(200, json=RESPONSES), httpx.Response(200, json=last_page())])
    return forms, leads


def query(route: respx.Route, call: int = 0) -> str:
    return route.calls[call].request.url.query.decode()


@respx.mock
def test_paging_query_syntax_headers_and_cursor() -> None:
    forms, leads = mock_api()
    pages = list(source().read({}))
    assert [len(p.records) for p in pages] == [2, 1]
    assert pages[0].cursor is None  # responses are not promised in order: the cursor moves after the window
    assert json.loads(pages[1].cursor or "") == {"ms": 1772641000001,
                                                 "ids": sorted([SECOND_ID, third_lead()["id"]])}
    start = NOW_MS - 30 * 24 * 3600 * 1000
    assert query(leads, 0) == (f"q=owner&{OWNER_PARAM}&leadType=(leadType:SPONSORED)&limitedToTestLeads=false"
                               f"&submittedAtTimeRange=(start:{start},end:{NOW_MS})&start=0&count=2")
    assert query(leads, 1).endswith("&start=2&count=2")
    assert query(forms) == f"q=owner&{OWNER_PARAM}&start=0&count=2"
    headers = leads.calls[0].request.headers
    assert (headers["LinkedIn-Version"], headers["X-Restli-Protocol-Version"], headers["Authorization"]) == (
        "202601", "2.0.0", f"Bearer {TOKEN}")
    raw = pages[0].records[0]
    assert (raw.source, raw.partition, raw.source_record_id, raw.cursor_value) == (
        "linkedin_lead_gen:emea", OWNER, FIRST_ID, "1772640127345")
    assert raw.payload["response"] == RESPONSES["elements"][0]  # the vendor's record, untouched


@respx.mock
def test_window_starts_at_the_cursor_and_skips_ids_already_read() -> None:
    cursor = json.dumps({"ms": 1772641000001, "ids": [SECOND_ID]})
    page = {"paging": {"start": 0, "count": 2, "total": 2, "links": []},
            "elements": [RESPONSES["elements"][1], third_lead()]}
    _, leads = mock_api([httpx.Response(200, json=page)])
    [only] = list(source(linkedin_version="202605").read({OWNER: cursor}))
    assert [r.source_record_id for r in only.records] == [third_lead()["id"]]
    assert "submittedAtTimeRange=(start:1772641000001,end:1772668800000)" in query(leads)
    assert leads.calls[0].request.headers["LinkedIn-Version"] == "202605"
    assert json.loads(only.cursor or "") == {"ms": 1772641000001, "ids": sorted([SECOND_ID, third_lead()["id"]])}


@respx.mock
def test_an_empty_window_keeps_the_cursor() -> None:
    cursor = json.dumps({"ms": 1772641000001, "ids": [SECOND_ID]})
    mock_api([httpx.Response(200, json={"paging": {"start": 0, "count": 2, "total": 0, "links": []},
                                        "elements": []})])
    assert [(len(p.records), p.cursor) for p in source().read({OWNER: cursor})] == [(0, cursor)]


@respx.mock
def test_throttling_waits_as_long_as_linkedin_says_then_resumes() -> None:
    waits: list[float] = []
    _, leads = mock_api([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=RESPONSES),
                         httpx.Response(503), httpx.Response(200, json=last_page())])
    pages = list(source(waits).read({}))
    assert [len(p.records) for p in pages] == [2, 1] and leads.call_count == 4
    assert waits[0] == 7.0 and len(waits) == 2


@respx.mock
def test_throttling_that_outlasts_the_retries_is_retriable_and_saves_no_cursor() -> None:
    mock_api([httpx.Response(429, headers={"Retry-After": "1"})] * 4)
    pages: list[Page] = []
    with pytest.raises(RetriableError) as info:
        pages.extend(source().read({}))
    assert info.value.code == "HTTP_429" and pages == []


@pytest.mark.parametrize(("status", "code", "words"), [(401, "LINKEDIN_401", "expired or revoked"),
                                                        (403, "LINKEDIN_403", "r_marketing_leadgen_automation"),
                                                        (426, "LINKEDIN_426", "linkedin_version")])
@respx.mock
def test_auth_and_version_failures_are_fatal_and_never_show_the_token(status: int, code: str, words: str) -> None:
    respx.route(method="GET", path="/rest/leadForms").mock(return_value=httpx.Response(
        status, json={"status": status, "message": f"Bearer {TOKEN} is not valid"}))
    with pytest.raises(FatalError, match=words) as info:
        list(source().read({}))
    assert info.value.code == code and TOKEN not in str(info.value)
    assert words in redact(str(info.value))  # still readable once masked for the dead-letter store


@respx.mock
def test_network_errors_are_retried() -> None:
    _, leads = mock_api([httpx.ConnectError("reset"), httpx.Response(500), httpx.Response(200, json=RESPONSES),
                         httpx.Response(200, json=last_page())])
    assert sum(len(p.records) for p in source().read({})) == 3 and leads.call_count == 4


@respx.mock
def test_a_form_missing_from_the_listing_is_fetched_by_id() -> None:
    respx.route(method="GET", path="/rest/leadForms").mock(return_value=httpx.Response(200, json={
        "paging": {"start": 0, "count": 2, "links": []}, "elements": []}))
    single = respx.route(method="GET", path="/rest/leadForms/7234246").mock(
        return_value=httpx.Response(200, json=FORMS["elements"][0]))
    respx.route(method="GET", path="/rest/leadFormResponses").mock(side_effect=[
        httpx.Response(200, json=RESPONSES), httpx.Response(200, json=last_page())])
    pages = list(source().read({}))
    assert single.call_count == 1  # once, then remembered
    assert pages[0].records[0].payload["form"]["questions"]["107234246"]["predefined"] == "FIRST_NAME"


@respx.mock
def test_answers_map_through_predefined_fields_and_custom_questions_are_kept() -> None:
    mock_api()
    src = source(field_map={"807234246": "inquiry"})
    first, second, test = (src.to_lead(r) for p in src.read({}) for r in p.records)
    assert (first.email, first.first_name, first.last_name, first.title, first.company, first.employees) == (
        "henrik.lund@fjordtech.example", "Henrik", "Lund", "Head of Revenue Operations", "FjordTech AS", 51)
    assert first.inquiry is not None and first.inquiry.startswith("We're migrating") and "🙂" in first.inquiry
    assert first.custom == {"Which product are you evaluating?": "CRM sync"}
    assert (first.consent.email, first.attribution.source, first.attribution.campaign, first.attribution.ad_id,
            first.attribution.form_id) == (True, "linkedin", "emea_demo_q1", "241257736", "7234246")
    assert (second.email, second.first_name, second.phone, second.consent.email) == (
        "mj.garcia@empresa-ejemplo.es", "María José", "+34612345678", False)
    assert second.custom["Which product are you evaluating?"] == ["Scheduling", "Analytics"]
    assert (first.is_test, test.is_test) == (False, True)
    assert first.received_at.timestamp() == 1772640127.345


@pytest.mark.parametrize(("cursor", "since"), [("1772641000001", 1772641000001), ("", NOW_MS - 30 * 24 * 3600 * 1000)])
@respx.mock
def test_a_bare_millisecond_cursor_or_none(cursor: str, since: int) -> None:
    _, leads = mock_api()
    list(source().read({OWNER: cursor} if cursor else {}))
    assert f"submittedAtTimeRange=(start:{since},end:{NOW_MS})" in query(leads)


@pytest.mark.parametrize("cursor", ["{not json", '{"ids": []}', "[1]", '{"ms": "soon"}'])
def test_an_unreadable_cursor_is_a_clear_fatal_error(cursor: str) -> None:
    with pytest.raises(FatalError, match="cursor is unreadable"):
        list(source().read({OWNER: cursor}))
