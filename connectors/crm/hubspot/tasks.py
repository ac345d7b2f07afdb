"""Follow-up tasks and touch reads for HubSpot.

Tasks go through the tasks batch create (100 per call) with their contact association (type
204, task to contact: `hubspot.crm.association_type.AssociationType.TASK_TO_CONTACT`). The
hand-off key is written to a custom task property; before retrying a key an earlier attempt may
have created (lost reply, crash), tasks are searched by that property, and the ones found are
not created again. "Touched" is one batched read of the contacts' hs_lead_status,
hs_last_sales_activity_timestamp and notes_last_contacted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from hubspot.crm.association_type import AssociationType
from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId, SimplePublicObjectId
from hubspot.crm.objects.tasks import (
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
)

from connectors.crm.followup import FollowUpTask, TaskResult, TouchState
from connectors.crm.hubspot.client import HubSpotBadRequest, HubSpotClient
from connectors.crm.hubspot.config import HubSpotConfig
from connectors.errors import RecordRejectedError
from connectors.redaction import redact

BATCH = 100
PRIORITY = {"low": "LOW", "normal": "MEDIUM", "high": "HIGH"}
TOUCH_PROPERTIES = ["hs_lead_status", "hubspot_owner_id", "hs_last_sales_activity_timestamp", "notes_last_contacted"]


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    if value.isdigit():  # epoch milliseconds
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class HubSpotTasks:
    def __init__(self, client: HubSpotClient, config: HubSpotConfig) -> None:
        self.client = client
        self.key_property = config.task_key_property
        self._owners: dict[str, str] | None = None  # e-mail -> owner id
        self._owner_emails: dict[str, str] = {}

    def _owner_ids(self) -> dict[str, str]:
        if self._owners is None:
            owners: dict[str, str] = {}
            after: str | None = None
            while True:
                page = self.client.call(lambda: self.client.owners.get_page(limit=100, after=after))  # noqa: B023
                for owner in page.results:
                    if owner.email:
                        owners[owner.email.lower()] = str(owner.id)
                        self._owner_emails[str(owner.id)] = owner.email.lower()
                after = page.paging.next.after if page.paging and page.paging.next else None
                if after is None:
                    break
            self._owners = owners
        return self._owners

    def create_tasks(self, tasks: Sequence[FollowUpTask], maybe_sent: Collection[str]) -> dict[str, TaskResult]:
        results = self._already_created([t.key for t in tasks if t.key in maybe_sent])
        owners = self._owner_ids()
        todo: list[FollowUpTask] = []
        for task in tasks:
            if task.key in results:
                continue
            if task.owner.lower() not in owners:
                results[task.key] = TaskResult(error=RecordRejectedError(
                    task.key, "hubspot_owner_id", "the owner is not a HubSpot user", code="HS:INVALID_OWNER"))
            else:
                todo.append(task)
        for start in range(0, len(todo), BATCH):
            results.update(self._create(todo[start:start + BATCH], owners))
        return results

    def _already_created(self, keys: Sequence[str]) -> dict[str, TaskResult]:
        found: dict[str, TaskResult] = {}
        for start in range(0, len(keys), BATCH):
            chunk = list(keys[start:start + BATCH])
            request = PublicObjectSearchRequest(
                filter_groups=[{"filters": [{"propertyName": self.key_property, "operator": "IN", "values": chunk}]}],
                properties=[self.key_property], limit=BATCH)
            page = self.client.call(lambda: self.client.task_search.do_search(request), search=True)  # noqa: B023
            for task in page.results:
                key = (task.properties or {}).get(self.key_property)
                if key:
                    found[key] = TaskResult(task_id=str(task.id))
        return found

    def _create(self, chunk: Sequence[FollowUpTask], owners: dict[str, str]) -> dict[str, TaskResult]:
        to_contact = [AssociationSpec(association_category="HUBSPOT_DEFINED",
                                      association_type_id=AssociationType.TASK_TO_CONTACT)]
        inputs = [SimplePublicObjectBatchInputForCreate(properties={
            "hs_timestamp": t.due_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "hs_task_subject": t.subject[:255], "hs_task_body": t.description, "hs_task_status": "NOT_STARTED",
            "hs_task_priority": PRIORITY.get(t.priority, "MEDIUM"), "hubspot_owner_id": owners[t.owner.lower()],
            self.key_property: t.key,
        }, associations=[PublicAssociationsForObject(to=PublicObjectId(id=t.crm_id), types=to_contact)])
            for t in chunk]
        try:
            answer = self.client.call(lambda: self.client.tasks.create(
                BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)))
        except HubSpotBadRequest as exc:
            error = RecordRejectedError("task", "batch", redact(exc.message, max_length=300), code=f"HS:{exc.status}")
            return {t.key: TaskResult(error=error) for t in chunk}
        results: dict[str, TaskResult] = {}
        for created in answer.results or []:
            key = (created.properties or {}).get(self.key_property)
            if key:
                results[key] = TaskResult(task_id=str(created.id))
        errors = getattr(answer, "errors", None) or []
        reason = redact(errors[0].message, max_length=300) if errors else "HubSpot did not create the task"
        for task in chunk:
            results.setdefault(task.key, TaskResult(error=RecordRejectedError(task.key, "task", reason,
                                                                              code="HS:TASK_NOT_CREATED")))
        return results

    def touch_states(self, crm_ids: Sequence[str], since: datetime) -> dict[str, TouchState]:
        del since  # the contact's activity properties carry their own times
        self._owner_ids()
        states: dict[str, TouchState] = {}
        ids = list(dict.fromkeys(crm_ids))
        for start in range(0, len(ids), BATCH):
            request = BatchReadInputSimplePublicObjectId(properties=TOUCH_PROPERTIES, inputs=[
                SimplePublicObjectId(id=i) for i in ids[start:start + BATCH]])
            page = self.client.call(lambda: self.client.contacts.read(request, archived=False))  # noqa: B023
            for contact in page.results:
                props = contact.properties or {}
                moments = [m for m in (_parse(props.get("hs_last_sales_activity_timestamp")),
                                       _parse(props.get("notes_last_contacted"))) if m]
                states[str(contact.id)] = TouchState(
                    crm_id=str(contact.id), status=props.get("hs_lead_status") or None,
                    owner=self._owner_emails.get(str(props.get("hubspot_owner_id") or "")),
                    last_activity=max(moments) if moments else None)
        return states
