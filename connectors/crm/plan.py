"""Plan CRM writes: diff what the rules decided against what the CRM holds, field by field.

Pure and shared by every sink, so "only changed fields are written" and "a no-change
re-sync writes nothing" hold the same way for Salesforce, HubSpot and the local CRM.
The CRM stays the system of record: person fields only fill blanks on existing records,
and a status a rep has set (one leadsync does not manage) is never overwritten.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.crm.base import PERSON_FIELDS
from connectors.records import ChangeKind, CrmChange, CrmRecord, Decision, Lead

_NARRATIVE = frozenset({"explanation", "ruleset_version"})


@dataclass(frozen=True)
class PlanItem:
    lead: Lead
    decision: Decision
    existing: CrmRecord | None
    worked: bool = False
    """A rep touched the lead: the status in the CRM is theirs, even when it is one of leadsync's values."""


def desired_fields(lead: Lead, decision: Decision) -> dict[str, Any]:
    """Every logical field leadsync wants on the record for this lead and decision."""
    values: dict[str, Any] = {
        "email": lead.email,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        # The extension travels with the number, as reps and dialers read it ("+14155550134 ext. 22").
        "phone": f"{lead.phone} ext. {lead.phone_extension}" if lead.phone and lead.phone_extension else lead.phone,
        "mobile_phone": lead.mobile_phone,
        "company": lead.company,
        "title": lead.title,
        "website": lead.website,
        "industry": lead.industry,
        "employees": lead.employees,
        "street": lead.street,
        "city": lead.city,
        "state": lead.state,
        "postal_code": lead.postal_code,
        "country": lead.country,
        "lead_source": lead.attribution.source or lead.source.split(":", 1)[0],
        "description": lead.inquiry,
        "owner": decision.owner or decision.queue,
        "status": decision.status,
        "score": round(decision.score),
        "grade": decision.grade,
        "mql": decision.mql,
        "explanation": decision.explanation,
        "lead_key": lead.lead_key,
        "ruleset_version": decision.ruleset_version,
    }
    return {name: value for name, value in values.items() if value is not None and value != ""}


def same_value(current: Any, wanted: Any) -> bool:
    """Compare CRM values loosely: HubSpot returns every property as a string."""
    if current in (None, "") and wanted in (None, ""):
        return True
    if isinstance(wanted, bool) or isinstance(current, bool):
        return _as_bool(current) == _as_bool(wanted)
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        try:
            return float(current) == float(wanted)
        except (TypeError, ValueError):
            return False
    return str(current) == str(wanted)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    return str(value).strip().lower() in {"true", "1", "yes"}


def plan_change(item: PlanItem, managed_statuses: Collection[str], mapped: Collection[str]) -> CrmChange:
    """The change for one lead; `mapped` holds the logical fields this CRM can store."""
    wanted = {k: v for k, v in desired_fields(item.lead, item.decision).items() if k in mapped}
    existing = item.existing
    if existing is None:
        return CrmChange(lead_key=item.lead.lead_key, kind=ChangeKind.CREATE, email=item.lead.email,
                         fields=wanted, lists_add=sorted(set(item.decision.lists_add)))
    changed: dict[str, Any] = {}
    for name, value in wanted.items():
        current = existing.fields.get(name)
        if name in PERSON_FIELDS and current not in (None, ""):
            continue  # the CRM is the system of record: only fill blanks
        if name == "status" and current not in (None, "") and (item.worked or current not in managed_statuses):
            continue  # a rep moved the lead on; do not drag it back
        if not same_value(current, value):
            changed[name] = value
    if set(changed) <= _NARRATIVE:
        # Same outcome, told differently (e.g. "kept existing owner" on a re-sync): nothing to write.
        changed = {}
    have = set(existing.lists)
    lists_add = sorted(set(item.decision.lists_add) - have)
    lists_remove = sorted(set(item.decision.lists_remove) & have)
    kind = ChangeKind.UPDATE if changed or lists_add or lists_remove else ChangeKind.UNCHANGED
    return CrmChange(lead_key=item.lead.lead_key, kind=kind, crm_id=existing.crm_id,
                     object_type=existing.object_type, email=item.lead.email, fields=changed,
                     lists_add=lists_add, lists_remove=lists_remove)


def plan_changes(items: Sequence[PlanItem], managed_statuses: Collection[str],
                 mapped: Collection[str]) -> list[CrmChange]:
    return [plan_change(item, managed_statuses, mapped) for item in items]
