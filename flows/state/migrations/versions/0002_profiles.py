"""Profiles: one per person, with identities, kept events, stage transitions and merges.

Revision ID: 0002_profiles
Revises: 0001_baseline
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_profiles"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("lead_key", sa.String(64), nullable=False),
        sa.Column("has_lead_data", sa.Boolean, nullable=False),
        sa.Column("fit", sa.JSON),
        sa.Column("score", sa.Float),
        sa.Column("grade", sa.String(1)),
        sa.Column("qualification", sa.String(12)),
        sa.Column("stage", sa.String(12)),
        sa.Column("stage_since", _Time),
        sa.Column("owner", sa.String(320)),
        sa.Column("lists", sa.JSON),
        sa.Column("crm_id", sa.String(100)),
        sa.Column("worked", sa.Boolean, nullable=False),
        sa.Column("mql_at", _Time),
        sa.Column("last_activity_at", _Time),
        sa.Column("next_rescore_at", _Time),
        sa.Column("ruleset_version", sa.String(100)),
        sa.Column("compacted", sa.JSON),
        sa.Column("updated_at", _Time, nullable=False),
        sa.UniqueConstraint("lead_key", name="uq_profiles_lead_key"),
    )
    op.create_index("ix_profiles_next_rescore_at", "profiles", ["next_rescore_at"])
    op.create_table(
        "profile_identities",
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("value", sa.String(320), nullable=False),
        sa.Column("profile_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", name="pk_profile_identities"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_profile_identities_profile_id", "profile_identities", ["profile_id"])
    op.create_table(
        "profile_events",
        sa.Column("profile_id", sa.BigInteger, nullable=False),
        sa.Column("dedupe", sa.BigInteger, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON),
        sa.PrimaryKeyConstraint("profile_id", "dedupe", name="pk_profile_events"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "profile_transitions",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("profile_id", sa.BigInteger, nullable=False),
        sa.Column("from_stage", sa.String(12)),
        sa.Column("to_stage", sa.String(12), nullable=False),
        sa.Column("at", _Time, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
    )
    op.create_index("ix_profile_transitions_profile_id", "profile_transitions", ["profile_id"])
    op.create_table(
        "profile_merges",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("profile_id", sa.BigInteger, nullable=False),
        sa.Column("merged_profile_id", sa.BigInteger, nullable=False),
        sa.Column("merged_lead_key", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", _Time, nullable=False),
    )
    op.create_index("ix_profile_merges_profile_id", "profile_merges", ["profile_id"])


def downgrade() -> None:
    for table in ("profile_merges", "profile_transitions", "profile_events", "profile_identities", "profiles"):
        op.drop_table(table)
