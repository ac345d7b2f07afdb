"""Profiles over time: the daily pass's claim of due profiles (by index), pruning of people who never
identified, `rescore --all`'s walk, and reads for explanations and reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Select, bindparam, delete, func, select, update

from flows.state.engine import as_utc
from flows.state.profile_rows import CHUNK, Profile, load_profiles
from flows.state.schema import profile_events, profile_identities, profile_merges, profile_transitions, profiles


class ProfileQueryStore:
    engine: Engine

    # re-scoring -----------------------------------------------------------------------------------

    def due_query(self, now: datetime, limit: int) -> Select[Any]:
        """The profiles whose re-score time has passed, soonest first: a walk of ix_profiles_next_rescore_at."""
        return select(profiles.c.id, profiles.c.has_lead_data, profiles.c.last_activity_at).where(
            profiles.c.next_rescore_at <= now).order_by(profiles.c.next_rescore_at).limit(limit)

    def claim_due_profiles(self, now: datetime, limit: int, lease: timedelta, keep_days: int,
                           retention: timedelta) -> list[Profile]:
        """Profiles whose next re-score time has passed (found by index), leased to this caller.

        Profiles without lead data (anonymous or engagement-only people who never identified) that
        are due and idle longer than `retention` are deleted here, with their events and identities.
        A batch is a few statements whatever its size (the daily pass claims tens of thousands).
        """
        with self.engine.begin() as conn:
            query = self.due_query(now, limit)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = conn.execute(query).fetchall()
            idle = self._last_activity(conn, {r.id: as_utc(r.last_activity_at) for r in rows if not r.has_lead_data},
                                       now)
            stale = [pid for pid, active in idle.items() if active <= now - retention]
            if stale:
                self._delete_profiles(conn, stale)
            waiting = [{"pid": pid, "v_at": active + retention} for pid, active in idle.items()
                       if active > now - retention]
            if waiting:  # not yet: due again when their retention ends
                conn.execute(update(profiles).where(profiles.c.id == bindparam("pid")).values(
                    next_rescore_at=bindparam("v_at")), waiting)
            due = [r.id for r in rows if r.has_lead_data]
            if not due:
                return []
            for start in range(0, len(due), CHUNK):
                conn.execute(update(profiles).where(profiles.c.id.in_(due[start:start + CHUNK]))
                             .values(next_rescore_at=now + lease))
            return list(load_profiles(conn, due, now, keep_days).values())

    def _last_activity(self, conn: Connection, stored: dict[int, datetime | None],
                       now: datetime) -> dict[int, datetime]:
        """Each profile's last activity: its column or, when later, its newest stored event (appends of
        known people's events do not touch the profile row); `now` for a profile with neither."""
        latest = dict(stored)
        ids, e = sorted(stored), profile_events.c
        for start in range(0, len(ids), CHUNK):
            for row in conn.execute(select(e.profile_id, func.max(e.at).label("at")).where(
                    e.profile_id.in_(ids[start:start + CHUNK])).group_by(e.profile_id)):
                newest = datetime.fromtimestamp(row.at, UTC)
                known = latest.get(row.profile_id)
                latest[row.profile_id] = newest if known is None or newest > known else known
        return {pid: at or now for pid, at in latest.items()}

    def _delete_profiles(self, conn: Connection, ids: list[int]) -> None:
        for table, column in ((profile_events, profile_events.c.profile_id),
                              (profile_identities, profile_identities.c.profile_id),
                              (profile_transitions, profile_transitions.c.profile_id),
                              (profiles, profiles.c.id)):
            conn.execute(delete(table).where(column.in_(ids)))

    def mark_worked(self, lead_keys: Sequence[str]) -> None:
        """A rep touched these leads: their profiles say so from now on (their CRM status is the rep's)."""
        if not lead_keys:
            return
        with self.engine.begin() as conn:
            conn.execute(update(profiles).where(profiles.c.lead_key.in_(list(lead_keys))).values(worked=True))

    def profiles_after(self, after_id: int, limit: int, now: datetime, keep_days: int) -> list[Profile]:
        """Profiles with lead data in id order after `after_id` (`leadsync rescore --all`)."""
        with self.engine.begin() as conn:
            ids = list(conn.execute(select(profiles.c.id).where(
                profiles.c.id > after_id, profiles.c.has_lead_data.is_(True)).order_by(profiles.c.id).limit(limit))
                .scalars())
            found = load_profiles(conn, ids, now, keep_days)
        return [found[i] for i in ids if i in found]

    # reading ----------------------------------------------------------------------------------------

    def profile_by_identity(self, kind: str, value: str) -> int | None:
        t = profile_identities.c
        with self.engine.connect() as conn:
            found = conn.execute(select(t.profile_id).where(t.kind == kind, t.value == value)).scalar()
            if found is None and kind == "lead_key":
                found = conn.execute(select(profiles.c.id).where(profiles.c.lead_key == value)).scalar()
            return int(found) if found is not None else None

    def profile_rows(self, *where: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            query = select(profiles).where(*where).order_by(profiles.c.id)
            return [dict(r._mapping) for r in conn.execute(query)]

    def profile_history(self, profile_id: int) -> dict[str, list[dict[str, Any]]]:
        """Transitions and merges of one profile, oldest first (explanations over time)."""
        with self.engine.connect() as conn:
            moves = conn.execute(select(profile_transitions).where(profile_transitions.c.profile_id == profile_id)
                                 .order_by(profile_transitions.c.id))
            merges = conn.execute(select(profile_merges).where(profile_merges.c.profile_id == profile_id)
                                  .order_by(profile_merges.c.id))
            return {"transitions": [dict(r._mapping) for r in moves], "merges": [dict(r._mapping) for r in merges]}

    def count_profile_events(self, profile_id: int | None = None) -> int:
        query = select(func.count()).select_from(profile_events)
        if profile_id is not None:
            query = query.where(profile_events.c.profile_id == profile_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
