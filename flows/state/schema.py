"""Tables of the state store (SQLAlchemy Core): the same schema on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
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

# Lifecycle: one profile per person (flows/state/profiles.py). Sized for millions of people: the
# identities and events tables are clustered on their primary key (WITHOUT ROWID on SQLite), event
# times are epoch seconds and the dedupe key a 64-bit hash, so a kept event costs well under 200 bytes.
profiles = Table(
    "profiles", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("lead_key", String(64), nullable=False),  # the key CRM writes upsert on; survives merges
    Column("has_lead_data", Boolean, nullable=False),  # a submission (form, CSV, IMAP, CRM) was seen
    Column("fit", JSON),  # the merged Lead's facts, without events (compact JSON)
    Column("score", Float),
    Column("grade", String(1)),
    Column("qualification", String(12)),
    Column("stage", String(12)),
    Column("stage_since", DateTime(timezone=True)),
    Column("owner", String(320)),
    Column("lists", JSON),
    Column("crm_id", String(100)),
    Column("worked", Boolean, nullable=False),
    Column("mql_at", DateTime(timezone=True)),
    Column("last_activity_at", DateTime(timezone=True)),
    Column("next_rescore_at", DateTime(timezone=True)),
    Column("ruleset_version", String(100)),
    Column("compacted", JSON),  # event type -> count of events older than the kept history
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("lead_key", name="uq_profiles_lead_key"),
)
Index("ix_profiles_next_rescore_at", profiles.c.next_rescore_at)

profile_identities = Table(
    "profile_identities", metadata,
    Column("kind", String(12), nullable=False),  # email | phone | crm_id | anonymous_id | lead_key | name
    Column("value", String(320), nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "value", name="pk_profile_identities"),
    sqlite_with_rowid=False,
)
Index("ix_profile_identities_profile_id", profile_identities.c.profile_id)

profile_events = Table(
    "profile_events", metadata,
    Column("profile_id", BigInteger, nullable=False),
    Column("dedupe", BigInteger, nullable=False),  # 64-bit hash of the event id (or of its submission)
    Column("at", BigInteger, nullable=False),  # epoch seconds, UTC
    Column("type", String(64), nullable=False),
    Column("data", JSON(none_as_null=True)),  # {"p": properties, "d": detail} when present (else SQL NULL)
    PrimaryKeyConstraint("profile_id", "dedupe", name="pk_profile_events"),
    sqlite_with_rowid=False,
)

profile_transitions = Table(
    "profile_transitions", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("profile_id", BigInteger, nullable=False),
    Column("from_stage", String(12)),
    Column("to_stage", String(12), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("cause", Text, nullable=False),
)
Index("ix_profile_transitions_profile_id", profile_transitions.c.profile_id)

profile_merges = Table(
    "profile_merges", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("profile_id", BigInteger, nullable=False),  # the profile that stays
    Column("merged_profile_id", BigInteger, nullable=False),
    Column("merged_lead_key", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
Index("ix_profile_merges_profile_id", profile_merges.c.profile_id)
