"""Schema migrations: fresh stores, a store made by leadsync 0.1.0 upgraded in place, concurrent starts."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, func, insert, select

from flows.state import StateStore
from flows.state.engine import open_engine
from flows.state.migrate import BASELINE, alembic_config, current_revision, head_revision
from flows.state.schema import metadata
from tests.state import release_0_1_schema as old

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _diffs(url: str, target: MetaData) -> list[Any]:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return [d for d in compare_metadata(context, target) if not _is_alembic_version(d)]
    finally:
        engine.dispose()


def _is_alembic_version(diff: Any) -> bool:
    return isinstance(diff, tuple) and diff[0] == "remove_table" and diff[1].name == "alembic_version"


def test_head_constant_is_alembics_head() -> None:
    from flows.state.migrate import HEAD

    assert head_revision() == HEAD  # a new revision must move HEAD too, or stores would never upgrade


def test_a_fresh_store_is_at_head_and_matches_the_tables_in_code(store_url: str) -> None:
    store = StateStore(store_url)
    store.create_schema()
    assert current_revision(store.engine) == head_revision()
    store.create_schema()  # idempotent
    store.dispose()
    assert _diffs(store_url, metadata) == []


def test_the_baseline_is_exactly_the_schema_of_release_0_1(store_url: str) -> None:
    engine = open_engine(store_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE)
    engine.dispose()
    assert _diffs(store_url, old.metadata) == []


def _fill_release_0_1_store(url: str) -> dict[str, int]:
    """A store as leadsync 0.1.0 left it: its create_all, and rows in every table."""
    engine = open_engine(url)
    old.metadata.create_all(engine)
    rows: dict[Any, list[dict[str, Any]]] = {
        old.inbox: [{"source": "csv:t", "partition": "f", "source_record_id": f"r{i}", "received_at": T0,
                     "payload": {"row": {"n": i}}, "status": "done", "attempts": 1, "lead_key": f"e-{i}",
                     "updated_at": T0} for i in range(3)],
        old.cursors: [{"source": "csv:t", "partition": "f", "value": "3", "version": 2, "updated_at": T0}],
        old.dead_letters: [{"inbox_id": 9, "source": "csv:t", "source_record_id": "r9", "stage": "normalise",
                            "failure_type": "data", "code": "MISSING_CONTACT", "message": "no e-mail",
                            "status": "open", "created_at": T0, "updated_at": T0}],
        old.decisions: [{"run_id": "run1", "lead_key": "e-1", "ruleset_version": "v1", "outcome": "created",
                         "crm_id": "1", "decision": {"score": 12}, "created_at": T0}],
        old.rotation_state: [{"name": "default", "state": {"turn": {"smb": 1}}, "version": 3, "updated_at": T0}],
        old.rotation_ledger: [{"run_id": "run1", "lead_key": "e-1", "team": "smb", "owner": "carol@x.example",
                               "method": "weighted", "skipped": [], "at": T0}],
        old.runs: [{"id": "run1", "kind": "sync", "host": "h", "pid": 1, "status": "completed",
                    "started_at": T0, "finished_at": T0, "metrics": {"claimed": 3}}],
    }
    with engine.begin() as conn:
        for table, values in rows.items():
            conn.execute(insert(table), values)
    engine.dispose()
    return {table.name: len(values) for table, values in rows.items()}


def test_a_store_made_by_release_0_1_is_upgraded_in_place_with_no_row_lost(store_url: str) -> None:
    counts = _fill_release_0_1_store(store_url)
    store = StateStore(store_url)
    store.create_schema()
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        for name, expected in counts.items():
            assert conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one() == expected
    assert store.get_cursors("csv:t") == {"f": "3"}
    assert store.latest_decision("e-1")["decision"] == {"score": 12}
    # ...and used: the inbox goes on from its rows, the new tables take rows
    assert store.inbox_add([old_raw(1), old_raw(7)]) == [False, True]
    [claimed] = store.claim_batch("run2", 10, timedelta(minutes=1))
    assert claimed.raw.source_record_id == "r7"
    with store.engine.begin() as conn:
        conn.execute(insert(metadata.tables["profiles"]).values(
            lead_key="e-1", has_lead_data=True, worked=False, updated_at=T0))
    store.dispose()
    assert _diffs(store_url, metadata) == []


def old_raw(i: int) -> Any:
    from connectors.records import RawSubmission

    return RawSubmission(source="csv:t", partition="f", source_record_id=f"r{i}", received_at=T0, payload={})


def _start(url: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        store = StateStore(url)
        store.create_schema()
        store.dispose()
        results.put("ok")
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("attempt", range(3))
def test_two_processes_starting_at_once_on_a_fresh_store_both_work(store_url: str, attempt: int) -> None:
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    workers = [spawn.Process(target=_start, args=(store_url, barrier, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert sorted(results.get(timeout=5) for _ in workers) == ["ok", "ok"]
    engine = open_engine(store_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_an_installed_leadsync_finds_its_migrations(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                    str(REPO)], check=True, capture_output=True)
    [wheel] = (tmp_path / "dist").glob("leadsync-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(tmp_path / "site"),
                    str(wheel)], check=True, capture_output=True)
    script = ("import flows, sys; from flows.state import StateStore; s = StateStore('sqlite:///state.db'); "
              "s.create_schema(); from flows.state.migrate import current_revision; "
              "print(flows.__file__); print(current_revision(s.engine))")
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site")},
                         check=True, capture_output=True, text=True).stdout.split()
    assert out[0].startswith(str(tmp_path / "site"))  # the installed copy, not this checkout
    assert out[1] == head_revision()
