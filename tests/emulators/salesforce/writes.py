"""Record writes with Salesforce's validation: one function every write endpoint (REST, Collections, Bulk) shares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.salesforce.ids import normalise_id, sobject_of
from tests.emulators.salesforce.schema import TEXT_TYPES, FieldSpec, SObjectSpec
from tests.emulators.salesforce.state import Org

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class RecordError(Exception):
    """A per-record failure (a SaveResult error)."""

    code: str
    message: str
    fields: list[str] = field(default_factory=list)
    record_id: str | None = None  # set when the failing record already exists (updates)

    def rest(self) -> dict[str, Any]:  # single-record REST bodies say errorCode
        return {"message": self.message, "errorCode": self.code, "fields": self.fields}

    def collection(self) -> dict[str, Any]:  # Collections and SaveResults say statusCode
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


@dataclass
class RequestError(Exception):
    """A failure of the whole request (bad JSON, unknown field or object): 4xx with a list body."""

    status: int
    code: str
    message: str

    def body(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.code}]


class Lookup:
    """Value -> ids look-ups over fields (external ids, unique fields), served by the org's persistent indexes."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def ids(self, sobject: str, field: str, value: Any) -> list[str]:
        return self.org.records[sobject].ids(field, value)

    def moved(self, sobject: str, record_id: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Nothing to do: the org's tables re-file a row when it is stored."""


@dataclass
class WriteOptions:
    auto_assign_owner: str | None = None          # the active lead assignment rule's owner, when it runs
    reject_emails: dict[str, tuple[str, str]] = field(default_factory=dict)
    lenient_types: bool = False                   # Bulk CSV: type errors are per record, values are strings
    lookup: Lookup | None = None                  # set by the endpoint: one per request


def canonical_fields(org: Org, spec: SObjectSpec, values: dict[str, Any], options: WriteOptions) -> dict[str, Any]:
    """Map incoming names to the schema's spelling and coerce types; unknown names fail the request."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "attributes":
            continue
        fspec = spec.get(name)
        if fspec is None:
            raise RequestError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {spec.name}")
        out[fspec.name] = _coerce(fspec, value, options)
    return out


def _coerce(fspec: FieldSpec, value: Any, options: WriteOptions) -> Any:
    if value is None:
        return None
    converted = _converted(fspec.type, value)
    if converted is not None:
        return converted
    if options.lenient_types:  # Bulk: the record fails, the job goes on
        raise RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                          f"{fspec.name}: value not of required type: {value}", [fspec.name])
    raise RequestError(400, "JSON_PARSER_ERROR",  # JSON: the whole request fails to deserialize
                       f"Cannot deserialize instance of {fspec.type} from {type(value).__name__} value {value}")


def _converted(kind: str, value: Any) -> Any:
    """The value as the field type stores it, or None when it cannot be one."""
    if isinstance(value, dict | list):
        return None
    if kind == "double":
        if isinstance(value, bool):
            return None
        try:
            return float(value)
        except ValueError:
            return None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        return text == "true" if text in ("true", "false") else None
    if kind == "date":
        return str(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)) else None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def save(org: Org, sobject: str, record_id: str | None, values: dict[str, Any], options: WriteOptions) -> str:
    """Create (record_id None) or update one record; raises RecordError, returns the id. Caller holds org.lock."""
    spec = org.schema[sobject]
    if not spec.writable:
        raise RecordError("INSUFFICIENT_ACCESS_OR_READONLY", f"insufficient access rights on {sobject}")
    creating = record_id is None
    current: dict[str, Any] = {}
    if not creating:
        assert record_id is not None
        current = _existing(org, sobject, record_id)
        if sobject == "Lead" and current.get("IsConverted"):
            raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])
    if "Id" in values and (creating or normalise_id(values["Id"]) != record_id):
        raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call" if creating
                          else "Id in the record does not match the id of the request", ["Id"])
    values = {k: v for k, v in values.items() if k != "Id"}
    blocked = [n for n in values if not (spec.fields[n.lower()].createable if creating
                                         else spec.fields[n.lower()].updateable)]
    if blocked:
        raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {', '.join(blocked)}. "
                          "Please check the security settings of this field and verify that it is read/write for "
                          "your profile or permission set.", blocked)
    merged: dict[str, Any] = dict(current) if not creating else {f.name: None for f in spec.fields.values()}
    if creating:
        _apply_defaults(org, sobject, merged, values)
    merged.update(values)
    email = merged.get("Email")
    if isinstance(email, str) and email.lower() in options.reject_emails:
        code, message = options.reject_emails[email.lower()]
        raise RecordError(code, message, [])
    if sobject == "Lead" and options.auto_assign_owner:
        merged["OwnerId"] = options.auto_assign_owner
    lookup = options.lookup or Lookup(org)
    _validate(org, spec, merged, values, creating, record_id, lookup)
    stamp = org.stamp()
    if creating:
        record_id = org.new_id(sobject)
        merged.update(Id=record_id, IsDeleted=False, CreatedDate=stamp)
    assert record_id is not None
    merged.update(LastModifiedDate=stamp, SystemModstamp=stamp)
    org.refresh_derived(sobject, merged)
    org.records[sobject][record_id] = merged
    lookup.moved(sobject, record_id, current, merged)
    if sobject == "Task":
        org.refresh_last_activity(merged.get("WhoId"))
    return record_id


def _existing(org: Org, sobject: str, record_id: str) -> dict[str, Any]:
    normalised = normalise_id(record_id)
    if normalised is None:
        raise RecordError("MALFORMED_ID", f"malformed id {record_id}", ["Id"])
    if normalised in org.deleted[sobject]:
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
    if normalised not in org.records[sobject]:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    return org.records[sobject][normalised]


def _apply_defaults(org: Org, sobject: str, merged: dict[str, Any], values: dict[str, Any]) -> None:
    if "OwnerId" in merged and values.get("OwnerId") is None:
        merged["OwnerId"] = org.default_owner()
    for (obj, name), default in org.picklist_defaults.items():
        allowed = org.picklists.get((obj, name)) or [default]
        if obj == sobject and name not in values:  # a replaced value list without the old default: its first value
            merged[name] = default if default in allowed else allowed[0]
    if sobject == "Lead":
        merged["IsConverted"] = False
    if sobject == "CampaignMember" and values.get("Status") is None:
        campaign = normalise_id(values.get("CampaignId"))
        if campaign in org.campaign_statuses:
            merged["Status"] = org.campaign_statuses[campaign][1]


def _validate(org: Org, spec: SObjectSpec, merged: dict[str, Any], values: dict[str, Any], creating: bool,
              record_id: str | None, lookup: Lookup) -> None:
    missing = [n for n in spec.required if merged.get(n) in (None, "")]
    if missing:
        raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
    # A create checks every field it stores; a blank one can only fail as a Lead's null Status.
    for name in (values if not creating else [n for n, v in merged.items() if v is not None or n == "Status"]):
        fspec = spec.fields[name.lower()]
        value = merged.get(fspec.name)
        if value is None:
            if (spec.name, fspec.name) in org.picklists and fspec.name == "Status" and spec.name == "Lead":
                raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                  f"{_label(spec, fspec)}: bad value for restricted picklist field: null", [fspec.name])
            continue
        if fspec.type in TEXT_TYPES and fspec.type not in ("id", "reference") and len(str(value)) > fspec.length:
            raise RecordError("STRING_TOO_LONG", f"{_label(spec, fspec)}: data value too large: {value} "
                              f"(max length={fspec.length})", [fspec.name])
        if fspec.type == "email" and not EMAIL_RE.match(str(value)):
            raise RecordError("INVALID_EMAIL_ADDRESS", f"{_label(spec, fspec)}: invalid email address: {value}",
                              [fspec.name])
        allowed = org.picklists.get((spec.name, fspec.name))
        if allowed is not None and value not in allowed:
            raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              f"{_label(spec, fspec)}: bad value for restricted picklist field: {value}", [fspec.name])
        if fspec.type == "reference":
            merged[fspec.name] = _check_reference(org, spec, fspec, str(value))
        if fspec.unique:
            _check_unique(spec, fspec, value, record_id, lookup)
    if spec.name == "CampaignMember":
        _check_campaign_member(org, merged, record_id)


def _label(spec: SObjectSpec, fspec: FieldSpec) -> str:
    if fspec.custom:
        return fspec.name.removesuffix("__c").replace("_", " ")
    return f"{spec.name} {fspec.name}" if fspec.name == "Status" else fspec.name


def _check_reference(org: Org, spec: SObjectSpec, fspec: FieldSpec, value: str) -> str:
    target_id = normalise_id(value)
    target = sobject_of(target_id) if target_id else None
    if target_id is None or target is None:
        raise RecordError("MALFORMED_ID", f"{fspec.name}: id value of incorrect type: {value}", [fspec.name])
    if target not in fspec.reference_to or target_id not in org.records[target]:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [fspec.name])
    row = org.records[target][target_id]
    if fspec.name == "OwnerId" and target == "User" and not row.get("IsActive"):
        raise RecordError("INACTIVE_OWNER_OR_USER", f"operation performed with inactive user [{target_id}] "
                          f"as owner of {spec.name.lower()}", [])
    if fspec.name == "OwnerId" and target == "Group" and (
            row.get("Type") != "Queue" or spec.name not in org.queue_sobjects.get(target_id, set())):
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id: queue does not support "
                          f"{spec.name}", [fspec.name])
    return target_id


def _check_unique(spec: SObjectSpec, fspec: FieldSpec, value: Any, record_id: str | None, lookup: Lookup) -> None:
    for other_id in lookup.ids(spec.name, fspec.name, value):
        if other_id != record_id:
            raise RecordError("DUPLICATE_VALUE", f"duplicate value found: {fspec.name} duplicates value on record "
                              f"with id: {other_id}", [fspec.name])


def _check_campaign_member(org: Org, merged: dict[str, Any], record_id: str | None) -> None:
    lead, contact = merged.get("LeadId"), merged.get("ContactId")
    if not lead and not contact:
        raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [LeadId or ContactId]",
                          ["LeadId", "ContactId"])
    campaign = merged["CampaignId"]
    statuses, _default = org.campaign_statuses.get(campaign, ([], ""))
    if merged.get("Status") not in statuses:
        raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          f"Status: bad value for restricted picklist field: {merged.get('Status')}", ["Status"])
    members = org.records["CampaignMember"]
    same_person = (members.ids("LeadId", lead) if lead else []) + (members.ids("ContactId", contact) if contact else [])
    for other_id, row in ((i, members[i]) for i in same_person):
        if other_id != record_id and row["CampaignId"] == campaign and (
                (lead and row.get("LeadId") == lead) or (contact and row.get("ContactId") == contact)):
            raise RecordError("DUPLICATE_VALUE", "Already a campaign member.", [])


def delete(org: Org, record_id: str) -> str:
    normalised = normalise_id(record_id)
    sobject = sobject_of(normalised) if normalised else None
    if normalised is None or sobject is None:
        raise RecordError("MALFORMED_ID", f"malformed id {record_id}", [])
    if normalised in org.deleted[sobject] or normalised not in org.records[sobject]:
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
    if not org.schema[sobject].writable:
        raise RecordError("INSUFFICIENT_ACCESS_OR_READONLY", f"insufficient access rights on {sobject}")
    row = org.records[sobject].pop(normalised)
    row.update(IsDeleted=True, SystemModstamp=org.stamp())
    org.deleted[sobject][normalised] = row
    if sobject in ("Lead", "Contact"):  # deleting a person removes their campaign memberships
        key = f"{sobject}Id"
        for member_id in org.records["CampaignMember"].ids(key, normalised):
            org.deleted["CampaignMember"][member_id] = org.records["CampaignMember"].pop(member_id)
    return normalised
