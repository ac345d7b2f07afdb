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

# Lifecycle follow-through (issue 13): hand-offs with their SLA clock, the outbox of tasks and
# notifications, and the nurture cadence. Written in the same transaction as the decisions ledger.
handoffs = Table(
    "handoffs", metadata,
    Column("key", String(64), primary_key=True),              # idempotency key of the hand-off
    Column("lead_key", String(64), nullable=False),
    Column("kind", String(20), nullable=False),               # routed | mql | rerouted | nurture_followup
    Column("owner", String(320), nullable=False),
    Column("team", String(200)),
    Column("crm_id", String(100)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("payload", JSON, nullable=False),                  # the Handoff record
    Column("sla_id", String(100)),
    Column("due_at", DateTime(timezone=True)),
    Column("initial_status", String(255)),                    # CRM status at hand-off: "touched" = moved off it
    Column("status", String(20), nullable=False),             # open | touched | rerouted | closed
    Column("escalation_level", Integer, nullable=False, default=0),  # 0 none, 1 reminded, 2 team lead told
    Column("reroutes", Integer, nullable=False, default=0),   # re-routes of this lead before this hand-off
    Column("touched_at", DateTime(timezone=True)),
    Column("first_touch_seconds", Integer),                   # hand-off -> first touch, for reports
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_handoffs_lead_key", handoffs.c.lead_key)
Index("ix_handoffs_status_due", handoffs.c.status, handoffs.c.due_at)

outbox = Table(
    "outbox", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),               # idempotency key, stored before any call
    Column("handoff_key", String(64), nullable=False),
    Column("channel", String(20), nullable=False),            # task | notify | email | slack
    Column("recipient", String(320), nullable=False, default=""),
    Column("purpose", String(20), nullable=False),            # handoff | reminder | escalation
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False),             # pending | sending | sent | dead | skipped
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("external_id", String(100)),
    Column("last_error", Text),                               # redacted
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("key", name="uq_outbox_key"),
)
Index("ix_outbox_status_next", outbox.c.status, outbox.c.next_attempt_at)
Index("ix_outbox_handoff_key", outbox.c.handoff_key)

nurture_cadence = Table(
    "nurture_cadence", metadata,
    Column("lead_key", String(64), primary_key=True),
    Column("owner", String(320), nullable=False),
    Column("payload", JSON, nullable=False),                  # Handoff template for the next check-in
    Column("next_due_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_nurture_cadence_next_due", nurture_cadence.c.next_due_at)
