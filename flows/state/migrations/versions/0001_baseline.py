"""Baseline: the schema of leadsync 0.1.0 exactly as its create_all made it.

A store made by that release has these tables and no alembic_version table; create_schema
stamps it at this revision and upgrades it in place.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("partition", sa.String(500), nullable=False),
        sa.Column("source_record_id", sa.String(500), nullable=False),
        sa.Column("received_at", _Time, nullable=False),
        sa.Column("cursor_value", sa.Text),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("lead_key", sa.String(64)),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("lease_until", _Time),
        sa.Column("updated_at", _Time, nullable=False),
        sa.UniqueConstraint("source", "source_record_id", name="uq_inbox_source_record"),
    )
    op.create_index("ix_inbox_status_id", "inbox", ["status", "id"])
    op.create_table(
        "cursors",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("partition", sa.String(500), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("inbox_id", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("source_record_id", sa.String(500), nullable=False),
        sa.Column("lead_key", sa.String(64)),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("failure_type", sa.String(30), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("ruleset_version", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
    )
    op.create_index("ix_dead_letters_status", "dead_letters", ["status"])
    op.create_table(
        "decisions",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("lead_key", sa.String(64), nullable=False),
        sa.Column("ruleset_version", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("crm_id", sa.String(100)),
        sa.Column("decision", sa.JSON, nullable=False),
        sa.Column("created_at", _Time, nullable=False),
    )
    op.create_index("ix_decisions_lead_key", "decisions", ["lead_key"])
    op.create_table(
        "rotation_state",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
    )
    op.create_table(
        "rotation_ledger",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("lead_key", sa.String(64), nullable=False),
        sa.Column("team", sa.String(200)),
        sa.Column("owner", sa.String(320)),
        sa.Column("method", sa.String(50), nullable=False),
        sa.Column("skipped", sa.JSON, nullable=False),
        sa.Column("at", _Time, nullable=False),
    )
    op.create_index("ix_rotation_ledger_lead_key", "rotation_ledger", ["lead_key"])
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", _Time, nullable=False),
        sa.Column("finished_at", _Time),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    for table in ("runs", "rotation_ledger", "rotation_state", "decisions", "dead_letters", "cursors", "inbox"):
        op.drop_table(table)
