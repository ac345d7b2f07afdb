"""The HubSpot endpoints the emulator serves (paths as hubspot-api-client 12 sends them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.emulators.hubspot import search, tasks
from tests.emulators.hubspot.server import Request, batch_response, error
from tests.emulators.hubspot.state import now_iso

if TYPE_CHECKING:
    from tests.emulators.hubspot.server import HubSpotEmulator

BATCH_LIMIT = 100
# Same figure as connectors.crm.hubspot.lists.MEMBERSHIP_CHUNK (see the citation there).
MEMBERSHIP_LIMIT = 500


def register(emu: HubSpotEmulator) -> None:
    acct = emu.account
    search.register(emu)
    tasks.register(emu)

    def too_many(inputs: list[Any]) -> tuple[int, Any] | None:
        if len(inputs) > BATCH_LIMIT:
            return 400, error(f"Batch input size {len(inputs)} exceeds the limit of {BATCH_LIMIT}")
        return None

    @emu.route("GET", "/crm/v3/owners", "owners.list")
    def owners(req: Request) -> tuple[int, Any]:
        limit = int(req.query.get("limit", ["100"])[0])
        after = int(req.query.get("after", ["0"])[0])
        archived = req.query.get("archived", ["false"])[0].lower() == "true"
        rows = [o for o in acct.owners.values() if o["archived"] == archived]
        page = rows[after:after + limit]
        body: dict[str, Any] = {"results": page}
        if after + limit < len(rows):
            body["paging"] = {"next": {"after": str(after + limit), "link": "..."}}
        return 200, body

    @emu.route("POST", "/crm/v3/objects/contacts/batch/read", "contacts.batch.read")
    def batch_read(req: Request) -> tuple[int, Any]:
        inputs = req.body.get("inputs", [])
        if (bad := too_many(inputs)) is not None:
            return bad
        id_property = req.body.get("idProperty")
        wanted = req.body.get("properties") or None
        results, missing = [], []
        for item in inputs:
            key = str(item["id"])
            if id_property == "email":
                found = acct.contact_by_email(key)
            elif id_property:  # a unique custom property, e.g. leadsync_key
                found = next(((cid, c) for cid, c in acct.contacts.items()
                              if c["properties"].get(id_property) == key), None)
            else:
                found = (key, acct.contacts[key]) if key in acct.contacts else None
            if found:
                results.append(acct.contact_json(found[0], wanted))
            else:
                missing.append(key)
        errors = [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get some CONTACT objects, "
                   "they may be deleted or not exist. Check that ids are valid.", "context": {"ids": missing}}] \
            if missing else []
        return batch_response(results, errors)

    def write_contact(contact_id: str | None, properties: dict[str, Any]) -> tuple[str, bool]:
        return acct.write_contact(contact_id, properties, emu.faults.search_lag_seconds)

    def per_record_error(properties: dict[str, Any], email: str | None) -> dict[str, Any] | None:
        message = acct.validate(properties)
        if email and email.lower() in emu.faults.reject_emails:
            message = emu.faults.reject_emails[email.lower()]
        if message:
            return {"status": "error", "category": "VALIDATION_ERROR", "message": message,
                    "context": {"id": [email] if email else []}}
        return None

    @emu.route("POST", "/crm/v3/objects/contacts/batch/upsert", "contacts.batch.upsert")
    def batch_upsert(req: Request) -> tuple[int, Any]:
        inputs = req.body.get("inputs", [])
        if (bad := too_many(inputs)) is not None:
            return bad
        results, errors = [], []
        for item in inputs:
            id_property = item.get("idProperty")
            if id_property != "email" and id_property not in acct.unique_properties:
                return 400, error(f"Property {id_property} is not a unique identifier property and cannot be "
                                  "used as idProperty.")
            value = str(item["id"])
            props = dict(item.get("properties") or {})
            if (problem := per_record_error(props, value if id_property == "email" else None)) is not None:
                errors.append(problem)
                continue
            if id_property == "email":
                found = acct.contact_by_email(value)
            else:
                found = next(((i, c) for i, c in acct.contacts.items()
                              if c["properties"].get(id_property) == value), None)
            props.setdefault(str(id_property), value)
            contact_id, created = write_contact(found[0] if found else None, props)
            results.append(acct.contact_json(contact_id, new=created))
        return batch_response(results, errors)

    @emu.route("POST", "/crm/v3/objects/contacts/batch/create", "contacts.batch.create")
    def batch_create(req: Request) -> tuple[int, Any]:
        inputs = req.body.get("inputs", [])
        if (bad := too_many(inputs)) is not None:
            return bad
        results, errors = [], []
        for item in inputs:
            props = dict(item.get("properties") or {})
            if (problem := per_record_error(props, props.get("email"))) is not None:
                errors.append(problem)
                continue
            taken = [n for n in acct.unique_properties if props.get(n) and any(
                c["properties"].get(n) == props[n] for c in acct.contacts.values())]
            if taken:
                errors.append({"status": "error", "category": "CONFLICT", "message": f"A contact with the same "
                               f"value for the unique property {taken[0]} already exists.", "context": {}})
                continue
            if props.get("email") and acct.contact_by_email(str(props["email"])):
                errors.append({"status": "error", "category": "CONFLICT", "message": "Contact already exists.",
                               "context": {}})
                continue
            contact_id, _ = write_contact(None, props)
            results.append(acct.contact_json(contact_id, new=True))
        return batch_response(results, errors, success=201)  # batch create answers 201 Created

    @emu.route("POST", "/crm/v3/objects/contacts/batch/update", "contacts.batch.update")
    def batch_update(req: Request) -> tuple[int, Any]:
        inputs = req.body.get("inputs", [])
        if (bad := too_many(inputs)) is not None:
            return bad
        results, errors = [], []
        for item in inputs:
            contact_id = str(item["id"])
            props = dict(item.get("properties") or {})
            if contact_id not in acct.contacts:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND", "message": "not found",
                               "context": {"ids": [contact_id]}})
                continue
            email = acct.contacts[contact_id]["properties"].get("email")
            if (problem := per_record_error(props, email)) is not None:
                errors.append(problem)
                continue
            write_contact(contact_id, props)
            results.append(acct.contact_json(contact_id))
        return batch_response(results, errors)

    def property_json(name: str) -> dict[str, Any]:
        return {"name": name, "label": name, "type": acct.properties[name], "fieldType": "text",
                "groupName": "contactinformation", "options": [], "hasUniqueValue": name in acct.unique_properties}

    @emu.route("GET", "/crm/v3/properties/contacts", "properties.list")
    def properties(req: Request) -> tuple[int, Any]:
        return 200, {"results": [property_json(n) for n in acct.properties]}

    @emu.route("GET", "/crm/v3/properties/contacts/(?P<name>[^/]+)", "properties.get")
    def get_property(req: Request) -> tuple[int, Any]:
        name = req.match.group("name")
        if name not in acct.properties:
            return 404, error(f"Unable to find property {name}", "OBJECT_NOT_FOUND")
        return 200, property_json(name)

    @emu.route("POST", "/crm/v3/properties/contacts", "properties.create")
    def create_property(req: Request) -> tuple[int, Any]:
        name = req.body["name"]
        if name in acct.properties:
            return 409, error(f"Property named '{name}' already exists.", "CONFLICT")
        acct.properties[name] = req.body.get("type", "string")
        if req.body.get("hasUniqueValue"):
            acct.unique_properties.add(name)
        return 201, {"name": name, "label": req.body.get("label", name), "type": acct.properties[name],
                     "fieldType": req.body.get("fieldType", "text"), "groupName": req.body.get("groupName", ""),
                     "options": []}

    def list_json(list_id: str) -> dict[str, Any]:
        data = acct.lists[list_id]
        return {"listId": list_id, "listVersion": 1, "name": data["name"], "objectTypeId": "0-1",
                "processingType": "MANUAL", "processingStatus": "COMPLETE", "createdAt": now_iso(),
                "updatedAt": now_iso(), "size": len(data["members"])}

    @emu.route("POST", "/crm/v3/lists", "lists.create")
    def create_list(req: Request) -> tuple[int, Any]:
        name = req.body["name"]
        if any(d["name"].lower() == name.lower() for d in acct.lists.values()):
            return 400, error(f"A list named {name} already exists", "VALIDATION_ERROR")
        list_id = acct.next_id()
        acct.lists[list_id] = {"name": name, "members": set()}
        return 200, {"list": list_json(list_id)}

    @emu.route("GET", r"/crm/v3/lists/object-type-id/0-1/name/(?P<name>.+)", "lists.get_by_name")
    def list_by_name(req: Request) -> tuple[int, Any]:
        for list_id, data in acct.lists.items():
            if data["name"].lower() == req.match.group("name").lower():
                return 200, {"list": list_json(list_id)}
        return 404, error("List does not exist", "OBJECT_NOT_FOUND")

    @emu.route("PUT", r"/crm/v3/lists/(?P<id>\d+)/memberships/(?P<op>add|remove)", "lists.memberships")
    def memberships(req: Request) -> tuple[int, Any]:
        list_id = req.match.group("id")
        if list_id not in acct.lists:
            return 404, error("List does not exist", "OBJECT_NOT_FOUND")
        ids = [str(i) for i in req.body]
        if len(ids) > MEMBERSHIP_LIMIT:
            return 400, error(f"Request contains {len(ids)} record ids; the limit is {MEMBERSHIP_LIMIT}")
        members: set[str] = acct.lists[list_id]["members"]
        known = [i for i in ids if i in acct.contacts]
        if req.match.group("op") == "add":
            members.update(known)
            return 200, {"recordIdsMissing": [i for i in ids if i not in acct.contacts], "recordsIdsAdded": known}
        removed = [i for i in known if i in members]
        members.difference_update(removed)
        return 200, {"recordIdsMissing": [i for i in ids if i not in acct.contacts], "recordIdsRemoved": removed}

    @emu.route("GET", r"/crm/v3/lists/(?P<id>\d+)/memberships", "lists.read_memberships")
    def read_memberships(req: Request) -> tuple[int, Any]:
        list_id = req.match.group("id")
        if list_id not in acct.lists:
            return 404, error("List does not exist", "OBJECT_NOT_FOUND")
        members = sorted(acct.lists[list_id]["members"], key=int)
        after = int(req.query.get("after", ["0"])[0])
        limit = int(req.query.get("limit", ["250"])[0])
        body: dict[str, Any] = {"results": [{"recordId": m, "membershipTimestamp": now_iso()}
                                            for m in members[after:after + limit]], "total": len(members)}
        if after + limit < len(members):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return 200, body
