"""Contact properties: `leadsync validate --check-crm` (every mapped one exists, or gets created), and
reading a contact's properties back as logical fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hubspot.crm.properties import PropertyCreate

from connectors.crm.hubspot.client import HubSpotClient

GROUP = "contactinformation"


def check_properties(client: HubSpotClient, wanted: list[str], create_missing: bool,
                     unique: str | None = None) -> list[str]:
    """`unique` names the lead key property: it must enforce unique values so leads without an e-mail
    can be upserted on it (a retried create after a lost reply then finds the contact, never a twin)."""
    existing = {p.name: p for p in client.call(lambda: client.properties.get_all("contacts")).results}
    missing = [name for name in wanted if name not in existing]
    problems: list[str] = []
    if unique and unique in existing and not getattr(existing[unique], "has_unique_value", False):
        problems.append(f"HubSpot contact property '{unique}' (the lead key) does not require unique values; "
                        "recreate it with 'Require unique values', or leads without an e-mail could be "
                        "duplicated when a create is retried")
    if create_missing:
        for name in missing:
            spec = PropertyCreate(name=name, label=name.replace("_", " ").title(), type="string",
                                  field_type="text", group_name=GROUP, has_unique_value=name == unique)
            _create(client, spec)
        return problems
    return problems + [f"HubSpot contact property '{name}' does not exist (create it, or run validate "
                       "--check-crm --create-properties)" for name in missing]


def _create(client: HubSpotClient, spec: PropertyCreate) -> None:
    client.call(lambda: client.properties.create("contacts", spec))


def logical_values(props: Mapping[str, Any], fields: Mapping[str, str],
                   owner_emails: Mapping[str, str]) -> dict[str, Any]:
    """A contact's mapped, non-empty properties by logical name; the owner id as its e-mail when known."""
    values = {logical: props[crm] for logical, crm in fields.items() if props.get(crm) not in (None, "")}
    if "owner" in values:
        values["owner"] = owner_emails.get(str(values["owner"]), str(values["owner"]))
    return values
