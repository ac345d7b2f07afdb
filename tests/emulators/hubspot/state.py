"""In-memory HubSpot account: contacts, companies, owners, properties, manual lists."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_PROPERTIES = {
    "email": "string", "firstname": "string", "lastname": "string", "phone": "string", "company": "string",
    "jobtitle": "string", "website": "string", "industry": "string", "numemployees": "string", "address": "string",
    "city": "string", "state": "string", "zip": "string", "country": "string", "message": "string",
    "hubspot_owner_id": "enumeration", "hs_lead_status": "enumeration", "lifecyclestage": "enumeration",
}
LEAD_STATUSES = ["NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED",
                 "BAD_TIMING"]
LIFECYCLE = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
             "evangelist", "other"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Account:
    lock: threading.RLock = field(default_factory=threading.RLock)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)      # id -> {"properties":..., ...}
    companies: dict[str, dict[str, str]] = field(default_factory=dict)     # id -> properties
    owners: dict[str, dict[str, Any]] = field(default_factory=dict)        # id -> owner json
    properties: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROPERTIES))
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)         # id -> {"name":..., "members": set}
    ids: itertools.count = field(default_factory=lambda: itertools.count(1001))  # type: ignore[type-arg]

    def next_id(self) -> str:
        return str(next(self.ids))

    def add_owner(self, email: str, first: str = "", last: str = "", archived: bool = False) -> str:
        owner_id = str(40000000 + len(self.owners) + 1)
        self.owners[owner_id] = {"id": owner_id, "email": email, "firstName": first, "lastName": last,
                                 "userId": int(owner_id) - 30000000, "createdAt": now_iso(), "updatedAt": now_iso(),
                                 "archived": archived, "type": "PERSON", "teams": []}
        return owner_id

    def add_company(self, domain: str, owner_id: str | None) -> str:
        company_id = self.next_id()
        self.companies[company_id] = {"domain": domain, "hubspot_owner_id": owner_id or "", "name": domain}
        return company_id

    def contact_by_email(self, email: str) -> tuple[str, dict[str, Any]] | None:
        wanted = email.lower()
        for contact_id, contact in self.contacts.items():
            if str(contact["properties"].get("email", "")).lower() == wanted:
                return contact_id, contact
        return None

    def contact_json(self, contact_id: str, wanted: list[str] | None = None, new: bool | None = None) -> dict[str, Any]:
        contact = self.contacts[contact_id]
        props = dict(contact["properties"])
        if wanted is not None:
            props = {k: props.get(k) for k in wanted}
        props["hs_object_id"] = contact_id
        body = {"id": contact_id, "properties": props, "createdAt": contact["createdAt"],
                "updatedAt": contact["updatedAt"], "archived": False}
        if new is not None:
            body["new"] = new
        return body

    def validate(self, properties: dict[str, Any]) -> str | None:
        """HubSpot's VALIDATION_ERROR message for the first bad property, or None."""
        for name, value in properties.items():
            if name not in self.properties:
                return f'Property "{name}" does not exist'
            if name == "hubspot_owner_id" and value not in ("", None) and str(value) not in self.owners:
                return f"{value} is not a valid owner id (for hubspot_owner_id)"
            if name == "hs_lead_status" and value not in ("", None) and value not in LEAD_STATUSES:
                return f"{value} was not one of the allowed options: {LEAD_STATUSES}"
            if name == "lifecyclestage" and value not in ("", None) and value not in LIFECYCLE:
                return f"{value} was not one of the allowed options: {LIFECYCLE}"
        return None
