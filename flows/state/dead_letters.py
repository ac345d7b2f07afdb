"""Dead letters: one row per failed lead, with stage, failure type, code and a redacted message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, bindparam, select, update

from connectors.errors import ConfigError
from connectors.redaction import redact
from flows.state.engine import as_utc, utcnow
from flows.state.schema import dead_letters, inbox


@dataclass(frozen=True)
class DeadLetter:
    inbox_id: int
    source: str
    source_record_id: str
    stage: str
    failure_type: str
    code: str
    message: str
    lead_key: str | None = None
    ruleset_version: str | None = None


@dataclass(frozen=True)
class DeadLetterRow:
    id: int
    inbox_id: int
    source: str
    source_record_id: str
    lead_key: str | None
    stage: str
    failure_type: str
    code: str
    message: str
    status: str
    created_at: datetime


class DeadLetterStore:
    engine: Engine

    def add_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Record failures and mark their inbox rows dead, in one transaction."""
        if not letters:
            return
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(dead_letters.insert(), [{
                "inbox_id": d.inbox_id, "source": d.source, "source_record_id": d.source_record_id,
                "lead_key": d.lead_key, "stage": d.stage, "failure_type": d.failure_type, "code": d.code,
                "message": redact(d.message), "ruleset_version": d.ruleset_version, "status": "open",
                "created_at": now, "updated_at": now,
            } for d in letters])
            conn.execute(update(inbox).where(inbox.c.id == bindparam("row_id")).values(
                status="dead", claimed_by=None, lease_until=None, lead_key=bindparam("row_lead_key"),
                last_error=bindparam("row_error"), updated_at=now),
                [{"row_id": d.inbox_id, "row_lead_key": d.lead_key, "row_error": f"{d.stage}/{d.code}"}
                 for d in letters])

    def list_dead_letters(self, status: str | None = "open", limit: int | None = 100) -> list[DeadLetterRow]:
        """`limit` None: every row."""
        query = select(dead_letters).order_by(dead_letters.c.id).limit(limit)
        if status is not None:
            query = query.where(dead_letters.c.status == status)
        with self.engine.connect() as conn:
            return [DeadLetterRow(
                id=r.id, inbox_id=r.inbox_id, source=r.source, source_record_id=r.source_record_id,
                lead_key=r.lead_key, stage=r.stage, failure_type=r.failure_type, code=r.code,
                message=r.message, status=r.status, created_at=as_utc(r.created_at) or utcnow(),
            ) for r in conn.execute(query)]

    def replay_dead_letters(self, ids: Sequence[int] | None = None) -> int:
        """Send open dead letters back to the inbox as pending; safe because CRM writes are upserts."""
        return self._close_dead_letters(ids, "replayed", requeue=True)

    def discard_dead_letters(self, ids: Sequence[int] | None = None) -> int:
        return self._close_dead_letters(ids, "discarded", requeue=False)

    def _close_dead_letters(self, ids: Sequence[int] | None, new_status: str, *, requeue: bool) -> int:
        now = utcnow()
        with self.engine.begin() as conn:
            query = select(dead_letters.c.id, dead_letters.c.inbox_id).where(dead_letters.c.status == "open")
            if ids is not None:
                query = query.where(dead_letters.c.id.in_(list(ids)))
            rows = conn.execute(query).fetchall()
            if ids is not None:
                missing = sorted(set(ids) - {r.id for r in rows})
                if missing:
                    raise ConfigError(f"no open dead letter with id {', '.join(map(str, missing))}")
            if not rows:
                return 0
            conn.execute(update(dead_letters).where(dead_letters.c.id.in_([r.id for r in rows])).values(
                status=new_status, updated_at=now))
            if requeue:
                conn.execute(update(inbox).where(inbox.c.id.in_([r.inbox_id for r in rows])).values(
                    status="pending", attempts=0, last_error=None, updated_at=now))
            return len(rows)
