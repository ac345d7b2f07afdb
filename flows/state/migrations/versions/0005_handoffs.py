"""Follow-through: hand-offs with their SLA clock, the outbox of tasks and notifications, nurture cadence.

Revision ID: 0005_handoffs
Revises: 0004_decision_facts
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_handoffs"
down_revision = "0004_decision_facts"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("lead_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(320), nullable=False),
        sa.Column("team", sa.String(200)),
        sa.Column("crm_id", sa.String(100)),
        sa.Column("at", _Time, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("sla_id", sa.String(100)),
        sa.Column("due_at", _Time),
        sa.Column("initial_status", sa.String(255)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("escalation_level", sa.Integer, nullable=False),
        sa.Column("reroutes", sa.Integer, nullable=False),
        sa.Column("touched_at", _Time),
        sa.Column("first_touch_seconds", sa.Integer),
        sa.Column("updated_at", _Time, nullable=False),
    )
    op.create_index("ix_handoffs_lead_key", "handoffs", ["lead_key"])
    op.create_index("ix_handoffs_status_due", "handoffs", ["status", "due_at"])
    op.create_table(
        "outbox",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("handoff_key", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _Time, nullable=False),
        sa.Column("external_id", sa.String(100)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.Column("sent_at", _Time),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_handoff_key", "outbox", ["handoff_key"])
    op.create_table(
        "nurture_cadence",
        sa.Column("lead_key", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(320), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("next_due_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
    )
    op.create_index("ix_nurture_cadence_next_due", "nurture_cadence", ["next_due_at"])


def downgrade() -> None:
    op.drop_table("nurture_cadence")
    op.drop_table("outbox")
    op.drop_table("handoffs")
