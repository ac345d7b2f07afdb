"""Profiles a CRM refuses during re-scoring: parked in the dead-letter store instead of re-tried every run.

A re-score has no inbox row of its own: it decides a profile built from earlier submissions. When the
CRM refuses the result for good (a validation rule, an owner it does not know), the dead letter points
at the person's newest submission, so `leadsync dead-letters replay` re-processes that submission
into the same profile and pushes again once ops have fixed the cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, bindparam, func, select, update

from flows.state.schema import inbox, profiles


@dataclass(frozen=True)
class Submission:
    inbox_id: int
    source: str
    source_record_id: str


class ParkingStore:
    engine: Engine

    def newest_submissions(self, lead_keys: Sequence[str]) -> dict[str, Submission]:
        """The newest inbox row settled under each lead key (none when pruned, or settled under a merged key).

        `inbox.lead_key` has no index (the process stage never reads by it): this scans the inbox, which is
        fine for what it serves, the rare lead a CRM refuses for good.
        """
        if not lead_keys:
            return {}
        newest = select(func.max(inbox.c.id)).where(inbox.c.lead_key.in_(list(lead_keys))) \
            .group_by(inbox.c.lead_key).scalar_subquery()
        query = select(inbox.c.id, inbox.c.lead_key, inbox.c.source, inbox.c.source_record_id) \
            .where(inbox.c.id.in_(newest))
        with self.engine.connect() as conn:
            return {r.lead_key: Submission(r.id, r.source, r.source_record_id) for r in conn.execute(query)}

    def set_next_rescore(self, lead_keys: Sequence[str], at: datetime | None) -> None:
        """None parks the profiles: no time-based re-score until a new submission or event decides them again."""
        if not lead_keys:
            return
        with self.engine.begin() as conn:
            conn.execute(update(profiles).where(profiles.c.lead_key == bindparam("key")).values(
                next_rescore_at=at), [{"key": key} for key in lead_keys])
