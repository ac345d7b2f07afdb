"""Which of leadsync's leads the CRM has converted: the funnel's last step, read in batched queries.

Salesforce: Leads with IsConverted (SOQL, paged). HubSpot: contacts carrying the lead key whose
lifecycle stage is past lead (search, paged). The local CRM: leads in a converted status.
Only records leadsync wrote (they carry the lead key) are asked for, modified since the window start.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from hubspot.crm.contacts import PublicObjectSearchRequest
from simple_salesforce.format import format_soql

HUBSPOT_CONVERTED_STAGES = ("opportunity", "customer", "evangelist")
SEARCH_PAGE = 200
SEARCH_RESULT_CAP = 10_000


def salesforce_converted(client: Any, key_field: str | None, since: datetime) -> set[str]:
    """Lead ids converted among leadsync's leads modified since `since` (one paged SOQL query)."""
    where = ["IsConverted = true", format_soql("LastModifiedDate >= {}", since.astimezone(UTC).replace(microsecond=0))]
    if key_field:
        where.append(f"{key_field} != null")
    return {str(row["Id"]) for row in client.query(f"SELECT Id FROM Lead WHERE {' AND '.join(where)}")}


def hubspot_converted(client: Any, fields: Mapping[str, str], since: datetime,
                      stages: Collection[str] = HUBSPOT_CONVERTED_STAGES) -> set[str]:
    """Contact ids past the lead stage among leadsync's contacts modified since `since` (paged search).

    HubSpot's search stops at 10,000 results; past that the window is split by modification time.
    """
    key_field = fields.get("lead_key", "leadsync_key")
    found: set[str] = set()
    start = since
    while True:
        filters = [{"propertyName": key_field, "operator": "HAS_PROPERTY"},
                   {"propertyName": "lifecyclestage", "operator": "IN", "values": list(stages)},
                   {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(int(start.timestamp() * 1000))}]
        after: str | None = None
        seen = 0
        last_modified: str | None = None
        while True:
            request = PublicObjectSearchRequest(filter_groups=[{"filters": filters}], properties=["lastmodifieddate"],
                                                limit=SEARCH_PAGE, after=after,
                                                sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}])
            page = client.call(lambda: client.contact_search.do_search(request), search=True)  # noqa: B023
            for result in page.results or []:
                found.add(str(result.id))
                last_modified = (result.properties or {}).get("lastmodifieddate") or last_modified
                seen += 1
            after = page.paging.next.after if page.paging and page.paging.next else None
            if after is None or seen + SEARCH_PAGE > SEARCH_RESULT_CAP:
                break
        if after is None or last_modified is None:
            return found
        next_start = datetime.fromisoformat(str(last_modified).replace("Z", "+00:00"))
        if next_start <= start:  # 10,000 contacts modified in one millisecond: nothing more can be split
            return found
        start = next_start
