"""The embedded local CRM behind the sink interface."""

from __future__ import annotations

import csv
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from connectors.crm.base import LOGICAL_FIELDS
from connectors.crm.local import LocalAccount, LocalCrmConfig, LocalCrmSink, LocalUser
from connectors.errors import ConfigError
from connectors.records import ChangeKind, CrmChange, Lead, OutcomeStatus


@pytest.fixture
def crm(tmp_path: Path) -> LocalCrmSink:
    return LocalCrmSink(LocalCrmConfig(
        path=str(tmp_path / "crm.db"),
        users=[LocalUser(email="alice@ourco.example"), LocalUser(email="old@ourco.example", active=False)],
        queues=["Unassigned Leads"],
        accounts=[LocalAccount(domain="bigco.com", owner="alice@ourco.example")]))


def lead(key: str, email: str | None) -> Lead:
    return Lead(lead_key=key, source="t", source_record_id=key, received_at=datetime(2026, 1, 1, tzinfo=UTC),
                email=email)


def create(key: str, email: str, owner: str = "alice@ourco.example") -> CrmChange:
    return CrmChange(lead_key=key, kind=ChangeKind.CREATE, email=email,
                     fields={"email": email, "lead_key": key, "owner": owner, "status": "New"}, lists_add=["N"])


def test_unknown_or_inactive_owners_fail_before_any_write(crm: LocalCrmSink) -> None:
    crm.resolve_owners(["alice@ourco.example"], ["Unassigned Leads"])
    with pytest.raises(ConfigError) as info:
        crm.resolve_owners(["old@ourco.example", "ghost@ourco.example"], ["Nope"])
    assert len(info.value.problems) == 3


def test_create_lookup_update_and_no_change(crm: LocalCrmSink) -> None:
    [out] = crm.apply([create("e-1", "ann@bigco.com")])
    assert out.status is OutcomeStatus.CREATED
    found = crm.lookup([lead("e-1", "ann@bigco.com"), lead("e-2", "ANN-other@x.com")])
    assert list(found) == ["e-1"]
    record = found["e-1"]
    assert (record.owner, record.account_owner, record.lists) == ("alice@ourco.example", "alice@ourco.example", ["N"])
    writes = crm.write_calls
    [same] = crm.apply([CrmChange(lead_key="e-1", kind=ChangeKind.UNCHANGED, crm_id=record.crm_id)])
    assert same.status is OutcomeStatus.UNCHANGED and crm.write_calls == writes
    [upd] = crm.apply([CrmChange(lead_key="e-1", kind=ChangeKind.UPDATE, crm_id=record.crm_id,
                                 fields={"status": "Working"}, lists_remove=["N"])])
    assert upd.status is OutcomeStatus.UPDATED
    assert crm.lookup([lead("e-1", None)])["e-1"].fields["status"] == "Working"
    assert crm.lookup([lead("e-1", None)])["e-1"].lists == []


def test_lookup_by_email_when_the_key_is_new(crm: LocalCrmSink) -> None:
    crm.apply([create("s-9", "ann@bigco.com")])
    assert crm.lookup([lead("e-1", "ann@bigco.com")])["e-1"].crm_id == "1"


def test_repeated_create_after_a_crash_updates_instead_of_duplicating(crm: LocalCrmSink) -> None:
    crm.apply([create("e-1", "ann@bigco.com")])
    [again] = crm.apply([create("e-1", "ann@bigco.com")])
    assert again.status is OutcomeStatus.UPDATED
    assert len(crm.all_leads()) == 1


def test_bad_owner_rejects_one_record_not_the_batch(crm: LocalCrmSink) -> None:
    outcomes = crm.apply([create("e-1", "a@x.com", owner="ghost@ourco.example"), create("e-2", "b@x.com")])
    assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED, OutcomeStatus.CREATED]
    assert outcomes[0].error_code == "INVALID_OWNER" and "ghost" not in (outcomes[0].error_message or "")


def test_account_owners_by_domain(crm: LocalCrmSink) -> None:
    assert crm.account_owners(["BigCo.com", "other.com"]) == {"bigco.com": "alice@ourco.example"}


def test_export_csv(crm: LocalCrmSink, tmp_path: Path) -> None:
    crm.apply([create("e-1", "ann@bigco.com"), create("e-2", "bo@x.com")])
    assert crm.export_csv(tmp_path / "out.csv") == 2
    with open(tmp_path / "out.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["email"] for r in rows] == ["ann@bigco.com", "bo@x.com"] and rows[0]["lists"] == "N"
    assert set(LOGICAL_FIELDS) <= set(rows[0])


def _count_statements(crm: LocalCrmSink) -> list[str]:
    statements: list[str] = []
    event.listen(crm.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))
    return statements


def test_writes_and_lookups_are_a_few_statements_per_batch_not_per_lead(crm: LocalCrmSink) -> None:
    statements = _count_statements(crm)
    outcomes = crm.apply([create(f"b-{i}", f"p{i}@bigco.com") for i in range(300)])
    assert {o.status for o in outcomes} == {OutcomeStatus.CREATED} and len(statements) <= 8
    assert len({o.crm_id for o in outcomes}) == 300
    statements.clear()
    found = crm.lookup([lead(f"b-{i}", f"p{i}@bigco.com") for i in range(300)])
    assert len(found) == 300 and found["b-7"].lists == ["N"] and found["b-7"].account_owner == "alice@ourco.example"
    assert len(statements) <= 8
    statements.clear()
    crm.apply([CrmChange(lead_key=f"b-{i}", kind=ChangeKind.UPDATE, crm_id=found[f"b-{i}"].crm_id,
                         fields={"status": "Working"}, lists_add=["M"], lists_remove=["N"]) for i in range(300)])
    assert len(statements) <= 8
    after = crm.lookup([lead("b-7", None)])["b-7"]
    assert (after.fields["status"], after.lists) == ("Working", ["M"])
    assert len(crm.all_leads()) == 300


def _open_at_the_barrier(path: str, barrier: Any) -> int:
    config = LocalCrmConfig(path=path, users=[LocalUser(email="alice@ourco.example")], queues=["Unassigned Leads"],
                            accounts=[LocalAccount(domain="bigco.com", owner="alice@ourco.example")])
    barrier.wait()
    sink = LocalCrmSink(config)
    try:
        return len(sink.all_leads())
    finally:
        sink.engine.dispose()


def test_workers_opening_a_new_crm_file_at_the_same_moment_all_succeed(tmp_path: Path) -> None:
    # Two Prefect workers starting together once failed here: both read "no queue yet", both inserted it.
    workers = 6
    with multiprocessing.Manager() as manager, ProcessPoolExecutor(workers) as pool:
        for round_ in range(4):
            barrier = manager.Barrier(workers)
            path = str(tmp_path / f"crm-{round_}.db")
            assert list(pool.map(_open_at_the_barrier, [path] * workers, [barrier] * workers)) == [0] * workers
