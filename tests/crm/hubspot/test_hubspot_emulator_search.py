"""The emulator's contacts search, driven by the real hubspot-api-client: filters, sorts, paging, caps, lag, limits."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
)

from tests.crm.hubspot.test_hubspot_sink import emulator  # noqa: F401 - fixture
from tests.emulators.hubspot import HubSpotEmulator


def client(emu: HubSpotEmulator) -> Any:
    return HubSpot(access_token="pat-na1-search", host=emu.url).crm.contacts


def search(emu: HubSpotEmulator, groups: list[list[dict[str, Any]]], **options: Any) -> Any:
    request = PublicObjectSearchRequest(filter_groups=[{"filters": g} for g in groups], **options)
    return client(emu).search_api.do_search(request)


@pytest.fixture
def three(emulator: HubSpotEmulator) -> dict[str, str]:  # noqa: F811
    owner = next(iter(emulator.account.owners))
    return {
        "ann": emulator.create_contact({"email": "ann@x.example", "firstname": "Ann", "hs_lead_status": "NEW",
                                        "numemployees": "10"}),
        "bob": emulator.create_contact({"email": "bob@y.example", "firstname": "Bob", "hs_lead_status": "OPEN",
                                        "numemployees": "200", "hubspot_owner_id": owner}),
        "cy": emulator.create_contact({"email": "cy@x.example", "firstname": "Cy", "numemployees": "50"}),
    }


def f(name: str, operator: str, value: Any = None, values: list[str] | None = None) -> dict[str, Any]:
    flt: dict[str, Any] = {"propertyName": name, "operator": operator}
    if value is not None:
        flt["value"] = value
    if values is not None:
        flt["values"] = values
    return flt


@pytest.mark.parametrize(("groups", "expected"), [
    ([[f("hs_lead_status", "EQ", "NEW")]], ["ann"]),
    ([[f("hs_lead_status", "NEQ", "NEW")]], ["bob", "cy"]),
    ([[f("numemployees", "LT", "50")]], ["ann"]),
    ([[f("numemployees", "LTE", "50")]], ["ann", "cy"]),
    ([[f("numemployees", "GT", "50")]], ["bob"]),
    ([[f("numemployees", "GTE", "50")]], ["bob", "cy"]),
    ([[f("hs_lead_status", "IN", values=["NEW", "OPEN"])]], ["ann", "bob"]),
    ([[f("hs_lead_status", "NOT_IN", values=["NEW"])]], ["bob", "cy"]),
    ([[f("hubspot_owner_id", "HAS_PROPERTY")]], ["bob"]),
    ([[f("hubspot_owner_id", "NOT_HAS_PROPERTY")]], ["ann", "cy"]),
    ([[f("email", "CONTAINS_TOKEN", "x.example")]], ["ann", "cy"]),
    ([[f("firstname", "CONTAINS_TOKEN", "b*")]], ["bob"]),
    ([[f("hs_lead_status", "EQ", "NEW")], [f("numemployees", "GT", "100")]], ["ann", "bob"]),  # OR of groups
    ([[f("hubspot_owner_id", "NOT_HAS_PROPERTY"), f("numemployees", "GT", "20")]], ["cy"]),  # AND inside one
    ([], ["ann", "bob", "cy"]),
])
def test_filter_groups_are_an_or_of_ands(emulator: HubSpotEmulator, three: dict[str, str],  # noqa: F811
                                         groups: list[list[dict[str, Any]]], expected: list[str]) -> None:
    page = search(emulator, groups)
    names = {v: k for k, v in three.items()}
    assert sorted(names[r.id] for r in page.results) == expected and page.total == len(expected)


def test_sorts_properties_and_no_rate_limit_headers(emulator: HubSpotEmulator,  # noqa: F811
                                                    three: dict[str, str]) -> None:
    request = PublicObjectSearchRequest(sorts=[{"propertyName": "firstname", "direction": "DESCENDING"}],
                                        properties=["firstname"], limit=10)
    page, status, headers = client(emulator).search_api.do_search_with_http_info(request)
    assert status == 200 and [r.properties["firstname"] for r in page.results] == ["Cy", "Bob", "Ann"]
    assert set(page.results[0].properties) == {"firstname", "hs_object_id"}
    assert not [h for h in headers if h.lower().startswith("x-hubspot-ratelimit")]
    default = search(emulator, []).results[0].properties
    assert {"email", "lastmodifieddate", "createdate", "hs_object_id"} <= set(default)


def test_paging_with_after_up_to_200_a_page_and_the_10000_cap(emulator: HubSpotEmulator) -> None:  # noqa: F811
    emulator.faults.search_per_second = 100  # this test is about paging, not the search limit
    with emulator.account.lock:
        for i in range(10_050):
            emulator.account.write_contact(None, {"email": f"p{i}@bulk.example"})
    seen, after, pages = [], None, 0
    while pages < 3:
        page = search(emulator, [], limit=200, after=after)
        seen += [r.id for r in page.results]
        after, pages = page.paging.next.after, pages + 1
    assert len(seen) == len(set(seen)) == 600 and page.total == 10_050
    last = search(emulator, [], limit=200, after="9900")
    assert len(last.results) == 100 and last.paging is None  # the 10,000th result is the last one served
    for bad in ({"limit": 201}, {"after": "10000"}):
        with pytest.raises(ApiException) as info:
            search(emulator, [], **bad)
        assert info.value.status == 400 and "VALIDATION_ERROR" in info.value.body


def test_search_lags_writes_by_the_configured_delay(emulator: HubSpotEmulator) -> None:  # noqa: F811
    emulator.faults.search_lag_seconds, emulator.faults.search_per_second = 0.5, 100
    contact_id = emulator.create_contact({"email": "late@x.example", "hs_lead_status": "NEW"})
    by_status = [[f("hs_lead_status", "EQ", "OPEN")]]
    assert search(emulator, []).total == 0  # written, not yet searchable
    time.sleep(0.55)
    assert [r.id for r in search(emulator, []).results] == [contact_id]
    client(emulator).batch_api.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
        SimplePublicObjectBatchInputUpsert(id_property="email", id="late@x.example",
                                           properties={"hs_lead_status": "OPEN"})]))
    assert search(emulator, by_status).total == 0  # the index still shows the old version
    time.sleep(0.55)
    assert [r.id for r in search(emulator, by_status).results] == [contact_id]


def test_search_has_its_own_per_second_limit(emulator: HubSpotEmulator) -> None:  # noqa: F811
    refusals: list[ApiException] = []
    for _ in range(8):
        try:
            search(emulator, [])
        except ApiException as exc:
            refusals.append(exc)
    assert [e.status for e in refusals] == [429] * 3  # 5 a second pass
    assert all('"policyName": "SECONDLY"' in e.body and "secondly limit" in e.body for e in refusals)
    assert not [h for e in refusals for h in e.headers if h.lower().startswith("x-hubspot-ratelimit")]


@pytest.mark.parametrize(("props", "error"), [
    ({"hs_lead_status": "WORKING"}, "WORKING was not one of the allowed options"),
    ({"lifecyclestage": "prospect"}, "prospect was not one of the allowed options"),
    ({"hubspot_owner_id": "999"}, "999 is not a valid owner id"),
    ({"lastmodifieddate": "2026-01-01"}, "read only property"),
])
def test_invalid_enumerations_are_per_record_errors(emulator: HubSpotEmulator, props: dict[str, str],  # noqa: F811
                                                    error: str) -> None:
    response = client(emulator).batch_api.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
        SimplePublicObjectBatchInputUpsert(id_property="email", id="ok@x.example", properties={"firstname": "Ok"}),
        SimplePublicObjectBatchInputUpsert(id_property="email", id="bad@x.example", properties=props)]))
    assert [r.properties["email"] for r in response.results] == ["ok@x.example"]
    [problem] = response.errors
    assert problem.category == "VALIDATION_ERROR" and error in problem.message
    assert problem.message.startswith("Property values were not valid: ")
