"""HubSpot as the system of record: batched lookups and upserts, owners, lead status, lifecycle, lists."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from hubspot.crm.companies import PublicObjectSearchRequest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)

from connectors.crm.conversions import hubspot_converted
from connectors.crm.hubspot.client import HubSpotBadRequest, HubSpotClient
from connectors.crm.hubspot.config import HubSpotConfig, HubSpotCredentials
from connectors.crm.hubspot.lists import HubSpotLists
from connectors.crm.hubspot.properties import check_properties, logical_values
from connectors.crm.hubspot.results import batch_outcomes
from connectors.crm.hubspot.unrouted import UnroutedContacts
from connectors.errors import ConfigError
from connectors.records import ChangeKind, CrmChange, CrmRecord, Lead, OutcomeStatus, RecordOutcome
from connectors.redaction import redact
from connectors.retry import DEFAULT_POLICY, RetryPolicy
from connectors.sources.crm_unrouted import UnroutedRecord

BATCH = 100
LIFECYCLE_ORDER = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
                   "evangelist"]


class HubSpotSink:
    name = "hubspot"

    def __init__(self, config: HubSpotConfig, credentials: HubSpotCredentials, *, host: str | None = None,
                 policy: RetryPolicy = DEFAULT_POLICY, window_seconds: float = 10.0) -> None:
        self.config = config
        self.client = HubSpotClient(credentials.access_token.get_secret_value(), host,
                                    requests_per_10s=config.requests_per_10s, margin=config.pace_margin,
                                    policy=policy, sleep=policy.sleep, window_seconds=window_seconds,
                                    timeout_seconds=config.request_timeout_seconds,
                                    searches_per_second=config.searches_per_second)
        self.lists = HubSpotLists(self.client)
        self.fields = config.mapping.resolved("hubspot")
        self._owner_ids: dict[str, str] = {}
        self._owner_emails: dict[str, str] = {}
        self._owners_loaded = False
        self._list_names: list[str] = []
        self._stage: dict[str, str] = {}
        self._key_unique: bool | None = None
        self.unrouted = UnroutedContacts(self.client, self.fields, self._owner_emails, self._owner_ids,
                                         config.queue_owners, config.unrouted_settle_seconds)

    def mapped_fields(self) -> Collection[str]:
        return set(self.fields)

    def check_schema(self, create_missing: bool = False) -> list[str]:
        return check_properties(self.client, sorted(set(self.fields.values())), create_missing,
                                unique=self.fields.get("lead_key"))

    # owners --------------------------------------------------------------------------------------------
    def _load_owners(self) -> None:
        """Owners are read once per sink (one run), not once per batch."""
        if self._owners_loaded:
            return
        after: str | None = None
        while True:
            page = self.client.call(lambda: self.client.owners.get_page(limit=100, after=after))  # noqa: B023
            for owner in page.results:
                if owner.email:
                    self._owner_ids[owner.email.lower()] = str(owner.id)
                    self._owner_emails[str(owner.id)] = owner.email.lower()
            after = page.paging.next.after if page.paging and page.paging.next else None
            if after is None:
                self._owners_loaded = True
                return

    def resolve_owners(self, owners: Sequence[str], queues: Sequence[str], lists: Sequence[str] = ()) -> None:
        self._load_owners()
        problems = [f"owner {o!r} is not an active HubSpot user" for o in owners if o.lower() not in self._owner_ids]
        problems += [f"queue {q!r} is held by {owner!r}, who is not an active HubSpot user"
                     for q, owner in self.config.queue_owners.items() if owner.lower() not in self._owner_ids]
        if problems:
            raise ConfigError("routing names owners HubSpot does not have", problems)
        self._list_names = list(lists)

    def _owner_id(self, value: Any) -> str:
        name = str(value)
        email = self.config.queue_owners.get(name, name).lower()
        return self._owner_ids.get(email, "")  # a queue with no holder: the contact stays unassigned

    # lookups -------------------------------------------------------------------------------------------
    def lookup(self, leads: Sequence[Lead]) -> dict[str, CrmRecord]:
        self._load_owners()
        key_field = self.fields.get("lead_key", "leadsync_key")
        wanted = sorted({*self.fields.values(), "lifecyclestage", "email", key_field})
        members = {name: self.lists.members(name) for name in self._list_names}
        found: dict[str, CrmRecord] = {}
        # A lead read from HubSpot itself (crm_unrouted) by its record id; then by e-mail (HubSpot's own
        # identity); then by our key for leads without an e-mail (a unique property).
        self._read_by(None, {lead.crm_id: lead.lead_key for lead in leads if lead.crm_id}, wanted, members, found)
        self._read_by("email", {lead.email.lower(): lead.lead_key for lead in leads
                                if lead.email and lead.lead_key not in found}, wanted, members, found)
        self._read_by(key_field, {lead.lead_key: lead.lead_key for lead in leads
                                  if not lead.email and lead.lead_key not in found}, wanted, members, found)
        return found

    def _read_by(self, id_property: str | None, keyed: dict[str, str], wanted: list[str],
                 members: dict[str, set[str]], found: dict[str, CrmRecord]) -> None:
        ids = list(keyed)
        for start in range(0, len(ids), BATCH):
            request = BatchReadInputSimplePublicObjectId(id_property=id_property, properties=wanted, inputs=[
                SimplePublicObjectId(id=i) for i in ids[start:start + BATCH]])
            page = self._read(request)
            for result in page.results:  # a 207 lists the ids not found: they are simply new
                props = result.properties or {}
                value = str(result.id) if id_property is None else str(props.get(id_property) or "")
                lead_key = keyed.get(value.lower() if id_property == "email" else value)
                if lead_key is None:
                    continue
                self._stage[str(result.id)] = str(props.get("lifecyclestage") or "")
                found[lead_key] = self._record(str(result.id), props, members)

    def _read(self, request: BatchReadInputSimplePublicObjectId) -> Any:
        return self.client.call(lambda: self.client.contacts.read(request, archived=False))

    def _record(self, crm_id: str, props: dict[str, Any], members: dict[str, set[str]]) -> CrmRecord:
        fields = logical_values(props, self.fields, self._owner_emails)
        return CrmRecord(crm_id=crm_id, object_type="contact", email=props.get("email"),
                         lead_key=fields.get("lead_key"), owner=fields.get("owner"), fields=fields,
                         lists=sorted(name for name, ids in members.items() if crm_id in ids))

    def account_owners(self, domains: Sequence[str]) -> dict[str, str]:
        owners: dict[str, str] = {}
        wanted = sorted({d.lower() for d in domains if d})
        for start in range(0, len(wanted), BATCH):
            request = PublicObjectSearchRequest(filter_groups=[{"filters": [
                {"propertyName": "domain", "operator": "IN", "values": wanted[start:start + BATCH]}]}],
                properties=["domain", "hubspot_owner_id"], limit=100)
            page = self.client.call(lambda: self.client.companies.do_search(request), search=True)  # noqa: B023
            for company in page.results:
                props = company.properties or {}
                owner = self._owner_emails.get(str(props.get("hubspot_owner_id") or ""))
                if owner and props.get("domain"):
                    owners[str(props["domain"]).lower()] = owner
        return owners

    # writes ----------------------------------------------------------------------------------------------
    def _properties(self, change: CrmChange) -> dict[str, str]:
        props: dict[str, str] = {}
        for logical, value in change.fields.items():
            crm = self.fields.get(logical)
            if crm is None:
                continue
            if logical == "owner":
                props[crm] = self._owner_id(value)
            elif isinstance(value, bool):
                props[crm] = "true" if value else "false"
            else:
                props[crm] = str(value)[:65536] if value is not None else ""
        stage = self._lifecycle(change)
        if stage:
            props["lifecyclestage"] = stage
        return props

    def _lifecycle(self, change: CrmChange) -> str | None:
        mql = change.fields.get("mql")
        target = "marketingqualifiedlead" if mql else ("lead" if change.kind is ChangeKind.CREATE else None)
        if target is None:
            return None
        current = self._stage.get(change.crm_id or "", "")
        if current in LIFECYCLE_ORDER and LIFECYCLE_ORDER.index(current) >= LIFECYCLE_ORDER.index(target) \
                and not self.config.allow_lifecycle_backwards:
            return None  # never move a contact back down the funnel
        return target if current != target else None

    def apply(self, changes: Sequence[CrmChange]) -> list[RecordOutcome]:
        outcomes: dict[int, RecordOutcome] = {}
        by_email: list[tuple[int, CrmChange]] = []
        creates: list[tuple[int, CrmChange]] = []
        updates: list[tuple[int, CrmChange]] = []
        for index, change in enumerate(changes):
            if change.kind is ChangeKind.UNCHANGED:
                outcomes[index] = RecordOutcome(lead_key=change.lead_key, status=OutcomeStatus.UNCHANGED,
                                                crm_id=change.crm_id)
            elif change.kind is ChangeKind.UPDATE and change.crm_id:
                updates.append((index, change))  # the record we found, by its id: never a twin
            elif change.email:
                by_email.append((index, change))
            else:
                creates.append((index, change))
        self._upsert(by_email, outcomes)
        self._create(creates, outcomes)
        self._update(updates, outcomes)
        self._apply_lists(changes, outcomes)
        return [outcomes[i] for i in range(len(changes))]

    def _writes(self, items: list[tuple[int, CrmChange]],
                outcomes: dict[int, RecordOutcome]) -> list[tuple[int, CrmChange, dict[str, str]]]:
        """Each change with its properties; one with none to write (lists only) is done already."""
        writes = []
        for i, c in items:
            props = self._properties(c)
            if props:
                writes.append((i, c, props))
            else:
                outcomes[i] = RecordOutcome(lead_key=c.lead_key, status=OutcomeStatus.UPDATED, crm_id=c.crm_id)
        return writes

    def _upsert(self, items: list[tuple[int, CrmChange]], outcomes: dict[int, RecordOutcome]) -> None:
        writes = self._writes(items, outcomes)
        for start in range(0, len(writes), BATCH):
            todo = writes[start:start + BATCH]
            request = BatchInputSimplePublicObjectBatchInputUpsert(inputs=[SimplePublicObjectBatchInputUpsert(
                id_property="email", id=c.email, properties=p) for _, c, p in todo])
            self._run_batch(lambda: self.client.contacts.upsert_with_http_info(request), todo, outcomes,  # noqa: B023
                            key=lambda c: str(c.email).lower(), result_key=lambda r: str(
                                (r.properties or {}).get("email") or "").lower())

    def _key_is_unique(self, key_field: str) -> bool:
        """Whether HubSpot enforces unique values on the lead key property (asked once per run)."""
        if self._key_unique is None:
            try:
                prop = self.client.call(lambda: self.client.properties.get_by_name("contacts", key_field))
                self._key_unique = bool(getattr(prop, "has_unique_value", False))
            except HubSpotBadRequest:
                self._key_unique = False
        return self._key_unique

    def _create(self, items: list[tuple[int, CrmChange]], outcomes: dict[int, RecordOutcome]) -> None:
        """Leads without an e-mail. Upserted on the lead key when the property is unique, so a retry after
        a lost reply finds the contact the first attempt made; otherwise created (check_schema warns)."""
        key_field = self.fields.get("lead_key", "leadsync_key")
        upsert = bool(items) and self._key_is_unique(key_field)
        for start in range(0, len(items), BATCH):
            todo = [(i, c, self._properties(c)) for i, c in items[start:start + BATCH]]
            call: Any
            if upsert:
                upserts = BatchInputSimplePublicObjectBatchInputUpsert(inputs=[SimplePublicObjectBatchInputUpsert(
                    id_property=key_field, id=c.lead_key, properties=p) for _, c, p in todo])
                call = lambda: self.client.contacts.upsert_with_http_info(upserts)  # noqa: B023, E731
            else:
                creates = BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
                    SimplePublicObjectBatchInputForCreate(properties=p) for _, _, p in todo])
                call = lambda: self.client.contacts.create_with_http_info(creates)  # noqa: B023, E731
            self._run_batch(call, todo, outcomes, key=lambda c: c.lead_key,
                            result_key=lambda r: str((r.properties or {}).get(key_field)))

    def _update(self, items: list[tuple[int, CrmChange]], outcomes: dict[int, RecordOutcome]) -> None:
        writes = self._writes(items, outcomes)
        for start in range(0, len(writes), BATCH):
            todo = writes[start:start + BATCH]
            request = BatchInputSimplePublicObjectBatchInput(inputs=[
                SimplePublicObjectBatchInput(id=c.crm_id, properties=p) for _, c, p in todo])
            self._run_batch(lambda: self.client.contacts.update_with_http_info(request), todo, outcomes,  # noqa: B023
                            key=lambda c: str(c.crm_id), result_key=lambda r: str(r.id))

    def _run_batch(self, call: Any, todo: list[tuple[int, CrmChange, dict[str, str]]],
                   outcomes: dict[int, RecordOutcome], key: Any, result_key: Any) -> None:
        try:
            response = self.client.call_with_headers(call)
        except HubSpotBadRequest as exc:
            for i, c, _ in todo:
                outcomes[i] = RecordOutcome(lead_key=c.lead_key, status=OutcomeStatus.REJECTED,
                                            error_code=f"HS:{exc.status}", error_message=redact(exc.message))
            return
        outcomes.update(batch_outcomes(response, todo, key, result_key, self._stage))

    def _apply_lists(self, changes: Sequence[CrmChange], outcomes: dict[int, RecordOutcome]) -> None:
        add: dict[str, list[str]] = {}
        remove: dict[str, list[str]] = {}
        for index, change in enumerate(changes):
            crm_id = outcomes[index].crm_id
            if outcomes[index].status is OutcomeStatus.REJECTED or not crm_id:
                continue
            for name in change.lists_add:
                add.setdefault(name, []).append(crm_id)
            for name in change.lists_remove:
                remove.setdefault(name, []).append(crm_id)
        for name in sorted(set(add) | set(remove)):
            self.lists.change(name, add.get(name, []), remove.get(name, []))

    # leads entered in HubSpot by hand -------------------------------------------------------------------------
    def fetch_unrouted(self, after: tuple[datetime, str] | None, limit: int, queues: Sequence[str],
                       statuses: Sequence[str]) -> list[UnroutedRecord]:
        """Contacts with no owner (or held for a queue, or in a status) not written by leadsync; see unrouted.py."""
        self._load_owners()
        return self.unrouted.fetch(after, limit, queues, statuses)

    def converted_since(self, since: datetime) -> set[str]:
        return hubspot_converted(self.client, self.fields, since)

    def close(self) -> None:
        """API objects hold only pools; nothing to flush."""
