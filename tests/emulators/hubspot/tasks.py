"""Tasks: batch create with contact associations, batch read, search by property (EQ / IN)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.emulators.hubspot.server import Request, batch_response, error
from tests.emulators.hubspot.state import TASK_PRIORITIES, TASK_STATUSES, TASK_TO_CONTACT, now_iso

if TYPE_CHECKING:
    from tests.emulators.hubspot.server import HubSpotEmulator

BATCH_LIMIT = 100


def register(emu: HubSpotEmulator) -> None:
    acct = emu.account

    def task_json(task_id: str, wanted: list[str] | None = None) -> dict[str, Any]:
        task = acct.tasks[task_id]
        props = dict(task["properties"]) if wanted is None else {k: task["properties"].get(k) for k in wanted}
        props["hs_object_id"] = task_id
        return {"id": task_id, "properties": props, "createdAt": task["createdAt"], "updatedAt": task["createdAt"],
                "archived": False}

    def problem(props: dict[str, Any], associations: list[dict[str, Any]]) -> str | None:
        unknown = [n for n in props if n not in acct.task_properties]
        if unknown:
            return f'Property "{unknown[0]}" does not exist'
        if not props.get("hs_timestamp"):
            return "hs_timestamp is required"
        owner = props.get("hubspot_owner_id")
        if owner and str(owner) not in acct.owners:
            return f"{owner} is not a valid owner id (for owner ID)."
        if props.get("hs_task_status", "NOT_STARTED") not in TASK_STATUSES:
            return "hs_task_status was not one of the allowed options"
        if props.get("hs_task_priority", "NONE") not in TASK_PRIORITIES:
            return "hs_task_priority was not one of the allowed options"
        for association in associations:
            types = association.get("types") or []
            if not types or any(t.get("associationTypeId") != TASK_TO_CONTACT
                                or t.get("associationCategory") != "HUBSPOT_DEFINED" for t in types):
                return "only HUBSPOT_DEFINED task-to-contact associations (204) are emulated"
            if str(association.get("to", {}).get("id")) not in acct.contacts:
                return f"contact {association.get('to', {}).get('id')} does not exist"
        return None

    @emu.route("POST", "/crm/v3/objects/tasks/batch/create", "tasks.batch.create")
    def create(req: Request) -> tuple[int, Any]:
        inputs = req.body.get("inputs", [])
        if len(inputs) > BATCH_LIMIT:
            return 400, error(f"Batch input size {len(inputs)} exceeds the limit of {BATCH_LIMIT}")
        results, errors = [], []
        for item in inputs:
            props = {k: str(v) for k, v in (item.get("properties") or {}).items()}
            associations = item.get("associations") or []
            if (message := problem(props, associations)) is not None:
                errors.append({"status": "error", "category": "VALIDATION_ERROR", "message": message, "context": {}})
                continue
            task_id = acct.next_id()
            props.setdefault("hs_task_status", "NOT_STARTED")
            acct.tasks[task_id] = {"properties": props, "createdAt": now_iso(),
                                   "contacts": [str(a["to"]["id"]) for a in associations]}
            results.append(task_json(task_id))
        return batch_response(results, errors, success=201)

    @emu.route("POST", "/crm/v3/objects/tasks/search", "tasks.search", search=True)
    def search(req: Request) -> tuple[int, Any]:
        groups = req.body.get("filterGroups") or [{"filters": []}]
        wanted = req.body.get("properties") or None
        limit = int(req.body.get("limit") or 10)

        def matches(props: dict[str, Any], f: dict[str, Any]) -> bool:
            value = props.get(f["propertyName"])
            if f["operator"] == "EQ":
                return value == f.get("value")
            if f["operator"] == "IN":
                return value in (f.get("values") or [])
            raise ValueError(f"operator {f['operator']} is not emulated for tasks")

        found = [task_id for task_id, task in acct.tasks.items()
                 if any(all(matches(task["properties"], f) for f in g.get("filters", [])) for g in groups)]
        return 200, {"total": len(found), "results": [task_json(t, wanted) for t in found[:limit]]}
