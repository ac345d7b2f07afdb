"""The state store's suite, run against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.errors import ConfigError, FatalError
from connectors.records import RawSubmission, SkippedRep
from connectors.sources.base import Page
from flows.state import DeadLetter, LedgerEntry, StateStore
from rules.assign import PinnedRoute


def raw(i: int, source: str = "csv:demo", partition: str = "f") -> RawSubmission:
    return RawSubmission(source=source, partition=partition, source_record_id=f"r{i}",
                         received_at=datetime(2026, 3, 1, tzinfo=UTC), payload={"row": {"n": i, "name": "Zoë 👋"}})


@pytest.fixture
def store(store_url: str) -> StateStore:
    s = StateStore(store_url)
    s.create_schema()
    return s


def test_inbox_is_unique_on_source_and_record_id(store: StateStore) -> None:
    assert store.inbox_add([raw(1), raw(2), raw(1)]) == [True, True, False]
    assert store.inbox_add([raw(1), raw(3)]) == [False, True]
    assert store.inbox_add([raw(1, source="forms:other")]) == [True]
    assert store.inbox_count() == 4
    assert store.inbox_count(source="csv:demo", status="pending") == 3


def test_payload_round_trips_untouched(store: StateStore) -> None:
    store.inbox_add([raw(7)])
    [row] = store.claim_batch("run", 10, timedelta(minutes=1))
    assert row.raw == raw(7)


def test_capture_page_stores_rows_skips_and_cursor_together(store: StateStore) -> None:
    page = Page(partition="f", records=[raw(1), raw(2)], cursor="2", skipped=[("m-9", "auto-reply")])
    assert store.capture_page("csv:demo", page) == 2
    assert store.get_cursors("csv:demo") == {"f": "2"}
    assert store.inbox_status_counts() == {"pending": 2, "skipped": 1}
    # re-capturing the same page (crash before the source acknowledged it) stores nothing twice
    assert store.capture_page("csv:demo", page) == 0
    assert store.inbox_count() == 3
    store.save_cursor("csv:demo", "f", "5")
    assert store.get_cursors("csv:demo") == {"f": "5"}


def test_claims_are_exclusive_and_leases_expire(store: StateStore) -> None:
    store.inbox_add([raw(i) for i in range(5)])
    first = store.claim_batch("run-a", 3, timedelta(minutes=5))
    second = store.claim_batch("run-b", 10, timedelta(minutes=5))
    assert {r.id for r in first}.isdisjoint({r.id for r in second})
    assert len(first) + len(second) == 5
    assert store.claim_batch("run-c", 10, timedelta(minutes=5)) == []
    store.set_inbox_status([r.id for r in second], "done")
    expired = store.claim_batch("run-d", 10, timedelta(seconds=-1))  # nothing pending, leases still valid
    assert expired == []


def test_expired_lease_is_reclaimed_with_attempt_counted(store: StateStore) -> None:
    store.inbox_add([raw(1)])
    [row] = store.claim_batch("run-a", 1, timedelta(seconds=-1))  # lease already over: a crashed worker
    [again] = store.claim_batch("run-b", 1, timedelta(minutes=5))
    assert (row.id, row.attempts, again.attempts) == (again.id, 1, 2)


def test_release_claims_returns_only_rows_still_held(store: StateStore) -> None:
    store.inbox_add([raw(1), raw(2)])
    rows = store.claim_batch("run-a", 2, timedelta(minutes=5))
    store.set_inbox_status([rows[0].id], "done")
    assert store.release_claims("run-a", [r.id for r in rows], "quota", count_attempt=False) == 1
    [back] = store.claim_batch("run-b", 5, timedelta(minutes=5))
    assert back.id == rows[1].id and back.attempts == 1


def test_dead_claims_of_a_crashed_local_process_are_released(store: StateStore) -> None:
    from sqlalchemy import update

    from flows.state.schema import runs

    store.inbox_add([raw(1)])
    run_id = store.start_run("sync")
    store.claim_batch(run_id, 5, timedelta(hours=1))
    with store.engine.begin() as conn:  # pretend the run's process died
        conn.execute(update(runs).where(runs.c.id == run_id).values(pid=2**22 + 12345))
    assert store.release_dead_claims() == 1
    assert store.inbox_count(status="pending") == 1
    assert store.recent_runs()[0]["status"] == "failed"


def test_dead_letters_are_redacted_listed_replayed_and_discarded(store: StateStore) -> None:
    store.inbox_add([raw(1), raw(2)])
    rows = store.claim_batch("run", 2, timedelta(minutes=5))
    store.add_dead_letters([
        DeadLetter(inbox_id=rows[0].id, source="csv:demo", source_record_id="r1", stage="crm", failure_type="data",
                   code="INVALID_EMAIL", message="bad value jane.doe@acme.example token=abcd1234secret"),
        DeadLetter(inbox_id=rows[1].id, source="csv:demo", source_record_id="r2", stage="normalise",
                   failure_type="data", code="INVALID_PHONE", message="record csv:demo/r2: field 'phone'"),
    ])
    letters = store.list_dead_letters()
    assert [d.code for d in letters] == ["INVALID_EMAIL", "INVALID_PHONE"]
    assert "jane.doe" not in letters[0].message and "abcd1234secret" not in letters[0].message
    assert store.inbox_status_counts() == {"dead": 2}
    assert store.replay_dead_letters([letters[0].id]) == 1
    assert store.inbox_count(status="pending") == 1
    assert store.discard_dead_letters() == 1
    assert store.list_dead_letters() == []
    assert {d.status for d in store.list_dead_letters(status=None)} == {"replayed", "discarded"}
    with pytest.raises(ConfigError, match="no open dead letter with id 999"):
        store.replay_dead_letters([999])


def test_rotation_state_and_pinned_owners(store: StateStore) -> None:
    routes: dict[str, PinnedRoute] = {}

    def decide(state: dict[str, Any], pinned: dict[str, PinnedRoute]) -> tuple[dict[str, str], dict[str, Any],
                                                                              list[LedgerEntry]]:
        turn = int(state.get("turn", 0))
        owners = {}
        routes.update(pinned)
        for key in ("k1", "k2"):
            owners[key] = pinned[key].owner if key in pinned else f"rep{turn % 3}"
            if key not in pinned:
                turn += 1
        entries = [LedgerEntry(k, "team", o, "round_robin", [("rep9", "away")], rule_id="r1", reason="team team")
                   for k, o in owners.items() if k not in pinned]
        return owners, {"turn": turn}, entries

    first = store.with_rotation("default", decide, ["k1", "k2"], "run-1")
    again = store.with_rotation("default", decide, ["k1", "k2"], "run-2")
    assert first == again == {"k1": "rep0", "k2": "rep1"}  # a retried batch gets its owners back, no new turn
    assert len(store.rotation_ledger_rows()) == 2
    # ... and the rule and reason that gave them, to explain the route
    assert routes["k2"] == PinnedRoute(owner="rep1", team="team", rule_id="r1", method="round_robin",
                                       reason="team team", skipped=(SkippedRep(owner="rep9", reason="away"),))


def test_concurrent_rotations_never_hand_out_the_same_turn(store_url: str) -> None:
    stores = [StateStore(store_url) for _ in range(4)]
    stores[0].create_schema()
    turns: list[int] = []
    lock = threading.Lock()

    def decide(state: dict[str, Any], pinned: dict[str, Any]) -> tuple[int, dict[str, Any], list[LedgerEntry]]:
        turn = int(state.get("turn", 0))
        threading.Event().wait(0.002)  # widen the race window
        return turn, {"turn": turn + 1}, []

    def worker(s: StateStore, n: int) -> None:
        for i in range(25):
            got = s.with_rotation("default", decide, [f"k{n}-{i}"], f"run-{n}")
            with lock:
                turns.append(got)

    threads = [threading.Thread(target=worker, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(turns) == list(range(100))


def test_runs_record_metrics(store: StateStore) -> None:
    run_id = store.start_run("sync")
    store.finish_run(run_id, "completed", {"created": 3}, error=None)
    [row] = store.recent_runs()
    assert row["status"] == "completed" and row["metrics"] == {"created": 3}


def test_unreachable_database_is_one_clear_line() -> None:
    store = StateStore("postgresql://leadsync:hunter2pass@127.0.0.1:1/nowhere")
    with pytest.raises(FatalError) as info:
        store.create_schema()
    message = str(info.value)
    assert message.startswith("cannot reach the state store at postgresql://leadsync:***@127.0.0.1:1/nowhere: ")
    assert "Connection refused" in message
    assert "hunter2pass" not in message and "\n" not in message


def test_concurrent_claims_never_overlap(store_url: str) -> None:
    seed = StateStore(store_url)
    seed.create_schema()
    seed.inbox_add([raw(i) for i in range(200)])
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        store = StateStore(store_url)
        while rows := store.claim_batch(f"run-{n}", 7, timedelta(minutes=5)):
            with lock:
                claimed.extend(r.id for r in rows)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == 200
