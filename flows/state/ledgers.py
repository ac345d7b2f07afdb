"""Decisions ledger (audit), rotation state and ledger (round robin turns), and runs (metrics)."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, select, update

from connectors.many_rows import ManyRows
from connectors.records import SkippedRep
from connectors.redaction import redact
from flows.state.engine import utcnow
from flows.state.profile_rows import ProfileOutcome, save_outcomes
from flows.state.schema import decisions, rotation_ledger, rotation_state, runs
from rules.assign import PinnedRoute

T = TypeVar("T")
_DECISION_ROWS = ManyRows(lambda _: decisions.insert(), columns_from_rows=True)
_LEDGER_ROWS = ManyRows(lambda _: rotation_ledger.insert(), columns_from_rows=True)


@dataclass(frozen=True)
class LedgerEntry:
    lead_key: str
    team: str | None
    owner: str | None
    method: str
    skipped: list[tuple[str, str]]
    rule_id: str | None = None
    reason: str | None = None


def write_decisions(conn: Connection, run_id: str, rows: Sequence[Mapping[str, Any]],
                    profiles: Sequence[ProfileOutcome], now: datetime) -> None:
    """Decision rows and the profiles' decided state, inside the caller's transaction."""
    if rows:
        _DECISION_ROWS.run(conn, [{**row, "decision": _without_columns(row), "run_id": run_id, "created_at": now}
                                  for row in rows])
    save_outcomes(conn, profiles, now)


# A decision's lead key and ruleset version are its row's columns: inside the packed decision they are
# null (about 15 bytes less per lead: a key is incompressible) and readers put them back (decision_of).
_IN_COLUMNS = ("lead_key", "ruleset_version")


def _without_columns(row: Mapping[str, Any]) -> Any:
    decision = row["decision"]
    if not isinstance(decision, dict):
        return decision
    same = {name: None for name in _IN_COLUMNS if name in decision and decision[name] == row.get(name)}
    return {**decision, **same} if same else decision


def decision_of(row: Any) -> Any:
    """The decision of a decisions row as it was recorded (with its lead key and ruleset version)."""
    decision = row.decision
    if not isinstance(decision, dict):
        return decision
    missing = {name: getattr(row, name) for name in _IN_COLUMNS if name in decision and decision[name] is None}
    return {**decision, **missing} if missing else decision


class LedgerStore:
    engine: Engine

    # rotation ---------------------------------------------------------------------------------

    def with_rotation(self, name: str,
                      decide: Callable[[dict[str, Any], dict[str, PinnedRoute]],
                                       tuple[T, dict[str, Any], list[LedgerEntry]]],
                      lead_keys: Sequence[str], run_id: str, at: datetime | None = None) -> T:
        """Read the rotation state under a lock, decide, write state and ledger rows, in one transaction.

        `decide(state, pinned)` gets the current state and the routes (owner, rule, reason) earlier
        attempts already gave these leads; it returns (result, new state, ledger entries). On
        PostgreSQL the state row is locked FOR UPDATE, on SQLite the transaction holds the write lock
        (BEGIN IMMEDIATE), so two concurrent runs can never hand out the same turn. Ledger rows are
        stamped `at` (the run's clock: `leadsync run --as-of` replays history), else now.
        """
        now = utcnow()
        with self.engine.begin() as conn:
            self._ensure_rotation_row(conn, name)
            query = select(rotation_state.c.state).where(rotation_state.c.name == name)
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update()
            state = conn.execute(query).scalar_one()
            pinned = self._pinned_owners(conn, lead_keys)
            result, new_state, entries = decide(dict(state), pinned)
            conn.execute(update(rotation_state).where(rotation_state.c.name == name).values(
                state=new_state, version=rotation_state.c.version + 1, updated_at=now))
            if entries:
                _LEDGER_ROWS.run(conn, [{
                    "run_id": run_id, "lead_key": e.lead_key, "team": e.team, "owner": e.owner,
                    "method": e.method, "skipped": [list(s) for s in e.skipped], "at": at or now,
                    "rule_id": e.rule_id, "reason": e.reason,
                } for e in entries])
            return result

    def _ensure_rotation_row(self, conn: Connection, name: str) -> None:
        exists = conn.execute(select(rotation_state.c.name).where(rotation_state.c.name == name)).first()
        if exists is None:
            from flows.state.inbox import _insert  # shared dialect switch

            conn.execute(_insert(self.engine)(rotation_state).values(
                name=name, state={}, version=0, updated_at=utcnow()).on_conflict_do_nothing(
                index_elements=["name"]))

    def _pinned_owners(self, conn: Connection, lead_keys: Sequence[str]) -> dict[str, PinnedRoute]:
        if not lead_keys:
            return {}
        rows = conn.execute(select(rotation_ledger).where(
            rotation_ledger.c.lead_key.in_(list(lead_keys)), rotation_ledger.c.owner.is_not(None),
        ).order_by(rotation_ledger.c.id))
        return {r.lead_key: _pinned_route(r) for r in rows}

    def rotation_ledger_rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(rotation_ledger).order_by(rotation_ledger.c.id))]

    # decisions ----------------------------------------------------------------------------------

    def record_decisions(self, run_id: str, rows: Sequence[Mapping[str, Any]],
                         profiles: Sequence[ProfileOutcome] = (), at: datetime | None = None) -> None:
        """rows: lead_key, ruleset_version, outcome, crm_id, decision (JSON-ready dict); the profiles'
        decided state (score, stage, transitions...) is saved in the same transaction. Stamped `at`, the
        run's clock (`leadsync run --as-of` replays history), else now."""
        if not rows and not profiles:
            return
        with self.engine.begin() as conn:
            write_decisions(conn, run_id, rows, profiles, at or utcnow())

    def latest_decision(self, lead_key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(decisions).where(decisions.c.lead_key == lead_key)
                               .order_by(decisions.c.id.desc()).limit(1)).first()
            return {**row._mapping, "decision": decision_of(row)} if row else None

    # runs ------------------------------------------------------------------------------------------

    def start_run(self, kind: str) -> str:
        # 64 random bits are unique enough for runs; every decision and rotation turn repeats the id,
        # so 16 characters instead of a UUID's 32 save 32 bytes per lead.
        run_id = secrets.token_hex(8)
        with self.engine.begin() as conn:
            conn.execute(runs.insert().values(id=run_id, kind=kind, host=socket.gethostname(), pid=os.getpid(),
                                              status="running", started_at=utcnow(), metrics={}))
        return run_id

    def finish_run(self, run_id: str, status: str, metrics: Mapping[str, Any], error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(
                status=status, finished_at=utcnow(), metrics=dict(metrics),
                error=redact(error) if error else None))

    def recent_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.started_at.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]


def _pinned_route(row: Row[Any]) -> PinnedRoute:
    if row.reason is None:  # written before rule and reason were kept: only the owner is known
        return PinnedRoute(owner=row.owner, team=row.team)
    skipped = tuple(SkippedRep(owner=owner, reason=reason) for owner, reason in row.skipped or [])
    return PinnedRoute(owner=row.owner, team=row.team, rule_id=row.rule_id, method=row.method,
                       reason=row.reason, skipped=skipped)
