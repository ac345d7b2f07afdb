"""Profiles as rows: compact encodings of events and fit facts, loading with history, saving decisions."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from connectors.many_rows import ManyRows
from connectors.records import Event, Lead, ProfileState, StageTransition
from flows.state.engine import as_utc
from flows.state.inbox import insert_for
from flows.state.schema import profile_events, profile_identities, profile_transitions, profiles
from rules.trusted import trusted

CHUNK = 500
_FIT_EXCLUDE = {"events", "submission_ids", "lead_key"}


@dataclass
class Profile:
    """One person: latest fit facts, the kept event history and the current decided state."""

    id: int
    lead_key: str
    has_lead_data: bool
    fit: Lead | None
    events: list[Event]
    state: ProfileState
    score: float | None = None
    grade: str | None = None
    qualification: str | None = None
    lists: list[str] = field(default_factory=list)
    crm_id: str | None = None
    ruleset_version: str | None = None
    next_rescore_at: datetime | None = None

    def as_lead(self) -> Lead:
        """The lead the rules decide: fit facts with the whole kept history, under the profile's key."""
        if self.fit is None:
            raise ValueError(f"profile {self.id} has no lead data")
        lead = self.fit.model_copy()
        lead.lead_key = self.lead_key
        lead.events = sorted(self.events, key=lambda e: e.at)
        return lead


@dataclass(frozen=True)
class ProfileOutcome:
    """What a decision changed on a profile, saved with the decisions ledger in one transaction."""

    profile_id: int
    score: float
    grade: str
    qualification: str
    stage: str | None
    stage_since: datetime | None
    owner: str | None
    lists: list[str]
    crm_id: str | None
    mql_at: datetime | None
    next_rescore_at: datetime | None
    ruleset_version: str
    transition: StageTransition | None = None


def dedupe_key(event: Event) -> int:
    """A signed 64-bit hash of the event's id (or, without one, of what it is), unique per profile."""
    key = event.event_id or f"{event.type}\x1f{event.at.isoformat()}\x1f{event.detail}\x1f" \
                           f"{json.dumps(event.properties, sort_keys=True, default=str)}"
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def event_row(profile_id: int, event: Event) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if event.properties:
        data["p"] = event.properties
    if event.detail:
        data["d"] = event.detail
    return {"profile_id": profile_id, "dedupe": dedupe_key(event), "at": int(event.at.timestamp()),
            "type": event.type, "data": data or None}


_EVENT_FIELDS = {"type", "at", "detail", "properties", "event_id"}


def event_of(row: Any) -> Event:
    """An Event from a stored row, which we wrote from a validated Event: no second validation."""
    data = row.data if isinstance(row.data, dict) else (json.loads(row.data) if row.data else None)
    return trusted(Event, {"type": row.type, "at": datetime.fromtimestamp(row.at, UTC),
                           "detail": data.get("d") if data else None,
                           "properties": (data.get("p") or {}) if data else {}, "event_id": None},
                   set(_EVENT_FIELDS))


def fit_json(lead: Lead) -> dict[str, Any]:
    return lead.model_dump(mode="json", exclude_defaults=True, exclude=_FIT_EXCLUDE)


def fit_of(value: Any, lead_key: str) -> Lead | None:
    if not value:
        return None
    data = value if isinstance(value, dict) else json.loads(value)
    return Lead.model_validate({**data, "lead_key": lead_key})


_SQLITE_INSERT_EVENTS = "INSERT INTO profile_events (profile_id, dedupe, at, type, data) VALUES (?, ?, ?, ?, ?) " \
                        "ON CONFLICT (profile_id, dedupe) DO NOTHING"


def insert_events(conn: Connection, insert: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Event rows, duplicates (same profile and dedupe key) skipped. On SQLite the driver's executemany
    takes plain tuples: SQLAlchemy's per-row parameter processing was a third of an event append."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        dumps = json.dumps
        conn.exec_driver_sql(_SQLITE_INSERT_EVENTS, [
            (r["profile_id"], r["dedupe"], r["at"], r["type"], None if r["data"] is None else dumps(r["data"]))
            for r in rows])
        return
    # PostgreSQL: SQLAlchemy batches the rows into multi-row INSERTs with one cached compiled statement
    conn.execute(insert(profile_events).on_conflict_do_nothing(index_elements=["profile_id", "dedupe"]), list(rows))


def load_profiles(conn: Connection, ids: Iterable[int], now: datetime, keep_days: int) -> dict[int, Profile]:
    """Profiles with their kept history; events older than `keep_days` are folded into per-type counts."""
    wanted = sorted(set(ids))
    found: dict[int, Profile] = {}
    horizon = int((now - timedelta(days=keep_days)).timestamp())
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        for row in conn.execute(select(profiles).where(profiles.c.id.in_(chunk))):
            found[row.id] = _profile(row)
        old: dict[int, Counter[str]] = {}
        newest: dict[int, int] = {}
        for row in conn.execute(select(profile_events).where(profile_events.c.profile_id.in_(chunk))):
            if row.at > newest.get(row.profile_id, -1 << 62):
                newest[row.profile_id] = row.at
            if row.at < horizon:
                old.setdefault(row.profile_id, Counter())[row.type] += 1
            elif row.profile_id in found:
                found[row.profile_id].events.append(event_of(row))
        for pid, at in newest.items():  # appends of events leave the profile row alone: the events say
            if pid in found:
                state = found[pid].state
                moment = datetime.fromtimestamp(at, UTC)
                if state.last_activity_at is None or moment > state.last_activity_at:
                    state.last_activity_at = moment
        if old:
            _compact(conn, found, old, horizon)
    return found


def _compact(conn: Connection, found: dict[int, Profile], old: dict[int, Counter[str]], horizon: int) -> None:
    ids = [pid for pid in old if pid in found]
    for pid in ids:
        counts = Counter(found[pid].state.compacted_event_counts)
        counts.update(old[pid])
        found[pid].state.compacted_event_counts = dict(counts)
    conn.execute(delete(profile_events).where(profile_events.c.profile_id.in_(ids), profile_events.c.at < horizon))
    # the last activity moves into the row with them: the compacted events no longer say when it was
    conn.execute(update(profiles).where(profiles.c.id == bindparam("pid")).values(
        compacted=bindparam("v_counts"), last_activity_at=bindparam("v_active")),
        [{"pid": pid, "v_counts": found[pid].state.compacted_event_counts,
          "v_active": found[pid].state.last_activity_at} for pid in ids])


def _profile(row: Any) -> Profile:
    state = ProfileState(stage=row.stage, stage_since=as_utc(row.stage_since), mql_at=as_utc(row.mql_at),
                         owner=row.owner, worked=bool(row.worked), last_activity_at=as_utc(row.last_activity_at),
                         compacted_event_counts=dict(row.compacted or {}))
    return Profile(id=row.id, lead_key=row.lead_key, has_lead_data=bool(row.has_lead_data),
                   fit=fit_of(row.fit, row.lead_key), events=[], state=state, score=row.score, grade=row.grade,
                   qualification=row.qualification, lists=list(row.lists or []), crm_id=row.crm_id,
                   ruleset_version=row.ruleset_version, next_rescore_at=as_utc(row.next_rescore_at))


_OUTCOME_COLUMNS = ("score", "grade", "qualification", "stage", "stage_since", "owner", "lists", "crm_id", "mql_at",
                    "next_rescore_at", "ruleset_version", "updated_at")
_OUTCOME_ROWS = ManyRows(lambda _: update(profiles).where(profiles.c.id == bindparam("pid")).values(
    **{name: bindparam(f"v_{name}") for name in _OUTCOME_COLUMNS}))
IDENTITY_ROWS = ManyRows(lambda dialect: insert_for(dialect)(profile_identities).on_conflict_do_nothing(
    index_elements=["kind", "value"]), columns_from_rows=True)
_TRANSITION_ROWS = ManyRows(lambda _: profile_transitions.insert(), columns_from_rows=True)


def save_outcomes(conn: Connection, outcomes: Sequence[ProfileOutcome], now: datetime) -> None:
    """Write decided state and stage transitions (called inside the decisions ledger's transaction)."""
    if not outcomes:
        return
    _OUTCOME_ROWS.run(conn, [{"pid": o.profile_id, "v_updated_at": now,
                              **{f"v_{name}": getattr(o, name) for name in _OUTCOME_COLUMNS[:-1]}}
                             for o in outcomes])
    # the CRM record is an identity too: a later read of it (CRM as a source) finds the person
    IDENTITY_ROWS.run(conn, [{"kind": "crm_id", "value": o.crm_id, "profile_id": o.profile_id}
                             for o in outcomes if o.crm_id])
    _TRANSITION_ROWS.run(conn, [{
        "profile_id": o.profile_id, "from_stage": o.transition.from_stage, "to_stage": o.transition.to_stage,
        "at": o.transition.at, "cause": o.transition.cause} for o in outcomes if o.transition is not None])
