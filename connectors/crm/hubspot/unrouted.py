"""HubSpot contacts nobody routed, for the crm_unrouted source (see connectors.sources.crm_unrouted).

Only the search API lists contacts by modification time, and its index lags writes. So: search
`lastmodifieddate >= cursor time` (never `>`: contacts sharing the cursor's millisecond must not be
lost), keep only contacts strictly after the (modified_at, id) cursor in code, and leave the last
`settle_seconds` for the next run, so a contact the index has not caught up with yet is not skipped
by a cursor that already moved past its timestamp. Contacts carrying leadsync's lead key were
written by leadsync and are left out, so leadsync never feeds on its own writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hubspot.crm.contacts import PublicObjectSearchRequest

from connectors.crm.hubspot.client import HubSpotClient
from connectors.crm.hubspot.properties import logical_values
from connectors.errors import ConfigError
from connectors.sources.crm_unrouted import UnroutedRecord

SEARCH_PAGE = 200        # HubSpot's maximum page size for search
SEARCH_RESULT_CAP = 10_000  # HubSpot answers 400 when paging past this many results
MODIFIED = "lastmodifieddate"


def _ms(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


def _id_key(crm_id: str) -> tuple[int, str]:
    return (int(crm_id), "") if crm_id.isdigit() else (0, crm_id)


class UnroutedContacts:
    def __init__(self, client: HubSpotClient, fields: Mapping[str, str], owner_emails: Mapping[str, str],
                 owner_ids: Mapping[str, str], queue_owners: Mapping[str, str], settle_seconds: float,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.client = client
        self.fields = fields
        self.owner_emails = owner_emails  # id -> e-mail, filled by the sink's owner lookup
        self.owner_ids = owner_ids        # e-mail -> id
        self.queue_owners = queue_owners
        self.settle = timedelta(seconds=settle_seconds)
        self.clock = clock

    def _groups(self, after: tuple[datetime, str] | None, horizon: datetime, queues: Sequence[str],
                statuses: Sequence[str]) -> list[dict[str, Any]]:
        key_field, owner_field = self.fields.get("lead_key"), self.fields.get("owner", "hubspot_owner_id")
        if not key_field:
            raise ConfigError("crm_unrouted with HubSpot needs the lead_key field mapped: it is how leadsync "
                              "tells its own contacts apart")
        common: list[dict[str, Any]] = [{"propertyName": key_field, "operator": "NOT_HAS_PROPERTY"},
                  {"propertyName": MODIFIED, "operator": "LTE", "value": _ms(horizon)}]
        if after is not None:
            common.append({"propertyName": MODIFIED, "operator": "GTE", "value": _ms(after[0])})
        groups = [{"filters": [*common, {"propertyName": owner_field, "operator": "NOT_HAS_PROPERTY"}]}]
        holders = sorted({self.owner_ids[self.queue_owners[q].lower()] for q in queues
                          if q in self.queue_owners and self.queue_owners[q].lower() in self.owner_ids})
        if holders:  # HubSpot has no queues: a queue is the owner configured to hold it
            groups.append({"filters": [*common, {"propertyName": owner_field, "operator": "IN", "values": holders}]})
        status_field = self.fields.get("status")
        if statuses and status_field:
            groups.append({"filters": [*common, {"propertyName": status_field, "operator": "IN",
                                                 "values": list(statuses)}]})
        return groups

    def fetch(self, after: tuple[datetime, str] | None, limit: int, queues: Sequence[str],
              statuses: Sequence[str]) -> list[UnroutedRecord]:
        horizon = self.clock() - self.settle
        groups = self._groups(after, horizon, queues, statuses)
        wanted = sorted({*self.fields.values(), MODIFIED})
        cursor = (after[0], _id_key(after[1])) if after is not None else None
        found: dict[str, UnroutedRecord] = {}
        page_after: str | None = None
        while True:
            request = PublicObjectSearchRequest(filter_groups=groups, properties=wanted, limit=SEARCH_PAGE,
                                                after=page_after,
                                                sorts=[{"propertyName": MODIFIED, "direction": "ASCENDING"}])
            page = self.client.call(lambda: self.client.contact_search.do_search(request), search=True)  # noqa: B023
            last_seen: datetime | None = None
            for result in page.results or []:
                record = self._record(str(result.id), result.properties or {})
                if record is None:
                    continue
                last_seen = record.modified_at
                if (cursor is None or (record.modified_at, _id_key(record.crm_id)) > cursor) \
                        and record.modified_at <= horizon:
                    found[record.crm_id] = record
            page_after = page.paging.next.after if page.paging and page.paging.next else None
            if page_after is None or int(page_after) >= SEARCH_RESULT_CAP:
                break
            ordered = sorted(found.values(), key=lambda r: (r.modified_at, _id_key(r.crm_id)))
            # Results come sorted by time: once past the limit-th record's time, nothing earlier can follow.
            if len(ordered) >= limit and last_seen is not None and last_seen > ordered[limit - 1].modified_at:
                break
        ordered = sorted(found.values(), key=lambda r: (r.modified_at, _id_key(r.crm_id)))
        return ordered[:limit]

    def _record(self, crm_id: str, props: Mapping[str, Any]) -> UnroutedRecord | None:
        key_field = self.fields.get("lead_key")
        stamp = props.get(MODIFIED)
        if not stamp or (key_field and props.get(key_field)):
            return None  # leadsync's own contact (a stale index entry may still show it)
        modified_at = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).astimezone(UTC)
        return UnroutedRecord(crm_id=crm_id, modified_at=modified_at,
                              fields=logical_values(props, self.fields, self.owner_emails))
