"""ManyRows writes exactly what SQLAlchemy's executemany writes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import LargeBinary, bindparam, select, update

from connectors.many_rows import ManyRows
from flows.state import StateStore
from flows.state.inbox import insert_for
from flows.state.schema import decisions, profile_identities, profiles

NOW = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _decision_rows(prefix: str) -> list[dict[str, Any]]:
    # every type the hot statements carry: packed JSON, timestamps, NULLs, floats, unicode text
    return [{"run_id": "r1", "lead_key": f"{prefix}{i}", "ruleset_version": "1 (sha256:ab)",
             "outcome": "created", "crm_id": str(i) if i % 2 else None,
             "decision": {"score": i * 1.5, "explanation": f"Qualified. Zoë №{i}", "lists_add": []},
             "created_at": NOW, "source": "csv:list", "campaign": None if i % 3 else "spring",
             "received_at": datetime(2026, 2, 1, i, tzinfo=UTC)} for i in range(12)]


def _stored(store: StateStore, prefix: str) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(decisions).where(decisions.c.lead_key.like(f"{prefix}%"))
                            .order_by(decisions.c.lead_key))
        return [tuple(row)[1:] for row in rows]  # without the id


def test_inserts_store_the_same_values_as_sqlalchemy(store_url: str) -> None:
    store = StateStore(store_url)
    store.create_schema()
    many = ManyRows(lambda _: decisions.insert(), columns_from_rows=True)
    with store.engine.begin() as conn:
        conn.execute(decisions.insert(), _decision_rows("a"))
        many.run(conn, _decision_rows("b"))
    ours, theirs = _stored(store, "b"), _stored(store, "a")
    assert len(ours) == 12
    assert [(row[0], row[1][1:], *row[2:]) for row in ours] == [(row[0], row[1][1:], *row[2:]) for row in theirs]
    with store.engine.connect() as conn:  # the packed bytes themselves, not only what reads back
        raw = {row.lead_key: row.decision for row in conn.execute(
            select(decisions.c.lead_key, decisions.c.decision.cast(LargeBinary)))}
    assert all(raw[f"b{i}"] == raw[f"a{i}"] for i in range(12))


def test_updates_and_on_conflict_inserts_match_sqlalchemy(store_url: str) -> None:
    store = StateStore(store_url)
    store.create_schema()
    with store.engine.begin() as conn:
        conn.execute(profiles.insert(), [{"lead_key": f"k{i}", "has_lead_data": True, "worked": False,
                                          "updated_at": NOW} for i in range(6)])
        ids = list(conn.execute(select(profiles.c.id).order_by(profiles.c.id)).scalars())
    stmt = update(profiles).where(profiles.c.id == bindparam("pid")).values(
        score=bindparam("v_score"), lists=bindparam("v_lists"), mql_at=bindparam("v_at"), updated_at=bindparam("v_now"))
    values = [{"pid": pid, "v_score": n * 2.5, "v_lists": ["nurture"] if n % 2 else None,
               "v_at": None if n % 3 == 0 else NOW, "v_now": NOW} for n, pid in enumerate(ids)]
    identities = ManyRows(lambda dialect: insert_for(dialect)(profile_identities).on_conflict_do_nothing(
        index_elements=["kind", "value"]), columns_from_rows=True)
    with store.engine.begin() as conn:
        conn.execute(stmt, values[:3])
        ManyRows(lambda _: stmt).run(conn, values[3:])
        identities.run(conn, [{"kind": "email", "value": "a@x.example", "profile_id": ids[0]},
                              {"kind": "email", "value": "a@x.example", "profile_id": ids[1]}])  # second: ignored
    with store.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(profiles))}
        owner = conn.execute(select(profile_identities.c.profile_id)).scalars().all()
    assert owner == [ids[0]]
    for n, pid in enumerate(ids):
        row = rows[pid]
        assert row.score == n * 2.5
        assert row.lists == (["nurture"] if n % 2 else None)
        mql_at = row.mql_at.replace(tzinfo=UTC) if row.mql_at and row.mql_at.tzinfo is None else row.mql_at
        assert mql_at == (None if n % 3 == 0 else NOW)


def test_a_row_missing_a_value_fails_instead_of_writing_a_default(store_url: str) -> None:
    store = StateStore(store_url)
    store.create_schema()
    rows = _decision_rows("c")
    del rows[1]["source"]
    with pytest.raises(KeyError), store.engine.begin() as conn:
        ManyRows(lambda _: decisions.insert(), columns_from_rows=True).run(conn, rows)
    assert _stored(store, "c") == []  # the transaction rolled back: nothing half-written


def test_returning_gives_every_new_row_across_statements_and_skips_conflicts(store_url: str) -> None:
    store = StateStore(store_url)
    store.create_schema()
    new_identities = ManyRows(lambda dialect: insert_for(dialect)(profile_identities).on_conflict_do_nothing(
        index_elements=["kind", "value"]).returning(profile_identities.c.value, profile_identities.c.profile_id),
        columns_from_rows=True)
    rows = [{"kind": "email", "value": f"p{i}@x.example", "profile_id": i} for i in range(2500)]  # 3 statements
    with store.engine.begin() as conn:
        first = new_identities.returning(conn, rows[:1200])
        again = new_identities.returning(conn, rows)  # the first 1,200 exist: only the rest come back
    assert sorted((r.profile_id, r.value) for r in first) == [(r["profile_id"], r["value"]) for r in rows[:1200]]
    assert sorted(r.profile_id for r in again) == list(range(1200, 2500))
    with store.engine.connect() as conn:
        assert conn.execute(select(profile_identities.c.profile_id).order_by(
            profile_identities.c.profile_id)).scalars().all() == list(range(2500))


def test_returning_stores_what_sqlalchemy_stores(store_url: str) -> None:
    store = StateStore(store_url)
    store.create_schema()
    many = ManyRows(lambda _: decisions.insert().returning(decisions.c.id, decisions.c.lead_key),
                    columns_from_rows=True)
    with store.engine.begin() as conn:
        theirs = conn.execute(decisions.insert().returning(decisions.c.id, decisions.c.lead_key),
                              _decision_rows("a")).fetchall()
        ours = many.returning(conn, _decision_rows("b"))
    assert sorted(r.lead_key[1:] for r in ours) == sorted(r.lead_key[1:] for r in theirs)
    assert [(row[0], row[1][1:], *row[2:]) for row in _stored(store, "b")] == \
        [(row[0], row[1][1:], *row[2:]) for row in _stored(store, "a")]
