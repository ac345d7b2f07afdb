"""Find what Salesforce already holds for a batch of leads: open Leads, Contacts, converted Leads.

Order of preference per lead: the Lead it was read from (CRM as a source), an open Lead
carrying our lead key, then an open Lead with the same e-mail (oldest first, so duplicates
already in the org do not multiply), then a Contact with the e-mail (directly, or as the
contact a converted Lead became). A converted Lead is never written again: Salesforce
refuses it, and the person now belongs to the Contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.crm.salesforce.client import SalesforceClient
from connectors.crm.salesforce.composite import queries
from connectors.crm.salesforce.directory import Directory
from connectors.crm.salesforce.soql import field_list, in_chunks
from connectors.records import CrmRecord, Lead


@dataclass
class Found:
    leads_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    leads_by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    leads_by_email: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts_by_email: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    converted_contact_by_email: dict[str, str] = field(default_factory=dict)


class Matcher:
    def __init__(self, client: SalesforceClient, directory: Directory, lead_fields: dict[str, str],
                 contact_fields: dict[str, str], placeholders: dict[str, str]) -> None:
        self.client = client
        self.directory = directory
        self.lead_fields = lead_fields        # logical -> Lead field
        self.contact_fields = contact_fields  # logical -> Contact field (only those Contact has)
        self.placeholders = placeholders
        self.key_field = lead_fields.get("lead_key")

    def find(self, leads: Sequence[Lead]) -> dict[str, CrmRecord]:
        """All look-ups of the batch as queries bundled five to a Composite call (see composite.py)."""
        found = Found()
        lead_select = field_list(["Id", "OwnerId", "IsConverted", "ConvertedContactId", "Email", "CreatedDate",
                                  *self.lead_fields.values()])
        contact_select = field_list(["Id", "OwnerId", "Email", *self.contact_fields.values()])
        ids = [lead.crm_id for lead in leads if lead.crm_id and lead.crm_id.startswith("00Q")]
        emails = sorted({lead.email for lead in leads if lead.email})
        wanted: list[tuple[str, str]] = [
            ("id", soql) for soql in in_chunks(f"SELECT {lead_select} FROM Lead WHERE Id IN {{values}} "
                                               "AND IsConverted = false", ids)]
        if self.key_field:
            wanted += [("key", soql) for soql in in_chunks(
                f"SELECT {lead_select} FROM Lead WHERE {self.key_field} IN {{values}} AND IsConverted = false",
                [lead.lead_key for lead in leads])]
        wanted += [("email", soql) for soql in in_chunks(
            f"SELECT {lead_select} FROM Lead WHERE Email IN {{values}} ORDER BY CreatedDate, Id", emails)]
        wanted += [("contact", soql) for soql in in_chunks(
            f"SELECT {contact_select} FROM Contact WHERE Email IN {{values}} ORDER BY CreatedDate, Id", emails)]
        for (kind, _), rows in zip(wanted, queries(self.client, [soql for _, soql in wanted]), strict=True):
            for row in rows:
                self._file(found, kind, row)
        missing = [i for i in found.converted_contact_by_email.values() if i not in found.contacts_by_id]
        converted = list(in_chunks(f"SELECT {contact_select} FROM Contact WHERE Id IN {{values}}", missing))
        for rows in queries(self.client, converted):
            for row in rows:
                found.contacts_by_id[str(row["Id"])] = row
        return self._records(leads, found)

    def _file(self, found: Found, kind: str, row: dict[str, Any]) -> None:
        if kind == "id":
            found.leads_by_id[str(row["Id"])] = row
        elif kind == "key":
            found.leads_by_key.setdefault(str(row[self.key_field or ""]), row)
        elif kind == "email":
            email = str(row.get("Email") or "").lower()
            if row.get("IsConverted"):
                if row.get("ConvertedContactId"):
                    found.converted_contact_by_email.setdefault(email, str(row["ConvertedContactId"]))
            else:
                found.leads_by_email.setdefault(email, row)
        else:
            found.contacts_by_email.setdefault(str(row.get("Email") or "").lower(), row)
            found.contacts_by_id[str(row["Id"])] = row

    def _records(self, leads: Sequence[Lead], found: Found) -> dict[str, CrmRecord]:
        rows: dict[str, tuple[str, dict[str, Any]]] = {}
        for lead in leads:
            email = (lead.email or "").lower()
            row = found.leads_by_id.get(lead.crm_id or "") or found.leads_by_key.get(lead.lead_key) \
                or found.leads_by_email.get(email)
            if row is not None:
                rows[lead.lead_key] = ("lead", row)
                continue
            contact = found.contacts_by_email.get(email)
            if contact is None and email in found.converted_contact_by_email:
                contact = found.contacts_by_id.get(found.converted_contact_by_email[email])
            if contact is not None:
                rows[lead.lead_key] = ("contact", contact)
        self.directory.learn(str(row.get("OwnerId") or "") for _, row in rows.values())
        return {key: self._record(kind, row) for key, (kind, row) in rows.items()}

    def _record(self, kind: str, row: dict[str, Any]) -> CrmRecord:
        mapping = self.lead_fields if kind == "lead" else self.contact_fields
        fields = logical_values(row, mapping, self.placeholders, self.directory)
        owner = self.directory.owner_name(str(row.get("OwnerId") or "") or None)
        if owner is not None:
            fields["owner"] = owner
        return CrmRecord(crm_id=str(row["Id"]), object_type=kind, email=row.get("Email"),
                         lead_key=fields.get("lead_key"), owner=owner, fields=fields)


def logical_values(row: dict[str, Any], mapping: dict[str, str], placeholders: dict[str, str],
                   directory: Directory) -> dict[str, Any]:
    """A Salesforce row's mapped values by logical name; owners as e-mail or queue name."""
    fields: dict[str, Any] = {}
    for logical, crm in mapping.items():
        value = row.get(crm)
        if value in (None, "") or placeholders.get(logical) == value:
            continue  # a placeholder is a blank that Salesforce insisted on; real data may fill it
        fields[logical] = directory.owner_name(str(value)) if logical == "owner" else value
    return fields
