"""The embedded CRM: a SQLite system of record behind the same sink interface as Salesforce and HubSpot.

Good for trying leadsync and for small teams: owners, queues, accounts (for account-based
routing), leads with status, score and explanation, and nurture lists. Writes are batched in
one transaction per `apply`, and re-applying the same create is an update, never a duplicate.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    event,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.schema import CreateIndex, CreateTable

from connectors.crm.base import LOGICAL_FIELDS
from connectors.crm.local_writes import apply_changes
from connectors.crm.mapping import FieldMapping
from connectors.errors import ConfigError
from connectors.records import ChangeKind, CrmChange, CrmRecord, Lead, OutcomeStatus, RecordOutcome
from connectors.sources.crm_unrouted import UnroutedRecord
from connectors.sqlite_wal import switch_to_wal

LOOKUP_CHUNK = 500


class LocalUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str
    name: str = ""
    active: bool = True


class LocalAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(description="E-mail domain of the account, e.g. bigco.com.")
    name: str = ""
    owner: str = Field(description="E-mail of the account owner (a user).")


class LocalCrmConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["local"] = "local"
    path: str = Field(default="var/crm.db", description="SQLite file of the local CRM.")
    users: list[LocalUser] = Field(default_factory=list, description="Sales reps who can own leads.")
    queues: list[str] = Field(default_factory=list, description="Queues leads can be routed to.")
    accounts: list[LocalAccount] = Field(default_factory=list, description="Existing accounts and owners.")
    mapping: FieldMapping = Field(default_factory=FieldMapping)
    converted_statuses: list[str] = Field(default_factory=lambda: ["Converted", "Closed - Converted"],
                                          description="Lead statuses that mean the lead was converted (reports).")


_meta = MetaData()
_users = Table("crm_users", _meta, Column("email", String(320), primary_key=True),
               Column("name", String(200)), Column("active", Boolean, nullable=False))
_queues = Table("crm_queues", _meta, Column("name", String(200), primary_key=True))
_accounts = Table("crm_accounts", _meta, Column("domain", String(255), primary_key=True),
                  Column("name", String(200)), Column("owner", String(320), nullable=False))
_FIELD_TYPES: dict[str, Any] = {"employees": Integer, "score": Float, "mql": Boolean,
                                "explanation": Text, "description": Text}
_leads = Table(
    "crm_leads", _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *[Column(name, _FIELD_TYPES.get(name, String(500)), unique=(name == "lead_key"))
      for name in LOGICAL_FIELDS],
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
_lists = Table("crm_list_members", _meta, Column("list_name", String(200), nullable=False),
               Column("lead_id", Integer, nullable=False),
               UniqueConstraint("list_name", "lead_id", name="uq_list_member"))
# Look-ups by e-mail and memberships by lead must not scan the table (quadratic past 100k leads).
_INDEXES = (Index("ix_crm_leads_email", _leads.c.email), Index("ix_crm_list_members_lead", _lists.c.lead_id))


def _write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    # WAL: a commit appends to the log and syncs it once, instead of the rollback journal's several syncs,
    # and readers (report, export) no longer block the writer. synchronous stays FULL (not the state store's
    # NORMAL): the CRM is the system of record and must be at least as durable as the state store, so a
    # power cut can lose the state store's "done" (the lead is looked up and updated again, never created
    # twice) but never a CRM write the state store already recorded.
    cursor = dbapi_connection.cursor()
    switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _domain(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1] if email and "@" in email else None


def _in_chunks(conn: Any, query: Any, column: Any, values: Sequence[Any]) -> Iterator[Any]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield from conn.execute(query.where(column.in_(values[start:start + LOOKUP_CHUNK])))


class LocalCrmSink:
    """SQLite CRM. `write_calls` counts write transactions (a no-change re-sync leaves it untouched)."""

    name = "local"

    def __init__(self, config: LocalCrmConfig) -> None:
        self.config = config
        Path(config.path).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(f"sqlite:///{config.path}", connect_args={"timeout": 30})
        event.listen(self.engine, "connect", _write_ahead_log)
        self._create_schema()
        self._seed()
        self._mapped = set(config.mapping.resolved("local"))
        self.write_calls = 0

    def _create_schema(self) -> None:
        """Tables, indexes and the logical fields added since a CRM file was made (e.g. mobile_phone).

        Two workers may open a new CRM file at once: each statement is IF NOT EXISTS, and the column
        check and ALTERs run under SQLite's write lock (BEGIN IMMEDIATE), so the second one finds the work done.
        """
        with self.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            for table in _meta.sorted_tables:
                conn.execute(CreateTable(table, if_not_exists=True))
            for index in _INDEXES:
                conn.execute(CreateIndex(index, if_not_exists=True))
            existing = {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(crm_leads)")}
            for column in _leads.columns:
                if column.name not in existing:
                    kind = column.type.compile(dialect=self.engine.dialect)
                    conn.exec_driver_sql(f'ALTER TABLE crm_leads ADD COLUMN "{column.name}" {kind}')
            conn.exec_driver_sql("COMMIT")

    def _seed(self) -> None:
        """Make the configured users, queues and accounts exist (config is the roster's source).

        Only differences are written, so opening the CRM to read it (report, backtest) changes nothing.
        """
        users = {u.email.lower(): (u.name, u.active) for u in self.config.users}
        accounts = {a.domain.lower(): (a.name, a.owner.lower()) for a in self.config.accounts}
        with self.engine.connect() as conn:
            have_users = {r.email: (r.name, r.active) for r in conn.execute(select(_users))}
            have_queues = {r.name for r in conn.execute(select(_queues.c.name))}
            have_accounts = {r.domain: (r.name, r.owner) for r in conn.execute(select(_accounts))}
        stale_users = [e for e, v in users.items() if have_users.get(e) != v]
        new_queues = [q for q in dict.fromkeys(self.config.queues) if q not in have_queues]
        stale_accounts = [d for d, v in accounts.items() if have_accounts.get(d) != v]
        if not (stale_users or new_queues or stale_accounts):
            return
        # Upserts: another worker opening the same CRM file at the same moment may have written them first.
        with self.engine.begin() as conn:
            if stale_users:
                stmt = sqlite_insert(_users)
                conn.execute(stmt.on_conflict_do_update(index_elements=["email"], set_={
                    "name": stmt.excluded.name, "active": stmt.excluded.active}),
                    [{"email": e, "name": users[e][0], "active": users[e][1]} for e in stale_users])
            if new_queues:
                conn.execute(sqlite_insert(_queues).on_conflict_do_nothing(index_elements=["name"]),
                             [{"name": q} for q in new_queues])
            if stale_accounts:
                stmt = sqlite_insert(_accounts)
                conn.execute(stmt.on_conflict_do_update(index_elements=["domain"], set_={
                    "name": stmt.excluded.name, "owner": stmt.excluded.owner}),
                    [{"domain": d, "name": accounts[d][0], "owner": accounts[d][1]} for d in stale_accounts])

    def mapped_fields(self) -> Collection[str]:
        return self._mapped

    def check_schema(self, create_missing: bool = False) -> list[str]:
        return []  # the local schema is created from the logical fields themselves

    def resolve_owners(self, owners: Sequence[str], queues: Sequence[str], lists: Sequence[str] = ()) -> None:
        with self.engine.connect() as conn:
            active = {r.email for r in conn.execute(select(_users.c.email).where(_users.c.active))}
            known_queues = {r.name for r in conn.execute(select(_queues.c.name))}
        problems = [f"owner {o!r} is not an active user of the local CRM" for o in owners
                    if o.lower() not in active]
        problems += [f"queue {q!r} does not exist in the local CRM" for q in queues if q not in known_queues]
        if problems:
            raise ConfigError("routing names owners or queues the CRM does not have", problems)

    def lookup(self, leads: Sequence[Lead]) -> dict[str, CrmRecord]:
        """Records by CRM id, lead key, then e-mail: a few IN (...) queries per batch, never one per lead."""
        rows: dict[str, Any] = {}
        with self.engine.connect() as conn:
            by_id = {int(lead.crm_id): lead.lead_key for lead in leads if lead.crm_id and lead.crm_id.isdigit()}
            for row in _in_chunks(conn, select(_leads), _leads.c.id, list(by_id)):
                rows[by_id[row.id]] = row
            keys = [lead.lead_key for lead in leads if lead.lead_key not in rows]
            for row in _in_chunks(conn, select(_leads), _leads.c.lead_key, keys):
                rows[row.lead_key] = row
            by_email = {lead.email: lead.lead_key for lead in leads if lead.email and lead.lead_key not in rows}
            for row in _in_chunks(conn, select(_leads).order_by(_leads.c.id), _leads.c.email, list(by_email)):
                rows.setdefault(by_email[row.email], row)
            lists: dict[int, list[str]] = {}
            for member in _in_chunks(conn, select(_lists.c.lead_id, _lists.c.list_name), _lists.c.lead_id,
                                     sorted({row.id for row in rows.values()})):
                lists.setdefault(member.lead_id, []).append(member.list_name)
        owners = self.account_owners([_domain(row.email) or "" for row in rows.values()])
        return {key: self._record(row, lists.get(row.id, []), owners.get(_domain(row.email) or ""))
                for key, row in rows.items()}

    def _record(self, row: Any, lists: list[str], account_owner: str | None) -> CrmRecord:
        fields = {name: getattr(row, name) for name in self._mapped if getattr(row, name) is not None}
        return CrmRecord(crm_id=str(row.id), email=row.email, lead_key=row.lead_key, owner=row.owner,
                         account_owner=account_owner, fields=fields, lists=sorted(lists))

    def account_owners(self, domains: Sequence[str]) -> dict[str, str]:
        wanted = sorted({d.lower() for d in domains if d})
        if not wanted:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(_accounts.c.domain, _accounts.c.owner).where(_accounts.c.domain.in_(wanted)))
            return {r.domain: r.owner for r in rows}

    def apply(self, changes: Sequence[CrmChange]) -> list[RecordOutcome]:
        if all(c.kind is ChangeKind.UNCHANGED for c in changes):
            return [RecordOutcome(lead_key=c.lead_key, status=OutcomeStatus.UNCHANGED, crm_id=c.crm_id)
                    for c in changes]
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            self.write_calls += 1
            owners = {r.email for r in conn.execute(select(_users.c.email).where(_users.c.active))}
            owners |= {r.name for r in conn.execute(select(_queues.c.name))}
            return apply_changes(conn, _leads, _lists, changes, owners, self._mapped, now)

    def fetch_unrouted(self, after: tuple[datetime, str] | None, limit: int, queues: Sequence[str],
                       statuses: Sequence[str]) -> list[UnroutedRecord]:
        """Leads entered in this CRM by hand that nobody routed (see connectors.sources.crm_unrouted)."""
        unrouted = or_(_leads.c.owner.is_(None), _leads.c.owner.in_(list(queues)),
                       _leads.c.status.in_(list(statuses)))
        query = select(_leads).where(_leads.c.lead_key.is_(None), unrouted)
        if after is not None:
            when, crm_id = after
            when_naive = when.astimezone(UTC).replace(tzinfo=None)
            query = query.where(or_(_leads.c.updated_at > when_naive,
                                    and_(_leads.c.updated_at == when_naive, _leads.c.id > int(crm_id))))
        query = query.order_by(_leads.c.updated_at, _leads.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [UnroutedRecord(crm_id=str(row.id), modified_at=row.updated_at.replace(tzinfo=UTC),
                                   fields={n: getattr(row, n) for n in LOGICAL_FIELDS if getattr(row, n) is not None})
                    for row in conn.execute(query)]

    def create_by_hand(self, fields: dict[str, Any]) -> str:
        """Enter a lead the way a rep or another tool would: no lead key, maybe no owner."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            result = conn.execute(insert(_leads).values(**fields, created_at=now, updated_at=now))
            key = result.inserted_primary_key
            assert key is not None
            return str(key[0])

    # reporting ---------------------------------------------------------------------------------------

    def all_leads(self) -> list[dict[str, Any]]:
        return [row for page in self.iter_leads() for row in page]

    def iter_leads(self, page_size: int = 2000) -> Iterator[list[dict[str, Any]]]:
        """Every lead with its lists, a page at a time (keyset by id): memory stays flat at any CRM size."""
        after = 0
        while True:
            with self.engine.connect() as conn:
                rows = [dict(r._mapping) for r in conn.execute(
                    select(_leads).where(_leads.c.id > after).order_by(_leads.c.id).limit(page_size))]
                if not rows:
                    return
                by_lead: dict[int, list[str]] = {}
                for member in _in_chunks(conn, select(_lists.c.lead_id, _lists.c.list_name), _lists.c.lead_id,
                                         [row["id"] for row in rows]):
                    by_lead.setdefault(member.lead_id, []).append(member.list_name)
            for row in rows:
                row["lists"] = ";".join(sorted(by_lead.get(row["id"], [])))
            yield rows
            after = rows[-1]["id"]

    def export_csv(self, path: str | Path) -> int:
        """Write every lead (all logical fields, lists) to a CSV file, streamed; returns the row count."""
        columns = ["id", *LOGICAL_FIELDS, "lists", "created_at", "updated_at"]
        count = 0
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for page in self.iter_leads():
                writer.writerows(page)
                count += len(page)
        return count

    def converted_since(self, since: datetime) -> set[str]:
        query = select(_leads.c.id).where(_leads.c.status.in_(self.config.converted_statuses),
                                          _leads.c.updated_at >= since, _leads.c.lead_key.is_not(None))
        with self.engine.connect() as conn:
            return {str(row.id) for row in conn.execute(query)}

    def close(self) -> None:
        self.engine.dispose()
