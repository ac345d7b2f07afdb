"""Hand-offs derived at settle and the outbox, on SQLite and PostgreSQL: same transaction as the decisions,
one key per hand-off across retries, claims with leases, nurture cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.crm.plan import PlanItem
from connectors.records import CrmRecord, Decision, Lead, OutcomeStatus, RecordOutcome, StageTransition
from flows.handoff.derive import record_settled
from flows.state import StateStore
from rules import Ruleset
from tests.handoff.conftest import FOLLOWUP
from tests.rules.builders import ruleset

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
ALICE, BOB = "alice@ourco.example", "bob@ourco.example"


def rules(**followup: Any) -> Ruleset:
    return ruleset(routing={"teams": {"t": {"members": [ALICE, BOB]}},
                            "reps": {ALICE: {"timezone": "Europe/Stockholm", "working_hours": "09:00-17:00",
                                             "working_days": ["mon", "tue", "wed", "thu", "fri"]}},
                            "default": {"queue": "Unassigned"}},
                   followup={**FOLLOWUP, "escalation": {**FOLLOWUP["escalation"], "team_leads": {"t": BOB}},
                             **followup})


@pytest.fixture
def store(store_url: str) -> StateStore:
    s = StateStore(store_url)
    s.create_schema()
    return s


def item(n: int, owner: str | None = ALICE, crm_owner: str | None = None, transition: bool = False,
         stage: str | None = None) -> PlanItem:
    lead = Lead(lead_key=f"k{n}", source="forms:demo", source_record_id=str(n), received_at=NOW,
                first_name="Ada", last_name=f"L{n}", company="Acme", email=f"p{n}@acme.example")
    decision = Decision(lead_key=f"k{n}", qualification="qualified", owner=owner, team="t", score=70,
                        status="New", explanation="score 70: demo form (+20)", stage=stage,  # type: ignore[arg-type]
                        transition=StageTransition(from_stage="nurture", to_stage="mql", at=NOW, cause="x")
                        if transition else None)
    existing = CrmRecord(crm_id=f"c{n}", owner=crm_owner, fields={"status": "New"}) if crm_owner else None
    return PlanItem(lead, decision, existing)


def settle(store: StateStore, rs: Ruleset, items: list[PlanItem], status: OutcomeStatus = OutcomeStatus.CREATED,
           now: datetime = NOW) -> None:
    outcomes = [RecordOutcome(lead_key=i.lead.lead_key, status=status, crm_id=f"c{i.lead.lead_key[1:]}")
                for i in items]
    ledger = [{"lead_key": i.lead.lead_key, "ruleset_version": "1", "outcome": status.value, "crm_id": "c",
               "decision": i.decision.model_dump(mode="json")} for i in items]
    record_settled(store, "run", rs, items, outcomes, ledger, now)


def test_routed_and_mql_handoffs_with_their_outbox_rows(store: StateStore) -> None:
    rs = rules()
    settle(store, rs, [item(1), item(2, owner=None), item(3, transition=True)])
    rows = {h.handoff.lead_key: h for h in store.handoff_rows()}
    assert set(rows) == {"k1", "k3"}  # a lead routed to a queue is not a hand-off
    assert rows["k1"].handoff.kind == "routed" and rows["k3"].handoff.kind == "mql"
    assert rows["k1"].due_at == NOW + timedelta(minutes=60)  # first-touch: 60 wall-clock minutes
    assert rows["k3"].due_at == datetime(2026, 3, 2, 12, tzinfo=UTC)  # 11:00 CET + 2 working hours
    assert rows["k1"].handoff.explanation == "score 70: demo form (+20)" and rows["k1"].initial_status == "New"
    outbox = store.outbox_rows()
    assert sorted((r["channel"], r["handoff_key"]) for r in outbox) == sorted(
        [("task", rows["k1"].handoff.key), ("notify", rows["k1"].handoff.key),
         ("task", rows["k3"].handoff.key), ("notify", rows["k3"].handoff.key)])
    task = next(r for r in outbox if r["channel"] == "task" and r["handoff_key"] == rows["k3"].handoff.key)
    assert task["payload"]["subject"] == "MQL: Ada L3" and task["payload"]["due_date"] == "2026-03-02"


def test_retry_after_a_crash_derives_the_same_handoff_once(store: StateStore) -> None:
    rs = rules()
    settle(store, rs, [item(1)])
    key = store.handoff_rows()[0].handoff.key
    # Re-processed (crash before inbox status, re-delivered webhook): the CRM now shows the owner.
    settle(store, rs, [item(1, crm_owner=ALICE)], OutcomeStatus.UNCHANGED, now=NOW + timedelta(minutes=5))
    assert [h.handoff.key for h in store.handoff_rows()] == [key]
    assert len(store.outbox_rows()) == 2


def test_crash_between_crm_write_and_settle_still_yields_the_handoff(store: StateStore) -> None:
    # The first attempt wrote the CRM and died before the decisions ledger: the CRM shows the owner,
    # but nothing is recorded, so the retry hands the lead over.
    settle(store, rules(), [item(1, crm_owner=ALICE)], OutcomeStatus.UNCHANGED)
    assert [h.handoff.kind for h in store.handoff_rows()] == ["routed"]


def test_owner_change_is_a_new_handoff_and_lead_owned_before_is_not(store: StateStore) -> None:
    rs = rules()
    settle(store, rs, [item(1)])
    settle(store, rs, [item(1, owner=BOB, crm_owner=ALICE)], OutcomeStatus.UPDATED, now=NOW + timedelta(days=1))
    assert [(h.handoff.kind, h.handoff.owner) for h in store.handoff_rows()] == [("routed", ALICE),
                                                                                   ("routed", BOB)]
    # decided before, already owned in the CRM by the same rep, no hand-off recorded (feature switched on later)
    store.record_decisions("old", [{"lead_key": "k9", "ruleset_version": "0", "outcome": "created",
                                    "crm_id": "c9", "decision": {}}])
    settle(store, rs, [item(9, crm_owner=ALICE)], OutcomeStatus.UNCHANGED)
    assert "k9" not in {h.handoff.lead_key for h in store.handoff_rows()}


def test_rejected_leads_make_no_handoff_and_the_ledger_and_outbox_share_a_transaction(store: StateStore) -> None:
    rs = rules()
    settle(store, rs, [item(1)], OutcomeStatus.REJECTED)
    assert store.handoff_rows() == [] and store.outbox_rows() == []
    bad = [{"lead_key": None, "ruleset_version": "1", "outcome": "created", "crm_id": "c", "decision": {}}]
    with pytest.raises(Exception):  # noqa: B017 - the ledger row violates NOT NULL: nothing may be left behind
        record_settled(store, "run", rs, [item(2)], [RecordOutcome(lead_key="k2", status=OutcomeStatus.CREATED,
                                                                   crm_id="c2")], bad, NOW)
    assert store.handoff_rows() == [] and store.outbox_rows() == []


def test_claim_lease_retry_and_dead(store: StateStore) -> None:
    settle(store, rules(), [item(1)])
    now = datetime.now(UTC)
    claimed = store.claim_outbox(now, 10, timedelta(minutes=10))
    assert len(claimed) == 2 and not any(r.maybe_sent for r in claimed)
    assert store.claim_outbox(now, 10, timedelta(minutes=10)) == []  # leased
    again = store.claim_outbox(now + timedelta(minutes=11), 10, timedelta(minutes=10))  # lease ran out (crash)
    assert len(again) == 2 and all(r.maybe_sent and r.attempts == 2 for r in again)
    store.outbox_done({again[0].id: "T-1"})
    store.outbox_retry_later([again[1].id], "HTTP 503", now + timedelta(hours=1))
    store.outbox_retry_later([again[1].id], "", now + timedelta(hours=2), count_attempt=False)
    rows = {r["id"]: r for r in store.outbox_rows()}
    assert rows[again[0].id]["status"] == "sent" and rows[again[0].id]["external_id"] == "T-1"
    assert rows[again[1].id]["attempts"] == 1 and rows[again[1].id]["last_error"] == "HTTP 503"
    store.outbox_dead([again[1].id], "gave up")
    assert store.claim_outbox(now + timedelta(days=1), 10, timedelta(minutes=1)) == []


def test_nurture_cadence_until_the_stage_changes(store: StateStore) -> None:
    rs = rules(nurture={"every_days": 30})
    settle(store, rs, [item(1, stage="nurture")])
    assert store.due_nurture(NOW + timedelta(days=29)) == []
    [(template, due)] = store.due_nurture(NOW + timedelta(days=30))
    assert template.kind == "nurture_followup" and due == NOW + timedelta(days=30)
    store.advance_nurture("k1", due, due + timedelta(days=30), [], [])
    store.advance_nurture("k1", due, due + timedelta(days=60), [], [])  # a second caller finds it moved
    assert store.due_nurture(NOW + timedelta(days=59)) == []
    settle(store, rs, [item(1, stage="nurture")], OutcomeStatus.UNCHANGED, now=NOW + timedelta(days=40))
    assert store.due_nurture(NOW + timedelta(days=59)) == []  # same owner: the clock keeps running
    settle(store, rs, [item(1, stage="mql")], OutcomeStatus.UPDATED, now=NOW + timedelta(days=41))
    assert store.due_nurture(NOW + timedelta(days=400)) == []


def test_an_mql_transition_seen_again_while_the_mql_handoff_is_open_is_not_a_new_one(store: StateStore) -> None:
    rs = rules()
    settle(store, rs, [item(3, transition=True)])
    again = item(3, transition=True, crm_owner=ALICE)  # re-derived after a crash, with a later transition time
    assert again.decision.transition is not None
    again.decision.transition.at = NOW + timedelta(minutes=3)
    settle(store, rs, [again], OutcomeStatus.UNCHANGED, now=NOW + timedelta(minutes=3))
    assert [h.handoff.kind for h in store.handoff_rows()] == ["mql"]
