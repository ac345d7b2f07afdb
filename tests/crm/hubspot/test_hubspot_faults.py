"""Timeouts and HubSpot's per-record validation, through the sink and the real client."""

from __future__ import annotations

import time

from connectors.crm.base import LOGICAL_FIELDS
from connectors.crm.plan import PlanItem, plan_changes
from connectors.records import OutcomeStatus
from tests.crm.hubspot.test_hubspot_sink import decision, emulator, lead, sink  # noqa: F401 - fixture
from tests.emulators.hubspot import HubSpotEmulator


def test_a_write_answered_after_the_timeout_is_retried_and_pushed_once(emulator: HubSpotEmulator) -> None:  # noqa: F811
    s = sink(emulator, request_timeout_seconds=0.3)
    emulator.faults.timeouts, emulator.faults.timeout_sleep = 1, 3.0  # HubSpot writes, then answers too late
    changes = plan_changes([PlanItem(lead(i), decision(i, lists=()), None) for i in range(3)], [], LOGICAL_FIELDS)
    started = time.monotonic()
    outcomes = s.apply(changes)
    assert time.monotonic() - started < 2.0, "the client must give up at its timeout, not wait for the answer"
    # The retry finds the contacts its lost first attempt made (HubSpot answers new=false): updated, not twinned.
    assert [o.status for o in outcomes] == [OutcomeStatus.UPDATED] * 3
    assert len({o.crm_id for o in outcomes}) == 3 and {o.crm_id for o in outcomes} == set(emulator.account.contacts)
    assert emulator.timed_out == 1 and emulator.calls["contacts.batch.upsert"] == 2
    assert len(emulator.account.contacts) == 3  # the retried upsert by e-mail made no twin


def test_a_lookup_that_times_out_is_retried(emulator: HubSpotEmulator) -> None:  # noqa: F811
    s = sink(emulator, request_timeout_seconds=0.3)
    s.lookup([lead(0)])  # owners and lists are looked up once per run; this call is about the contact read
    emulator.faults.timeouts, emulator.faults.timeout_sleep = 1, 1.0
    assert s.lookup([lead(1)]) == {}
    assert emulator.calls["contacts.batch.read"] == 3 and emulator.timed_out == 1


def test_a_status_hubspot_does_not_offer_is_rejected_with_its_message(emulator: HubSpotEmulator) -> None:  # noqa: F811
    bad = decision(1, lists=()).model_copy(update={"status": "WORKING"})
    changes = plan_changes([PlanItem(lead(0), decision(0, lists=()), None), PlanItem(lead(1), bad, None)], [],
                           LOGICAL_FIELDS)
    first, second = sink(emulator).apply(changes)
    assert first.status is OutcomeStatus.CREATED and second.status is OutcomeStatus.REJECTED
    assert second.error_code == "HS:VALIDATION_ERROR"
    assert "WORKING was not one of the allowed options" in str(second.error_message)
    assert len(emulator.account.contacts) == 1


def test_a_lead_without_email_retried_after_a_lost_reply_makes_no_twin(emulator: HubSpotEmulator) -> None:  # noqa: F811
    s = sink(emulator, request_timeout_seconds=0.3)
    s.apply(plan_changes([PlanItem(lead(9, email=""), decision(9, lists=()), None)], [], LOGICAL_FIELDS))
    emulator.faults.timeouts, emulator.faults.timeout_sleep = 1, 1.0  # the upsert lands, its answer is lost
    changes = plan_changes([PlanItem(lead(i, email=""), decision(i, lists=()), None) for i in range(3)], [],
                           LOGICAL_FIELDS)
    outcomes = s.apply(changes)
    assert [o.status for o in outcomes] == [OutcomeStatus.UPDATED] * 3  # found by the retry, not created again
    assert len(emulator.account.contacts) == 4 and emulator.timed_out == 1
