"""A Salesforce org in the emulator, and sinks that talk to it through the real simple-salesforce client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.crm.plan import PlanItem, plan_changes
from connectors.crm.salesforce import SalesforceConfig, SalesforceSink
from connectors.records import Decision, Lead, OutcomeStatus
from connectors.retry import RetryPolicy
from tests.emulators.salesforce import SalesforceEmulator, salesforce_client

ALICE, BOB, CAROL = "alice@ourco.example", "bob@ourco.example", "carol@ourco.example"
NEW, WORKING = "Open - Not Contacted", "Working - Contacted"
FAST = RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.2, sleep=lambda s: time.sleep(min(s, 0.2)))


def seed_org(emu: SalesforceEmulator) -> None:
    org = emu.org
    org.add_user(ALICE, "Alice", "Ames")
    org.add_user(BOB, "Bob", "Baker")
    org.add_user(CAROL, "Carol", "Cole", active=False)
    org.add_queue("Unassigned")
    org.add_campaign("Nurture")
    org.add_custom_field("Lead", "Leadsync_Score__c", type="double")
    org.add_custom_field("Lead", "Leadsync_Grade__c", type="string", length=1)
    org.add_custom_field("Lead", "Leadsync_MQL__c", type="boolean")
    org.add_custom_field("Lead", "Leadsync_Explanation__c", type="textarea", length=1000)
    org.add_custom_field("Lead", "Leadsync_Key__c", type="string", external_id=True, unique=True)
    org.add_custom_field("Lead", "Leadsync_Ruleset__c", type="string")


@pytest.fixture(scope="session")
def sf_emulator() -> Iterator[SalesforceEmulator]:
    emu = SalesforceEmulator().start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(sf_emulator: SalesforceEmulator) -> SalesforceEmulator:
    sf_emulator.reset()
    seed_org(sf_emulator)
    return sf_emulator


def factory(emu: SalesforceEmulator):  # type: ignore[no-untyped-def]
    """What a login does: a fresh session each time (the sink calls it again after INVALID_SESSION_ID)."""
    return lambda: salesforce_client(emu, session_id=emu.issue_session())


def make_sink(emu: SalesforceEmulator, *, owners: tuple[str, ...] = (ALICE, BOB), lists: tuple[str, ...] = ("Nurture",),
              queues: tuple[str, ...] = ("Unassigned",), **config: object) -> SalesforceSink:
    sink = SalesforceSink(SalesforceConfig(**config), factory(emu), statuses=[NEW, WORKING],  # type: ignore[arg-type]
                          policy=FAST)
    sink.resolve_owners(list(owners), list(queues), list(lists))
    return sink


def lead(i: int, email: str | None = None, **fields: object) -> Lead:
    values: dict[str, object] = {"first_name": f"P{i}", "last_name": "Lee", "company": f"Co{i}", **fields}
    return Lead(lead_key=f"k{i}", source="t", source_record_id=str(i), received_at=datetime(2026, 3, 2, tzinfo=UTC),
                email=email if email is not None else f"p{i}@co{i}.example", **values)  # type: ignore[arg-type]


def decision(i: int, owner: str | None = ALICE, mql: bool = False, lists: tuple[str, ...] = ("Nurture",),
             queue: str | None = None, remove: tuple[str, ...] = ()) -> Decision:
    return Decision(lead_key=f"k{i}", qualification="qualified", score=42 + (30 if mql else 0), grade="B", mql=mql,
                    owner=owner, queue=queue, status=WORKING if mql else NEW, lists_add=list(lists),
                    lists_remove=list(remove), ruleset_version="1 (sha256:abc)", explanation="Because: title 45.")


def sync(sink: SalesforceSink, leads: list[Lead], decisions: list[Decision]) -> list[OutcomeStatus]:
    return [o.status for o in sync_outcomes(sink, leads, decisions)]


def sync_outcomes(sink: SalesforceSink, leads: list[Lead], decisions: list[Decision]):  # type: ignore[no-untyped-def]
    existing = sink.lookup(leads)
    items = [PlanItem(lead, d, existing.get(lead.lead_key)) for lead, d in zip(leads, decisions, strict=True)]
    return sink.apply(plan_changes(items, [NEW, WORKING], sink.mapped_fields()))


def write_calls(emu: SalesforceEmulator) -> int:
    return sum(n for name, n in emu.calls.items() if name.startswith(("composite", "bulk", "sobject_create",
                                                                       "sobject_update", "sobject_upsert",
                                                                       "sobject_delete")))


def user_id(emu: SalesforceEmulator, email: str) -> str:
    return next(i for i, u in emu.org.records["User"].items() if u["Email"] == email)


def queue_id(emu: SalesforceEmulator, name: str) -> str:
    return next(i for i, g in emu.org.records["Group"].items() if g["Name"] == name)
