"""The Salesforce emulator, driven only through the real simple-salesforce client over HTTP."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.format import format_external_id, format_soql

from tests.emulators.salesforce import SalesforceEmulator, salesforce_client
from tests.emulators.salesforce.ids import checksum

KEY = "Lead_Key__c"
# simple-salesforce types `sf.Lead` / `sf.bulk2.Lead` as unions from __getattr__; the tests use the client dynamically.
Client = Any


@pytest.fixture(scope="module")
def server() -> Iterator[SalesforceEmulator]:
    emu = SalesforceEmulator(api_version="59.0").start()
    yield emu
    emu.stop()


@pytest.fixture
def emu(server: SalesforceEmulator) -> SalesforceEmulator:
    server.reset()
    server.org.add_custom_field("Lead", KEY, external_id=True, unique=True)
    server.org.add_custom_field("Lead", "Score__c", type="double")
    return server


@pytest.fixture
def owner(emu: SalesforceEmulator) -> str:
    return emu.org.add_user("olive.owner@example.com", "Olive", "Owner")


@pytest.fixture
def sf(emu: SalesforceEmulator, owner: str) -> Client:
    return salesforce_client(emu)


def error_of(exc: SalesforceError) -> dict[str, Any]:
    assert isinstance(exc.content, list), exc.content
    return dict(exc.content[0])


def absent_id(prefix: str) -> str:
    """A well-formed 18-character id that no record has."""
    return f"{prefix}000000000000" + checksum(f"{prefix}000000000000")


def lead(last: str, **fields: Any) -> dict[str, Any]:
    return {"LastName": last, "Company": "Acme", **fields}


def emails(result: dict[str, Any]) -> set[str]:
    return {r["Email"] for r in result["records"]}


# SOQL ---------------------------------------------------------------------------------------------------------------
TRICKY = ["o'hara@example.com", "back\\slash@example.com", 'quo"te@example.com', "50%_off@example.com",
          "500_off@example.com", "50x_off@example.com", "new\nline@example.com", "plain@example.com"]


@pytest.mark.parametrize(("where", "args", "expected"), [
    ("Email = {}", ["O'HARA@example.com"], {"o'hara@example.com"}),  # string = is case-insensitive
    ("Email = {}", ["back\\slash@example.com"], {"back\\slash@example.com"}),
    ("Email = {}", ['quo"te@example.com'], {'quo"te@example.com'}),
    ("Email = {}", ["new\nline@example.com"], {"new\nline@example.com"}),
    ("Email = {}", ["x' OR Email != 'y"], set()),  # an injection attempt stays one literal
    ("Email = {}", ["\\' OR Email != \\'"], set()),
    ("Email IN {}", [["plain@example.com", "o'hara@example.com", "nobody@example.com"]],
     {"plain@example.com", "o'hara@example.com"}),
    ("Email NOT IN {}", [TRICKY[1:]], {"o'hara@example.com"}),
    ("Email LIKE '{:like}%'", ["50%_"], {"50%_off@example.com"}),  # % and _ escaped: literal
    ("Email LIKE '50_\\_off%'", [], {"50%_off@example.com", "500_off@example.com", "50x_off@example.com"}),
    ("Email LIKE '%{:like}%'", ["'hara"], {"o'hara@example.com"}),
    ("Email LIKE 'PLAIN%'", [], {"plain@example.com"}),
])
def test_query_undoes_soql_escapes_exactly(sf: Client, emu: SalesforceEmulator, where: str, args: list[Any],
                                           expected: set[str]) -> None:
    for index, email in enumerate(TRICKY):
        emu.org.add_record("Lead", lead(f"L{index}", Email=email))
    result = sf.query(format_soql(f"SELECT Id, Email FROM Lead WHERE {where}", *args))
    assert emails(result) == expected
    assert result["totalSize"] == len(expected)


@pytest.mark.parametrize(("where", "expected"), [
    ("Score__c > 50 AND IsConverted = false", {"a@x.io", "c@x.io"}),
    ("(Score__c >= 80 OR Score__c = null) AND NOT Email LIKE 'a%'", {"d@x.io"}),
    ("Score__c < 80 OR Status = 'Working - Contacted'", {"b@x.io", "c@x.io"}),
    ("Status != 'Open - Not Contacted'", {"c@x.io", "d@x.io"}),
    ("Score__c != 90", {"b@x.io", "c@x.io", "d@x.io"}),  # null != 90 is true in SOQL
    ("CreatedDate > 2020-01-02T03:04:05Z AND CreatedDate < 2999-01-01T00:00:00+00:00", {"a@x.io", "b@x.io", "c@x.io",
                                                                                         "d@x.io"}),
    ("Owner.Email = 'OLIVE.OWNER@example.com' AND Owner.Type = 'User'", {"a@x.io", "b@x.io", "c@x.io"}),
    ("Owner.Type = 'Queue'", {"d@x.io"}),
])
def test_query_conditions(sf: Client, emu: SalesforceEmulator, owner: str, where: str, expected: set[str]) -> None:
    queue = emu.org.add_queue("Inbound")
    emu.org.add_record("Lead", lead("A", Email="a@x.io", Score__c=90.0))
    emu.org.add_record("Lead", lead("B", Email="b@x.io", Score__c=20.0))
    emu.org.add_record("Lead", lead("C", Email="c@x.io", Score__c=60.0, Status="Working - Contacted"))
    emu.org.add_record("Lead", lead("D", Email="d@x.io", OwnerId=queue, IsConverted=True, Status="Closed - Converted"))
    assert emails(sf.query(f"select id, email from LEAD where {where}")) == expected


def test_query_order_limit_offset_count_and_relationships(sf: Client, emu: SalesforceEmulator, owner: str) -> None:
    queue = emu.org.add_queue("Inbound")
    for last, score in [("b", 2.0), ("A", 3.0), ("c", None), ("D", 1.0)]:
        emu.org.add_record("Lead", lead(last, Score__c=score, Email=f"{last.lower()}@x.io"))
    emu.org.add_record("Lead", lead("e", OwnerId=queue))
    ordered = sf.query("SELECT LastName FROM Lead ORDER BY LastName ASC LIMIT 3 OFFSET 1")
    assert [r["LastName"] for r in ordered["records"]] == ["b", "c", "D"]  # case-insensitive collation
    by_score = sf.query("SELECT LastName FROM Lead WHERE Email != null ORDER BY Score__c DESC NULLS LAST")
    assert [r["LastName"] for r in by_score["records"]] == ["A", "b", "D", "c"]
    assert sf.query("SELECT COUNT() FROM Lead WHERE Score__c > 1")["totalSize"] == 2
    rows = sf.query("SELECT Id, Owner.Email, Owner.Name, Owner.Type FROM Lead ORDER BY LastName")["records"]
    assert rows[0]["Owner"]["Email"] == "olive.owner@example.com"
    assert rows[0]["Owner"]["attributes"]["type"] == "Name"
    assert rows[0]["attributes"] == {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{rows[0]['Id']}"}
    assert rows[-1]["Owner"] == {"attributes": {"type": "Name", "url": f"/services/data/v59.0/sobjects/Group/{queue}"},
                                 "Email": None, "Name": "Inbound", "Type": "Queue"}
    account = emu.org.add_account("Acme", website="acme.com", owner_id=owner)
    emu.org.add_record("Contact", {"LastName": "Zed", "Email": "zed@acme.com", "AccountId": account})
    contact = sf.query("SELECT Email, Account.Website, Account.Owner.Email FROM Contact")["records"][0]
    assert contact["Account"]["Website"] == "acme.com"
    assert contact["Account"]["Owner"]["Email"] == "olive.owner@example.com"


def test_users_and_queues_are_queryable(sf: Client, emu: SalesforceEmulator, owner: str) -> None:
    inactive = emu.org.add_user("gone@example.com", active=False)
    queue = emu.org.add_queue("Inbound SDR")
    emu.org.add_queue("Contacts queue", sobject="Contact")
    users = sf.query(format_soql("SELECT Id, Email, IsActive FROM User WHERE Email IN {}",
                                 ["OLIVE.owner@example.com", "gone@example.com", "nobody@example.com"]))["records"]
    assert {(u["Id"], u["IsActive"]) for u in users} == {(owner, True), (inactive, False)}
    groups = sf.query(format_soql("SELECT Id, Name FROM Group WHERE Type = 'Queue' AND Name IN {}",
                                  ["Inbound SDR", "Missing"]))["records"]
    assert [(g["Id"], g["Name"]) for g in groups] == [(queue, "Inbound SDR")]
    assert len(owner) == 18 and owner.startswith("005") and queue.startswith("00G")


@pytest.mark.parametrize(("soql", "code"), [
    ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
    ("SELECT Id Lead", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Email = 'unterminated", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Email = 'a' AND Phone = 'b' OR City = 'c'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Email = 'bad \\q escape'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Email = '50\\%'", "MALFORMED_QUERY"),  # \% only inside LIKE
    ("SELECT Id FROM Lead WHERE Score__c = '5'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Email = 5", "MALFORMED_QUERY"),
    ("SELECT Id, Nope__c FROM Lead", "INVALID_FIELD"),
    ("SELECT Id FROM Lead WHERE Owner.Nope = 'x'", "INVALID_FIELD"),
    ("SELECT Id FROM Laed", "INVALID_TYPE"),
    ("SELECT Id FROM Lead WHERE OwnerId = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
])
def test_query_errors(sf: Client, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(soql)
    assert error_of(caught.value)["errorCode"] == code


def test_query_length_limits(sf: Client, emu: SalesforceEmulator) -> None:
    emails_in = [f"person{i}@example.com" for i in range(1000)]
    long_query = format_soql("SELECT Id FROM Lead WHERE Email IN {}", emails_in)  # ~27 KB: past the 16 KiB URI cap
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query(long_query)
    assert caught.value.status == 414
    emu.faults.max_uri_bytes = None
    assert sf.query(long_query)["totalSize"] == 0
    with pytest.raises(SalesforceMalformedRequest) as too_long:
        sf.query(format_soql("SELECT Id FROM Lead WHERE Email IN {}", emails_in * 5))
    assert error_of(too_long.value)["errorCode"] == "MALFORMED_QUERY"
    assert "too long" in error_of(too_long.value)["message"]


def test_paging_with_batch_size(sf: Client, emu: SalesforceEmulator) -> None:
    for index in range(2300):
        emu.org.add_record("Lead", lead(f"L{index:04d}", Email=f"p{index}@example.com"))
    first = sf.query("SELECT Id FROM Lead")
    assert (len(first["records"]), first["totalSize"], first["done"]) == (2000, 2300, False)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    everything = sf.query_all("SELECT Id, LastName FROM Lead ORDER BY LastName DESC",
                              headers={"Sforce-Query-Options": "batchSize=500"})
    names = [r["LastName"] for r in everything["records"]]
    assert len(names) == 2300 and names[0] == "L2299" and names[-1] == "L0000"
    assert emu.calls["query_more"] == 4


# sObject REST -------------------------------------------------------------------------------------------------------
def test_create_get_update_delete(sf: Client, emu: SalesforceEmulator, owner: str) -> None:
    created = sf.Lead.create(lead("Doe", Email="jane@example.com", NumberOfEmployees=50))
    lead_id = created["id"]
    assert created["success"] is True and lead_id.startswith("00Q") and len(lead_id) == 18
    record = sf.Lead.get(lead_id)
    assert (record["OwnerId"], record["Status"], record["IsConverted"], record["NumberOfEmployees"]) == \
        (owner, "Open - Not Contacted", False, 50.0)
    time.sleep(0.002)
    assert sf.Lead.update(lead_id, {"Title": "CTO", "Status": "Working - Contacted"}) == 204
    updated = emu.org.records["Lead"][lead_id]
    assert updated["Title"] == "CTO" and updated["LastModifiedDate"] > record["LastModifiedDate"]
    assert updated["SystemModstamp"] == updated["LastModifiedDate"] > updated["CreatedDate"]
    assert sf.Lead.delete(lead_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(lead_id)
    assert sf.query_all("SELECT Id FROM Lead", include_deleted=True)["totalSize"] == 1
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_upsert_by_external_id(sf: Client, emu: SalesforceEmulator) -> None:
    key = "web/42 o'hara@example.com?x"  # needs percent-encoding in the path
    assert sf.Lead.upsert(format_external_id(KEY, key), lead("Hara")) == 201
    response = sf.Lead.upsert(format_external_id(KEY, key), {"Title": "VP"}, raw_response=True)
    assert response.status_code == 200 and response.json()["created"] is False
    [row] = emu.org.records["Lead"].values()
    assert (row[KEY], row["Title"]) == (key, "VP")
    emu.org.add_custom_field("Lead", "Legacy_Id__c", external_id=True)  # not unique: duplicates possible
    emu.org.add_record("Lead", lead("One", Legacy_Id__c="L-1"))
    emu.org.add_record("Lead", lead("Two", Legacy_Id__c="L-1"))
    with pytest.raises(SalesforceMoreThanOneRecord) as multiple:
        sf.Lead.upsert(format_external_id("Legacy_Id__c", "L-1"), {"Title": "x"})
    assert len(multiple.value.content) == 2
    with pytest.raises(SalesforceResourceNotFound) as not_external:
        sf.Lead.upsert(format_external_id("Email", "a@b.io"), lead("Nope"))
    assert error_of(not_external.value)["errorCode"] == "NOT_FOUND"
    old_api: Client = salesforce_client(emu, version="45.0")
    assert old_api.Lead.upsert(format_external_id(KEY, key), {"Title": "SVP"}) == 204


@pytest.mark.parametrize(("fields", "code", "error_fields"), [
    ({"Company": "Acme"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
    ({"LastName": "Doe", "Company": ""}, "REQUIRED_FIELD_MISSING", ["Company"]),
    (lead("Doe", Status="Hot"), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"]),
    (lead("Doe", OwnerId=absent_id("005")), "INVALID_CROSS_REFERENCE_KEY", ["OwnerId"]),
    (lead("Doe", OwnerId="someone@example.com"), "MALFORMED_ID", ["OwnerId"]),
    (lead("Doe", Company="x" * 256), "STRING_TOO_LONG", ["Company"]),
    (lead("Doe", Email="not-an-email"), "INVALID_EMAIL_ADDRESS", ["Email"]),
    (lead("Doe", CreatedDate="2020-01-01T00:00:00Z"), "INVALID_FIELD_FOR_INSERT_UPDATE", ["CreatedDate"]),
    (lead("Doe", **{KEY: "TAKEN"}), "DUPLICATE_VALUE", [KEY]),  # unique is case-insensitive
])
def test_lead_validation(sf: Client, emu: SalesforceEmulator, fields: dict[str, Any], code: str,
                         error_fields: list[str]) -> None:
    emu.org.add_record("Lead", lead("Existing", **{KEY: "taken"}))
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create(fields)
    assert error_of(caught.value)["errorCode"] == code
    assert error_of(caught.value)["fields"] == error_fields
    assert len(emu.org.records["Lead"]) == 1


@pytest.mark.parametrize(("body", "code"), [
    (lead("Doe", Nope__c="x"), "INVALID_FIELD"),
    (lead("Doe", NumberOfEmployees="many"), "JSON_PARSER_ERROR"),
])
def test_whole_request_errors(sf: Client, body: dict[str, Any], code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create(body)
    assert error_of(caught.value)["errorCode"] == code


def test_owner_rules_and_converted_leads(sf: Client, emu: SalesforceEmulator) -> None:
    inactive = emu.org.add_user("gone@example.com", active=False)
    contact_queue = emu.org.add_queue("Contacts only", sobject="Contact")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create(lead("Doe", OwnerId=inactive))
    assert error_of(caught.value)["errorCode"] == "INACTIVE_OWNER_OR_USER"
    with pytest.raises(SalesforceMalformedRequest) as wrong_queue:
        sf.Lead.create(lead("Doe", OwnerId=contact_queue))
    assert error_of(wrong_queue.value)["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    converted = emu.org.add_record("Lead", lead("Old", IsConverted=True, Status="Closed - Converted"))
    with pytest.raises(SalesforceMalformedRequest) as locked:
        sf.Lead.update(converted, {"Title": "x"})
    assert error_of(locked.value)["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    with pytest.raises(SalesforceMalformedRequest) as contact:
        sf.Contact.create({"Email": "c@example.com"})
    assert error_of(contact.value)["fields"] == ["LastName"]


def test_campaign_members(sf: Client, emu: SalesforceEmulator) -> None:
    campaign = emu.org.add_campaign("Nurture", statuses=("Sent", "Responded"), default_status="Sent")
    lead_id = emu.org.add_record("Lead", lead("Doe"))
    member = sf.CampaignMember.create({"CampaignId": campaign, "LeadId": lead_id})
    assert member["id"].startswith("00v") and campaign.startswith("701")
    assert emu.org.records["CampaignMember"][member["id"]]["Status"] == "Sent"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"CampaignId": campaign, "LeadId": lead_id}, "DUPLICATE_VALUE"),
        ({"CampaignId": campaign, "LeadId": emu.org.add_record("Lead", lead("B")), "Status": "Bounced"},
         "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"CampaignId": absent_id("701"), "LeadId": lead_id}, "INVALID_CROSS_REFERENCE_KEY"),
        ({"CampaignId": campaign, "LeadId": absent_id("00Q")}, "INVALID_CROSS_REFERENCE_KEY"),
        ({"CampaignId": campaign}, "REQUIRED_FIELD_MISSING"),
    ]
    for body, code in cases:
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.CampaignMember.create(body)
        assert error_of(caught.value)["errorCode"] == code, body
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.CampaignMember.create(cases[0][0])
    assert error_of(duplicate.value)["message"] == "Already a campaign member."
    found = sf.query(format_soql("SELECT Id, LeadId FROM CampaignMember WHERE CampaignId = {} AND LeadId IN {}",
                                 campaign, [lead_id]))["records"]
    assert [(r["Id"], r["LeadId"]) for r in found] == [(member["id"], lead_id)]
    sf.Lead.delete(lead_id)  # deleting the lead removes its membership
    assert emu.org.records["CampaignMember"] == {}


# Collections --------------------------------------------------------------------------------------------------------
def collection(*records: dict[str, Any], all_or_none: bool = False) -> dict[str, Any]:
    return {"allOrNone": all_or_none, "records": [{"attributes": {"type": "Lead"}, **r} for r in records]}


def test_collections_partial_success(sf: Client, emu: SalesforceEmulator) -> None:
    used = emu.faults.daily_used
    results = sf.restful("composite/sobjects", method="POST",
                         json=collection(lead("A"), {"Company": "NoName"}, lead("C", Status="Bogus")))
    assert [r["success"] for r in results] == [True, False, False]
    assert results[1]["errors"] == [{"statusCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"],
                                     "message": "Required fields are missing: [LastName]"}]
    assert results[2]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert emu.faults.daily_used == used + 1 and emu.calls["composite_create"] == 1
    first = results[0]["id"]
    updates = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, "id": first, "Title": "CEO"},
        {"attributes": {"type": "Lead"}, "id": absent_id("00Q"), "Title": "x"},
        {"attributes": {"type": "Lead"}, "Title": "no id"}]})
    assert [(r["success"], r.get("id")) for r in updates] == [(True, first), (False, absent_id("00Q")),
                                                              (False, None)]
    assert emu.org.records["Lead"][first]["Title"] == "CEO"
    upserts = sf.restful(f"composite/sobjects/Lead/{KEY}", method="PATCH", json=collection(
        lead("New", **{KEY: "k1"}), lead("Dup", **{KEY: "k2"}), lead("Dup", **{KEY: "K2"})))
    assert [(r["success"], r.get("created")) for r in upserts] == [(True, True), (False, False), (False, False)]
    assert upserts[1]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    again = sf.restful(f"composite/sobjects/Lead/{KEY}", method="PATCH", json=collection({KEY: "K1", "Title": "x"}))
    assert (again[0]["created"], again[0]["id"]) == (False, upserts[0]["id"])
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{first},{absent_id('00Q')}",
                                                                         "allOrNone": "false"})
    assert [r["success"] for r in deleted] == [True, False]


def test_collections_all_or_none_rolls_back(sf: Client, emu: SalesforceEmulator) -> None:
    existing = emu.org.add_record("Lead", lead("Keep", Title="before"))
    results = sf.restful("composite/sobjects", method="POST",
                         json=collection(lead("A"), lead("B", Email="bad"), lead("C"), all_or_none=True))
    assert [r["success"] for r in results] == [False, False, False]
    assert results[1]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert results[0] == results[2] == {"id": None, "success": False, "errors": [{
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "fields": [],
        "message": "Record rolled back because not all records were valid and the request was using AllOrNone header"}]}
    assert list(emu.org.records["Lead"]) == [existing]
    sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Lead"}, "id": existing, "Title": "after"},
        {"attributes": {"type": "Lead"}, "id": existing, "Status": "Bogus"}]})
    assert emu.org.records["Lead"][existing]["Title"] == "before"


@pytest.mark.parametrize(("method", "path", "size"), [
    ("POST", "composite/sobjects", 201),
    ("PATCH", f"composite/sobjects/Lead/{KEY}", 201),
])
def test_collections_over_200_records_fail_whole(sf: Client, method: str, path: str, size: int) -> None:
    body = collection(*[lead(f"L{i}", **{KEY: f"k{i}"}) for i in range(size)])
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(path, method=method, json=body)
    assert error_of(caught.value)["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_collection_whole_request_errors_write_nothing(sf: Client, emu: SalesforceEmulator) -> None:
    with pytest.raises(SalesforceMalformedRequest) as not_external:
        sf.restful("composite/sobjects/Lead/Email", method="PATCH", json=collection(lead("A", Email="a@b.io")))
    assert error_of(not_external.value)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.restful("composite/sobjects", method="POST", json=collection(lead("A"), lead("B", Nope__c=1)))
    assert error_of(unknown.value)["errorCode"] == "INVALID_FIELD"
    assert emu.org.records["Lead"] == {}


def test_latency_and_replaced_status_values(sf: Client, emu: SalesforceEmulator) -> None:
    emu.org.picklists[("Lead", "Status")] = ["New", "Working"]
    emu.faults.latency = 0.05
    started = time.monotonic()
    created = sf.Lead.create(lead("Doe"))
    assert time.monotonic() - started >= 0.05
    assert emu.org.records["Lead"][created["id"]]["Status"] == "New"
    assert emu.calls["sobject_create"] == 1


# Assignment rules, faults, sessions, limits ---------------------------------------------------------------------------
@pytest.mark.parametrize(("header", "assigned"), [(None, True), ("TRUE", True), ("true", True), ("FALSE", False),
                                                  ("false", False)])
def test_auto_assign_header(sf: Client, emu: SalesforceEmulator, owner: str, header: str | None,
                            assigned: bool) -> None:
    rule_queue = emu.org.add_queue("Round robin")
    emu.faults.auto_assign_owner = rule_queue
    headers = {"Sforce-Auto-Assign": header} if header else {}
    created = sf.Lead.create(lead("Doe", OwnerId=owner), headers=headers)
    batch = sf.restful("composite/sobjects", method="POST", json=collection(lead("Batch", OwnerId=owner)),
                       headers=headers)
    expected = rule_queue if assigned else owner
    assert emu.org.records["Lead"][created["id"]]["OwnerId"] == expected
    assert emu.org.records["Lead"][batch[0]["id"]]["OwnerId"] == expected
    sent = [h.get("Sforce-Auto-Assign") for method, _path, h in emu.requests if method == "POST"]
    assert sent == [header, header]


def test_injected_statuses_then_recovery(sf: Client, emu: SalesforceEmulator) -> None:
    emu.faults.statuses = [(503, "SERVER_UNAVAILABLE"), (500, "UNKNOWN_EXCEPTION"), (403, "REQUEST_LIMIT_EXCEEDED")]
    expected: list[tuple[type[SalesforceError], int, str]] = [
        (SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"), (SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"),
        (SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED")]
    for exc_type, status, code in expected:
        with pytest.raises(exc_type) as caught:
            sf.query("SELECT Id FROM Lead")
        assert (caught.value.status, error_of(caught.value)["errorCode"]) == (status, code)
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0
    assert emu.calls["query"] == 4


def test_timeouts_fire_on_the_client_and_the_write_still_lands(sf: Client, emu: SalesforceEmulator) -> None:
    emu.faults.timeouts = 1
    emu.faults.timeout_seconds = 0.6
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.restful("sobjects/Lead/", method="POST", json=lead("Slow"), timeout=0.2)
    started = time.monotonic()
    assert sf.query("SELECT Id FROM Lead", timeout=2)["done"]  # only the next N requests stall
    assert time.monotonic() - started < 0.5
    deadline = time.monotonic() + 3
    while not emu.org.records["Lead"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(emu.org.records["Lead"]) == 1  # a timeout does not mean the write did not happen


def test_rejected_emails(sf: Client, emu: SalesforceEmulator) -> None:
    emu.faults.reject_emails = {"Blocked@Example.com": ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Spam domain")}
    results = sf.restful("composite/sobjects", method="POST",
                         json=collection(lead("A", Email="ok@example.com"), lead("B", Email="blocked@example.com")))
    assert results[1] == {"success": False, "errors": [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                                        "message": "Spam domain", "fields": []}]}
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create(lead("C", Email="BLOCKED@example.com"))
    assert error_of(caught.value) == {"errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Spam domain",
                                      "fields": []}


def test_expired_sessions(sf: Client, emu: SalesforceEmulator) -> None:
    other = salesforce_client(emu, session_id=emu.issue_session())
    assert sf.query("SELECT Id FROM Lead")["done"] and other.query("SELECT Id FROM Lead")["done"]
    emu.expire_sessions()
    for client in (sf, other):
        with pytest.raises(SalesforceExpiredSession) as caught:
            client.query("SELECT Id FROM Lead")
        assert error_of(caught.value) == {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    assert salesforce_client(emu, session_id=emu.issue_session()).query("SELECT Id FROM Lead")["done"]
    with pytest.raises(SalesforceExpiredSession):
        salesforce_client(emu, session_id="forged").limits()


def test_daily_quota_and_limit_header(sf: Client, emu: SalesforceEmulator) -> None:
    emu.faults.daily_max = 5
    sf.query("SELECT Id FROM Lead")
    assert (sf.api_usage["api-usage"].used, sf.api_usage["api-usage"].total) == (1, 5)
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 5, "Remaining": 3}
    for _ in range(3):
        sf.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM Lead")
    assert error_of(caught.value) == {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    assert sf.api_usage["api-usage"].used == 5


def test_describe(sf: Client, emu: SalesforceEmulator) -> None:
    emu.org.add_custom_field("Lead", "Grade__c", type="picklist", picklist=("A", "B", "C", "D"))
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert (fields[KEY]["externalId"], fields[KEY]["unique"], fields[KEY]["custom"]) == (True, True, True)
    assert fields["Description"]["length"] == 32000 and fields["NumberOfEmployees"]["type"] == "double"
    assert [v["value"] for v in fields["Status"]["picklistValues"] if v["defaultValue"]] == ["Open - Not Contacted"]
    assert [v["value"] for v in fields["Grade__c"]["picklistValues"]] == ["A", "B", "C", "D"]
    assert fields["Id"]["createable"] is False and fields["Email"]["updateable"] is True
    with pytest.raises(SalesforceMalformedRequest):
        sf.Lead.create(lead("Doe", Grade__c="E"))


# Bulk API 2.0 -------------------------------------------------------------------------------------------------------
def test_bulk2_upsert_with_a_failed_record(sf: Client, emu: SalesforceEmulator, owner: str) -> None:
    emu.faults.auto_assign_owner = emu.org.add_queue("Rule")  # Bulk 2.0 runs no rule without assignmentRuleId
    existing = emu.org.add_record("Lead", lead("Old", **{KEY: "k1"}))
    records = [{KEY: "k1", "LastName": "Updated", "Company": "Acme", "Email": "a@example.com"},
               {KEY: "k2", "LastName": "New", "Company": "Acme, Inc.", "Email": "b@example.com"},
               {KEY: "k3", "LastName": "", "Company": "Acme", "Email": "c@example.com"}]
    [summary] = sf.bulk2.Lead.upsert(records=records, external_id_field=KEY, wait=0)
    assert (summary["numberRecordsProcessed"], summary["numberRecordsFailed"]) == (3, 1)
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_failed_records(summary["job_id"]))))
    assert [(f[KEY], f["sf__Error"].split(":")[0]) for f in failed] == [("k3", "REQUIRED_FIELD_MISSING")]
    done = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_successful_records(summary["job_id"]))))
    assert [(d[KEY], d["sf__Created"]) for d in done] == [("k1", "false"), ("k2", "true")]
    assert done[0]["sf__Id"] == existing and emu.org.records["Lead"][existing]["LastName"] == "Updated"
    assert {r["OwnerId"] for r in emu.org.records["Lead"].values()} == {owner}
    assert emu.org.records["Lead"][done[1]["sf__Id"]]["Company"] == "Acme, Inc."
    assert emu.calls["bulk_create_job"] == emu.calls["bulk_upload"] == emu.calls["bulk_close_job"] == 1


def test_bulk2_unknown_column_fails_the_job(sf: Client, emu: SalesforceEmulator) -> None:
    with pytest.raises(SalesforceOperationError, match="Field name not found : Nope__c"):
        sf.bulk2.Lead.insert(records=[{"LastName": "A", "Company": "B", "Nope__c": "x"}], wait=0)
    [job] = emu.jobs.values()
    assert job["state"] == "Failed"
    unprocessed = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_unprocessed_records(job["id"]))))
    assert unprocessed == [{"LastName": "A", "Company": "B", "Nope__c": "x"}]


def test_standalone_entry_point() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulators.salesforce", "--port", "0",
                             "--users", "a@example.com"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner, session_line = proc.stdout.readline(), proc.stdout.readline()
        assert "http://127.0.0.1:" in banner and session_line.startswith("session id: 00D")
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_an_and_filter_narrows_by_its_most_selective_index(emu: SalesforceEmulator, sf: Client) -> None:
    """Membership look-ups (`CampaignId = X AND LeadId IN (...)`) cost what they return, not the campaign's size."""
    from tests.emulators.salesforce.query_eval import Executor
    from tests.emulators.salesforce.soql import parse

    campaign = emu.org.add_campaign("Nurture")
    leads = [emu.org.add_record("Lead", {"LastName": f"L{i}", "Company": "C"}) for i in range(3000)]
    for lead_id in leads:
        emu.org.add_record("CampaignMember", {"CampaignId": campaign, "LeadId": lead_id, "Status": "Sent"})
    soql = format_soql("SELECT Id, LeadId FROM CampaignMember WHERE CampaignId = {} AND LeadId IN {}",
                       campaign, leads[5:7])
    assert sorted(r["LeadId"] for r in sf.query(soql)["records"]) == sorted(leads[5:7])
    query = parse(soql)
    executor = Executor(emu.org, emu.api_version)
    spec = emu.org.sobject("CampaignMember")
    assert query.where is not None and spec is not None
    assert len(executor.candidates(spec, query.where) or ()) == 2  # not the 3,000 members of the campaign
