"""Compressed payloads and decisions (PackedJSON), and the routing rule kept with each rotation turn.

Rows written before stay readable: PackedJSON reads plain JSON text as well as packed bytes, so
the existing values are carried over as they are (PostgreSQL converts its JSON text to bytes).

Revision ID: 0003_packed_payloads
Revises: 0002_profiles
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_packed_payloads"
down_revision = "0002_profiles"
branch_labels = None
depends_on = None

_PACKED = (("inbox", "payload"), ("decisions", "decision"))


def upgrade() -> None:
    for table, column in _PACKED:
        if op.get_bind().dialect.name == "postgresql":
            op.alter_column(table, column, type_=sa.LargeBinary(), existing_nullable=False,
                            postgresql_using=f"convert_to({column}::text, 'UTF8')")
        else:
            with op.batch_alter_table(table) as batch:
                batch.alter_column(column, type_=sa.LargeBinary(), existing_type=sa.JSON(), existing_nullable=False)
    with op.batch_alter_table("rotation_ledger") as batch:
        batch.add_column(sa.Column("rule_id", sa.String(200)))
        batch.add_column(sa.Column("reason", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("rotation_ledger") as batch:
        batch.drop_column("reason")
        batch.drop_column("rule_id")
    for table, column in _PACKED:
        # Packed rows cannot become JSON in SQL; a downgrade is for empty stores only.
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.JSON(), existing_type=sa.LargeBinary(), existing_nullable=False)
