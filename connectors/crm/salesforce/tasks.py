"""Follow-up Tasks and touch reads for Salesforce.

Tasks are upserted in sObject Collections of 200 on an External ID field holding the hand-off
key (`task_key_field`), so a retry after a lost reply updates the task it already made.
"Touched" comes from three batched reads: Lead/Contact Status and LastActivityDate, and the
Tasks completed since the hand-offs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

from connectors.crm.followup import FollowUpTask, TaskResult, TouchState
from connectors.crm.salesforce.client import SalesforceBadRequest, SalesforceClient
from connectors.crm.salesforce.composite import queries
from connectors.crm.salesforce.config import SalesforceConfig
from connectors.crm.salesforce.directory import Directory
from connectors.crm.salesforce.soql import in_chunks
from connectors.errors import RecordRejectedError, RetriableError
from connectors.redaction import redact

COLLECTION_LIMIT = 200
PRIORITY = {"low": "Low", "normal": "Normal", "high": "High"}


def _sf_datetime(value: str) -> datetime:
    return datetime.strptime(value.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


class SalesforceTasks:
    def __init__(self, client: SalesforceClient, directory: Directory, config: SalesforceConfig) -> None:
        self.client = client
        self.directory = directory
        self.key_field = config.task_key_field

    def _owner_ids(self, owners: Collection[str]) -> None:
        """E-mails the run has not resolved yet (e.g. account owners): one query for all of them."""
        unknown = sorted({o.lower() for o in owners if self.directory.owner_id(o) is None})
        for soql in in_chunks("SELECT Id, Email FROM User WHERE IsActive = true AND Email IN {values}", unknown):
            for row in self.client.query(soql):
                self.directory.user_ids.setdefault(str(row["Email"]).lower(), str(row["Id"]))
                self.directory.names.setdefault(str(row["Id"]), str(row["Email"]).lower())

    def create_tasks(self, tasks: Sequence[FollowUpTask], maybe_sent: Collection[str]) -> dict[str, TaskResult]:
        del maybe_sent  # the upsert on the key field makes every attempt safe to repeat
        self._owner_ids({t.owner for t in tasks})
        results: dict[str, TaskResult] = {}
        ready: list[FollowUpTask] = []
        for task in tasks:
            if self.directory.owner_id(task.owner) is None:
                results[task.key] = TaskResult(error=RecordRejectedError(
                    task.key, "OwnerId", "the owner is not an active Salesforce user", code="SF:INVALID_OWNER"))
            else:
                ready.append(task)
        for start in range(0, len(ready), COLLECTION_LIMIT):
            results.update(self._upsert(ready[start:start + COLLECTION_LIMIT]))
        return results

    def _upsert(self, chunk: Sequence[FollowUpTask]) -> dict[str, TaskResult]:
        records = [{"attributes": {"type": "Task"}, self.key_field: t.key, "WhoId": t.crm_id,
                    "OwnerId": self.directory.owner_id(t.owner), "Subject": t.subject[:255],
                    "ActivityDate": t.due_date, "Description": t.description[:32000], "Status": "Not Started",
                    "Priority": PRIORITY.get(t.priority, "Normal")} for t in chunk]
        try:
            answer = self.client.rest(f"composite/sobjects/Task/{self.key_field}", method="PATCH",
                                      json={"allOrNone": False, "records": records}) or []
        except SalesforceBadRequest as exc:  # e.g. the key field is missing or not an External ID
            error = RecordRejectedError("Task", self.key_field, redact(f"{exc.code}: {exc.message}", max_length=300),
                                        code=f"SF:{exc.code}")
            return {t.key: TaskResult(error=error) for t in chunk}
        results: dict[str, TaskResult] = {}
        for task, result in zip(chunk, answer, strict=False):
            if result.get("success"):
                results[task.key] = TaskResult(task_id=str(result.get("id")))
            else:
                first = (result.get("errors") or [{}])[0]
                code = str(first.get("statusCode") or "ERROR")
                results[task.key] = TaskResult(error=RecordRejectedError(
                    task.key, ",".join(first.get("fields") or []) or "Task",
                    redact(str(first.get("message", "")), max_length=300), code=f"SF:{code}"))
        for task in chunk[len(answer):]:
            results[task.key] = TaskResult(error=RetriableError("Salesforce returned no result", code="SF:NO_RESULT"))
        return results

    def touch_states(self, crm_ids: Sequence[str], since: datetime) -> dict[str, TouchState]:
        leads = [i for i in crm_ids if i.startswith("00Q")]
        contacts = [i for i in crm_ids if i.startswith("003")]
        stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")  # a SOQL datetime literal, not a quoted value
        records = [*in_chunks("SELECT Id, Status, OwnerId, LastActivityDate FROM Lead WHERE Id IN {values}", leads),
                   *in_chunks("SELECT Id, OwnerId, LastActivityDate FROM Contact WHERE Id IN {values}", contacts)]
        done = list(in_chunks("SELECT WhoId, LastModifiedDate FROM Task WHERE IsClosed = true AND "
                              f"LastModifiedDate >= {stamp} AND WhoId IN {{values}}", [*leads, *contacts]))
        answers = list(queries(self.client, [*records, *done]))  # bundled five to a Composite call
        rows: dict[str, dict[str, object]] = {str(r["Id"]): r for page in answers[:len(records)] for r in page}
        completed: dict[str, datetime] = {}
        for page in answers[len(records):]:
            for r in page:
                when = _sf_datetime(str(r["LastModifiedDate"]))
                who = str(r["WhoId"])
                completed[who] = max(when, completed.get(who, when))
        self.directory.learn(str(r.get("OwnerId")) for r in rows.values() if r.get("OwnerId"))
        states: dict[str, TouchState] = {}
        for crm_id, r in rows.items():
            activity = r.get("LastActivityDate")
            states[crm_id] = TouchState(
                crm_id=crm_id, status=str(r["Status"]) if r.get("Status") else None,
                owner=self.directory.owner_name(str(r.get("OwnerId") or "")) or None,
                last_activity=completed.get(crm_id),
                last_activity_date=date.fromisoformat(str(activity)) if activity else None)
        return states
