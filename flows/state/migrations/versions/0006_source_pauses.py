"""Sources paused until the time their vendor named (e.g. Meta's estimated time to regain access).

Revision ID: 0006_source_pauses
Revises: 0005_handoffs
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_source_pauses"
down_revision = "0005_handoffs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_pauses",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("source_pauses")
