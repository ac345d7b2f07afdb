"""Tables of the state store (SQLAlchemy Core): the same schema on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# BigInteger ids on PostgreSQL, plain INTEGER PRIMARY KEY (rowid alias) on SQLite.
_Id = BigInteger().with_variant(Integer(), "sqlite")

inbox = Table(
    "inbox", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("partition", String(500), nullable=False, default=""),
    Column("source_record_id", String(500), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("cursor_value", Text),
    Column("payload", JSON, nullable=False),
    # pending -> processing -> done | dead ; spam / skipped / test are stored but never pushed
    Column("status", String(20), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("lead_key", String(64)),
    Column("claimed_by", String(64)),
    Column("lease_until", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("source", "source_record_id", name="uq_inbox_source_record"),
)
Index("ix_inbox_status_id", inbox.c.status, inbox.c.id)

cursors = Table(
    "cursors", metadata,
    Column("source", String(200), primary_key=True),
    Column("partition", String(500), primary_key=True),
    Column("value", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A source the vendor asked to wait longer than a run can (Meta's estimated_time_to_regain_access,
# a long Retry-After): no run calls it before `until`.
source_pauses = Table(
    "source_pauses", metadata,
    Column("source", String(200), primary_key=True),
    Column("until", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),  # redacted
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

dead_letters = Table(
    "dead_letters", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("inbox_id", BigInteger, nullable=False),
    Column("source", String(200), nullable=False),
    Column("source_record_id", String(500), nullable=False),
    Column("lead_key", String(64)),
    Column("stage", String(20), nullable=False),          # normalise | rules | crm
    Column("failure_type", String(30), nullable=False),   # data | config | transient_exhausted | system
    Column("code", String(100), nullable=False),
    Column("message", Text, nullable=False),              # redacted
    Column("ruleset_version", String(100)),
    Column("status", String(20), nullable=False, default="open"),  # open | replayed | discarded
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_dead_letters_status", dead_letters.c.status)

decisions = Table(
    "decisions", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("lead_key", String(64), nullable=False),
    Column("ruleset_version", String(100), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("crm_id", String(100)),
    Column("decision", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_decisions_lead_key", decisions.c.lead_key)

rotation_state = Table(
    "rotation_state", metadata,
    Column("name", String(100), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

rotation_ledger = Table(
    "rotation_ledger", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("lead_key", String(64), nullable=False),
    Column("team", String(200)),
    Column("owner", String(320)),
    Column("method", String(50), nullable=False),
    Column("skipped", JSON, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    # The routing rule and reason of the turn, so a lead pinned after a crash still explains its route.
    Column("rule_id", String(200)),
    Column("reason", Text),
)
Index("ix_rotation_ledger_lead_key", rotation_ledger.c.lead_key)

runs = Table(
    "runs", metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # running | completed | failed | stopped
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("metrics", JSON, nullable=False),
    Column("error", Text),
)
