"""The Salesforce call budget: 1,000 new leads, default settings, process batches of 500: at most 12 calls.

Look-ups are queries bundled five to a Composite call, lead upserts and campaign memberships are
sObject Collections bundled the same way; every call the sink makes, set-up included, counts.
"""

from __future__ import annotations

from connectors.records import OutcomeStatus
from flows.config.models import ProcessingConfig
from tests.crm.salesforce.conftest import ALICE, BOB, decision, lead, make_sink, sync
from tests.emulators.salesforce import SalesforceEmulator


def test_1000_new_leads_take_at_most_12_calls(emulator: SalesforceEmulator) -> None:
    batch = ProcessingConfig().batch_size
    leads = [lead(i) for i in range(1000)]
    decisions = [decision(i, owner=(ALICE, BOB)[i % 2]) for i in range(1000)]
    sink = make_sink(emulator)  # resolves owners, queues, campaigns and checks the mapping: counted too
    outcomes: list[OutcomeStatus] = []
    for start in range(0, 1000, batch):
        outcomes += sync(sink, leads[start:start + batch], decisions[start:start + batch])
    assert outcomes == [OutcomeStatus.CREATED] * 1000
    assert len(emulator.org.records["Lead"]) == 1000 and len(emulator.org.records["CampaignMember"]) == 1000
    calls = sum(emulator.calls.values())
    assert calls <= 12, dict(emulator.calls)
    assert emulator.subrequests["composite_upsert"] == 6 and emulator.subrequests["composite_create"] == 6
