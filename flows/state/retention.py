"""Retention: what `leadsync prune --older-than` may delete, counted first, deleted only when asked.

Kept whatever its age: rows still in flight (pending, processing), open dead letters and their
inbox rows (replay needs the payload), every lead's latest decision (the report and `why this
owner`), cursors and rotation state. Deleted when older than the cutoff: settled inbox rows
(done, spam, test, skipped; dead ones whose letter was closed), closed dead letters, superseded
decisions, rotation ledger rows and finished runs. Backtests replay a window of recent leads, so a
cutoff longer than the backtest window loses nothing they read. On SQLite a prune that deleted rows
ends with VACUUM, so the file shrinks by what was deleted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Delete, Engine, and_, delete, exists, func, or_, select
from sqlalchemy.sql.selectable import Exists

from flows.state.schema import dead_letters, decisions, inbox, rotation_ledger, runs

SETTLED = ("done", "spam", "test", "skipped")


def _open_letter_for_row() -> Exists:
    return exists().where(dead_letters.c.inbox_id == inbox.c.id, dead_letters.c.status == "open")


def prune_statements(cutoff: datetime) -> dict[str, Delete]:
    newer = decisions.alias("newer")  # Core alias: importing sqlalchemy.orm costs ~0.1 s per run
    superseded = exists().where(newer.c.lead_key == decisions.c.lead_key, newer.c.id > decisions.c.id)
    return {
        "inbox rows": delete(inbox).where(
            inbox.c.updated_at < cutoff,
            or_(inbox.c.status.in_(SETTLED), and_(inbox.c.status == "dead", ~_open_letter_for_row()))),
        "closed dead letters": delete(dead_letters).where(
            dead_letters.c.status != "open", dead_letters.c.updated_at < cutoff),
        "superseded decisions": delete(decisions).where(decisions.c.created_at < cutoff, superseded),
        "rotation ledger rows": delete(rotation_ledger).where(rotation_ledger.c.at < cutoff),
        "finished runs": delete(runs).where(runs.c.status != "running", runs.c.started_at < cutoff),
    }


def _count(conn: Connection, stmt: Delete) -> int:
    table = stmt.table
    query = select(func.count()).select_from(table)
    if stmt.whereclause is not None:
        query = query.where(stmt.whereclause)
    return int(conn.execute(query).scalar_one())


class RetentionStore:
    engine: Engine

    def prune(self, cutoff: datetime, *, apply: bool) -> dict[str, int]:
        """Rows older than `cutoff` that nothing needs any more, per kind; deleted only with `apply`."""
        with self.engine.begin() as conn:
            statements = prune_statements(cutoff)
            counts = {name: _count(conn, stmt) for name, stmt in statements.items()}
            if apply:
                for stmt in statements.values():
                    conn.execute(stmt)
        if apply and any(counts.values()) and self.engine.dialect.name == "sqlite":
            self._vacuum()
        return counts

    def _vacuum(self) -> None:
        """Give the deleted rows' pages back to the file system and repack half-full pages (SQLite keeps both
        otherwise). VACUUM cannot run in a transaction, so it goes through the driver's own connection
        (autocommit). PostgreSQL's autovacuum makes the space reusable on its own."""
        raw = self.engine.raw_connection()
        try:
            raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
        finally:
            raw.close()
