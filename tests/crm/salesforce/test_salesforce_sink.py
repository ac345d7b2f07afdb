"""The Salesforce sink through the real simple-salesforce client against the HTTP emulator."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.errors import ConfigError, FatalError, QuotaExhaustedError
from connectors.records import OutcomeStatus
from tests.crm.salesforce.conftest import (
    ALICE,
    BOB,
    CAROL,
    NEW,
    WORKING,
    decision,
    lead,
    make_sink,
    queue_id,
    sync,
    sync_outcomes,
    user_id,
    write_calls,
)
from tests.emulators.salesforce import SalesforceEmulator

Created, Updated, Unchanged, Rejected = (OutcomeStatus.CREATED, OutcomeStatus.UPDATED, OutcomeStatus.UNCHANGED,
                                         OutcomeStatus.REJECTED)


def leads_in(emu: SalesforceEmulator) -> list[dict[str, object]]:
    return list(emu.org.records.get("Lead", {}).values())


def test_create_in_collections_of_200_then_a_no_change_resync_writes_nothing(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    leads = [lead(i) for i in range(450)]
    decisions = [decision(i, owner=(ALICE, BOB)[i % 2]) for i in range(450)]
    assert sync(sink, leads, decisions) == [Created] * 450
    assert emulator.subrequests["composite_upsert"] == 3  # 200 + 200 + 50, upserted on the lead key
    assert emulator.subrequests["composite_create"] == 3  # campaign memberships, 200 per collection
    assert emulator.calls["composite"] == 2  # each set of three collections in one Composite call
    rows = leads_in(emulator)
    assert len(rows) == 450
    alice = user_id(emulator, ALICE)
    first = next(r for r in rows if r["Leadsync_Key__c"] == "k0")
    assert first["OwnerId"] == alice and first["Status"] == NEW and first["Leadsync_Score__c"] == 42
    assert first["Leadsync_MQL__c"] is False and first["Leadsync_Explanation__c"] == "Because: title 45."
    assert len(emulator.org.records["CampaignMember"]) == 450
    headers = [h for method, path, h in emulator.requests if path.endswith("/composite")]
    flags = [h.get("sforce-auto-assign", h.get("Sforce-Auto-Assign")) for h in headers]
    assert flags.count("FALSE") == 1 and "TRUE" not in flags  # the lead-write bundle (look-ups, members: none)
    assert {r["OwnerId"] for r in rows} == {alice, user_id(emulator, BOB)}  # routing kept, not auto-assigned
    writes = write_calls(emulator)
    assert sync(sink, leads, decisions) == [Unchanged] * 450
    assert write_calls(emulator) == writes  # zero write calls on a no-change re-sync


def test_update_writes_only_changed_fields_and_fills_blanks(emulator: SalesforceEmulator,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    sink = make_sink(emulator)
    sent: list[dict[str, object]] = []
    rest = sink.client.rest
    monkeypatch.setattr(sink.client, "rest", lambda path, method="GET", **kw: (sent.append(kw.get("json") or {}),
                                                                               rest(path, method, **kw))[1])
    existing = emulator.org.add_record("Lead", {"LastName": "Lee", "Company": "Old Co", "Email": "p1@co1.example",
                                                "Status": NEW, "OwnerId": user_id(emulator, BOB)})
    assert sync(sink, [lead(1, title="CTO")], [decision(1, owner=ALICE, mql=True)]) == [Updated]
    record = emulator.org.records["Lead"][existing]
    assert record["Company"] == "Old Co"  # the CRM is the system of record for person data
    assert record["Title"] == "CTO" and record["Status"] == WORKING and record["Leadsync_Key__c"] == "k1"
    patch: Any = next(body for body in sent if body.get("records") and "id" in body["records"][0])  # type: ignore[index]
    assert set(patch["records"][0]) == {"attributes", "id", "Title", "Status", "OwnerId", "Leadsync_Score__c",
                                        "Leadsync_Grade__c", "Leadsync_MQL__c", "Leadsync_Explanation__c",
                                        "Leadsync_Key__c", "Leadsync_Ruleset__c", "FirstName", "LeadSource"}


def test_a_rep_status_is_never_overwritten(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    existing = emulator.org.add_record("Lead", {"LastName": "Lee", "Company": "Co", "Email": "p1@co1.example",
                                                "Status": "Closed - Not Converted"})
    sync(sink, [lead(1)], [decision(1)])
    assert emulator.org.records["Lead"][existing]["Status"] == "Closed - Not Converted"


def test_duplicate_leads_in_the_org_update_the_oldest_and_create_nothing(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    older = emulator.org.add_record("Lead", {"LastName": "Lee", "Company": "Co", "Email": "P1@CO1.example"})
    emulator.org.add_record("Lead", {"LastName": "Lee", "Company": "Co", "Email": "p1@co1.example"})
    outcomes = sync_outcomes(sink, [lead(1)], [decision(1)])
    assert outcomes[0].status is Updated and outcomes[0].crm_id == older
    assert len(leads_in(emulator)) == 2


def test_known_contact_gets_no_lead_only_the_campaign(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    contact = emulator.org.add_record("Contact", {"LastName": "Lee", "Email": "p1@co1.example",
                                                  "OwnerId": user_id(emulator, BOB)})
    outcomes = sync_outcomes(sink, [lead(1)], [decision(1, owner=ALICE)])
    assert outcomes[0].status is Updated and outcomes[0].crm_id == contact
    assert leads_in(emulator) == []
    assert emulator.org.records["Contact"][contact]["OwnerId"] == user_id(emulator, BOB)  # sales' own
    member = next(iter(emulator.org.records["CampaignMember"].values()))
    assert member["ContactId"] == contact
    assert sync(sink, [lead(1)], [decision(1, owner=ALICE)]) == [Unchanged]


def test_converted_lead_resolves_to_its_contact(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    contact = emulator.org.add_record("Contact", {"LastName": "Lee", "Email": "new-address@co1.example"})
    emulator.org.add_record("Lead", {"LastName": "Lee", "Company": "Co", "Email": "p1@co1.example",
                                     "IsConverted": True, "ConvertedContactId": contact})
    found = sink.lookup([lead(1)])
    assert found["k1"].crm_id == contact and found["k1"].object_type == "contact"
    assert sync(sink, [lead(1)], [decision(1, lists=())]) == [Unchanged]
    assert len(leads_in(emulator)) == 1


def test_owner_is_reported_as_an_email_and_queue_as_its_name(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator, owners=(ALICE,))
    emulator.org.add_record("Lead", {"LastName": "A", "Company": "C", "Email": "p1@co1.example",
                                     "OwnerId": user_id(emulator, BOB)})  # BOB is not named by the rules
    emulator.org.add_record("Lead", {"LastName": "B", "Company": "C", "Email": "p2@co2.example",
                                     "OwnerId": queue_id(emulator, "Unassigned")})
    found = sink.lookup([lead(1), lead(2)])
    assert found["k1"].owner == BOB and found["k2"].owner == "Unassigned"


def test_lead_routed_to_a_queue(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    sync(sink, [lead(1)], [decision(1, owner=None, queue="Unassigned")])
    assert leads_in(emulator)[0]["OwnerId"] == queue_id(emulator, "Unassigned")


def test_campaign_removal_and_duplicate_membership_are_harmless(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    sync(sink, [lead(1), lead(2)], [decision(1), decision(2)])
    assert len(emulator.org.records["CampaignMember"]) == 2
    assert sync(sink, [lead(1)], [decision(1, lists=(), remove=("Nurture",))]) == [Updated]
    assert len(emulator.org.records["CampaignMember"]) == 1
    # A membership that exists but was not seen (crash between the write and our bookkeeping): DUPLICATE_VALUE.
    sink.campaigns.members.clear()
    from connectors.crm.salesforce.campaigns import MembershipChange
    lead2 = next(i for i, r in emulator.org.records["Lead"].items() if r["Leadsync_Key__c"] == "k2")
    assert sink.campaigns.apply([MembershipChange(lead2, "lead", "Nurture", True)]) == {}


def test_partial_batch_failure_rejects_only_that_record_with_salesforces_error(
        emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    emulator.faults.reject_emails["p1@co1.example"] = ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Phone is required")
    outcomes = sync_outcomes(sink, [lead(0), lead(1), lead(2)], [decision(0), decision(1), decision(2)])
    assert [o.status for o in outcomes] == [Created, Rejected, Created]
    assert outcomes[1].error_code == "SF:FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert "Phone is required" in str(outcomes[1].error_message)
    assert "p1@co1.example" not in str(outcomes[1].error_message)


def test_missing_last_name_and_company_get_placeholders(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    nameless = lead(1, last_name=None, company=None)
    assert sync(sink, [nameless], [decision(1)]) == [Created]
    row = leads_in(emulator)[0]
    assert row["LastName"] == "[not provided]" and row["Company"] == "[not provided]"
    named = lead(1, last_name="Lovelace", company="Analytical")
    assert sync(sink, [named], [decision(1)]) == [Updated]  # a placeholder is a blank real data may fill
    assert leads_in(emulator)[0]["LastName"] == "Lovelace"


def test_soql_injection_in_emails_and_names_is_harmless(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    victim = emulator.org.add_record("Lead", {"LastName": "Victim", "Company": "C", "Email": "victim@co.example",
                                              "OwnerId": user_id(emulator, BOB)})
    nasty = ["o'hara@co.example", "x'+OR+Email+!%3D+'@co.example", "back\\slash@co.example", "pct%_@co.example",
             "q\"uote@co.example"]
    leads = [lead(i, email=e, last_name="O'Brien \\ %_") for i, e in enumerate(nasty)]
    assert sink.lookup(leads) == {}
    assert sync(sink, leads, [decision(i) for i in range(len(nasty))]) == [Created] * len(nasty)
    assert {r["Email"] for r in leads_in(emulator)} == {"victim@co.example", *nasty}
    untouched = emulator.org.records["Lead"][victim]
    assert untouched["OwnerId"] == user_id(emulator, BOB) and untouched["Leadsync_Key__c"] is None
    assert set(sink.lookup(leads)) == {f"k{i}" for i in range(len(nasty))}


def test_unknown_inactive_owner_queue_and_campaign_are_config_errors(emulator: SalesforceEmulator) -> None:
    with pytest.raises(ConfigError) as caught:
        make_sink(emulator, owners=(ALICE, CAROL, "nobody@ourco.example"), queues=("Ghosts",), lists=("Nope",))
    text = str(caught.value)
    for needle in ("inactive", "carol@ourco.example", "nobody@ourco.example", "Ghosts", "Nope"):
        assert needle in text
    assert write_calls(emulator) == 0


def test_missing_custom_field_and_bad_status_fail_before_any_write(emulator: SalesforceEmulator) -> None:
    emulator.reset()
    emulator.org.add_user(ALICE)
    emulator.org.add_custom_field("Lead", "Leadsync_Key__c", type="string", external_id=False)
    with pytest.raises(ConfigError) as caught:
        make_sink(emulator, owners=(ALICE,), queues=(), lists=())
    text = str(caught.value)
    assert "Leadsync_Score__c" in text and "not marked External ID" in text
    assert write_calls(emulator) == 0


def test_account_owner_by_email_domain(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    emulator.org.add_account("Acme", website="https://www.Acme.com/about", owner_id=user_id(emulator, BOB))
    emulator.org.add_account("Not Acme", website="notacme.com", owner_id=user_id(emulator, ALICE))
    assert sink.account_owners(["acme.com", "notacme.com", "other.example"]) == {"acme.com": BOB,
                                                                                 "notacme.com": ALICE}


def test_expired_session_logs_in_again_once(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    emulator.expire_sessions()
    assert sync(sink, [lead(1)], [decision(1)]) == [Created]


def test_a_session_refused_right_after_login_is_fatal(emulator: SalesforceEmulator) -> None:
    from connectors.crm.salesforce import SalesforceConfig, SalesforceSink
    from tests.emulators.salesforce import salesforce_client

    stale = emulator.issue_session()
    sink = SalesforceSink(SalesforceConfig(), lambda: salesforce_client(emulator, session_id=stale))
    emulator.expire_sessions()
    with pytest.raises(FatalError, match="INVALID_SESSION_ID"):
        sink.lookup([lead(1)])


def test_server_errors_and_timeouts_are_retried_and_everything_lands_once(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator, request_timeout=0.5)
    emulator.faults.statuses.extend([(503, "SERVER_UNAVAILABLE"), (500, "UNKNOWN_EXCEPTION"),
                                     (403, "REQUEST_LIMIT_EXCEEDED")])
    emulator.faults.timeout_seconds = 1.5
    emulator.faults.timeouts = 2
    assert sync(sink, [lead(i) for i in range(5)], [decision(i) for i in range(5)]) == [Created] * 5
    assert len(leads_in(emulator)) == 5 and len(emulator.org.records["CampaignMember"]) == 5


def test_quota_guard_stops_before_the_configured_share(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator, max_quota_share=0.5)
    emulator.faults.daily_max = 2 * emulator.faults.daily_used + 4  # a few calls left under the 50 % line
    stopped = None
    for i in range(10):
        try:
            sync(sink, [lead(i)], [decision(i)])
        except QuotaExhaustedError as exc:
            stopped = exc
            break
    assert stopped is not None and "50%" in str(stopped)
    assert emulator.faults.daily_used <= emulator.faults.daily_max * 0.5 + 1


def test_bulk_api_above_the_threshold_with_per_record_results(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator, bulk_threshold=250, bulk_poll_seconds=0)
    emulator.faults.reject_emails["p7@co7.example"] = ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "no thanks")
    leads = [lead(i) for i in range(300)]
    outcomes = sync_outcomes(sink, leads, [decision(i, lists=()) for i in range(300)])
    assert emulator.calls["bulk_create_job"] == 1 and emulator.subrequests["composite_upsert"] == 0
    assert [o.status for o in outcomes].count(Created) == 299
    assert outcomes[7].status is Rejected and outcomes[7].error_code == "SF:FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert len(leads_in(emulator)) == 299


def test_large_lookups_are_chunked_under_the_uri_limit_and_paged(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    long_emails = [f"{'someone.with.a.long.name' * 2}.{i}@subsidiary.example-corporation.example" for i in range(1500)]
    for _ in range(2100):  # one person entered 2,100 times: more than one 2,000-row query page
        emulator.org.add_record("Lead", {"LastName": "Dup", "Company": "C", "Email": long_emails[0]})
    found = sink.lookup([lead(i, email=e) for i, e in enumerate(long_emails)])
    assert set(found) == {"k0"}
    rows = emulator.org.records["Lead"]
    assert found["k0"].crm_id == min(rows, key=lambda i: rows[i]["CreatedDate"])  # the oldest duplicate
    assert emulator.calls["query_more"] >= 1
    assert max(len(path) for _, path, _ in emulator.requests) <= 16384  # no 414 URI Too Long
    assert emulator.subrequests["query"] >= 3 * 4  # several chunks for each of the lookups


def test_campaign_member_status_is_set_and_updated(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    sync(sink, [lead(1)], [decision(1)])
    member = next(iter(emulator.org.records["CampaignMember"].values()))
    assert member["Status"] == "Sent"  # the campaign's default
    responded = make_sink(emulator, campaign_member_status="Responded")
    assert sync(responded, [lead(1)], [decision(1)]) == [Updated]
    assert [m["Status"] for m in emulator.org.records["CampaignMember"].values()] == ["Responded"]
    writes = write_calls(emulator)
    assert sync(responded, [lead(1)], [decision(1)]) == [Unchanged] and write_calls(emulator) == writes


@pytest.mark.parametrize(("use_rules", "expected"), [(False, ALICE), (True, BOB)])
def test_the_orgs_assignment_rule_runs_only_when_configured(emulator: SalesforceEmulator, use_rules: bool,
                                                           expected: str) -> None:
    emulator.faults.auto_assign_owner = user_id(emulator, BOB)  # an active lead assignment rule
    sink = make_sink(emulator, use_assignment_rules=use_rules)
    sync(sink, [lead(1)], [decision(1, owner=ALICE)])
    assert leads_in(emulator)[0]["OwnerId"] == user_id(emulator, expected)


def test_values_salesforce_quotes_in_an_error_are_masked(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    sink._schema().fields.clear()
    long_name = "Featherstonehaugh-" * 5  # LastName holds 80 characters
    outcome = sync_outcomes(sink, [lead(1, last_name=long_name)], [decision(1)])[0]
    assert outcome.status is Rejected and outcome.error_code == "SF:STRING_TOO_LONG"
    assert "Featherstonehaugh" not in str(outcome.error_message) and "<value>" in str(outcome.error_message)


def test_routing_to_an_account_owner_the_rules_do_not_name(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator, owners=(ALICE,))
    emulator.org.add_account("Acme", website="acme.com", owner_id=user_id(emulator, BOB))
    assert sink.account_owners(["acme.com"]) == {"acme.com": BOB}
    sync(sink, [lead(1, email="new.person@acme.com")], [decision(1, owner=BOB)])
    assert leads_in(emulator)[0]["OwnerId"] == user_id(emulator, BOB)
