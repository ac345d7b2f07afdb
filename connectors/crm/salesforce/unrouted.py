"""Salesforce leads nobody routed yet, for the CRM-as-a-source feed (connectors.sources.crm_unrouted).

Every Salesforce lead has an owner, so "unrouted" means: sitting in one of the configured
queues, or carrying one of the configured statuses. Leads leadsync wrote carry its lead key
and are left out, so leadsync never feeds on its own writes; converted leads are sales' own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from simple_salesforce.format import format_soql

from connectors.crm.salesforce.matching import logical_values
from connectors.crm.salesforce.soql import field_list
from connectors.errors import ConfigError
from connectors.sources.crm_unrouted import UnroutedRecord

if TYPE_CHECKING:
    from connectors.crm.salesforce.sink import SalesforceSink


def _parse_time(value: str) -> datetime:
    # Salesforce: 2026-11-23T10:15:00.000+0000
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def fetch_unrouted_leads(sink: SalesforceSink, after: tuple[datetime, str] | None, limit: int,
                         queues: Sequence[str], statuses: Sequence[str]) -> list[UnroutedRecord]:
    if not queues and not statuses:
        raise ConfigError("source crm_unrouted: Salesforce leads always have an owner; list the queues and/or "
                          "statuses that mean 'not routed yet'")
    missing = [q for q in queues if q not in sink.directory.queue_ids]
    if missing:
        sink.directory.resolve([], missing, [])
    status_field = sink.fields.get("status", "Status")
    wanted: list[str] = []
    if queues:
        wanted.append(format_soql("OwnerId IN {}", [sink.directory.queue_ids[q] for q in queues]))
    if statuses:
        wanted.append(format_soql(f"{status_field} IN {{}}", list(statuses)))
    where = [f"({' OR '.join(wanted)})", "IsConverted = false"]
    if sink.key_field:
        where.append(f"{sink.key_field} = null")
    if after is not None:
        when, crm_id = after
        where.append(format_soql("(LastModifiedDate > {when} OR (LastModifiedDate = {when} AND Id > {crm_id}))",
                                 when=when.astimezone(UTC).replace(microsecond=0), crm_id=crm_id))
    select = field_list(["Id", "LastModifiedDate", "OwnerId", *sink.fields.values()])
    soql = f"SELECT {select} FROM Lead WHERE {' AND '.join(where)} ORDER BY LastModifiedDate, Id LIMIT {int(limit)}"
    rows = list(sink.client.query(soql))
    sink.directory.learn(str(r.get("OwnerId") or "") for r in rows)
    return [UnroutedRecord(crm_id=str(row["Id"]), modified_at=_parse_time(str(row["LastModifiedDate"])),
                           fields=logical_values(row, sink.fields, sink.config.placeholders, sink.directory))
            for row in rows]
