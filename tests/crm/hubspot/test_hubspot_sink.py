"""The HubSpot sink through the real hubspot-api-client against the HTTP emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from connectors.crm.base import LOGICAL_FIELDS
from connectors.crm.hubspot import HubSpotConfig, HubSpotCredentials, HubSpotSink
from connectors.crm.plan import PlanItem, plan_changes
from connectors.errors import ConfigError, QuotaExhaustedError
from connectors.records import ChangeKind, Decision, Lead, OutcomeStatus
from connectors.retry import RetryPolicy
from tests.emulators.hubspot import HubSpotEmulator

ALICE, BOB = "alice@ourco.example", "bob@ourco.example"
FAST = RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.5, sleep=lambda s: __import__("time").sleep(min(s, 0.5)))


@pytest.fixture
def emulator() -> Iterator[HubSpotEmulator]:
    emu = HubSpotEmulator().start()
    emu.account.add_owner(ALICE)
    emu.account.add_owner(BOB)
    for name in ("leadsync_score", "leadsync_grade", "leadsync_mql", "leadsync_explanation", "leadsync_key",
                 "leadsync_ruleset", "leadsync_source"):
        emu.account.properties[name] = "string"
    emu.account.unique_properties.add("leadsync_key")  # as `validate --check-crm --create-properties` makes it
    yield emu
    emu.stop()


def sink(emu: HubSpotEmulator, **config: object) -> HubSpotSink:
    s = HubSpotSink(HubSpotConfig(**config), HubSpotCredentials(access_token=SecretStr("pat-na1-test-token")),  # type: ignore[arg-type]
                    host=emu.url, policy=FAST)
    s.resolve_owners([ALICE, BOB], [], ["Nurture"])
    return s


def lead(i: int, email: str | None = None) -> Lead:
    return Lead(lead_key=f"k{i}", source="t", source_record_id=str(i), received_at=datetime(2026, 3, 2, tzinfo=UTC),
                email=email if email is not None else f"p{i}@co{i}.example", first_name=f"P{i}", last_name="Lee",
                company="Co")


def decision(i: int, owner: str = ALICE, mql: bool = False, lists: tuple[str, ...] = ("Nurture",)) -> Decision:
    return Decision(lead_key=f"k{i}", qualification="qualified", score=42, grade="B", mql=mql, owner=owner,
                    status="IN_PROGRESS" if mql else "NEW", lists_add=list(lists),
                    lists_remove=[] if lists else ["Nurture"], ruleset_version="1 (sha256:x)", explanation="Because.")


def sync(s: HubSpotSink, leads: list[Lead], decisions: list[Decision]) -> list[OutcomeStatus]:
    existing = s.lookup(leads)
    changes = plan_changes([PlanItem(lead, d, existing.get(lead.lead_key)) for lead, d in zip(leads, decisions,
                                                                                           strict=True)],
                           ["NEW", "IN_PROGRESS"], s.mapped_fields())
    return [o.status for o in s.apply(changes)]


def test_create_then_no_change_resync_makes_zero_writes(emulator: HubSpotEmulator) -> None:
    s = sink(emulator)
    leads = [lead(i) for i in range(250)]
    assert set(sync(s, leads, [decision(i) for i in range(250)])) == {OutcomeStatus.CREATED}
    assert emulator.calls["contacts.batch.upsert"] == 3  # 100 + 100 + 50
    assert len(emulator.account.contacts) == 250
    contact = next(iter(emulator.account.contacts.values()))["properties"]
    assert contact["hubspot_owner_id"] == next(o for o, v in emulator.account.owners.items() if v["email"] == ALICE)
    assert (contact["hs_lead_status"], contact["lifecyclestage"], contact["leadsync_score"]) == ("NEW", "lead", "42")
    assert len(next(iter(emulator.account.lists.values()))["members"]) == 250
    assert emulator.calls["lists.memberships"] == 1  # 250 members in one call (up to 500 per call)
    writes = emulator.write_calls()
    again = sink(emulator)
    assert set(sync(again, leads, [decision(i) for i in range(250)])) == {OutcomeStatus.UNCHANGED}
    assert emulator.write_calls() == writes


def test_update_only_changed_properties_and_lifecycle_forward_only(emulator: HubSpotEmulator) -> None:
    s = sink(emulator)
    sync(s, [lead(1)], [decision(1)])
    assert sync(sink(emulator), [lead(1)], [decision(1, mql=True)]) == [OutcomeStatus.UPDATED]
    props = next(iter(emulator.account.contacts.values()))["properties"]
    assert (props["lifecyclestage"], props["leadsync_mql"], props["hs_lead_status"]) == (
        "marketingqualifiedlead", "true", "IN_PROGRESS")
    sync(sink(emulator), [lead(1)], [decision(1, mql=False)])
    assert props["lifecyclestage"] == "marketingqualifiedlead"  # never moved back down the funnel


def test_owned_contact_is_reported_with_its_owner(emulator: HubSpotEmulator) -> None:
    s = sink(emulator)
    sync(s, [lead(1)], [decision(1, owner=BOB)])
    assert sink(emulator).lookup([lead(1)])["k1"].owner == BOB


def test_lists_added_and_removed_in_batches(emulator: HubSpotEmulator) -> None:
    leads = [lead(i) for i in range(5)]
    sync(sink(emulator), leads, [decision(i) for i in range(5)])
    members = next(iter(emulator.account.lists.values()))["members"]
    assert len(members) == 5
    assert emulator.calls["lists.memberships"] == 1  # all five added in one call
    found = sink(emulator).lookup(leads)
    assert all(r.lists == ["Nurture"] for r in found.values())
    sync(sink(emulator), leads, [decision(i, lists=()) for i in range(5)])
    assert members == set()
    assert emulator.calls["lists.memberships"] == 2  # and removed in one


def test_list_memberships_go_500_per_call(emulator: HubSpotEmulator) -> None:
    leads = [lead(i) for i in range(1100)]
    sync(sink(emulator), leads, [decision(i) for i in range(1100)])
    assert len(next(iter(emulator.account.lists.values()))["members"]) == 1100
    assert emulator.calls["lists.memberships"] == 3  # 500 + 500 + 100


def test_partial_batch_failure_is_a_rejected_outcome_with_hubspots_message(emulator: HubSpotEmulator) -> None:
    emulator.faults.reject_emails["p1@co1.example"] = "Property values were not valid: phone"
    outcomes = sink(emulator).apply(plan_changes([PlanItem(lead(i), decision(i), None) for i in range(3)], [],
                                                 LOGICAL_FIELDS))
    assert [o.status for o in outcomes] == [OutcomeStatus.CREATED, OutcomeStatus.REJECTED, OutcomeStatus.CREATED]
    assert outcomes[1].error_message == "Property values were not valid: phone"


def test_rate_limit_storm_is_survived_and_every_lead_pushed_once(emulator: HubSpotEmulator) -> None:
    emulator.faults.window_seconds, emulator.faults.window_max = 0.5, 3
    s = sink(emulator)
    s.client._budget = 50  # pretend we do not know the real limit: the server's 429s must be survived
    leads = [lead(i) for i in range(600)]
    assert set(sync(s, leads, [decision(i, lists=()) for i in range(600)])) == {OutcomeStatus.CREATED}
    assert len(emulator.account.contacts) == 600


def test_daily_limit_stops_cleanly(emulator: HubSpotEmulator) -> None:
    s = sink(emulator)
    emulator.faults.daily_remaining = 0
    with pytest.raises(QuotaExhaustedError, match="daily API limit"):
        s.apply(plan_changes([PlanItem(lead(1), decision(1), None)], [], LOGICAL_FIELDS))
    assert emulator.account.contacts == {}


def test_unknown_owner_is_a_config_error_before_any_write(emulator: HubSpotEmulator) -> None:
    s = HubSpotSink(HubSpotConfig(), HubSpotCredentials(access_token=SecretStr("pat-x")), host=emulator.url)
    with pytest.raises(ConfigError) as info:
        s.resolve_owners([ALICE, "ghost@ourco.example"], [])
    assert info.value.problems == ["owner 'ghost@ourco.example' is not an active HubSpot user"]
    assert emulator.write_calls() == 0


def test_lead_without_email_is_created_and_found_again_by_its_key(emulator: HubSpotEmulator) -> None:
    s = sink(emulator)
    no_email = lead(7, email="")
    assert sync(s, [no_email], [decision(7)]) == [OutcomeStatus.CREATED]
    assert emulator.calls["contacts.batch.upsert"] == 1  # upserted on the unique lead key
    assert sync(sink(emulator), [no_email], [decision(7)]) == [OutcomeStatus.UNCHANGED]
    assert sync(sink(emulator), [no_email], [decision(7, owner=BOB)]) == [OutcomeStatus.UPDATED]
    assert len(emulator.account.contacts) == 1 and emulator.calls["contacts.batch.update"] == 1


def test_check_schema_reports_and_creates_missing_properties(emulator: HubSpotEmulator) -> None:
    del emulator.account.properties["leadsync_grade"]
    del emulator.account.properties["leadsync_key"]
    s = sink(emulator)
    assert s.check_schema() == [f"HubSpot contact property '{name}' does not exist (create it, or run validate "
                                "--check-crm --create-properties)" for name in ("leadsync_grade", "leadsync_key")]
    assert s.check_schema(create_missing=True) == []
    assert "leadsync_grade" in emulator.account.properties
    assert emulator.account.unique_properties == {"leadsync_key"}  # the lead key is created unique


def test_a_lead_key_without_unique_values_is_reported_and_no_email_leads_are_created(
        emulator: HubSpotEmulator) -> None:
    emulator.account.unique_properties.clear()
    s = sink(emulator)
    assert any("does not require unique values" in p for p in s.check_schema())
    assert sync(s, [lead(7, email="")], [decision(7)]) == [OutcomeStatus.CREATED]
    assert emulator.calls["contacts.batch.create"] == 1


def test_no_change_kind_means_no_call(emulator: HubSpotEmulator) -> None:
    s = sink(emulator)
    before = sum(emulator.calls.values())
    from connectors.records import CrmChange

    [out] = s.apply([CrmChange(lead_key="k1", kind=ChangeKind.UNCHANGED, crm_id="1")])
    assert out.status is OutcomeStatus.UNCHANGED and sum(emulator.calls.values()) == before


def test_pacing_stays_under_the_window_without_any_429(emulator: HubSpotEmulator) -> None:
    emulator.faults.window_seconds, emulator.faults.window_max = 1.0, 12
    s = HubSpotSink(HubSpotConfig(requests_per_10s=12, pace_margin=2),
                    HubSpotCredentials(access_token=SecretStr("pat-x")), host=emulator.url, window_seconds=1.0)
    s.resolve_owners([ALICE], [])
    started = __import__("time").monotonic()
    for i in range(25):
        s.lookup([lead(i)])
    elapsed = __import__("time").monotonic() - started
    assert elapsed >= 1.5  # paced: 26 calls at 10 per second
    assert "RATE_LIMITED" not in str(emulator.calls)
    assert s.client.calls == 26  # every call went through on the first try: no 429 was ever answered


def test_server_errors_are_retried(emulator: HubSpotEmulator) -> None:
    s = sink(emulator)
    changes = plan_changes([PlanItem(lead(1), decision(1, lists=()), None)], [], LOGICAL_FIELDS)
    emulator.faults.statuses = [502, 503]
    assert [o.status for o in s.apply(changes)] == [OutcomeStatus.CREATED]
    assert emulator.calls["contacts.batch.upsert"] == 3 and len(emulator.account.contacts) == 1
