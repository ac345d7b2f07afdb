"""Compact keys and codes on SQLite: what a lead's rows repeat as text stored in its short form.

- Lead keys, run ids, hand-off and outbox keys, inbox partitions and record ids (HexKey): their run of
  hex digits becomes bytes ("e-" + 24 hex digits: 26 characters -> 13 bytes).
- Ruleset versions ("1 (sha256:77ca3fd246c6)": 23 characters -> 8 bytes), in the same type.
- Routing reasons of the rotation ledger (PackedText): packed like PackedJSON when longer than 24 characters.
- Inbox statuses, identity kinds, outcomes, routing methods, qualifications, stages and the fixed stage
  causes (Coded): one-byte codes.
The declared column types do not change (VARCHAR), so values are rewritten in place: no table is
rebuilt, every row stays and reads back the same. PostgreSQL keeps text: nothing to do there.

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
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    from flows.state.compact import encode_key

    for table, columns in KEYS.items():
        for column in columns:
            _rewrite(bind, table, column, "text", encode_key)
    _rewrite(bind, "rotation_ledger", "reason", "text", _pack_long)
    for (table, column), values in _codes().items():
        for code, value in enumerate(values):
            bind.exec_driver_sql(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (bytes((code,)), value))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    from flows.state.compact import decode_key

    for table, columns in KEYS.items():
        for column in columns:
            _rewrite(bind, table, column, "blob", decode_key)
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
