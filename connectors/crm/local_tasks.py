"""Follow-up tasks and touch reads for the embedded CRM: a tasks table beside its leads.

The hand-off key is a unique column, so a retried insert finds the task already there.
"Touched" is the lead's status moving off its value at hand-off, or a task completed since.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Engine, Integer, String, Table, Text, func, select, update
from sqlalchemy.dialects.sqlite import insert

from connectors.crm.followup import FollowUpTask, TaskResult, TouchState
from connectors.crm.local import LOOKUP_CHUNK, _leads, _meta, _users
from connectors.errors import RecordRejectedError

_tasks = Table(
    "crm_tasks", _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("lead_id", Integer, nullable=False, index=True),
    Column("owner", String(320), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("description", Text),
    Column("due_date", String(10), nullable=False),
    Column("priority", String(10), nullable=False),
    Column("status", String(20), nullable=False),  # open | completed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class LocalTasks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        _tasks.create(engine, checkfirst=True)

    def create_tasks(self, tasks: Sequence[FollowUpTask], maybe_sent: Collection[str]) -> dict[str, TaskResult]:
        del maybe_sent  # the unique key column makes every attempt safe to repeat
        results: dict[str, TaskResult] = {}
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            users = {r.email for r in conn.execute(select(_users.c.email).where(_users.c.active))}
            leads = {str(r.id) for r in conn.execute(select(_leads.c.id).where(
                _leads.c.id.in_([int(t.crm_id) for t in tasks if t.crm_id.isdigit()])))}
            rows: list[dict[str, Any]] = []
            for task in tasks:
                if task.crm_id not in leads:
                    results[task.key] = TaskResult(error=RecordRejectedError(
                        task.key, "lead_id", "no such lead in the local CRM", code="LOCAL:NO_LEAD"))
                    continue
                if task.owner.lower() not in users:
                    results[task.key] = TaskResult(error=RecordRejectedError(
                        task.key, "owner", "not an active user of the local CRM", code="LOCAL:INVALID_OWNER"))
                    continue
                rows.append({"key": task.key, "lead_id": int(task.crm_id), "owner": task.owner.lower(),
                             "subject": task.subject[:255], "description": task.description,
                             "due_date": task.due_date, "priority": task.priority, "status": "open",
                             "created_at": now})
            if rows:  # one executemany, then the ids (new or already there) in IN (...) chunks
                conn.execute(insert(_tasks).on_conflict_do_nothing(index_elements=["key"]), rows)
                keys = [row["key"] for row in rows]
                for start in range(0, len(keys), LOOKUP_CHUNK):
                    for key, task_id in conn.execute(select(_tasks.c.key, _tasks.c.id).where(
                            _tasks.c.key.in_(keys[start:start + LOOKUP_CHUNK]))):
                        results[key] = TaskResult(task_id=str(task_id))
        return results

    def touch_states(self, crm_ids: Sequence[str], since: datetime) -> dict[str, TouchState]:
        ids = sorted({int(i) for i in crm_ids if i.isdigit()})
        states: dict[str, TouchState] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), LOOKUP_CHUNK):
                chunk = ids[start:start + LOOKUP_CHUNK]
                done: dict[int, Any] = {lead_id: when for lead_id, when in conn.execute(
                    select(_tasks.c.lead_id, func.max(_tasks.c.completed_at)).where(
                        _tasks.c.lead_id.in_(chunk), _tasks.c.status == "completed",
                        _tasks.c.completed_at >= since.astimezone(UTC).replace(tzinfo=None),
                    ).group_by(_tasks.c.lead_id))}
                for row in conn.execute(select(_leads.c.id, _leads.c.status, _leads.c.owner)
                                        .where(_leads.c.id.in_(chunk))):
                    states[str(row.id)] = TouchState(crm_id=str(row.id), status=row.status, owner=row.owner,
                                                     last_activity=_aware(done.get(row.id)))
        return states

    # what a rep does in the local CRM ---------------------------------------------------------------------
    def complete(self, task_id: str, at: datetime | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(_tasks).where(_tasks.c.id == int(task_id)).values(
                status="completed", completed_at=at or datetime.now(UTC)))

    def all_tasks(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(_tasks).order_by(_tasks.c.id))]
