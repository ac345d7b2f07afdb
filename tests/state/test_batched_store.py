"""The state store's hot paths at scale: claims use the status index, settling is a few statements per batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, insert, text

from connectors.records import RawSubmission
from flows.state import DeadLetter, StateStore
from flows.state.schema import inbox


def _store(url: str, settled: int) -> StateStore:
    store = StateStore(url)
    store.create_schema()
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with store.engine.begin() as conn:  # many settled rows of one source, the shape that misled the planner
        conn.execute(insert(inbox), [{"source": "csv:list", "partition": "", "source_record_id": str(i),
                                      "received_at": now, "payload": {}, "status": "done", "attempts": 1,
                                      "updated_at": now} for i in range(settled)] or [{
                                          "source": "csv:old", "partition": "", "source_record_id": "0",
                                          "received_at": now, "payload": {}, "status": "done",
                                          "attempts": 1, "updated_at": now}])
    store.inbox_add([RawSubmission(source="csv:list", source_record_id=f"new{i}", received_at=now, payload={})
                     for i in range(20)])
    return store


def _plan(store: StateStore, status: str) -> str:
    query = store.claim_query(status, datetime.now(UTC), 500, sources=["csv:list", "web:form"])
    compiled = query.compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE inbox"))
            return "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {compiled}")))
        return "\n".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))


def test_claim_walks_the_status_index_not_the_source(store_url: str) -> None:
    store = _store(store_url, 20_000)
    for status in ("pending", "processing"):
        plan = _plan(store, status)
        assert "ix_inbox_status_id" in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # rows come in id order, no sort
    claimed = store.claim_batch("run", 500, timedelta(minutes=5), sources=["csv:list"])
    assert [r.raw.source_record_id for r in claimed] == [f"new{i}" for i in range(20)]


def test_settling_a_batch_is_a_few_statements(store_url: str) -> None:
    store = _store(store_url, 0)
    rows = store.claim_batch("run", 500, timedelta(minutes=5))
    assert len(rows) == 20
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda c, cur, stmt, *rest: statements.append(stmt))
    store.set_inbox_status([r.id for r in rows[:10]], "done", lead_keys={r.id: f"k{r.id}" for r in rows[:10]})
    store.add_dead_letters([DeadLetter(inbox_id=r.id, source="csv:list", source_record_id=r.raw.source_record_id,
                                       stage="crm", failure_type="data", code="X", message="bad")
                            for r in rows[10:]])
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 2, updates
    assert store.inbox_status_counts() == {"done": 11, "dead": 10}
    with store.engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT id, lead_key FROM inbox WHERE lead_key IS NOT NULL")).all())
    assert keys == {r.id: f"k{r.id}" for r in rows[:10]}
