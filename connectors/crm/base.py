"""The CRM sink interface every system of record implements.

Field names in CrmRecord.fields and CrmChange.fields are leadsync's logical names
(see `LOGICAL_FIELDS`); each sink maps them to its own fields through the YAML mapping.
Owners travel as e-mail addresses (or queue names); each sink resolves them to its ids.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from connectors.records import CrmChange, CrmRecord, Lead, RecordOutcome

PERSON_FIELDS: tuple[str, ...] = (
    "email", "first_name", "last_name", "phone", "mobile_phone", "company", "title", "website", "industry",
    "employees", "street", "city", "state", "postal_code", "country", "lead_source", "description",
)
DECISION_FIELDS: tuple[str, ...] = (
    "owner", "status", "score", "grade", "mql", "explanation", "lead_key", "ruleset_version",
)
LOGICAL_FIELDS: tuple[str, ...] = PERSON_FIELDS + DECISION_FIELDS


class CrmSink(Protocol):
    """A CRM that stays the system of record. All calls are batched; none is per lead."""

    name: str

    def mapped_fields(self) -> Collection[str]:
        """The logical fields this CRM stores (after the YAML mapping); the planner writes only these."""
        ...

    def check_schema(self, create_missing: bool = False) -> list[str]:
        """Problems with the CRM's schema for the mapping (missing custom fields, picklist values).

        Used by `leadsync validate --check-crm`; with `create_missing`, sinks that can create
        missing custom fields do so and report only what is still missing.
        """
        ...

    def resolve_owners(self, owners: Sequence[str], queues: Sequence[str], lists: Sequence[str] = ()) -> None:
        """Check every owner e-mail and queue name exists and is active, else raise ConfigError.

        Called once per run before any write; sinks cache the resolved ids. `lists` names the
        nurture lists the rules manage, so lookups can report memberships.
        """
        ...

    def lookup(self, leads: Sequence[Lead]) -> dict[str, CrmRecord]:
        """Find existing records for these leads (by lead key, then e-mail), keyed by lead_key."""
        ...

    def account_owners(self, domains: Sequence[str]) -> dict[str, str]:
        """Owner e-mail of the existing account for each e-mail domain that has one."""
        ...

    def apply(self, changes: Sequence[CrmChange]) -> list[RecordOutcome]:
        """Write the changes; one outcome per change. Raises only for whole-batch failures."""
        ...

    def converted_since(self, since: datetime) -> set[str]:
        """Record ids of leadsync's leads the CRM converted (modified since `since`); batched queries."""
        ...

    def close(self) -> None: ...
