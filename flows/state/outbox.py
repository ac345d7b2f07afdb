"""Hand-offs, their SLA clocks and the outbox of follow-up tasks and notifications.

The outbox row (with its idempotency key) is committed before any external call; delivery
claims rows with a lease, so a crash mid-call leaves the row to be retried after the lease,
and a key that is already stored is never stored twice. Sent rows are never sent again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, or_, select, update

from connectors.records import Handoff
from connectors.redaction import redact
from flows.state.engine import as_utc, utcnow
from flows.state.ledgers import write_decisions
from flows.state.profile_rows import ProfileOutcome
from flows.state.schema import decisions, handoffs, nurture_cadence, outbox

CHUNK = 500


@dataclass
class HandoffRow:
    handoff: Handoff
    sla_id: str | None = None
    due_at: datetime | None = None
    initial_status: str | None = None
    status: str = "open"
    escalation_level: int = 0
    reroutes: int = 0
    touched_at: datetime | None = None
    first_touch_seconds: int | None = None


@dataclass
class OutboxItem:
    key: str
    handoff_key: str
    channel: str           # task | notify (fans out to the configured channels) | email | slack
    purpose: str           # handoff | reminder | escalation
    payload: dict[str, Any]
    recipient: str = ""
    not_before: datetime | None = None


@dataclass
class OutboxRow:
    id: int
    key: str
    handoff_key: str
    channel: str
    purpose: str
    recipient: str
    payload: dict[str, Any]
    attempts: int
    maybe_sent: bool = field(default=False)  # an earlier attempt may have landed (lost reply, crash)


@dataclass
class NurtureUpdate:
    set: list[tuple[Handoff, datetime]] = field(default_factory=list)  # (template, next due)
    clear: list[str] = field(default_factory=list)                     # lead keys no longer in nurture


def _handoff_values(row: HandoffRow, now: datetime) -> dict[str, Any]:
    h = row.handoff
    return {"key": h.key, "lead_key": h.lead_key, "kind": h.kind, "owner": h.owner, "team": h.team,
            "crm_id": h.crm_id, "at": h.at, "payload": h.model_dump(mode="json"), "sla_id": row.sla_id,
            "due_at": row.due_at, "initial_status": row.initial_status, "status": row.status,
            "escalation_level": row.escalation_level, "reroutes": row.reroutes, "touched_at": row.touched_at,
            "first_touch_seconds": row.first_touch_seconds, "updated_at": now}


def _row(r: Any) -> HandoffRow:
    return HandoffRow(handoff=Handoff.model_validate(r.payload), sla_id=r.sla_id, due_at=as_utc(r.due_at),
                      initial_status=r.initial_status, status=r.status, escalation_level=r.escalation_level,
                      reroutes=r.reroutes, touched_at=as_utc(r.touched_at), first_touch_seconds=r.first_touch_seconds)


class OutboxStore:
    engine: Engine

    # writing, in one transaction with whatever caused it ------------------------------------------------
    def record_decisions_with_handoffs(self, run_id: str, rows: Sequence[Mapping[str, Any]],
                                       new_handoffs: Sequence[HandoffRow], items: Sequence[OutboxItem],
                                       nurture: NurtureUpdate | None = None,
                                       profiles: Sequence[ProfileOutcome] = (), at: datetime | None = None) -> None:
        """The decisions ledger, the profiles, the hand-offs they cause and their outbox rows: all or nothing.
        The decisions are stamped `at` (the run's clock), the outbox rows now (delivery runs on real time)."""
        now = utcnow()
        with self.engine.begin() as conn:
            write_decisions(conn, run_id, rows, profiles, at or now)
            self._write_followups(conn, new_handoffs, items, now)
            if nurture is not None:
                self._write_nurture(conn, nurture, now)

    def add_followups(self, new_handoffs: Sequence[HandoffRow], items: Sequence[OutboxItem],
                      updates: Sequence[HandoffRow] = ()) -> None:
        """New hand-offs and outbox rows plus changed hand-offs (escalation steps), in one transaction."""
        now = utcnow()
        with self.engine.begin() as conn:
            self._write_followups(conn, new_handoffs, items, now)
            for row in updates:
                values = _handoff_values(row, now)
                conn.execute(update(handoffs).where(handoffs.c.key == row.handoff.key).values(**values))

    def _write_followups(self, conn: Connection, new_handoffs: Sequence[HandoffRow], items: Sequence[OutboxItem],
                         now: datetime) -> None:
        from flows.state.inbox import _insert  # the shared dialect switch

        insert = _insert(self.engine)
        # executemany: one statement compiled once. A multi-row VALUES of thousands of rows (a Bulk-sized
        # batch) took a seventh of the run's CPU in compiling and binding, and nears SQLite's parameter limit.
        handoff_rows = [_handoff_values(r, now) for r in new_handoffs]
        if handoff_rows:
            conn.execute(insert(handoffs).on_conflict_do_nothing(index_elements=["key"]), handoff_rows)
        if items:
            written = {row["key"]: row["payload"] for row in handoff_rows}
            conn.execute(insert(outbox).on_conflict_do_nothing(index_elements=["key"]), [{
                "key": i.key, "handoff_key": i.handoff_key, "channel": i.channel, "recipient": i.recipient,
                "purpose": i.purpose, "payload": _without_handoff(i.payload, written.get(i.handoff_key)),
                "status": "pending", "attempts": 0,
                "next_attempt_at": i.not_before or now, "created_at": now, "updated_at": now,
            } for i in items])

    def _write_nurture(self, conn: Connection, nurture: NurtureUpdate, now: datetime) -> None:
        from flows.state.inbox import _insert

        if nurture.clear:
            conn.execute(delete(nurture_cadence).where(nurture_cadence.c.lead_key.in_(nurture.clear)))
        for template, due in nurture.set:
            stmt = _insert(self.engine)(nurture_cadence).values(
                lead_key=template.lead_key, owner=template.owner, payload=template.model_dump(mode="json"),
                next_due_at=due, updated_at=now)
            # Same owner: keep the clock running; a new owner starts a new one.
            conn.execute(stmt.on_conflict_do_update(index_elements=["lead_key"], set_={
                "owner": stmt.excluded.owner, "payload": stmt.excluded.payload, "updated_at": now,
                "next_due_at": _keep_if_same_owner(stmt)}))

    # reading ---------------------------------------------------------------------------------------------
    def handoff_history(self, lead_keys: Sequence[str]) -> tuple[dict[str, HandoffRow], set[str]]:
        """(latest hand-off per lead, leads that have any decision recorded), for deriving new hand-offs."""
        latest: dict[str, HandoffRow] = {}
        decided: set[str] = set()
        keys = list(dict.fromkeys(lead_keys))
        with self.engine.connect() as conn:
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start:start + CHUNK]
                for r in conn.execute(select(handoffs).where(handoffs.c.lead_key.in_(chunk))
                                      .order_by(handoffs.c.at, handoffs.c.updated_at)):
                    latest[r.lead_key] = _row(r)
                decided.update(conn.execute(select(decisions.c.lead_key).where(
                    decisions.c.lead_key.in_(chunk)).distinct()).scalars())
        return latest, decided

    def open_handoffs(self) -> list[HandoffRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(handoffs).where(handoffs.c.status == "open").order_by(handoffs.c.due_at))
            return [_row(r) for r in rows]

    def handoff_rows(self, status: str | None = None) -> list[HandoffRow]:
        query = select(handoffs).order_by(handoffs.c.at)
        if status is not None:
            query = query.where(handoffs.c.status == status)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def due_nurture(self, now: datetime) -> list[tuple[Handoff, datetime]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(nurture_cadence).where(nurture_cadence.c.next_due_at <= now))
            return [(Handoff.model_validate(r.payload), as_utc(r.next_due_at) or now) for r in rows]

    def advance_nurture(self, lead_key: str, was_due: datetime, next_due: datetime,
                        new_handoffs: Sequence[HandoffRow], items: Sequence[OutboxItem]) -> None:
        """Start this check-in's hand-off and move the clock, once: a second caller finds it moved."""
        now = utcnow()
        with self.engine.begin() as conn:
            moved = conn.execute(update(nurture_cadence).where(
                nurture_cadence.c.lead_key == lead_key, nurture_cadence.c.next_due_at == was_due,
            ).values(next_due_at=next_due, updated_at=now)).rowcount
            if moved:
                self._write_followups(conn, new_handoffs, items, now)

    # delivery --------------------------------------------------------------------------------------------
    def claim_outbox(self, now: datetime, limit: int, lease: timedelta,
                     channels: Sequence[str] | None = None) -> list[OutboxRow]:
        """Due rows (pending, or sending with an expired lease) marked sending until now + lease."""
        due = or_(outbox.c.status == "pending", outbox.c.status == "sending")
        query = select(outbox).where(due, outbox.c.next_attempt_at <= now)
        if channels is not None:
            query = query.where(outbox.c.channel.in_(list(channels)))
        query = query.order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
        if self.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            rows = list(conn.execute(query))
            if not rows:
                return []
            conn.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows])).values(
                status="sending", attempts=outbox.c.attempts + 1, next_attempt_at=now + lease, updated_at=now))
            payloads = _with_handoffs(conn, rows)
        return [OutboxRow(id=r.id, key=r.key, handoff_key=r.handoff_key, channel=r.channel, purpose=r.purpose,
                          recipient=r.recipient, payload=payload, attempts=r.attempts + 1,
                          maybe_sent=r.status == "sending" or r.attempts > 0)
                for r, payload in zip(rows, payloads, strict=True)]

    def outbox_done(self, results: Mapping[int, str | None], status: str = "sent",
                    children: Sequence[OutboxItem] = ()) -> None:
        """Mark rows sent (id -> external id) or skipped; `children` are inserted in the same transaction."""
        if not results and not children:
            return
        now = utcnow()
        with self.engine.begin() as conn:
            self._write_followups(conn, (), children, now)
            if results:  # one executemany, each row with its own external id
                conn.execute(update(outbox).where(outbox.c.id == bindparam("row_id")).values(
                    status=status, external_id=bindparam("row_external_id"), sent_at=now, updated_at=now,
                    last_error=None), [{"row_id": i, "row_external_id": e} for i, e in results.items()])

    def outbox_retry_later(self, row_ids: Sequence[int], error: str, at: datetime, *,
                           count_attempt: bool = True) -> None:
        if not row_ids:
            return
        values: dict[str, Any] = {"status": "pending", "next_attempt_at": at, "updated_at": utcnow(),
                                  "last_error": redact(error, max_length=500)}
        if not count_attempt:  # deferred (quiet hours, digest window): not a failure
            values["attempts"] = func.greatest(outbox.c.attempts - 1, 0) \
                if self.engine.dialect.name == "postgresql" else func.max(outbox.c.attempts - 1, 0)
            values["last_error"] = outbox.c.last_error
        with self.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.id.in_(list(row_ids))).values(**values))

    def outbox_dead(self, row_ids: Sequence[int], reason: str) -> None:
        if not row_ids:
            return
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.id.in_(list(row_ids))).values(
                status="dead", last_error=redact(reason, max_length=500), updated_at=now))

    def outbox_rows(self, status: str | None = None) -> list[dict[str, Any]]:
        query = select(outbox).order_by(outbox.c.id)
        if status is not None:
            query = query.where(outbox.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query).fetchall()
            payloads = _with_handoffs(conn, rows)
            return [{**r._mapping, "payload": payload} for r, payload in zip(rows, payloads, strict=True)]

    def pending_digest(self, recipient: str, channel: str, now: datetime) -> list[int]:
        """Ids of this owner's digest rows waiting in the outbox, due or not (a digest sends them all)."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(outbox.c.id).where(and_(
                outbox.c.recipient == recipient, outbox.c.channel == channel, outbox.c.status == "pending",
                outbox.c.next_attempt_at <= now))).scalars())


def _without_handoff(payload: dict[str, Any], written: Any) -> dict[str, Any]:
    """An outbox payload carries its hand-off (about 120 bytes packed); the one written with it in the same
    transaction is stored once, in `handoffs`: here it is null and read back from there (_with_handoffs)."""
    if written is not None and payload.get("handoff") == written:
        return {**payload, "handoff": None}
    return payload


def _with_handoffs(conn: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows' payloads as they were queued: a hand-off stored once put back (one query per chunk)."""
    def stored_once(payload: dict[str, Any]) -> bool:
        return "handoff" in payload and payload["handoff"] is None

    wanted = sorted({r.handoff_key for r in rows if stored_once(r.payload)})
    stored: dict[str, Any] = {}
    for start in range(0, len(wanted), CHUNK):
        for key, handoff in conn.execute(select(handoffs.c.key, handoffs.c.payload).where(
                handoffs.c.key.in_(wanted[start:start + CHUNK]))):
            stored[key] = handoff
    return [{**r.payload, "handoff": stored[r.handoff_key]} if stored_once(r.payload) else dict(r.payload)
            for r in rows]


def _keep_if_same_owner(stmt: Any) -> Any:
    from sqlalchemy import case

    return case((nurture_cadence.c.owner == stmt.excluded.owner, nurture_cadence.c.next_due_at),
                else_=stmt.excluded.next_due_at)
