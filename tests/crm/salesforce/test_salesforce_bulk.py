"""Bulk API 2.0 writes: the CSV leadsync builds itself, per-record results, and the public path for huge files."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest

from connectors.crm.salesforce import writes
from connectors.crm.salesforce.soql import encoded_length
from connectors.records import OutcomeStatus
from tests.crm.salesforce.conftest import BOB, decision, lead, make_sink, sync_outcomes
from tests.emulators.salesforce import SalesforceEmulator

Created, Updated, Rejected = OutcomeStatus.CREATED, OutcomeStatus.UPDATED, OutcomeStatus.REJECTED
AWKWARD = 'Smith, "Jones"\nand Sons'  # comma, quotes and a line break: CSV quoting must carry them intact


@pytest.mark.parametrize("one_job_limit", [writes.MAX_JOB_BYTES, 1], ids=["own-csv", "public-split-path"])
def test_bulk_upsert_then_update_with_per_record_results(emulator: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch,
                                                         one_job_limit: int) -> None:
    monkeypatch.setattr(writes, "MAX_JOB_BYTES", one_job_limit)
    sink = make_sink(emulator, bulk_threshold=250, bulk_poll_seconds=0)
    emulator.faults.reject_emails["p7@co7.example"] = ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "no thanks")
    leads = [lead(i, company=AWKWARD if i == 3 else f"Co{i}") for i in range(300)]
    outcomes = sync_outcomes(sink, leads, [decision(i, lists=()) for i in range(300)])
    assert emulator.calls["bulk_create_job"] == 1 and emulator.subrequests["composite_upsert"] == 0
    assert [o.status for o in outcomes].count(Created) == 299
    assert outcomes[7].status is Rejected and outcomes[7].error_code == "SF:FIELD_CUSTOM_VALIDATION_EXCEPTION"
    rows = {r["Leadsync_Key__c"]: (i, r) for i, r in emulator.org.records["Lead"].items()}
    assert len(rows) == 299 and rows["k3"][1]["Company"] == AWKWARD
    assert all(o.crm_id == rows[o.lead_key][0] for o in outcomes if o.status is Created)

    again = sync_outcomes(sink, leads, [decision(i, owner=BOB, lists=()) for i in range(300)])  # a new owner
    # 299 updates reach the threshold: one update job; the lone create that retries k7 goes as a Collection
    assert emulator.calls["bulk_create_job"] == 2 and emulator.subrequests["composite_upsert"] == 0
    assert emulator.calls["composite_upsert"] == 1
    assert [o.status for o in again].count(Updated) == 299 and again[7].status is Rejected
    owner = next(i for i, u in emulator.org.records["User"].items() if u["Email"] == BOB)
    assert {r["OwnerId"] for r in emulator.org.records["Lead"].values()} == {owner}
    assert len(emulator.org.records["Lead"]) == 299


@pytest.mark.parametrize("text", ["plain", "o'hara@example.com", "a b+c", "50%_x\\y\n", "Zoë 漢字 €", ""])
def test_encoded_length_matches_quote_plus(text: str) -> None:
    assert encoded_length(text) == len(quote_plus(text))
