"""Independent Salesforce calls go side by side (`concurrent_calls`), and every promise still holds.

The emulator counts the requests it is answering at once (`max_in_flight`); a latency makes the overlap
certain rather than lucky.
"""

from __future__ import annotations

import time

import pytest

from connectors.crm.salesforce import composite
from connectors.crm.salesforce.client import SalesforceBadRequest
from connectors.crm.salesforce.composite import Sub, query_path
from connectors.records import OutcomeStatus
from tests.crm.salesforce.conftest import ALICE, BOB, decision, factory, lead, make_sink, sync
from tests.emulators.salesforce import SalesforceEmulator


def user_queries(count: int) -> list[Sub]:
    return [Sub("GET", query_path(f"SELECT Id FROM User WHERE Email = '{ALICE}'")) for _ in range(count)]


@pytest.mark.parametrize(("concurrent_calls", "most_at_once"), [(4, 3), (1, 1)])
def test_composite_calls_of_one_bundle_wait_side_by_side(emulator: SalesforceEmulator, concurrent_calls: int,
                                                         most_at_once: int) -> None:
    sink = make_sink(emulator, concurrent_calls=concurrent_calls)
    emulator.faults.latency = 0.05
    emulator.max_in_flight = 0
    results = composite.run(sink.client, user_queries(15))  # three Composite calls of five
    assert [r.body["totalSize"] for r in results] == [1] * 15  # every answer, in order
    assert emulator.calls["query_bundle"] == 3
    assert emulator.max_in_flight == most_at_once


def test_concurrent_collection_writes_create_each_lead_once(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    emulator.faults.latency = 0.05
    emulator.max_in_flight = 0
    count = 1_400  # seven Collections of 200: one Composite call of five, then two more side by side
    statuses = sync(sink, [lead(i) for i in range(count)], [decision(i, lists=()) for i in range(count)])
    assert statuses == [OutcomeStatus.CREATED] * count
    keys = [r["Leadsync_Key__c"] for r in emulator.org.records["Lead"].values()]
    assert sorted(keys) == sorted(f"k{i}" for i in range(count))
    assert emulator.max_in_flight >= 2
    # a repeated batch (a retry after a crash) finds every lead and writes nothing new
    again = sync(sink, [lead(i) for i in range(count)], [decision(i, lists=()) for i in range(count)])
    assert again == [OutcomeStatus.UNCHANGED] * count and len(emulator.org.records["Lead"]) == count


def test_a_failed_call_is_raised_only_after_its_neighbours_have_finished(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator)
    emulator.faults.timeout_seconds = 0.4  # two calls answer slowly (under the client's timeout) ...
    emulator.faults.timeouts = 2
    emulator.faults.statuses.append((400, "MALFORMED_QUERY"))  # ... the third is refused at once
    with pytest.raises(SalesforceBadRequest, match="MALFORMED_QUERY"):
        composite.run(sink.client, user_queries(15))
    # nothing is still in flight behind the caller's error handling (it may record state next)
    assert emulator.in_flight == 0
    assert emulator.calls["query_bundle"] + emulator.calls["composite"] == 3


def test_calls_that_expire_together_log_in_again_once(emulator: SalesforceEmulator) -> None:
    logins = []
    login = factory(emulator)

    def counting_login():  # type: ignore[no-untyped-def]
        logins.append(1)
        return login()

    sink = make_sink(emulator)
    sink.client._factory = counting_login  # count the re-logins of this client
    composite.run(sink.client, user_queries(1))
    emulator.expire_sessions()
    emulator.faults.latency = 0.05
    before = len(logins)
    results = composite.run(sink.client, user_queries(20))  # four calls, all refused with INVALID_SESSION_ID
    assert [r.body["totalSize"] for r in results] == [1] * 20
    assert len(logins) - before == 1


def test_a_bulk_job_and_the_collections_beside_it_run_side_by_side(emulator: SalesforceEmulator) -> None:
    sink = make_sink(emulator, bulk_threshold=250, bulk_poll_seconds=0)
    sync(sink, [lead(i) for i in range(40)], [decision(i, lists=()) for i in range(40)])  # 40 to update later
    emulator.faults.latency = 0.05
    emulator.max_in_flight = 0
    leads = [lead(i) for i in range(300)]  # 40 known (a new owner: updates), 260 new (one Bulk upsert job)
    statuses = sync(sink, leads, [decision(i, owner=BOB, lists=()) for i in range(300)])
    assert statuses == [OutcomeStatus.UPDATED] * 40 + [OutcomeStatus.CREATED] * 260
    assert emulator.calls["bulk_create_job"] == 1 and emulator.calls["query_bundle"] + emulator.calls["composite"] > 0
    owner = next(i for i, u in emulator.org.records["User"].items() if u["Email"] == BOB)
    assert len(emulator.org.records["Lead"]) == 300
    assert {r["OwnerId"] for r in emulator.org.records["Lead"].values()} == {owner}
    job = [(start, end) for _, path, start, end in emulator.spans if "/jobs/ingest" in path]
    updates = [(start, end) for method, path, start, end in emulator.spans
               if method == "PATCH" and path.endswith("/composite/sobjects")]
    assert len(updates) == 1 and job
    assert updates[0][0] < max(e for _, e in job) and updates[0][1] > min(s for s, _ in job)  # they overlapped


def test_a_batch_cut_short_while_calls_ran_side_by_side_creates_nothing_twice_when_run_again(
        emulator: SalesforceEmulator) -> None:
    from connectors.crm.salesforce import SalesforceConfig, SalesforceSink
    from connectors.errors import RetriableError
    from connectors.retry import RetryPolicy
    from tests.crm.salesforce.conftest import NEW, WORKING

    # One attempt per call: the client gives up on a slow reply (the server still does the work), as after a crash.
    once = SalesforceSink(SalesforceConfig(request_timeout=0.3), factory(emulator), statuses=[NEW, WORKING],
                          policy=RetryPolicy(attempts=1, base_delay=0))
    once.resolve_owners([ALICE, BOB], ["Unassigned"], ["Nurture"])
    count = 1_400  # seven Collections: two Composite calls side by side, one of them answered too late
    leads, decisions = [lead(i) for i in range(count)], [decision(i) for i in range(count)]
    existing = once.lookup(leads)  # the look-ups run before the fault is armed
    from connectors.crm.plan import PlanItem, plan_changes

    changes = plan_changes([PlanItem(le, d, existing.get(le.lead_key)) for le, d in zip(leads, decisions, strict=True)],
                           [NEW, WORKING], once.mapped_fields())
    emulator.faults.timeout_seconds = 0.6
    emulator.faults.timeouts = 1
    with pytest.raises(RetriableError):
        once.apply(changes)
    for _ in range(50):  # the abandoned request still lands on the server
        if emulator.in_flight == 0:
            break
        time.sleep(0.05)
    assert 0 < len(emulator.org.records["Lead"]) <= count

    again = sync(make_sink(emulator), leads, decisions)  # the batch is retried from the start
    assert set(again) <= {OutcomeStatus.CREATED, OutcomeStatus.UPDATED, OutcomeStatus.UNCHANGED}
    keys = [r["Leadsync_Key__c"] for r in emulator.org.records["Lead"].values()]
    assert sorted(keys) == sorted(f"k{i}" for i in range(count))  # every lead once
    members = [m["LeadId"] for m in emulator.org.records["CampaignMember"].values()]
    assert len(members) == len(set(members)) == count  # every membership once
