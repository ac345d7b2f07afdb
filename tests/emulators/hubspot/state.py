"""In-memory HubSpot account: contacts, companies, owners, properties, manual lists."""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_PROPERTIES = {
    "email": "string", "firstname": "string", "lastname": "string", "phone": "string", "mobilephone": "string",
    "company": "string",
    "jobtitle": "string", "website": "string", "industry": "string", "numemployees": "string", "address": "string",
    "city": "string", "state": "string", "zip": "string", "country": "string", "message": "string",
    "hubspot_owner_id": "enumeration", "hs_lead_status": "enumeration", "lifecyclestage": "enumeration",
    "createdate": "datetime", "lastmodifieddate": "datetime", "hs_object_id": "number",
    "hs_last_sales_activity_timestamp": "datetime", "notes_last_contacted": "datetime",
}
# HubSpot calculates the activity properties from logged activities; the API cannot set them.
READ_ONLY = frozenset({"createdate", "lastmodifieddate", "hs_object_id", "hs_last_sales_activity_timestamp",
                       "notes_last_contacted"})
TASK_PROPERTIES = frozenset({"hs_timestamp", "hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_priority",
                             "hs_task_type", "hubspot_owner_id"})
TASK_STATUSES = ["NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"]
TASK_PRIORITIES = ["NONE", "LOW", "MEDIUM", "HIGH"]
TASK_TO_CONTACT = 204
LEAD_STATUSES = ["NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED",
                 "BAD_TIMING"]
LIFECYCLE = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
             "evangelist", "other"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")  # HubSpot: ms


@dataclass
class Account:
    lock: threading.RLock = field(default_factory=threading.RLock)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)      # id -> {"properties":..., ...}
    companies: dict[str, dict[str, str]] = field(default_factory=dict)     # id -> properties
    owners: dict[str, dict[str, Any]] = field(default_factory=dict)        # id -> owner json
    properties: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROPERTIES))
    unique_properties: set[str] = field(default_factory=set)  # properties created with hasUniqueValue
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)         # id -> {"name":..., "members": set}
    ids: itertools.count = field(default_factory=lambda: itertools.count(1001))  # type: ignore[type-arg]
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)         # id -> {"properties":..., "contacts"}
    task_properties: set[str] = field(default_factory=lambda: set(TASK_PROPERTIES))
    # What the search API sees: per contact, versions (visible from monotonic time, snapshot).
    search_index: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)

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

    def write_contact(self, contact_id: str | None, properties: dict[str, Any], search_lag: float = 0.0,
                      stamp: str | None = None) -> tuple[str, bool]:
        """Create or update a contact; the search index sees the new version `search_lag` seconds later."""
        stamp = stamp or now_iso()
        created = contact_id is None
        if contact_id is None:
            contact_id = self.next_id()
            self.contacts[contact_id] = {"properties": {"createdate": stamp}, "createdAt": stamp}
        contact = self.contacts[contact_id]
        contact["properties"].update({k: ("" if v is None else str(v)) for k, v in properties.items()})
        contact["properties"]["lastmodifieddate"] = stamp
        contact["updatedAt"] = stamp
        self.search_index.setdefault(contact_id, []).append(
            (time.monotonic() + search_lag, copy.deepcopy(contact)))
        return contact_id, created

    def searchable(self) -> dict[str, dict[str, Any]]:
        """The contacts as the (eventually consistent) search index shows them right now."""
        now = time.monotonic()
        view: dict[str, dict[str, Any]] = {}
        for contact_id, versions in self.search_index.items():
            visible = [v for at, v in versions if at <= now]
            if visible:
                view[contact_id] = visible[-1]
        return view

    def contact_by_email(self, email: str) -> tuple[str, dict[str, Any]] | None:
        wanted = email.lower()
        for contact_id, contact in self.contacts.items():
            if str(contact["properties"].get("email", "")).lower() == wanted:
                return contact_id, contact
        return None

    def contact_json(self, contact_id: str, wanted: list[str] | None = None, new: bool | None = None) -> dict[str, Any]:
        return self.object_json(contact_id, self.contacts[contact_id], wanted, new)

    def object_json(self, contact_id: str, contact: dict[str, Any], wanted: list[str] | None = None,
                    new: bool | None = None) -> dict[str, Any]:
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
        """HubSpot's VALIDATION_ERROR message for the bad properties of one record, or None."""
        problems: list[dict[str, Any]] = []
        for name, value in properties.items():
            if name not in self.properties:
                problems.append(_invalid(name, f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST"))
            elif name in READ_ONLY:
                problems.append(_invalid(name, f"{name} is a read only property; its value cannot be set.",
                                         "READ_ONLY_VALUE"))
            elif value in ("", None):
                continue  # any property can be cleared
            elif name == "hubspot_owner_id" and str(value) not in self.owners:
                problems.append(_invalid(name, f"{value} is not a valid owner id (for owner ID).", "INVALID_OWNER_ID"))
            elif name == "hs_lead_status" and value not in LEAD_STATUSES:
                problems.append(_invalid(name, f"{value} was not one of the allowed options: "
                                         f"{_options(LEAD_STATUSES)}", "INVALID_OPTION"))
            elif name == "lifecyclestage" and value not in LIFECYCLE:
                problems.append(_invalid(name, f"{value} was not one of the allowed options: "
                                         f"{_options(LIFECYCLE)}", "INVALID_OPTION"))
        if not problems:
            return None
        return f"Property values were not valid: {json.dumps(problems)}"


def _invalid(name: str, message: str, error: str) -> dict[str, Any]:
    return {"isValid": False, "message": message, "error": error, "name": name}


def _options(values: list[str]) -> str:
    return "[" + ", ".join(f"label: {v!r}, value: {v!r}" for v in values) + "]"


def complete_task(account: Account, task_id: str, at: str | None = None) -> None:
    """What a rep does in HubSpot: complete the task; the associated contacts' last sales activity moves."""
    stamp = at or now_iso()
    task = account.tasks[task_id]
    task["properties"]["hs_task_status"] = "COMPLETED"
    for contact_id in task["contacts"]:
        if contact_id in account.contacts:
            account.contacts[contact_id]["properties"]["hs_last_sales_activity_timestamp"] = stamp
