"""Field definitions of the standard objects the emulator serves (the subset leadsync touches)."""

from __future__ import annotations

from dataclasses import dataclass, field

TEXT_TYPES = frozenset({"string", "email", "phone", "url", "textarea", "picklist", "id", "reference", "date"})
FIELD_TYPES = frozenset(TEXT_TYPES | {"double", "boolean", "datetime"})


@dataclass
class FieldSpec:
    name: str
    type: str = "string"
    length: int = 255
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    external_id: bool = False
    unique: bool = False
    custom: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None

    def describe(self, picklist: list[str] | None, default: str | None) -> dict[str, object]:
        values = [{"value": v, "label": v, "active": True, "defaultValue": v == default, "validFor": None}
                  for v in picklist or []]
        return {
            "name": self.name, "label": self.name.removesuffix("__c").replace("_", " "), "type": self.type,
            "length": self.length if self.type in TEXT_TYPES else 0, "externalId": self.external_id,
            "unique": self.unique, "idLookup": self.external_id or self.name in ("Id", "Email"),
            "createable": self.createable, "updateable": self.updateable, "nillable": self.nillable,
            "custom": self.custom, "picklistValues": values, "restrictedPicklist": picklist is not None,
            "referenceTo": list(self.reference_to), "relationshipName": self.relationship_name,
            "precision": 18 if self.type == "double" else 0, "scale": 0,
        }


@dataclass
class SObjectSpec:
    name: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)  # lower-case name -> spec
    required: tuple[str, ...] = ()
    writable: bool = True

    def add(self, spec: FieldSpec) -> None:
        self.fields[spec.name.lower()] = spec

    def get(self, name: str) -> FieldSpec | None:
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldSpec | None:
        lowered = name.lower()
        return next((f for f in self.fields.values() if (f.relationship_name or "").lower() == lowered), None)


def _read_only(name: str, type_: str = "string", **kw: object) -> FieldSpec:
    return FieldSpec(name, type_, createable=False, updateable=False, **kw)  # type: ignore[arg-type]


def _ref(name: str, targets: tuple[str, ...], rel: str | None, **kw: object) -> FieldSpec:
    return FieldSpec(name, "reference", 18, reference_to=targets, relationship_name=rel, **kw)  # type: ignore[arg-type]


def _common() -> list[FieldSpec]:
    return [_read_only("Id", "id", length=18, nillable=False), _read_only("IsDeleted", "boolean"),
            _read_only("CreatedDate", "datetime"), _read_only("LastModifiedDate", "datetime"),
            _read_only("SystemModstamp", "datetime")]


def _spec(name: str, fields: list[FieldSpec], required: tuple[str, ...] = (), writable: bool = True) -> SObjectSpec:
    spec = SObjectSpec(name, required=required, writable=writable)
    for f in _common() + fields:
        spec.add(f)
    return spec


def _s(name: str, length: int = 255, type_: str = "string") -> FieldSpec:
    return FieldSpec(name, type_, length)


OWNER = ("User", "Group")


def standard_objects() -> dict[str, SObjectSpec]:
    lead = _spec("Lead", [
        _s("FirstName", 40), _s("LastName", 80), _read_only("Name", length=121), _s("Email", 80, "email"),
        _s("Phone", 40, "phone"), _s("MobilePhone", 40, "phone"),
        _s("Company", 255), _s("Title", 128), _s("Website", 255, "url"),
        _s("Industry", 255, "picklist"), FieldSpec("NumberOfEmployees", "double"), _s("Street", 255, "textarea"),
        _s("City", 40), _s("State", 80), _s("PostalCode", 20), _s("Country", 80), _s("LeadSource", 255, "picklist"),
        _s("Description", 32000, "textarea"), _s("Status", 255, "picklist"), _s("Rating", 255, "picklist"),
        _ref("OwnerId", OWNER, "Owner"), FieldSpec("IsConverted", "boolean", updateable=False),
        _ref("ConvertedContactId", ("Contact",), "ConvertedContact", createable=False, updateable=False),
        _ref("ConvertedAccountId", ("Account",), "ConvertedAccount", createable=False, updateable=False),
        _read_only("LastActivityDate", "date", length=10),
    ], required=("LastName", "Company"))
    contact = _spec("Contact", [
        _s("FirstName", 40), _s("LastName", 80), _read_only("Name", length=121), _s("Email", 80, "email"),
        _s("Phone", 40, "phone"), _s("MobilePhone", 40, "phone"), _s("Title", 128),
        _ref("AccountId", ("Account",), "Account"),
        _ref("OwnerId", ("User",), "Owner"), _read_only("LastActivityDate", "date", length=10),
    ], required=("LastName",))
    account = _spec("Account", [_s("Name"), _s("Website", 255, "url"), _ref("OwnerId", ("User",), "Owner")],
                    required=("Name",))
    user = _spec("User", [_s("Email", 128, "email"), _s("Username", 80), _s("FirstName", 40), _s("LastName", 80),
                          _s("Name", 121), FieldSpec("IsActive", "boolean")], writable=False)
    group = _spec("Group", [_s("Name", 40), _s("DeveloperName", 80), _s("Type", 40, "picklist"),
                            _s("Email", 255, "email")], writable=False)
    campaign = _spec("Campaign", [_s("Name", 80), FieldSpec("IsActive", "boolean")], required=("Name",))
    member = _spec("CampaignMember", [
        _ref("CampaignId", ("Campaign",), "Campaign", updateable=False),
        _ref("LeadId", ("Lead",), "Lead", updateable=False),
        _ref("ContactId", ("Contact",), "Contact", updateable=False),
        _s("Status", 40, "picklist"), _read_only("HasResponded", "boolean"),
    ], required=("CampaignId",))
    # Task: WhoId is a Lead or Contact; Salesforce sets the Who's LastActivityDate from its closed tasks.
    task = _spec("Task", [
        _ref("WhoId", ("Lead", "Contact"), "Who"), _ref("WhatId", ("Account",), "What"),
        _ref("OwnerId", ("User",), "Owner"), _s("Subject", 255), FieldSpec("ActivityDate", "date", 10),
        _s("Status", 40, "picklist"), _s("Priority", 40, "picklist"), _s("Description", 32000, "textarea"),
        _read_only("IsClosed", "boolean"),
    ])
    return {spec.name: spec for spec in (lead, contact, account, user, group, campaign, member, task)}


# The "Name" pseudo-object behind polymorphic lookups such as Lead.Owner (a User or a Queue).
NAME_FIELDS = {"id": "Id", "name": "Name", "email": "Email", "type": "Type", "isactive": "IsActive",
               "firstname": "FirstName", "lastname": "LastName", "username": "Username"}
