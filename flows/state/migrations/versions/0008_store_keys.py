"""Compact keys and codes on SQLite: what a lead's rows repeat as text stored in its short form.

- Lead keys, run ids, hand-off and outbox keys, inbox partitions and record ids (HexKey): their run of
  hex digits becomes bytes ("e-" + 24 hex digits: 26 characters -> 13 bytes).
- Ruleset versions ("1 (sha256:77ca3fd246c6)": 23 characters -> 8 bytes), in the same type.
- Routing reasons of the rotation ledger (PackedText): packed like PackedJSON when longer than 24 characters.
- Inbox statuses, identity kinds, outcomes, routing methods, qualifications, stages and the fixed stage
  causes (Coded): one-byte codes.
- Identity values: phone numbers and lead keys in the same short forms (HexKey).
- Two indexes no query needs any more: ix_decisions_created_at (reports read every decision anyway),
  ix_outbox_handoff_key (nothing looks outbox rows up by hand-off).
The declared column types do not change (VARCHAR), so values are rewritten in place: no table is
rebuilt, every row stays and reads back the same. PostgreSQL keeps text (only the indexes go there).

Revision ID: 0008_store_keys
Revises: 0007_store_compaction
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008_store_keys"
down_revision = "0007_store_compaction"
branch_labels = None
depends_on = None

KEYS = {
    "inbox": ("partition", "source_record_id", "lead_key", "claimed_by"),
    "dead_letters": ("lead_key", "ruleset_version"),
    "decisions": ("run_id", "lead_key", "ruleset_version"),
    "rotation_ledger": ("run_id", "lead_key"),
    "profiles": ("lead_key", "ruleset_version"),
    "profile_merges": ("merged_lead_key",),
    "handoffs": ("key", "lead_key"),
    "outbox": ("key", "handoff_key"),
    "nurture_cadence": ("lead_key",),
}
BATCH = 5000


def _codes() -> dict[tuple[str, str], tuple[str, ...]]:
    from flows.state.schema import (
        IDENTITY_KINDS,
        INBOX_STATUSES,
        OUTCOMES,
        QUALIFICATIONS,
        ROUTING_METHODS,
        STAGE_CAUSES,
        STAGES,
    )

    return {("inbox", "status"): INBOX_STATUSES, ("profile_identities", "kind"): IDENTITY_KINDS,
            ("profile_transitions", "cause"): STAGE_CAUSES, ("decisions", "outcome"): OUTCOMES,
            ("rotation_ledger", "method"): ROUTING_METHODS, ("profiles", "qualification"): QUALIFICATIONS,
            ("profiles", "stage"): STAGES, ("profile_transitions", "from_stage"): STAGES,
            ("profile_transitions", "to_stage"): STAGES}


def upgrade() -> None:
    op.drop_index("ix_decisions_created_at", "decisions")
    op.drop_index("ix_outbox_handoff_key", "outbox")
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    from flows.state.compact import encode_key

    for table, columns in KEYS.items():
        for column in columns:
            _rewrite(bind, table, column, "text", encode_key)
    _rewrite_identities(bind, "text", encode_key)
    _rewrite(bind, "rotation_ledger", "reason", "text", _pack_long)
    for (table, column), values in _codes().items():
        for code, value in enumerate(values):
            bind.exec_driver_sql(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (bytes((code,)), value))


def downgrade() -> None:
    op.create_index("ix_decisions_created_at", "decisions", ["created_at"])
    op.create_index("ix_outbox_handoff_key", "outbox", ["handoff_key"])
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    from flows.state.compact import decode_key

    for table, columns in KEYS.items():
        for column in columns:
            _rewrite(bind, table, column, "blob", decode_key)
    _rewrite_identities(bind, "blob", decode_key)
    from flows.state.packing import unpack

    _rewrite(bind, "rotation_ledger", "reason", "blob", unpack)
    for (table, column), values in _codes().items():
        for code, value in enumerate(values):
            bind.exec_driver_sql(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (value, bytes((code,))))


def _pack_long(text: str) -> str | bytes:
    from flows.state.packing import pack

    return pack(text) if len(text) > 24 else text


def _rewrite(bind: sa.Connection, table: str, column: str, stored_as: str, convert: Callable[[Any], Any]) -> None:
    """Each value stored as `stored_as` converted in Python, in batches by rowid."""
    after = 0
    while True:
        rows = bind.exec_driver_sql(
            f"SELECT rowid, {column} FROM {table} WHERE rowid > ? AND typeof({column}) = ? "
            f"ORDER BY rowid LIMIT {BATCH}", (after, stored_as)).fetchall()
        if not rows:
            return
        changed = [(converted, rowid) for rowid, value in rows if (converted := convert(value)) != value]
        if changed:
            bind.exec_driver_sql(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", changed)
        after = rows[-1][0]


def _rewrite_identities(bind: sa.Connection, stored_as: str, convert: Callable[[Any], Any]) -> None:
    """profile_identities has no rowid (WITHOUT ROWID): rewritten in batches by primary key. A rewritten
    value changes storage class, so the filter on it never meets the rows already done."""
    after: Any = ("", "")
    while True:
        rows = bind.exec_driver_sql(
            "SELECT kind, value FROM profile_identities WHERE typeof(value) = ? AND (kind, value) > (?, ?) "
            f"ORDER BY kind, value LIMIT {BATCH}", (stored_as, *after)).fetchall()
        if not rows:
            return
        changed = [(converted, kind, value) for kind, value in rows if (converted := convert(value)) != value]
        if changed:
            bind.exec_driver_sql("UPDATE profile_identities SET value = ? WHERE kind = ? AND value = ?", changed)
        after = rows[-1]
