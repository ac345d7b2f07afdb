"""A store written before compaction (text timestamps, JSON columns, dictionary-1 packing) upgrades in place:
every row reads back the same, and dead-letter replay, the report and the backtest still work on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command

from flows.state import StateStore
from flows.state.migrate import alembic_config, current_revision, head_revision
from flows.state.packing import pack, unpack
from flows.state.schema import metadata
from tests.cli.test_cli import leadsync
from tests.insights.conftest import DemoStore

BEFORE = "0006_source_pauses"
NEWLY_PACKED = {"profiles": ("fit", "lists"), "rotation_ledger": ("skipped",), "handoffs": ("payload",),
                "outbox": ("payload",), "nurture_cadence": ("payload",)}
KEYS = {"handoffs": "key", "nurture_cadence": "lead_key"}


def _rewrite(conn: sa.Connection, table: str, column: str, old_form: Any) -> None:
    key = KEYS.get(table, "id")
    raw = sa.table(table, sa.column(key), sa.column(column))  # untyped: the stored value as it is
    for row_key, stored in conn.execute(sa.select(raw.c[key], raw.c[column])).all():
        value = unpack(stored)
        conn.execute(sa.update(raw).where(raw.c[key] == row_key).values({column: old_form(value)}))


def _as_written_before_compaction(store: StateStore) -> None:
    """The demo store as revision 0006 wrote it: payloads and decisions packed with dictionary 1, the
    newly packed columns JSON, timestamps as SQLite text (the downgrade rewrites those)."""
    postgres = store.engine.dialect.name == "postgresql"
    with store.engine.begin() as conn:
        _rewrite(conn, "inbox", "payload", lambda v: pack(v, version=1))
        _rewrite(conn, "decisions", "decision", lambda v: pack(v, version=1))
        for table, columns in NEWLY_PACKED.items():
            for column in columns:  # JSON text (bytes on PostgreSQL until the downgrade makes it json)
                _rewrite(conn, table, column, lambda v: None if v is None else (
                    json.dumps(v).encode() if postgres else json.dumps(v)))
        command.downgrade(alembic_config(conn), BEFORE)


def _everything(store: StateStore) -> dict[str, list[dict[str, Any]]]:
    with store.engine.connect() as conn:
        return {name: sorted((dict(r._mapping) for r in conn.execute(sa.select(table))), key=repr)
                for name, table in metadata.tables.items()}


def _stable(output: str) -> dict[str, Any]:
    """The command's JSON without the window it computed from the clock."""
    data: dict[str, Any] = json.loads(output)
    for clock in ("since", "until", "now", "generated_at"):
        data.pop(clock, None)
    return data


def _stored(store: StateStore, sql: str) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.exec_driver_sql(sql).scalars())


def test_an_old_store_upgrades_in_place_and_replay_report_backtest_still_work(demo_store: DemoStore,
                                                                             tmp_path: Path) -> None:
    store, config = demo_store.store, str(demo_store.config)
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text((demo_store.config.parent / "rules.yaml").read_text().replace(
        "mql_threshold: 60", "mql_threshold: 30").replace("recycle_below: 40", "recycle_below: 20"))
    report = leadsync("report", "--config", config, "--json")
    backtest = leadsync("backtest", str(candidate), "--config", config, "--json", "--since", "400d")
    assert report.returncode == 0 and backtest.returncode == 0, report.stderr + backtest.stderr

    _as_written_before_compaction(store)
    assert current_revision(store.engine) == BEFORE
    sqlite = store.engine.dialect.name == "sqlite"
    if sqlite:
        assert set(_stored(store, "SELECT typeof(updated_at) FROM inbox")) == {"text"}
    assert {bytes(p)[0] for p in _stored(store, "SELECT payload FROM inbox")} == {1}
    rows = _everything(store)
    assert len(rows["inbox"]) >= 10 and rows["profiles"] and rows["handoffs"] and rows["dead_letters"]

    store.create_schema()  # what the next `leadsync` command does: upgrade in place
    assert current_revision(store.engine) == head_revision()
    assert _everything(store) == rows  # no row lost, every value the same
    if sqlite:
        assert set(_stored(store, "SELECT typeof(updated_at) FROM inbox")) == {"integer"}
        assert set(_stored(store, "SELECT typeof(at) FROM rotation_ledger")) == {"integer"}
    assert {bytes(p)[0] for p in _stored(store, "SELECT payload FROM inbox")} == {2}
    assert {bytes(p)[0] for p in _stored(store, "SELECT decision FROM decisions")} == {2}
    assert {bytes(p)[0] for p in _stored(store, "SELECT fit FROM profiles")} == {2}
    assert {bytes(p)[0] for p in _stored(store, "SELECT payload FROM handoffs")} == {2}

    assert _stable(leadsync("report", "--config", config, "--json").stdout) == _stable(report.stdout)
    assert _stable(leadsync("backtest", str(candidate), "--config", config, "--json", "--since", "400d").stdout) \
        == _stable(backtest.stdout)
    dead = {d.inbox_id for d in store.list_dead_letters()}
    payloads = {r["id"]: r["payload"] for r in rows["inbox"] if r["id"] in dead}
    assert store.replay_dead_letters() == len(dead) >= 1
    run = leadsync("run", "--no-prefect", "--config", config)
    assert run.returncode == 0, run.stderr
    with store.engine.connect() as conn:  # replayed from the compacted rows: same payloads, dead-lettered again
        again = {r.id: r.payload for r in conn.execute(sa.select(metadata.tables["inbox"]).where(
            metadata.tables["inbox"].c.id.in_(dead)))}
    assert again == payloads
    assert {d.inbox_id for d in store.list_dead_letters()} == dead
