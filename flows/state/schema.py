"""Tables of the state store (SQLAlchemy Core): the same schema on SQLite and PostgreSQL.

Sized per lead (bench/e2e.py prints bytes per table and index): JSON a lead carries is PackedJSON
(compressed with a dictionary of typical rows), timestamps are UtcTimestamp (8-byte integers on SQLite),
keys HexKey (hex digits as bytes on SQLite) and enumerated values Coded (one byte on SQLite).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
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

from flows.state.compact import Coded, CodedText, HexKey, PackedText
from flows.state.packing import PackedJSON
from flows.state.timestamps import UtcTimestamp

metadata = MetaData()

# BigInteger ids on PostgreSQL, plain INTEGER PRIMARY KEY (rowid alias) on SQLite.
_Id = BigInteger().with_variant(Integer(), "sqlite")

# Frozen lists of stored codes (flows/state/compact.py): append new values, never reorder or remove.
INBOX_STATUSES = ("pending", "processing", "done", "dead", "spam", "skipped", "test")
IDENTITY_KINDS = ("email", "phone", "crm_id", "anonymous_id", "lead_key", "name")
OUTCOMES = ("created", "updated", "unchanged", "rejected")
ROUTING_METHODS = ("round_robin", "weighted", "load_balanced", "default", "queue", "owner", "account_owner",
                   "kept_existing_owner")
QUALIFICATIONS = ("qualified", "unqualified", "disqualified")
STAGES = ("new", "nurture", "mql", "worked", "recycled", "unqualified", "disqualified")
STAGE_CAUSES = ("first seen", "entered nurture")  # the fixed ones (rules/lifecycle.py); the others stay text

inbox = Table(
    "inbox", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("partition", HexKey(500), nullable=False, default=""),
    Column("source_record_id", HexKey(500), nullable=False),
    Column("received_at", UtcTimestamp(), nullable=False),
    Column("cursor_value", Text),
    Column("payload", PackedJSON, nullable=False),  # compressed: ~60 bytes for a CSV row
    # pending -> processing -> done | dead ; spam / skipped / test are stored but never pushed.
    # Behaviour without lead data (tracking, e-mail engagement) is done once kept on its profile.
    Column("status", Coded(20, INBOX_STATUSES), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("lead_key", HexKey(64)),
    Column("claimed_by", HexKey(64)),
    Column("lease_until", UtcTimestamp()),
    Column("updated_at", UtcTimestamp(), nullable=False),
    UniqueConstraint("source", "source_record_id", name="uq_inbox_source_record"),
)
Index("ix_inbox_status_id", inbox.c.status, inbox.c.id)

cursors = Table(
    "cursors", metadata,
    Column("source", String(200), primary_key=True),
    Column("partition", String(500), primary_key=True),
    Column("value", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcTimestamp(), nullable=False),
)

# A source the vendor asked to wait longer than a run can (Meta's estimated_time_to_regain_access,
# a long Retry-After): no run calls it before `until`.
source_pauses = Table(
    "source_pauses", metadata,
    Column("source", String(200), primary_key=True),
    Column("until", UtcTimestamp(), nullable=False),
    Column("reason", Text, nullable=False),  # redacted
    Column("updated_at", UtcTimestamp(), nullable=False),
)

dead_letters = Table(
    "dead_letters", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("inbox_id", BigInteger, nullable=False),
    Column("source", String(200), nullable=False),
    Column("source_record_id", String(500), nullable=False),
    Column("lead_key", HexKey(64)),
    Column("stage", String(20), nullable=False),          # normalise | rules | crm
    Column("failure_type", String(30), nullable=False),   # data | config | transient_exhausted | system
    Column("code", String(100), nullable=False),
    Column("message", Text, nullable=False),              # redacted
    Column("ruleset_version", HexKey(100)),
    Column("status", String(20), nullable=False, default="open"),  # open | replayed | discarded
    Column("created_at", UtcTimestamp(), nullable=False),
    Column("updated_at", UtcTimestamp(), nullable=False),
)
Index("ix_dead_letters_status", dead_letters.c.status)

decisions = Table(
    "decisions", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("run_id", HexKey(64), nullable=False),
    Column("lead_key", HexKey(64), nullable=False),
    Column("ruleset_version", HexKey(100), nullable=False),
    Column("outcome", Coded(20, OUTCOMES), nullable=False),
    Column("crm_id", String(100)),
    Column("decision", PackedJSON, nullable=False),  # compressed: ~60 bytes with the explanation
    Column("created_at", UtcTimestamp(), nullable=False),
    # What reports group by, kept beside the decision so they never re-parse payloads.
    Column("source", String(200)),
    Column("campaign", String(500)),
    Column("received_at", UtcTimestamp()),
)
Index("ix_decisions_lead_key", decisions.c.lead_key)
# No index on created_at (18 bytes per lead): the report's window query groups every decision by lead
# anyway, and prune is occasional; both read the table through.

rotation_state = Table(
    "rotation_state", metadata,
    Column("name", String(100), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcTimestamp(), nullable=False),
)

rotation_ledger = Table(
    "rotation_ledger", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("run_id", HexKey(64), nullable=False),
    Column("lead_key", HexKey(64), nullable=False),
    Column("team", String(200)),
    Column("owner", String(320)),
    Column("method", Coded(50, ROUTING_METHODS), nullable=False),
    Column("skipped", PackedJSON, nullable=False),
    Column("at", UtcTimestamp(), nullable=False),
    # The routing rule and reason of the turn, so a lead pinned after a crash still explains its route.
    Column("rule_id", String(200)),
    Column("reason", PackedText()),
)
Index("ix_rotation_ledger_lead_key", rotation_ledger.c.lead_key)

runs = Table(
    "runs", metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # running | completed | failed | stopped
    Column("started_at", UtcTimestamp(), nullable=False),
    Column("finished_at", UtcTimestamp()),
    Column("metrics", JSON, nullable=False),
    Column("error", Text),
)

# Lifecycle: one profile per person (flows/state/profiles.py). Sized for millions of people: the
# identities and events tables are clustered on their primary key (WITHOUT ROWID on SQLite), event
# times are epoch seconds and the dedupe key a 64-bit hash, so a kept event costs well under 200 bytes.
profiles = Table(
    "profiles", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("lead_key", HexKey(64), nullable=False),  # the key CRM writes upsert on; survives merges
    Column("has_lead_data", Boolean, nullable=False),  # a submission (form, CSV, IMAP, CRM) was seen
    Column("fit", PackedJSON),  # the merged Lead's facts, without events (compact JSON)
    Column("score", Float),
    Column("grade", String(1)),
    Column("qualification", Coded(12, QUALIFICATIONS)),
    Column("stage", Coded(12, STAGES)),
    Column("stage_since", UtcTimestamp()),
    Column("owner", String(320)),
    Column("lists", PackedJSON),
    Column("crm_id", String(100)),
    Column("worked", Boolean, nullable=False),
    Column("mql_at", UtcTimestamp()),
    Column("last_activity_at", UtcTimestamp()),
    Column("next_rescore_at", UtcTimestamp()),
    Column("ruleset_version", HexKey(100)),
    Column("compacted", JSON),  # event type -> count of events older than the kept history
    Column("updated_at", UtcTimestamp(), nullable=False),
    UniqueConstraint("lead_key", name="uq_profiles_lead_key"),
)
Index("ix_profiles_next_rescore_at", profiles.c.next_rescore_at)

profile_identities = Table(
    "profile_identities", metadata,
    Column("kind", Coded(12, IDENTITY_KINDS), nullable=False),  # one of IDENTITY_KINDS
    Column("value", HexKey(320), nullable=False),  # phone numbers and lead keys stored short
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
    Column("from_stage", Coded(12, STAGES)),
    Column("to_stage", Coded(12, STAGES), nullable=False),
    Column("at", UtcTimestamp(), nullable=False),
    Column("cause", CodedText(None, STAGE_CAUSES), nullable=False),
)
Index("ix_profile_transitions_profile_id", profile_transitions.c.profile_id)

profile_merges = Table(
    "profile_merges", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("profile_id", BigInteger, nullable=False),  # the profile that stays
    Column("merged_profile_id", BigInteger, nullable=False),
    Column("merged_lead_key", HexKey(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UtcTimestamp(), nullable=False),
)
Index("ix_profile_merges_profile_id", profile_merges.c.profile_id)
# Lifecycle follow-through (issue 13): hand-offs with their SLA clock, the outbox of tasks and
# notifications, and the nurture cadence. Written in the same transaction as the decisions ledger.
handoffs = Table(
    "handoffs", metadata,
    Column("key", HexKey(64), primary_key=True),              # idempotency key of the hand-off
    Column("lead_key", HexKey(64), nullable=False),
    Column("kind", String(20), nullable=False),               # routed | mql | rerouted | nurture_followup
    Column("owner", String(320), nullable=False),
    Column("team", String(200)),
    Column("crm_id", String(100)),
    Column("at", UtcTimestamp(), nullable=False),
    Column("payload", PackedJSON, nullable=False),            # the Handoff record
    Column("sla_id", String(100)),
    Column("due_at", UtcTimestamp()),
    Column("initial_status", String(255)),                    # CRM status at hand-off: "touched" = moved off it
    Column("status", String(20), nullable=False),             # open | touched | rerouted | closed
    Column("escalation_level", Integer, nullable=False, default=0),  # 0 none, 1 reminded, 2 team lead told
    Column("reroutes", Integer, nullable=False, default=0),   # re-routes of this lead before this hand-off
    Column("touched_at", UtcTimestamp()),
    Column("first_touch_seconds", Integer),                   # hand-off -> first touch, for reports
    Column("updated_at", UtcTimestamp(), nullable=False),
)
Index("ix_handoffs_lead_key", handoffs.c.lead_key)
Index("ix_handoffs_status_due", handoffs.c.status, handoffs.c.due_at)

outbox = Table(
    "outbox", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("key", HexKey(200), nullable=False),               # idempotency key, stored before any call
    Column("handoff_key", HexKey(64), nullable=False),
    Column("channel", String(20), nullable=False),            # task | notify | email | slack
    Column("recipient", String(320), nullable=False, default=""),
    Column("purpose", String(20), nullable=False),            # handoff | reminder | escalation
    Column("payload", PackedJSON, nullable=False),
    Column("status", String(20), nullable=False),             # pending | sending | sent | dead | skipped
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcTimestamp(), nullable=False),
    Column("external_id", String(100)),
    Column("last_error", Text),                               # redacted
    Column("created_at", UtcTimestamp(), nullable=False),
    Column("updated_at", UtcTimestamp(), nullable=False),
    Column("sent_at", UtcTimestamp()),
    UniqueConstraint("key", name="uq_outbox_key"),
)
Index("ix_outbox_status_next", outbox.c.status, outbox.c.next_attempt_at)

nurture_cadence = Table(
    "nurture_cadence", metadata,
    Column("lead_key", HexKey(64), primary_key=True),
    Column("owner", String(320), nullable=False),
    Column("payload", PackedJSON, nullable=False),            # Handoff template for the next check-in
    Column("next_due_at", UtcTimestamp(), nullable=False),
    Column("updated_at", UtcTimestamp(), nullable=False),
)
Index("ix_nurture_cadence_next_due", nurture_cadence.c.next_due_at)
