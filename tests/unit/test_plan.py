"""The shared CRM planner: only changed fields, the CRM stays the system of record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.crm.base import LOGICAL_FIELDS
from connectors.crm.plan import PlanItem, plan_change, same_value
from connectors.records import ChangeKind, CrmRecord, Decision, Lead

LEAD = Lead(lead_key="e-1", source="csv:t", source_record_id="1", received_at=datetime(2026, 3, 1, tzinfo=UTC),
            email="ann@bigco.com", first_name="Ann", last_name="Lee", company="BigCo", country="US")
DECISION = Decision(lead_key="e-1", qualification="qualified", score=62.4, grade="B", mql=True,
                    owner="alice@ourco.example", status="Working - Contacted", lists_add=["Nurture"],
                    ruleset_version="3 (sha256:abc)", explanation="Scored 62 ...")
MANAGED = ["Open - Not Contacted", "Working - Contacted"]


def synced_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "email": "ann@bigco.com", "first_name": "Ann", "last_name": "Lee", "company": "BigCo", "country": "US",
        "lead_source": "csv", "owner": "alice@ourco.example", "status": "Working - Contacted", "score": "62",
        "grade": "B", "mql": "true", "explanation": "Scored 62 ...", "lead_key": "e-1",
        "ruleset_version": "3 (sha256:abc)",
    }
    fields.update(overrides)
    return fields


def existing(**overrides: Any) -> CrmRecord:
    return CrmRecord(crm_id="7", email="ann@bigco.com", fields=synced_fields(**overrides), lists=["Nurture"])


def test_new_lead_is_created_with_every_wanted_field() -> None:
    change = plan_change(PlanItem(LEAD, DECISION, None), MANAGED, LOGICAL_FIELDS)
    assert change.kind is ChangeKind.CREATE
    assert change.fields["owner"] == "alice@ourco.example" and change.fields["score"] == 62
    assert "phone" not in change.fields  # nothing empty is written
    assert change.lists_add == ["Nurture"]


def test_no_change_resync_writes_nothing() -> None:
    change = plan_change(PlanItem(LEAD, DECISION, existing()), MANAGED, LOGICAL_FIELDS)
    assert change.kind is ChangeKind.UNCHANGED and change.fields == {} and change.lists_add == []


@pytest.mark.parametrize(("current", "expected_fields"), [
    ({"score": "55"}, {"score": 62}),                                  # decision fields follow the rules
    ({"company": "BigCo Industries"}, {}),                             # a rep's edit of a person field stays
    ({"company": None}, {"company": "BigCo"}),                         # blanks are filled
    ({"status": "Closed - Converted"}, {}),                            # a status a rep set is left alone
    ({"status": "Open - Not Contacted"}, {"status": "Working - Contacted"}),
    ({"owner": "bob@ourco.example"}, {"owner": "alice@ourco.example"}),
    ({"mql": "false"}, {"mql": True}),
])
def test_only_changed_fields(current: dict[str, Any], expected_fields: dict[str, Any]) -> None:
    change = plan_change(PlanItem(LEAD, DECISION, existing(**current)), MANAGED, LOGICAL_FIELDS)
    assert change.fields == expected_fields
    assert change.kind is (ChangeKind.UPDATE if expected_fields else ChangeKind.UNCHANGED)


def test_lists_added_and_removed() -> None:
    decision = DECISION.model_copy(update={"lists_add": ["B"], "lists_remove": ["Nurture", "Never-member"]})
    change = plan_change(PlanItem(LEAD, decision, existing()), MANAGED, LOGICAL_FIELDS)
    assert (change.lists_add, change.lists_remove, change.kind) == (["B"], ["Nurture"], ChangeKind.UPDATE)


def test_unmapped_fields_are_not_planned() -> None:
    change = plan_change(PlanItem(LEAD, DECISION, None), MANAGED, ["email", "owner"])
    assert set(change.fields) == {"email", "owner"}


@pytest.mark.parametrize(("a", "b", "same"), [
    ("62", 62, True), ("62.0", 62, True), ("true", True, True), (None, "", True), ("x", "X", False),
    ("abc", 1, False),
])
def test_same_value(a: Any, b: Any, same: bool) -> None:
    assert same_value(a, b) is same


def test_a_new_wording_of_the_same_outcome_is_not_a_change() -> None:
    decision = DECISION.model_copy(update={"explanation": "Kept existing owner ...", "ruleset_version": "4"})
    change = plan_change(PlanItem(LEAD, decision, existing()), MANAGED, LOGICAL_FIELDS)
    assert change.kind is ChangeKind.UNCHANGED
    moved = decision.model_copy(update={"score": 70})
    change = plan_change(PlanItem(LEAD, moved, existing()), MANAGED, LOGICAL_FIELDS)
    assert set(change.fields) == {"score", "explanation", "ruleset_version"}


def test_a_worked_lead_keeps_the_status_its_rep_gave_even_one_of_ours() -> None:
    # The rep set "Open - Not Contacted" back by hand after working it; an SLA check saw the touch.
    item = PlanItem(LEAD, DECISION, existing(status="Open - Not Contacted", score="55"), worked=True)
    assert plan_change(item, MANAGED, LOGICAL_FIELDS).fields == {"score": 62}
    unworked = PlanItem(LEAD, DECISION, existing(status="Open - Not Contacted", score="55"))
    assert plan_change(unworked, MANAGED, LOGICAL_FIELDS).fields == {"score": 62, "status": "Working - Contacted"}
