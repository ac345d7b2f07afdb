"""The profile store: one profile per person, with identities, kept events and decided state.

`attach` takes a batch of leads and, in one transaction, resolves each to its profile
(connectors.identity, batched look-ups), merges profiles a link joins, stores new identities
and events (deduplicated), updates the fit facts, and returns every touched profile with its
whole kept history. The transaction holds a PostgreSQL advisory lock (SQLite: the write lock of
BEGIN IMMEDIATE), so two runs never create the same person twice or merge under each other.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Engine,
    bindparam,
    case,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Dialect

from connectors.identity import Identity, Person, identities_of, resolve
from connectors.many_rows import ManyRows
from connectors.records import Lead, ProfileState
from flows.pipeline.merge import merge_leads
from flows.state.engine import as_utc
from flows.state.inbox import _insert
from flows.state.profile_rows import (
    CHUNK,
    IDENTITY_ROWS,
    Profile,
    event_row,
    fit_json,
    fit_of,
    insert_events,
    load_profiles,
)
from flows.state.schema import profile_events, profile_identities, profile_merges, profile_transitions, profiles

_NEW_PROFILES = ManyRows(lambda _: profiles.insert().returning(profiles.c.id, profiles.c.lead_key),
                         columns_from_rows=True)
PROFILE_LOCK_KEY = 0x6C732D70726F6631  # "ls-prof1"
_SQLITE_IDENTITIES = "SELECT value, profile_id FROM profile_identities WHERE kind = ? AND value IN ({marks})"
RETENTION = timedelta(days=90)
"""How long events of people who never identified (anonymous, engagement-only) wait for them: such a
profile is due (and pruned by claim_due_profiles) this long after its last activity."""


@dataclass
class Attached:
    profiles: dict[int, Profile]
    """Every profile the batch touched, with its kept history (events just attached included)."""
    profile_of: list[int]
    """Per input lead, the id of its profile."""


class ProfileStore:
    engine: Engine

    def attach(self, leads: Sequence[Lead], now: datetime, keep_days: int, *, load: bool = True) -> Attached:
        """Resolve the leads to profiles, store their identities, events and facts; return the profiles
        (with `load=False` only which profile each lead went to: bulk appends of events)."""
        with self.engine.begin() as conn:
            self._lock_profiles(conn)
            identities = [identities_of(lead) for lead in leads]
            known = self._known(conn, identities)
            # Events of people already known by every identity they carry (the bulk of an event
            # stream) go straight to their profile; everyone else goes through resolution.
            direct: dict[int, int] = {}
            for i, ids in enumerate(identities):
                targets = {known.get(x) for x in ids if x.kind != "lead_key" or x in known}
                # (an unsubscribe or a bounce also changes the person's facts: it takes the full path)
                if leads[i].events_only and not _changes_facts(leads[i]) and len(targets) == 1 and None not in targets:
                    direct[i] = targets.pop()  # type: ignore[assignment]
            rest = [i for i in range(len(leads)) if i not in direct]
            profile_of = [0] * len(leads)
            moved: dict[int, int] = {}
            created: dict[int, Profile] = {}
            if rest:
                people = resolve([identities[i] for i in rest], known, self._emails_of(conn, set(known.values())),
                                 [f"{leads[i].source}/{leads[i].source_record_id}" for i in rest])
                for person in people:
                    person.leads = [rest[j] for j in person.leads]
                created = self._create_profiles(conn, people, leads, now)
                for person in people:
                    assert person.profile_id is not None
                    for merged_id, reason in sorted(person.merged.items()):
                        self._merge(conn, person.profile_id, merged_id, reason, now)
                        moved[merged_id] = person.profile_id
                self._store_batch(conn, people, leads, now, set(created))
                for person in people:
                    for i in person.leads:
                        profile_of[i] = int(person.profile_id or 0)
            for i, pid in direct.items():
                profile_of[i] = moved.get(pid, pid)
            self._append_events(conn, {i: profile_of[i] for i in direct}, leads)
            found: dict[int, Profile] = {}
            if load:
                # A profile created just now without events is what we wrote: no need to read it back.
                with_events = {profile_of[i] for i, lead in enumerate(leads) if lead.events}
                found = {pid: profile for pid, profile in created.items() if pid not in with_events}
                found.update(load_profiles(conn, set(profile_of) - found.keys(), now, keep_days))
        return Attached(profiles=found, profile_of=profile_of)

    def _append_events(self, conn: Connection, targets: dict[int, int], leads: Sequence[Lead]) -> None:
        """Events of known people: rows in one executemany, in key order, and nothing else.

        The profile rows are left alone: a person's last activity is the later of the stored column
        and their kept events (load_profiles, claim_due_profiles), so an event stream writes only
        event pages. Rewriting each touched profile's row cost as much as the events themselves
        once a million profiles no longer fit in the page cache.
        """
        rows = [event_row(pid, e) for i, pid in targets.items() for e in leads[i].events]
        rows.sort(key=lambda row: (row["profile_id"], row["dedupe"]))  # neighbouring pages, one B-tree walk
        insert_events(conn, _insert(self.engine), rows)

    def _lock_profiles(self, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PROFILE_LOCK_KEY})

    def _known(self, conn: Connection, identities: Sequence[Sequence[Identity]]) -> dict[Identity, int]:
        """Stored identities, strong ones first; lead keys and name keys only for leads those did not find."""
        found = self._lookup(conn, {x for ids in identities for x in ids if x.kind not in {"lead_key", "name"}})
        weak = {x for ids in identities if not any(x in found for x in ids)
                for x in ids if x.kind in {"lead_key", "name"}}
        found.update(self._lookup(conn, weak))
        return found

    def _lookup(self, conn: Connection, wanted: set[Identity]) -> dict[Identity, int]:
        found: dict[Identity, int] = {}
        by_kind: dict[str, list[str]] = {}
        for identity in wanted:
            by_kind.setdefault(identity.kind, []).append(identity.value)
        t = profile_identities.c
        for kind, values in by_kind.items():
            for start in range(0, len(values), CHUNK):
                chunk = values[start:start + CHUNK]
                if conn.dialect.name == "sqlite":  # an event stream's hot path: no per-row result processing
                    stored_kind, stored_value = _identity_binds(conn.dialect)
                    as_stored = {stored_value(value): value for value in chunk}  # the columns' short forms
                    stored = conn.exec_driver_sql(_SQLITE_IDENTITIES.format(marks=",".join("?" * len(chunk))),
                                                  (stored_kind(kind), *as_stored)).fetchall()
                    pairs = [(as_stored[bytes(value) if isinstance(value, memoryview) else value], profile_id)
                             for value, profile_id in stored]
                else:
                    pairs = [(row.value, row.profile_id) for row in conn.execute(
                        select(t.value, t.profile_id).where(t.kind == kind, t.value.in_(chunk)))]
                for value, profile_id in pairs:
                    found[Identity(kind, value)] = profile_id  # type: ignore[arg-type]
                if kind == "lead_key":
                    for row in conn.execute(select(profiles.c.id, profiles.c.lead_key).where(
                            profiles.c.lead_key.in_(chunk))):
                        found[Identity("lead_key", row.lead_key)] = row.id
        return found

    def _emails_of(self, conn: Connection, ids: set[int]) -> dict[int, set[str]]:
        emails: dict[int, set[str]] = {}
        wanted, t = sorted(ids), profile_identities.c
        for start in range(0, len(wanted), CHUNK):
            rows = conn.execute(select(t.profile_id, t.value).where(
                t.kind == "email", t.profile_id.in_(wanted[start:start + CHUNK])))
            for row in rows:
                emails.setdefault(row.profile_id, set()).add(row.value)
        return emails

    def _create_profiles(self, conn: Connection, people: Sequence[Person], leads: Sequence[Lead],
                         now: datetime) -> dict[int, Profile]:
        """One insert for every new person, facts included; its key is its first submission's (the key CRM
        writes use). Returns the new profiles as written (without events)."""
        new = [p for p in people if p.profile_id is None]
        if not new:
            return {}
        keys, rows = [], []
        for person in new:
            mine = sorted((leads[i] for i in person.leads), key=lambda lead: (lead.events_only, lead.received_at))
            keys.append(mine[0].lead_key)
            facts = _facts(None, mine[0].lead_key, False, None, mine, now)
            rows.append({"lead_key": mine[0].lead_key, "worked": False, "updated_at": now, "fit": facts["v_fit"],
                         "has_lead_data": facts["v_data"], "last_activity_at": facts["v_active"],
                         "next_rescore_at": None if facts["v_data"] else facts["v_keep"]})
        ids = {row.lead_key: row.id for row in _NEW_PROFILES.returning(conn, rows)}
        created: dict[int, Profile] = {}
        for person, key, row in zip(new, keys, rows, strict=True):
            person.profile_id = ids[key]
            created[ids[key]] = Profile(
                id=ids[key], lead_key=key, has_lead_data=row["has_lead_data"], fit=fit_of(row["fit"], key), events=[],
                state=ProfileState(worked=False, last_activity_at=row["last_activity_at"]),
                next_rescore_at=row["next_rescore_at"])
        return created

    def _store_batch(self, conn: Connection, people: Sequence[Person], leads: Sequence[Lead],
                     now: datetime, created: set[int]) -> None:
        """New identities and events in multi-row inserts; fit facts and last activity of the people stored
        before (the new ones were inserted with theirs) in one update."""
        insert_many = _insert(self.engine)
        identity_rows = [{"kind": x.kind, "value": x.value, "profile_id": p.profile_id}
                         for p in people for x in p.new_identities]
        IDENTITY_ROWS.run(conn, identity_rows)
        insert_events(conn, insert_many, [event_row(int(p.profile_id or 0), e)
                                          for p in people for i in p.leads for e in leads[i].events])
        known = [p for p in people if int(p.profile_id or 0) not in created]
        pids = sorted({int(p.profile_id or 0) for p in known})
        current: dict[int, Any] = {}
        for start in range(0, len(pids), CHUNK):
            for row in conn.execute(select(profiles.c.id, profiles.c.fit, profiles.c.lead_key,
                                           profiles.c.has_lead_data, profiles.c.last_activity_at)
                                    .where(profiles.c.id.in_(pids[start:start + CHUNK]))):
                current[row.id] = row
        updates = []
        for person in known:
            row = current[int(person.profile_id or 0)]
            updates.append({"pid": row.id, **_facts(row.fit, row.lead_key, bool(row.has_lead_data),
                                                    as_utc(row.last_activity_at), [leads[i] for i in person.leads],
                                                    now)})
        if not updates:
            return
        next_at = profiles.c.next_rescore_at
        conn.execute(update(profiles).where(profiles.c.id == bindparam("pid")).values(
            fit=bindparam("v_fit"), has_lead_data=bindparam("v_data"), last_activity_at=bindparam("v_active"),
            next_rescore_at=case((bindparam("v_data", type_=Boolean), next_at),
                                 else_=bindparam("v_keep", type_=next_at.type)),
            updated_at=now), updates)

    def _merge(self, conn: Connection, into: int, merged_id: int, reason: str, now: datetime) -> None:
        """Fold profile `merged_id` into `into`: identities, events, transitions, facts; record why."""
        rows = {r.id: r for r in conn.execute(select(profiles).where(profiles.c.id.in_([into, merged_id])))}
        keep, gone = rows[into], rows[merged_id]
        t = profile_identities.c
        conn.execute(update(profile_identities).where(t.profile_id == merged_id).values(profile_id=into))
        conn.execute(_insert(self.engine)(profile_identities).values(
            kind="lead_key", value=gone.lead_key, profile_id=into).on_conflict_do_nothing(
            index_elements=["kind", "value"]))
        moved = [{**row._mapping, "profile_id": into} for row in
                 conn.execute(select(profile_events).where(profile_events.c.profile_id == merged_id))]
        insert_events(conn, _insert(self.engine), moved)
        conn.execute(delete(profile_events).where(profile_events.c.profile_id == merged_id))
        conn.execute(update(profile_transitions).where(profile_transitions.c.profile_id == merged_id)
                     .values(profile_id=into))
        facts = [Lead.model_validate({**r.fit, "lead_key": r.lead_key}) for r in (keep, gone) if r.fit]
        counts = Counter(keep.compacted or {})
        counts.update(gone.compacted or {})
        times = [t for t in (as_utc(keep.last_activity_at), as_utc(gone.last_activity_at)) if t is not None]
        mqls = [t for t in (as_utc(keep.mql_at), as_utc(gone.mql_at)) if t is not None]
        conn.execute(update(profiles).where(profiles.c.id == into).values(
            fit=fit_json(merge_leads(facts)) if facts else None,
            has_lead_data=bool(keep.has_lead_data or gone.has_lead_data), compacted=dict(counts) or None,
            last_activity_at=max(times) if times else None, mql_at=min(mqls) if mqls else None,
            worked=bool(keep.worked or gone.worked), owner=keep.owner or gone.owner,
            crm_id=keep.crm_id or gone.crm_id, stage=keep.stage or gone.stage,
            stage_since=keep.stage_since or gone.stage_since, updated_at=now))
        conn.execute(delete(profiles).where(profiles.c.id == merged_id))
        conn.execute(insert(profile_merges).values(profile_id=into, merged_profile_id=merged_id,
                                                   merged_lead_key=gone.lead_key, reason=reason, at=now))


def _facts(fit: Any, lead_key: str, had_data: bool, last_active: datetime | None, mine: Sequence[Lead],
           now: datetime) -> dict[str, Any]:
    """A profile's facts after `mine` (its leads of this batch) joined what it held (`fit`, ...; None if new)."""
    with_data = [lead for lead in mine if not lead.events_only]
    if with_data and not fit and len(with_data) == 1:
        fit = fit_json(with_data[0])  # a new person: nothing to merge with
    elif with_data:
        facts = [Lead.model_validate({**fit, "lead_key": lead_key})] if fit else []
        fit = fit_json(merge_leads([*facts, *with_data]))
    fit = _engagement_signals(fit, [lead for lead in mine if lead.events_only])
    times = [e.at for lead in mine for e in lead.events]
    if last_active is not None:
        times.append(last_active)
    active = max(times) if times else None
    has_data = bool(had_data or with_data)
    # without lead data: due for pruning once the retention has passed
    return {"v_fit": fit, "v_data": has_data, "v_active": active,
            "v_keep": None if has_data else max(active or now, now) + RETENTION}


@lru_cache(maxsize=4)
def _identity_binds(dialect: Dialect) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """The kind and value columns' bind processors (their stored forms), identity where there is none."""
    found = []
    for column in (profile_identities.c.kind, profile_identities.c.value):
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        found.append(process or (lambda value: value))
    return found[0], found[1]


def _changes_facts(lead: Lead) -> bool:
    return lead.consent.email is False or bool(lead.email_invalid)


def _engagement_signals(fit: Any, behaviour: Sequence[Lead]) -> Any:
    """What e-mail engagement says about the person, kept in their facts: an unsubscribe or spam report
    withdraws e-mail consent (so nurture rules that need it drop them), a hard bounce marks the address
    invalid (rules may test `email_invalid`). A later submission that opts in again wins, as merges do."""
    if not fit or not behaviour:
        return fit
    if not any(_changes_facts(lead) for lead in behaviour):
        return fit
    withdrawn = any(lead.consent.email is False for lead in behaviour)
    invalid = any(lead.email_invalid for lead in behaviour)
    data = dict(fit if isinstance(fit, dict) else json.loads(fit))
    if withdrawn:
        data["consent"] = {**(data.get("consent") or {}), "email": False}
    if invalid:
        data["email_invalid"] = True
    return data
