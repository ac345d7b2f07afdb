"""Batched writes of the local CRM: a few statements per `apply`, whatever the number of leads.

Creates are one multi-row INSERT ... RETURNING (after one look-up of keys an interrupted earlier
attempt already wrote), updates one executemany per set of changed columns, list memberships
one INSERT ... ON CONFLICT DO NOTHING and one DELETE. A 500-lead batch costs a handful of
statements instead of four per lead.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from connectors.many_rows import ManyRows
from connectors.records import ChangeKind, CrmChange, OutcomeStatus, RecordOutcome

CHUNK = 500  # bound parameters per IN (...) and rows per multi-row statement


def apply_changes(conn: Connection, leads: Table, members: Table, changes: Sequence[CrmChange],
                  owners: Collection[str], mapped: Collection[str], now: datetime) -> list[RecordOutcome]:
    outcomes: dict[int, RecordOutcome] = {}
    creates: list[tuple[int, CrmChange, dict[str, Any]]] = []
    updates: list[tuple[int, CrmChange, dict[str, Any]]] = []
    for index, change in enumerate(changes):
        if change.kind is ChangeKind.UNCHANGED:
            outcomes[index] = RecordOutcome(lead_key=change.lead_key, status=OutcomeStatus.UNCHANGED,
                                            crm_id=change.crm_id)
            continue
        owner = change.fields.get("owner")
        if owner is not None and owner not in owners and str(owner).lower() not in owners:
            outcomes[index] = RecordOutcome(
                lead_key=change.lead_key, status=OutcomeStatus.REJECTED, error_code="INVALID_OWNER",
                error_message="owner is not an active user or queue of the local CRM")
            continue
        values = {k: v for k, v in change.fields.items() if k in mapped}
        (creates if change.kind is ChangeKind.CREATE else updates).append((index, change, values))
    ids: dict[int, int] = {}
    # A crash after an earlier attempt's write leaves the record there: update it instead.
    written = _ids_by_key(conn, leads, [c.lead_key for _, c, _ in creates])
    fresh = [(i, c, v) for i, c, v in creates if c.lead_key not in written]
    for i, c, v in creates:
        if c.lead_key in written:
            ids[i] = written[c.lead_key]
            updates.append((i, c, v))
    _insert(conn, leads, fresh, now, ids)
    _update(conn, leads, updates, now, ids)
    created = {i for i, _, _ in fresh}
    for index, change, _ in creates + updates:
        if index not in created and index not in ids:
            ids[index] = int(str(change.crm_id))
        status = OutcomeStatus.CREATED if index in created else OutcomeStatus.UPDATED
        outcomes[index] = RecordOutcome(lead_key=change.lead_key, status=status, crm_id=str(ids[index]))
    _lists(conn, members, [(ids[i], c) for i, c, _ in creates + updates])
    return [outcomes[i] for i in range(len(changes))]


def _ids_by_key(conn: Connection, leads: Table, keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(keys), CHUNK):
        rows = conn.execute(select(leads.c.lead_key, leads.c.id).where(leads.c.lead_key.in_(keys[start:start + CHUNK])))
        found.update({row.lead_key: row.id for row in rows})
    return found


def _insert(conn: Connection, leads: Table, rows: list[tuple[int, CrmChange, dict[str, Any]]], now: datetime,
            ids: dict[int, int]) -> None:
    if not rows:
        return
    # One column set for every row: a field a create does not set is NULL either way.
    columns = sorted({k for _, _, values in rows for k in values})
    params = [{**dict.fromkeys(columns), **values, "created_at": now, "updated_at": now} for _, _, values in rows]
    if all(values.get("lead_key") for _, _, values in rows):
        # Batched INSERT ... RETURNING (insertmanyvalues) gives rows back in no set order: match them by key.
        by_key = {row.lead_key: row.id for row in _creates(leads).returning(conn, params)}
        ids.update({index: by_key[values["lead_key"]] for index, _, values in rows})
        return
    for (index, _, _), param in zip(rows, params, strict=True):  # lead key unmapped: no key to match by
        ids[index] = conn.execute(insert(leads).returning(leads.c.id), param).scalar_one()


_CREATES: dict[Table, ManyRows] = {}


def _creates(leads: Table) -> ManyRows:
    """The batched INSERT ... RETURNING of new leads, compiled once (see connectors/many_rows.py)."""
    if leads not in _CREATES:
        _CREATES[leads] = ManyRows(lambda _: insert(leads).returning(leads.c.id, leads.c.lead_key),
                                   columns_from_rows=True)
    return _CREATES[leads]


def _update(conn: Connection, leads: Table, rows: list[tuple[int, CrmChange, dict[str, Any]]], now: datetime,
            ids: dict[int, int]) -> None:
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for index, change, values in rows:
        if not values:
            continue
        lead_id = ids[index] if index in ids else int(str(change.crm_id))
        by_columns.setdefault(tuple(sorted(values)), []).append({**{f"v_{k}": v for k, v in values.items()},
                                                                "v_id": lead_id})
    for columns, params in by_columns.items():
        stmt = update(leads).where(leads.c.id == bindparam("v_id")).values(
            {**{name: bindparam(f"v_{name}") for name in columns}, "updated_at": now})
        conn.execute(stmt, params)


def _lists(conn: Connection, members: Table, written: list[tuple[int, CrmChange]]) -> None:
    adds = [{"list_name": name, "lead_id": lead_id} for lead_id, c in written for name in dict.fromkeys(c.lists_add)]
    if adds:
        conn.execute(sqlite_insert(members).on_conflict_do_nothing(index_elements=["list_name", "lead_id"]), adds)
    removes = [{"v_lead": lead_id, "v_list": name} for lead_id, c in written for name in c.lists_remove]
    if removes:
        conn.execute(delete(members).where(members.c.lead_id == bindparam("v_lead"),
                                           members.c.list_name == bindparam("v_list")), removes)
