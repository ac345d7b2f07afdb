"""What reports group decisions by: source, campaign and capture time beside each decision.

Older rows keep NULL there: reports count them under "(unknown)" sources and leave them out of
timing figures.

Revision ID: 0004_decision_facts
Revises: 0003_packed_payloads
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_decision_facts"
down_revision = "0003_packed_payloads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("source", sa.String(200)))
        batch.add_column(sa.Column("campaign", sa.String(500)))
        batch.add_column(sa.Column("received_at", sa.DateTime(timezone=True)))
    op.create_index("ix_decisions_created_at", "decisions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_decisions_created_at", "decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("received_at")
        batch.drop_column("campaign")
        batch.drop_column("source")
