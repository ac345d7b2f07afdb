"""The durable inbox and the cursors: capture writes here before anything else happens."""

from __future__ import annotations

import os
import socket
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    LargeBinary,
    Select,
    bindparam,
    func,
    null,
    select,
    type_coerce,
    update,
)

from connectors.many_rows import ManyRows
from connectors.records import RawSubmission
from connectors.sources.base import Page
from flows.state.engine import as_utc, utcnow
from flows.state.packing import unpack
from flows.state.schema import cursors, inbox, runs

INSERT_CHUNK = 500
# One statement compiled once, many rows (see ManyRows); RETURNING says which rows were new.
_NEW_ROWS = ManyRows(lambda dialect: insert_for(dialect)(inbox).on_conflict_do_nothing(
    index_elements=["source", "source_record_id"]).returning(inbox.c.source, inbox.c.source_record_id),
    columns_from_rows=True)
_SETTLED_ROWS = ManyRows(lambda _: update(inbox).where(inbox.c.id == bindparam("row_id")).values(
    status=bindparam("v_status"), claimed_by=null(), lease_until=null(), updated_at=bindparam("v_now"),
    last_error=bindparam("v_error"), lead_key=bindparam("row_lead_key")))


@dataclass(frozen=True)
class InboxRow:
    id: int
    raw: RawSubmission
    attempts: int
    load_error: str | None = None  # the stored payload could not be read back (the row is dead-lettered)


def _insert(engine: Engine) -> Any:
    return insert_for(engine.dialect)


def insert_for(dialect: Dialect) -> Any:
    """The dialect's INSERT construct (with ON CONFLICT); `_insert` for an engine."""
    # Imported here: the PostgreSQL dialect costs ~0.15 s at start-up and SQLite users never need it.
    if dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


class InboxStore:
    engine: Engine

    def inbox_add(self, raws: Sequence[RawSubmission], status: str = "pending",
                  reason: str | None = None) -> list[bool]:
        """Store submissions; True where new, False where (source, record id) was already stored."""
        with self.engine.begin() as conn:
            return self._insert_rows(conn, raws, status, reason)

    def _insert_rows(self, conn: Connection, raws: Sequence[RawSubmission], status: str,
                     reason: str | None) -> list[bool]:
        if not raws:
            return []
        now = utcnow()
        new_keys: set[tuple[str, str]] = set()
        for start in range(0, len(raws), INSERT_CHUNK):
            chunk = raws[start:start + INSERT_CHUNK]
            rows = [{
                "source": r.source, "partition": r.partition, "source_record_id": r.source_record_id,
                "received_at": r.received_at, "cursor_value": r.cursor_value,
                "payload": r.payload, "status": status, "attempts": 0, "last_error": reason,
                "updated_at": now,
            } for r in chunk]
            new_keys.update((row.source, row.source_record_id) for row in _NEW_ROWS.returning(conn, rows))
        seen: set[tuple[str, str]] = set()
        result = []
        for r in raws:  # a duplicate inside the same call counts as stored once
            key = (r.source, r.source_record_id)
            result.append(key in new_keys and key not in seen)
            seen.add(key)
        return result

    def capture_page(self, source: str, page: Page) -> int:
        """Store a page and advance its cursor in one transaction; returns how many rows were new."""
        with self.engine.begin() as conn:
            added = self._insert_rows(conn, page.records, "pending", None)
            if page.skipped:
                # Not leads (auto-replies, bounces...): recorded with the reason, never processed.
                now = utcnow()
                skipped = [RawSubmission(source=source, partition=page.partition, source_record_id=record_id,
                                         received_at=now, payload={"skipped_reason": reason})
                           for record_id, reason in page.skipped]
                for raw, (_, reason) in zip(skipped, page.skipped, strict=True):
                    self._insert_rows(conn, [raw], "skipped", reason)
            if page.cursor is not None:
                self._save_cursor(conn, source, page.partition, page.cursor)
        return sum(added)

    def inbox_count(self, source: str | None = None, status: str | None = None) -> int:
        query = select(func.count()).select_from(inbox)
        if source is not None:
            query = query.where(inbox.c.source == source)
        if status is not None:
            query = query.where(inbox.c.status == status)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def inbox_status_counts(self) -> dict[str, int]:
        query = select(inbox.c.status, func.count()).group_by(inbox.c.status)
        with self.engine.connect() as conn:
            return {row[0]: int(row[1]) for row in conn.execute(query)}

    # cursors -----------------------------------------------------------------------------------

    def get_cursors(self, source: str) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(cursors.c.partition, cursors.c.value).where(cursors.c.source == source))
            return {row.partition: row.value for row in rows}

    def save_cursor(self, source: str, partition: str, value: str) -> None:
        with self.engine.begin() as conn:
            self._save_cursor(conn, source, partition, value)

    def _save_cursor(self, conn: Connection, source: str, partition: str, value: str) -> None:
        now = utcnow()
        stmt = _insert(self.engine)(cursors).values(
            source=source, partition=partition, value=value, version=1, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["source", "partition"],
            set_={"value": value, "version": cursors.c.version + 1, "updated_at": now},
        )
        conn.execute(stmt)

    # claims ------------------------------------------------------------------------------------

    def claim_batch(self, run_id: str, limit: int, lease: timedelta,
                    sources: Iterable[str] | None = None) -> list[InboxRow]:
        """Claim up to `limit` rows whose lease ran out, then pending rows, oldest first, for this run."""
        now = utcnow()
        with self.engine.begin() as conn:
            rows = list(conn.execute(self.claim_query("processing", now, limit, sources)))
            if len(rows) < limit:
                rows += conn.execute(self.claim_query("pending", now, limit - len(rows), sources)).fetchall()
            if not rows:
                return []
            conn.execute(update(inbox).where(inbox.c.id.in_([r.id for r in rows])).values(
                status="processing", attempts=inbox.c.attempts + 1, claimed_by=run_id,
                lease_until=now + lease, updated_at=now))
        claimed = []
        for r in rows:
            payload, error = _decode_payload(r.payload_stored)
            claimed.append(InboxRow(id=r.id, attempts=r.attempts + 1, load_error=error, raw=RawSubmission(
                source=r.source, partition=r.partition, source_record_id=r.source_record_id,
                received_at=as_utc(r.received_at) or now, cursor_value=r.cursor_value, payload=payload)))
        return claimed

    def claim_query(self, status: str, now: datetime, limit: int, sources: Iterable[str] | None = None) -> Select[Any]:
        """One status at a time, so the planner walks ix_inbox_status_id in id order and stops at `limit`.

        An OR of the two statuses made SQLite and PostgreSQL use the (source, record id) index and
        sort the whole source instead: a claim cost grew with every row ever captured.
        """
        # The payload comes back as stored and is decoded row by row: one that cannot be decoded (nested
        # deeper than the decoder allows) must fail alone, not the claim of every row after it.
        columns = [c for c in inbox.c if c.name != "payload"]
        query = select(*columns, type_coerce(inbox.c.payload, LargeBinary).label("payload_stored")).where(
            inbox.c.status == status)
        if status == "processing":
            query = query.where(inbox.c.lease_until < now)
        if sources is not None:
            query = query.where(inbox.c.source.in_(list(sources)))
        query = query.order_by(inbox.c.id).limit(limit)
        if self.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return query

    def release_dead_claims(self) -> int:
        """Put back rows claimed by runs on this host whose process no longer exists (crash recovery)."""
        host = socket.gethostname()
        with self.engine.begin() as conn:
            running = conn.execute(select(runs.c.id, runs.c.pid).where(
                runs.c.host == host, runs.c.status == "running")).fetchall()
            dead = [r.id for r in running if not _pid_alive(r.pid)]
            if not dead:
                return 0
            conn.execute(update(runs).where(runs.c.id.in_(dead)).values(
                status="failed", finished_at=utcnow(), error="process ended without finishing (crash)"))
            result = conn.execute(update(inbox).where(
                inbox.c.status == "processing", inbox.c.claimed_by.in_(dead)).values(
                status="pending", claimed_by=None, lease_until=None, updated_at=utcnow()))
            return int(result.rowcount or 0)

    def set_inbox_status(self, ids: Sequence[int], status: str, *, lead_keys: Mapping[int, str] | None = None,
                         error: str | None = None, reset_attempts: bool = False) -> None:
        if not ids:
            return
        now = utcnow()
        with self.engine.begin() as conn:
            values: dict[str, Any] = {"status": status, "claimed_by": None, "lease_until": None,
                                      "updated_at": now, "last_error": error}
            if reset_attempts:
                values["attempts"] = 0
            if lead_keys and not reset_attempts:  # one executemany: each row gets its own lead key
                _SETTLED_ROWS.run(conn, [{"row_id": i, "row_lead_key": lead_keys.get(i), "v_status": status,
                                          "v_now": now, "v_error": error} for i in ids])
            elif lead_keys:
                stmt = update(inbox).where(inbox.c.id == bindparam("row_id")).values(
                    **values, lead_key=bindparam("row_lead_key"))
                conn.execute(stmt, [{"row_id": i, "row_lead_key": lead_keys.get(i)} for i in ids])
            else:
                for start in range(0, len(ids), INSERT_CHUNK):
                    conn.execute(update(inbox).where(inbox.c.id.in_(list(ids[start:start + INSERT_CHUNK])))
                                 .values(**values))

    def release_claims(self, run_id: str, ids: Sequence[int], error: str, *, count_attempt: bool) -> int:
        """Hand rows this run still holds back to the inbox as pending (those already settled stay settled).

        An attempt cut short by a quota or configuration stop is not the record's fault, so
        `count_attempt=False` gives the attempt back.
        """
        if not ids:
            return 0
        values: dict[str, Any] = {"status": "pending", "claimed_by": None, "lease_until": None,
                                  "last_error": error, "updated_at": utcnow()}
        if not count_attempt:
            values["attempts"] = inbox.c.attempts - 1
        with self.engine.begin() as conn:
            result = conn.execute(update(inbox).where(
                inbox.c.id.in_(list(ids)), inbox.c.status == "processing", inbox.c.claimed_by == run_id,
            ).values(**values))
            return int(result.rowcount or 0)


def _decode_payload(stored: bytes | None) -> tuple[dict[str, Any], str | None]:
    try:
        payload = unpack(stored)
    except RecursionError:
        return {}, "the stored payload is nested too deeply to decode"
    except (ValueError, KeyError, IndexError, zlib.error) as exc:  # bad JSON, unknown packing version, bad bytes
        return {}, f"the stored payload is not valid JSON ({type(exc).__name__})"
    if not isinstance(payload, dict):
        return {}, f"the stored payload is a JSON {type(payload).__name__}, not an object"
    return payload, None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
