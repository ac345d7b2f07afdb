"""What the org's schema (describe) says about the mapping: missing fields, lengths, external id, picklists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.crm.salesforce.client import SalesforceClient

# Lead and Contact fields that are not writable through the mapping: never report them as missing.
_SYSTEM = frozenset({"Id", "OwnerId", "IsConverted", "ConvertedContactId", "Email", "CreatedDate"})


@dataclass
class ObjectSchema:
    name: str
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # field name -> describe entry

    def has(self, name: str) -> bool:
        return name in self.fields

    def length(self, name: str) -> int | None:
        entry = self.fields.get(name) or {}
        length = entry.get("length")
        return int(length) if isinstance(length, int) and length > 0 and entry.get("type") in (
            "string", "textarea", "email", "phone", "url", "picklist") else None

    def picklist(self, name: str) -> list[str]:
        entry = self.fields.get(name) or {}
        return [str(v["value"]) for v in entry.get("picklistValues") or [] if v.get("active", True)]

    def is_external_id(self, name: str) -> bool:
        return bool((self.fields.get(name) or {}).get("externalId"))


def describe(client: SalesforceClient, sobject: str) -> ObjectSchema:
    answer = client.rest(f"sobjects/{sobject}/describe/") or {}
    return ObjectSchema(sobject, {str(f["name"]): f for f in answer.get("fields", [])})


def mapping_problems(schema: ObjectSchema, mapping: dict[str, str], *, key_field: str | None,
                     upsert_on_key: bool) -> list[str]:
    problems = [f"Salesforce {schema.name} has no field '{crm}' (mapped from {logical}); create it or change "
                f"crm.mapping.fields.{logical}" for logical, crm in sorted(mapping.items())
                if crm not in _SYSTEM and not schema.has(crm)]
    if key_field and upsert_on_key and schema.has(key_field) and not schema.is_external_id(key_field):
        problems.append(f"Salesforce {schema.name}.{key_field} (the lead key) is not marked External ID: mark it, "
                        "or set crm.upsert_on_lead_key: false")
    return problems


def status_problems(schema: ObjectSchema, status_field: str, statuses: list[str]) -> list[str]:
    allowed = schema.picklist(status_field)
    if not allowed:
        return []
    return [f"status {s!r} is not a value of Salesforce {schema.name}.{status_field} (allowed: {', '.join(allowed)})"
            for s in statuses if s not in allowed]
