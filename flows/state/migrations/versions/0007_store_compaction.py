"""Compact store: timestamps as integers on SQLite, more JSON columns packed, every packed row re-packed.

- SQLite timestamps: the text SQLAlchemy wrote ("2026-12-02 03:31:11.604482", 26 bytes) becomes
  microseconds since the epoch (8 bytes), the value UtcTimestamp now writes. The declared type stays
  DATETIME, so values are rewritten in place, no table is rebuilt for them. PostgreSQL keeps TIMESTAMPTZ.
- Profile facts and lists, rotation skips, hand-off, outbox and nurture payloads become PackedJSON
  (bytes); existing rows are carried over as they are and then packed.
- Rows packed with dictionary 1 (payloads, decisions) are re-packed with dictionary 2.
Every row stays (the same rows, the same values read back); rows are rewritten in batches by key.

Revision ID: 0007_store_compaction
Revises: 0006_source_pauses
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007_store_compaction"
down_revision = "0006_source_pauses"
branch_labels = None
depends_on = None

TIMESTAMPS = {
    "inbox": ("received_at", "lease_until", "updated_at"),
    "cursors": ("updated_at",),
    "source_pauses": ("until", "updated_at"),
    "dead_letters": ("created_at", "updated_at"),
    "decisions": ("created_at", "received_at"),
    "rotation_state": ("updated_at",),
    "rotation_ledger": ("at",),
    "runs": ("started_at", "finished_at"),
    "profiles": ("stage_since", "mql_at", "last_activity_at", "next_rescore_at", "updated_at"),
    "profile_transitions": ("at",),
    "profile_merges": ("at",),
    "handoffs": ("at", "due_at", "touched_at", "updated_at"),
    "outbox": ("next_attempt_at", "created_at", "updated_at", "sent_at"),
    "nurture_cadence": ("next_due_at", "updated_at"),
}
NEWLY_PACKED = {"profiles": ("fit", "lists"), "rotation_ledger": ("skipped",), "handoffs": ("payload",),
                "outbox": ("payload",), "nurture_cadence": ("payload",)}
REPACKED = {**NEWLY_PACKED, "inbox": ("payload",), "decisions": ("decision",)}
KEYS = {"handoffs": "key", "nurture_cadence": "lead_key"}  # the others are keyed by id
BATCH = 2000

# SQLAlchemy's SQLite text ("YYYY-MM-DD HH:MM:SS.ffffff") -> microseconds since the epoch.
_TEXT_TO_MICROS = ("CAST(strftime('%s', {c}) AS INTEGER) * 1000000 + CASE WHEN substr({c}, 20, 1) = '.' "
                   "THEN CAST(substr({c}, 21, 6) AS INTEGER) ELSE 0 END")
_MICROS_TO_TEXT = "strftime('%Y-%m-%d %H:%M:%S', {c} / 1000000, 'unixepoch') || printf('.%06d', {c} % 1000000)"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_timestamps_to_integers(bind)
    for table, columns in NEWLY_PACKED.items():
        _retype(table, columns, sa.LargeBinary(), sa.JSON(), bind.dialect.name)
    for table, columns in REPACKED.items():
        _repack(bind, table, columns)


def downgrade() -> None:
    bind = op.get_bind()
    for table, columns in NEWLY_PACKED.items():
        # Packed rows cannot become JSON in SQL; a downgrade is for stores without rows there.
        _retype(table, columns, sa.JSON(), sa.LargeBinary(), bind.dialect.name)
    if bind.dialect.name == "sqlite":
        for table, columns in TIMESTAMPS.items():
            for column in columns:
                bind.exec_driver_sql(f"UPDATE {table} SET {column} = {_MICROS_TO_TEXT.format(c=column)} "
                                     f"WHERE typeof({column}) = 'integer'")


def _sqlite_timestamps_to_integers(bind: sa.Connection) -> None:
    from flows.state.timestamps import from_stored, to_micros

    for table, columns in TIMESTAMPS.items():
        for column in columns:
            # The format SQLAlchemy writes in SQL; anything else (another writer's text) parsed in Python.
            bind.exec_driver_sql(f"UPDATE {table} SET {column} = {_TEXT_TO_MICROS.format(c=column)} "
                                 f"WHERE typeof({column}) = 'text' AND length({column}) = 26 "
                                 f"AND {column} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] *'")
            odd = bind.exec_driver_sql(f"SELECT rowid, {column} FROM {table} WHERE typeof({column}) = 'text'")
            for rowid, value in odd.fetchall():
                stamp = from_stored(value)
                bind.exec_driver_sql(f"UPDATE {table} SET {column} = ? WHERE rowid = ?",
                                     (None if stamp is None else to_micros(stamp), rowid))


def _retype(table: str, columns: tuple[str, ...], new: Any, old: Any, dialect: str) -> None:
    for column in columns:
        if dialect == "postgresql":
            using = (f"convert_to({column}::text, 'UTF8')" if isinstance(new, sa.LargeBinary)
                     else f"convert_from({column}, 'UTF8')::json")
            op.alter_column(table, column, type_=new, existing_type=old, postgresql_using=using)
    if dialect != "postgresql":
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=new, existing_type=old)


def _repack(bind: sa.Connection, table: str, columns: tuple[str, ...]) -> None:
    """Each stored value read (any earlier form) and written packed with the newest dictionary."""
    from flows.state.packing import pack, unpack

    key = KEYS.get(table, "id")
    t = sa.table(table, sa.column(key), *(sa.column(c) for c in columns))  # untyped: raw text or bytes
    after: Any = None
    while True:
        query = sa.select(t.c[key], *(t.c[c] for c in columns)).order_by(t.c[key]).limit(BATCH)
        if after is not None:
            query = query.where(t.c[key] > after)
        rows = bind.execute(query).fetchall()
        if not rows:
            return
        updates = [{"k": row[0], **{c: _packed(row[i + 1], pack, unpack) for i, c in enumerate(columns)}}
                   for row in rows]
        bind.execute(sa.update(t).where(t.c[key] == sa.bindparam("k")), updates)
        after = rows[-1][0]


def _packed(stored: Any, pack: Any, unpack: Any) -> bytes | None:
    value = unpack(stored)
    return None if value is None else bytes(pack(value))
