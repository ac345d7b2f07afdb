"""Salesforce as the system of record: batched matching, Collections / Bulk writes, owners, campaigns."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from connectors.crm.conversions import salesforce_converted
from connectors.crm.salesforce.accounts import account_owners_by_domain
from connectors.crm.salesforce.campaigns import Campaigns, MembershipChange
from connectors.crm.salesforce.client import ClientFactory, SalesforceClient
from connectors.crm.salesforce.config import SalesforceConfig
from connectors.crm.salesforce.directory import Directory
from connectors.crm.salesforce.matching import Matcher
from connectors.crm.salesforce.schema import ObjectSchema, describe, mapping_problems, status_problems
from connectors.crm.salesforce.unrouted import fetch_unrouted_leads
from connectors.crm.salesforce.writes import Write, Writer
from connectors.errors import ConfigError
from connectors.records import ChangeKind, CrmChange, CrmRecord, Lead, OutcomeStatus, RecordOutcome
from connectors.retry import DEFAULT_POLICY, RetryPolicy
from connectors.sources.crm_unrouted import UnroutedRecord

CONTACT_DEFAULTS = {"email": "Email", "first_name": "FirstName", "last_name": "LastName", "phone": "Phone",
                    "mobile_phone": "MobilePhone", "title": "Title", "owner": "OwnerId"}


class SalesforceSink:
    name = "salesforce"

    def __init__(self, config: SalesforceConfig, factory: ClientFactory, *, statuses: Sequence[str] = (),
                 policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self.config = config
        self.client = SalesforceClient(factory, config, policy=policy)
        self.fields = config.mapping.resolved("salesforce")
        self.key_field = self.fields.get("lead_key")
        self.statuses = list(statuses)
        self.directory = Directory(self.client)
        self.campaigns = Campaigns(self.client, self.directory, config.campaign_member_status)
        self.writer = Writer(self.client, config, self.key_field)
        self._lead_schema: ObjectSchema | None = None
        self._lengths: dict[str, int] | None = None
        # Contact field per logical field: the Lead mapping's name (custom fields share it), else Contact's own.
        self._contact_fields = {logical: crm for logical in {*config.contact_fields, *CONTACT_DEFAULTS}
                                if (crm := self.fields.get(logical, CONTACT_DEFAULTS.get(logical, "")))}
        self._matcher = Matcher(self.client, self.directory, self.fields,
                                {k: v for k, v in self._contact_fields.items() if k != "owner"}, config.placeholders)

    def batch_size_for(self, backlog: int, default: int) -> int:
        """Leads per process batch for this backlog: big enough for Bulk API 2.0 once the backlog is."""
        if backlog >= self.config.bulk_threshold and self.writer.key_field:
            return max(default, min(self.config.bulk_batch_size, backlog))
        return default

    def mapped_fields(self) -> Collection[str]:
        return set(self.fields)

    # schema and directory -------------------------------------------------------------------------------
    def _schema(self) -> ObjectSchema:
        if self._lead_schema is None:
            self._lead_schema = describe(self.client, "Lead")
        return self._lead_schema

    def check_schema(self, create_missing: bool = False) -> list[str]:
        """Missing Lead (and configured Contact) fields, a lead key that is not an External ID, bad statuses.

        Salesforce custom fields are created in Setup (metadata), not through the data API,
        so `create_missing` cannot help here; the problems say what to create.
        """
        problems = mapping_problems(self._schema(), self.fields, key_field=self.key_field,
                                    upsert_on_key=self.config.upsert_on_lead_key)
        if self.config.contact_fields:
            contact = describe(self.client, "Contact")
            wanted = {k: v for k, v in self._contact_fields.items() if k in self.config.contact_fields}
            problems += mapping_problems(contact, wanted, key_field=None, upsert_on_key=False)
        if "status" in self.fields:
            problems += status_problems(self._schema(), self.fields["status"], self.statuses)
        return problems

    def resolve_owners(self, owners: Sequence[str], queues: Sequence[str], lists: Sequence[str] = ()) -> None:
        """Owners, queues, campaigns and the mapped fields all checked once per run, before any write."""
        problems = self.check_schema()
        if problems:
            raise ConfigError("the Salesforce org does not match crm.mapping (see `leadsync validate --check-crm`)",
                              problems)
        self.directory.resolve(owners, queues, lists)

    # reads ------------------------------------------------------------------------------------------------
    def lookup(self, leads: Sequence[Lead]) -> dict[str, CrmRecord]:
        found = self._matcher.find(leads)
        memberships = self.campaigns.memberships([r.crm_id for r in found.values()])
        for record in found.values():
            record.lists = sorted(memberships.get(record.crm_id, []))
        return found

    def account_owners(self, domains: Sequence[str]) -> dict[str, str]:
        owners = account_owners_by_domain(self.client, domains)
        self.directory.learn(owners.values())
        return {domain: name for domain, owner_id in owners.items()
                if (name := self.directory.owner_name(owner_id)) and "@" in name}

    def fetch_unrouted(self, after: Any, limit: int, queues: Sequence[str],
                       statuses: Sequence[str]) -> list[UnroutedRecord]:
        return fetch_unrouted_leads(self, after, limit, queues, statuses)

    # writes ------------------------------------------------------------------------------------------------
    def _values(self, change: CrmChange, mapping: dict[str, str]) -> dict[str, Any]:
        lengths = self._text_lengths()
        values: dict[str, Any] = {}
        for logical, value in change.fields.items():
            crm = mapping.get(logical)
            if not crm:
                continue
            if logical == "owner":
                owner_id = self.directory.owner_id(str(value))
                if owner_id is None:
                    continue  # resolve_owners checked every owner the rules name; keep the current owner
                value = owner_id
            elif isinstance(value, str) and (length := lengths.get(crm)):
                value = value[:length]
            values[crm] = value
        if change.kind is ChangeKind.CREATE:
            for logical, placeholder in self.config.placeholders.items():
                crm = mapping.get(logical)
                if crm and not values.get(crm):
                    values[crm] = placeholder
        return values

    def _text_lengths(self) -> dict[str, int]:
        """Maximum length of each mapped text field (Lead's describe), read once: _values runs per lead."""
        if self._lengths is None:
            schema = self._schema()
            names = {*self.fields.values(), *self._contact_fields.values()}
            self._lengths = {name: length for name in names if (length := schema.length(name))}
        return self._lengths

    def apply(self, changes: Sequence[CrmChange]) -> list[RecordOutcome]:
        outcomes: dict[str, RecordOutcome] = {}
        creates: list[Write] = []
        updates: list[Write] = []
        contact_mapping = {k: v for k, v in self._contact_fields.items() if k in self.config.contact_fields}
        for change in changes:
            if change.kind is ChangeKind.CREATE:
                creates.append(Write(change.lead_key, "Lead", self._values(change, self.fields)))
                continue
            is_contact = change.object_type == "contact"
            values = self._values(change, contact_mapping if is_contact else self.fields) \
                if change.kind is ChangeKind.UPDATE else {}
            if values:
                updates.append(Write(change.lead_key, "Contact" if is_contact else "Lead", values, change.crm_id))
            else:  # nothing this CRM should store changed (e.g. lead fields on a contact): no call
                outcomes[change.lead_key] = RecordOutcome(lead_key=change.lead_key, status=OutcomeStatus.UNCHANGED,
                                                          crm_id=change.crm_id)
        for ref, result in self.writer.write(creates, updates).items():
            outcomes[ref] = RecordOutcome(lead_key=ref, status=result.status, crm_id=result.record_id,
                                          error_code=result.error_code, error_message=result.error_message,
                                          retriable=result.retriable)
        self._apply_campaigns(changes, outcomes)
        return [outcomes[c.lead_key] for c in changes]

    def _apply_campaigns(self, changes: Sequence[CrmChange], outcomes: dict[str, RecordOutcome]) -> None:
        wanted: list[MembershipChange] = []
        owner_of: dict[str, str] = {}
        for change in changes:
            outcome = outcomes[change.lead_key]
            if outcome.status is OutcomeStatus.REJECTED or not outcome.crm_id:
                continue
            kind = "contact" if outcome.crm_id.startswith("003") else "lead"
            owner_of[outcome.crm_id] = change.lead_key
            wanted += [MembershipChange(outcome.crm_id, kind, name, True) for name in change.lists_add]
            wanted += [MembershipChange(outcome.crm_id, kind, name, False) for name in change.lists_remove]
        for record_id, message in self.campaigns.apply(wanted).items():
            key = owner_of[record_id]
            outcome = outcomes[key]
            # The record itself was written; the membership was not. Rejecting sends it to the dead-letter
            # store with the reason; a replay re-plans and only retries the membership.
            outcomes[key] = outcome.model_copy(update={"status": OutcomeStatus.REJECTED,
                                                       "error_code": "SF:CAMPAIGN_MEMBER",
                                                       "error_message": message})
        if not wanted:
            return
        for change in changes:  # list-only updates: the record did not change but a membership did
            outcome = outcomes[change.lead_key]
            if outcome.status is OutcomeStatus.UNCHANGED and (change.lists_add or change.lists_remove):
                outcomes[change.lead_key] = outcome.model_copy(update={"status": OutcomeStatus.UPDATED})

    def converted_since(self, since: datetime) -> set[str]:
        return salesforce_converted(self.client, self.key_field, since)

    def close(self) -> None:
        """requests sessions hold only pooled sockets; the client is dropped with the sink."""
