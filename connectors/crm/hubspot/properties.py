"""`leadsync validate --check-crm` for HubSpot: every mapped contact property exists (or gets created)."""

from __future__ import annotations

from hubspot.crm.properties import PropertyCreate

from connectors.crm.hubspot.client import HubSpotClient

GROUP = "contactinformation"


def check_properties(client: HubSpotClient, wanted: list[str], create_missing: bool) -> list[str]:
    existing = {p.name for p in client.call(lambda: client.properties.get_all("contacts")).results}
    missing = [name for name in wanted if name not in existing]
    if create_missing:
        for name in missing:
            spec = PropertyCreate(name=name, label=name.replace("_", " ").title(), type="string",
                                  field_type="text", group_name=GROUP)
            _create(client, spec)
        return []
    return [f"HubSpot contact property '{name}' does not exist (create it, or run validate --check-crm "
            "--create-properties)" for name in missing]


def _create(client: HubSpotClient, spec: PropertyCreate) -> None:
    client.call(lambda: client.properties.create("contacts", spec))
