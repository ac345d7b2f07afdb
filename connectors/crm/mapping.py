"""Field mapping from leadsync's logical fields to a CRM's own fields; one model serves every sink.

Ops write it in the config YAML under `crm.mapping`; anything left out keeps the sink's
default. Unknown logical names are config errors, reported with their YAML path.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from connectors.crm.base import LOGICAL_FIELDS

CrmKind = Literal["local", "salesforce", "hubspot"]

DEFAULT_FIELDS: dict[str, dict[str, str]] = {
    "local": {name: name for name in LOGICAL_FIELDS},
    "salesforce": {
        "email": "Email", "first_name": "FirstName", "last_name": "LastName", "phone": "Phone",
        "mobile_phone": "MobilePhone",
        "company": "Company", "title": "Title", "website": "Website", "industry": "Industry",
        "employees": "NumberOfEmployees", "street": "Street", "city": "City", "state": "State",
        "postal_code": "PostalCode", "country": "Country", "lead_source": "LeadSource",
        "description": "Description", "owner": "OwnerId", "status": "Status",
        "score": "Leadsync_Score__c", "grade": "Leadsync_Grade__c", "mql": "Leadsync_MQL__c",
        "explanation": "Leadsync_Explanation__c", "lead_key": "Leadsync_Key__c",
        "ruleset_version": "Leadsync_Ruleset__c",
    },
    "hubspot": {
        "email": "email", "first_name": "firstname", "last_name": "lastname", "phone": "phone",
        "mobile_phone": "mobilephone",
        "company": "company", "title": "jobtitle", "website": "website", "industry": "industry",
        "employees": "numemployees", "street": "address", "city": "city", "state": "state",
        "postal_code": "zip", "country": "country", "lead_source": "leadsync_source",
        "description": "message", "owner": "hubspot_owner_id", "status": "hs_lead_status",
        "score": "leadsync_score", "grade": "leadsync_grade", "mql": "leadsync_mql",
        "explanation": "leadsync_explanation", "lead_key": "leadsync_key",
        "ruleset_version": "leadsync_ruleset",
    },
}


class FieldMapping(BaseModel):
    """Which CRM field receives each logical lead field. Map a field to "" to never write it."""

    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Logical field (email, first_name, owner, score, explanation, ...) -> CRM field name.",
    )
    managed_statuses: list[str] = Field(
        default_factory=list,
        description="CRM status values leadsync may overwrite on existing records; other statuses "
        "(set by reps) are left alone. Empty: the status values named in the rules.",
    )

    @field_validator("fields")
    @classmethod
    def _known_logical_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(LOGICAL_FIELDS))
        if unknown:
            raise ValueError(f"unknown lead field(s) {unknown}; known: {', '.join(LOGICAL_FIELDS)}")
        return value

    def resolved(self, kind: CrmKind) -> dict[str, str]:
        """Logical -> CRM field for `kind`, defaults overlaid with the configured ones, unmapped removed."""
        merged = {**DEFAULT_FIELDS[kind], **self.fields}
        return {logical: crm for logical, crm in merged.items() if crm}
