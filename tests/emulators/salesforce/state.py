"""The in-memory org: schema, records, picklists, queues and campaigns."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.emulators.salesforce.ids import KEY_PREFIXES, make_id
from tests.emulators.salesforce.schema import FIELD_TYPES, FieldSpec, SObjectSpec, standard_objects

LEAD_STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]
TASK_STATUSES = ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"]
TASK_PRIORITIES = ["High", "Normal", "Low"]
API_USER_EMAIL = "api.user@emulator.invalid"


def sf_datetime(moment: datetime) -> str:
    """Salesforce's datetime rendering: 2026-01-02T03:04:05.000+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def index_key(value: Any) -> str:
    """How an index files a value: text compares case-insensitively in SOQL and in external-id look-ups."""
    return str(value).lower()


class Table(dict[str, dict[str, Any]]):
    """Records of one sObject by id, with value -> ids indexes kept current on every store and removal.

    Rows are replaced, never edited in place, once stored (writes build a new dict), so the hooks
    below see every change; an index is built on its first use. Look-ups cost what they return,
    not the size of the org, so a bench with a million records stays linear.
    """

    def __init__(self) -> None:
        super().__init__()
        self._indexes: dict[str, dict[str, dict[str, None]]] = {}  # field -> key -> ids (ordered set)
        self._position: dict[str, int] = {}
        self._next = itertools.count()

    def ids(self, field: str, value: Any) -> list[str]:
        """Ids whose `field` files under `value`, in insertion order."""
        return list(self._index(field).get(index_key(value), ()))

    def count(self, field: str, value: Any) -> int:
        """How many ids `ids` would give, without listing them."""
        return len(self._index(field).get(index_key(value), ()))

    def rows_in_order(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        return [self[i] for i in sorted(set(ids), key=self._position.__getitem__) if i in self]

    def _index(self, field: str) -> dict[str, dict[str, None]]:
        if field not in self._indexes:
            index: dict[str, dict[str, None]] = {}
            for record_id, row in self.items():
                if row.get(field) is not None:
                    index.setdefault(index_key(row[field]), {})[record_id] = None
            self._indexes[field] = index
        return self._indexes[field]

    def _file(self, record_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        for field, index in self._indexes.items():
            before = old.get(field) if old else None
            after = new.get(field) if new else None
            if before == after and old is not None and new is not None:
                continue
            if before is not None:
                index.get(index_key(before), {}).pop(record_id, None)
            if after is not None:
                index.setdefault(index_key(after), {})[record_id] = None

    def __setitem__(self, record_id: str, row: dict[str, Any]) -> None:
        old = self.get(record_id)
        super().__setitem__(record_id, row)
        self._position.setdefault(record_id, next(self._next))
        self._file(record_id, old, row)

    def __delitem__(self, record_id: str) -> None:
        self.pop(record_id)

    def pop(self, record_id: str, *default: Any) -> Any:  # type: ignore[override]
        if record_id not in self:
            return super().pop(record_id, *default)
        row = super().pop(record_id)
        self._position.pop(record_id, None)
        self._file(record_id, row, None)
        return row

    def clear(self) -> None:
        super().clear()
        self._indexes.clear()
        self._position.clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        for record_id, row in dict(*args, **kwargs).items():
            self[record_id] = row


class Org:
    """Everything a Salesforce org holds that leadsync can see. Guard mutations with `lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        """Back to an empty org with the default schema (in place, so references to the org stay valid)."""
        self.schema: dict[str, SObjectSpec] = standard_objects()
        self.records: dict[str, Table] = {name: Table() for name in self.schema}
        self.deleted: dict[str, Table] = {name: Table() for name in self.schema}
        self.picklists: dict[tuple[str, str], list[str]] = {("Lead", "Status"): list(LEAD_STATUSES),
                                                             ("Task", "Status"): list(TASK_STATUSES),
                                                             ("Task", "Priority"): list(TASK_PRIORITIES)}
        self.picklist_defaults: dict[tuple[str, str], str] = {("Lead", "Status"): LEAD_STATUSES[0],
                                                              ("Task", "Status"): TASK_STATUSES[0],
                                                              ("Task", "Priority"): "Normal"}
        self.queue_sobjects: dict[str, set[str]] = {}
        self.campaign_statuses: dict[str, tuple[list[str], str]] = {}
        self._serial = itertools.count(1)
        self._last_stamp = datetime.now(UTC)

    # ids and clock -------------------------------------------------------------------------------------------
    def new_id(self, sobject: str) -> str:
        return make_id(KEY_PREFIXES[sobject], next(self._serial))

    def stamp(self) -> str:
        """A strictly increasing write time, so ordering by LastModifiedDate is deterministic."""
        now = datetime.now(UTC)
        self._last_stamp = max(now, self._last_stamp + timedelta(milliseconds=1))
        return sf_datetime(self._last_stamp)

    # schema ---------------------------------------------------------------------------------------------------
    def sobject(self, name: str) -> SObjectSpec | None:
        lowered = name.lower()
        return next((spec for key, spec in self.schema.items() if key.lower() == lowered), None)

    def add_custom_field(self, sobject: str, name: str, type: str = "string", external_id: bool = False,
                         unique: bool = False, length: int = 255, picklist: Iterable[str] = ()) -> FieldSpec:
        if type not in FIELD_TYPES:
            raise ValueError(f"unsupported field type {type!r}")
        spec = self.schema[sobject]
        field = FieldSpec(name, type, length, external_id=external_id, unique=unique, custom=True)
        with self.lock:
            spec.add(field)
            if type == "picklist":
                self.picklists[(sobject, name)] = list(picklist)
            for record in self.records[sobject].values():
                record.setdefault(name, None)
        return field

    # direct inserts (bypass validation and faults) -------------------------------------------------------------
    def add_record(self, sobject: str, fields: dict[str, Any]) -> str:
        spec = self.schema[sobject]
        with self.lock:
            record_id = self.new_id(sobject)
            stamp = self.stamp()
            record: dict[str, Any] = {f.name: None for f in spec.fields.values()}
            record.update(Id=record_id, IsDeleted=False, CreatedDate=stamp, LastModifiedDate=stamp,
                          SystemModstamp=stamp)
            if sobject == "Lead":
                record.update(IsConverted=False, Status=self.picklist_defaults[("Lead", "Status")])
            if spec.get("OwnerId") is not None:
                record["OwnerId"] = self.default_owner()
            for name, value in fields.items():
                field = spec.get(name)
                if field is None:
                    raise KeyError(f"no field {name!r} on {sobject}")
                record[field.name] = value
            self.refresh_derived(sobject, record)
            self.records[sobject][record_id] = record
            return record_id

    def add_user(self, email: str, first: str = "", last: str = "", active: bool = True) -> str:
        name = f"{first} {last}".strip() or email
        return self.add_record("User", {"Email": email, "Username": email, "FirstName": first or None,
                                        "LastName": last or name, "Name": name, "IsActive": active})

    def add_queue(self, name: str, sobject: str = "Lead") -> str:
        queue_id = self.add_record("Group", {"Name": name, "DeveloperName": name.replace(" ", "_"), "Type": "Queue"})
        self.queue_sobjects[queue_id] = {sobject}
        return queue_id

    def add_campaign(self, name: str, statuses: Iterable[str] = ("Sent", "Responded"),
                     default_status: str = "Sent") -> str:
        statuses = list(statuses)
        if default_status not in statuses:
            raise ValueError("default_status must be one of statuses")
        campaign_id = self.add_record("Campaign", {"Name": name, "IsActive": True})
        self.campaign_statuses[campaign_id] = (statuses, default_status)
        return campaign_id

    def add_account(self, name: str, website: str = "acme.com", owner_id: str | None = None) -> str:
        fields: dict[str, Any] = {"Name": name, "Website": website}
        if owner_id is not None:
            fields["OwnerId"] = owner_id
        return self.add_record("Account", fields)

    # helpers used by writes and queries -------------------------------------------------------------------------
    def default_owner(self) -> str:
        """The running API user owns what is created without an OwnerId: the first user of the org."""
        users = self.records["User"]
        if not users:
            self.add_user(API_USER_EMAIL, last="API User")
        return next(iter(users))

    def find(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        for sobject, rows in self.records.items():
            if record_id in rows:
                return sobject, rows[record_id]
        return None

    def refresh_derived(self, sobject: str, record: dict[str, Any]) -> None:
        if sobject in ("Lead", "Contact"):
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p) or None
        if sobject == "Task":
            record["Status"] = record.get("Status") or self.picklist_defaults[("Task", "Status")]
            record["Priority"] = record.get("Priority") or self.picklist_defaults[("Task", "Priority")]
            record["IsClosed"] = record["Status"] == "Completed"
        if sobject == "CampaignMember" and record.get("CampaignId") in self.campaign_statuses:
            statuses, default = self.campaign_statuses[record["CampaignId"]]
            # Every status after the default counts as "responded" here (Sent < Responded).
            record["HasResponded"] = record.get("Status") in statuses[statuses.index(default) + 1:]

    def refresh_last_activity(self, who_id: str | None) -> None:
        """LastActivityDate of a Lead or Contact: the latest ActivityDate of its closed tasks."""
        found = self.find(who_id) if who_id else None
        if found is None or found[0] not in ("Lead", "Contact"):
            return
        tasks = self.records["Task"]
        dates = [t["ActivityDate"] for t in map(tasks.__getitem__, tasks.ids("WhoId", who_id))  # indexed: no scan
                 if t.get("WhoId") == who_id and t.get("IsClosed") and t.get("ActivityDate")]
        found[1]["LastActivityDate"] = max(dates) if dates else None

    def complete_task(self, task_id: str) -> None:
        """What a rep does in the UI: close the task (the Who's LastActivityDate follows)."""
        with self.lock:
            task = self.records["Task"][task_id]
            task.update(Status="Completed", IsClosed=True, LastModifiedDate=self.stamp())
            self.refresh_last_activity(task.get("WhoId"))
