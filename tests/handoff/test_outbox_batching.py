"""Delivery is batched, not chatty: marking outbox rows done and writing local CRM tasks cost the same
number of SQL statements for 3 rows as for 60 (counted on the engine), and still give every row its result."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from connectors.crm.followup import FollowUpTask
from connectors.crm.local import LocalCrmConfig, LocalCrmSink, LocalUser
from connectors.crm.local_tasks import LocalTasks
from flows.state import StateStore
from flows.state.outbox import OutboxItem

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _outbox(store: StateStore, n: int, prefix: str) -> list[int]:
    items = [OutboxItem(key=f"{prefix}{i}", handoff_key=f"h{prefix}{i}", channel="task", purpose="handoff",
                        payload={"n": i}) for i in range(n)]
    store.add_followups((), items)
    rows = store.claim_outbox(datetime.now(UTC) + timedelta(days=1), 1000, timedelta(minutes=5))
    ids = [r.id for r in rows if r.key.startswith(prefix)]
    assert len(ids) == n
    return ids


@pytest.mark.parametrize("n", [3, 60])
def test_marking_outbox_rows_sent_is_one_statement_whatever_the_count(store_url: str, n: int) -> None:
    store = StateStore(store_url)
    store.create_schema()
    ids = _outbox(store, n, f"r{n}-")
    with counted(store.engine) as statements:
        store.outbox_done({row_id: f"T{row_id}" for row_id in ids})
    assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE")]) == 1
    sent = {r["id"]: r for r in store.outbox_rows("sent")}
    assert {i: sent[i]["external_id"] for i in ids} == {i: f"T{i}" for i in ids}  # each row its own id
    children = [OutboxItem(key=f"c{n}-{i}", handoff_key="h", channel="email", purpose="handoff", payload={})
                for i in range(n)]
    more = _outbox(store, n, f"e{n}-")
    with counted(store.engine) as statements:
        store.outbox_done(dict.fromkeys(more, "2 channel(s)"), status="expanded", children=children)
    assert len(statements) == 2  # the children's INSERT and the rows' UPDATE, one transaction
    assert len([r for r in store.outbox_rows("pending") if r["key"].startswith(f"c{n}-")]) == n


@pytest.mark.parametrize("n", [3, 60])
def test_local_crm_tasks_are_written_in_a_fixed_number_of_statements(tmp_path: Path, n: int) -> None:
    sink = LocalCrmSink(LocalCrmConfig(path=str(tmp_path / "crm.db"), users=[LocalUser(email="a@ourco.example")]))
    lead_ids = [sink.create_by_hand({"email": f"p{i}@x.example"}) for i in range(n)]
    tasks = LocalTasks(sink.engine)
    wanted = [FollowUpTask(key=f"k{i}", crm_id=lead_id, owner="A@ourco.example", subject="Call", description="why",
                           due_date="2026-03-03", due_at=NOW) for i, lead_id in enumerate(lead_ids)]
    wanted.append(FollowUpTask(key="nobody", crm_id=lead_ids[0], owner="ghost@ourco.example", subject="Call",
                               description="", due_date="2026-03-03", due_at=NOW))
    with counted(sink.engine) as statements:
        results = tasks.create_tasks(wanted, ())
    assert len(statements) == 4  # active users, leads that exist, one INSERT of every task, their ids
    again = tasks.create_tasks(wanted, {t.key for t in wanted})  # a retry finds the same tasks
    assert results["nobody"].error is not None and results["nobody"].error.code == "LOCAL:INVALID_OWNER"
    ids = {t.key: results[t.key].task_id for t in wanted[:-1]}
    assert len(set(ids.values())) == n and all(ids.values())
    assert {t.key: again[t.key].task_id for t in wanted[:-1]} == ids
    stored = {row["key"]: row for row in tasks.all_tasks()}
    assert len(stored) == n and {k: str(stored[k]["id"]) for k in ids} == ids
    assert stored["k0"]["owner"] == "a@ourco.example" and stored["k0"]["lead_id"] == int(lead_ids[0])
    sink.close()
