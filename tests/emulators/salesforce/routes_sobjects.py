"""Single-record sObject REST: create, get, update, delete, upsert and get by external id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.emulators.salesforce.ids import normalise_id
from tests.emulators.salesforce.schema import SObjectSpec
from tests.emulators.salesforce.server import Request, Response, error_response
from tests.emulators.salesforce.state import Org
from tests.emulators.salesforce.writes import Lookup, RequestError, WriteOptions, canonical_fields, delete, save

if TYPE_CHECKING:
    from tests.emulators.salesforce.server import SalesforceEmulator

NOT_FOUND = (404, "NOT_FOUND", "The requested resource does not exist")


def write_options(emu: SalesforceEmulator, req: Request, auto_assign: bool | None = None) -> WriteOptions:
    runs = req.auto_assign() if auto_assign is None else auto_assign
    return WriteOptions(auto_assign_owner=emu.faults.auto_assign_owner if runs else None,
                        reject_emails={k.lower(): v for k, v in emu.faults.reject_emails.items()},
                        lookup=Lookup(emu.org))


def sobject_spec(org: Org, name: str) -> SObjectSpec:
    spec = org.sobject(name)
    if spec is None:
        raise RequestError(*NOT_FOUND)
    return spec


def body_fields(org: Org, spec: SObjectSpec, req: Request, options: WriteOptions) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise RequestError(400, "JSON_PARSER_ERROR", "Expected a JSON object for the record")
    return canonical_fields(org, spec, body, options)


def external_matches(org: Org, spec: SObjectSpec, field: str, value: str, lookup: Lookup | None = None) -> list[str]:
    """Ids of the records whose external-id field equals value (case-insensitively, like a non-case-sensitive id)."""
    if field == "Id":
        normalised = normalise_id(value)
        return [normalised] if normalised in org.records[spec.name] else []
    return (lookup or Lookup(org)).ids(spec.name, field, value)


def external_field(spec: SObjectSpec, name: str) -> str:
    fspec = spec.get(name)
    if fspec is None or not (fspec.external_id or fspec.name == "Id"):
        raise RequestError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}")
    return fspec.name


def register(emu: SalesforceEmulator) -> None:
    org = emu.org

    def render(spec: SObjectSpec, record_id: str, req: Request) -> dict[str, Any]:
        row = org.records[spec.name][record_id]
        wanted = req.query.get("fields")
        names = [spec.get(n.strip()) for n in wanted[0].split(",")] if wanted else list(spec.fields.values())
        out: dict[str, Any] = {"attributes": {"type": spec.name,
                                              "url": f"/services/data/v{req.version}/sobjects/{spec.name}/{record_id}"}}
        for fspec in names:
            if fspec is None:
                raise RequestError(400, "INVALID_FIELD", "No such column on entity")
            out[fspec.name] = row.get(fspec.name)
        return out

    @emu.route("POST", r"/sobjects/(?P<obj>\w+)", "sobject_create")
    def create(req: Request) -> Response:
        spec = sobject_spec(org, req.group("obj"))
        options = write_options(emu, req)
        record_id = save(org, spec.name, None, body_fields(org, spec, req, options), options)
        return Response(201, {"id": record_id, "success": True, "errors": []})

    def existing_id(spec: SObjectSpec, raw: str) -> str:
        record_id = normalise_id(raw)
        if record_id is None or record_id not in org.records[spec.name]:
            if record_id is not None and record_id in org.deleted[spec.name]:
                raise RequestError(404, "ENTITY_IS_DELETED", "entity is deleted")
            raise RequestError(*NOT_FOUND)
        return record_id

    @emu.route("GET", r"/sobjects/(?P<obj>\w+)/(?P<id>[^/]+)", "sobject_get")
    def get(req: Request) -> Response:
        spec = sobject_spec(org, req.group("obj"))
        return Response(200, render(spec, existing_id(spec, req.group("id")), req))

    @emu.route("PATCH", r"/sobjects/(?P<obj>\w+)/(?P<id>[^/]+)", "sobject_update")
    def update(req: Request) -> Response:
        spec = sobject_spec(org, req.group("obj"))
        record_id = existing_id(spec, req.group("id"))
        options = write_options(emu, req)
        save(org, spec.name, record_id, body_fields(org, spec, req, options), options)
        return Response(204)

    @emu.route("DELETE", r"/sobjects/(?P<obj>\w+)/(?P<id>[^/]+)", "sobject_delete")
    def remove(req: Request) -> Response:
        spec = sobject_spec(org, req.group("obj"))
        delete(org, existing_id(spec, req.group("id")))
        return Response(204)

    @emu.route("GET", r"/sobjects/(?P<obj>\w+)/(?P<field>\w+)/(?P<value>[^/]+)", "sobject_get")
    def get_by_external_id(req: Request) -> Response:
        spec = sobject_spec(org, req.group("obj"))
        field = external_field(spec, req.group("field"))
        matches = external_matches(org, spec, field, req.group("value"))
        if len(matches) > 1:
            return Response(300, [f"/services/data/v{req.version}/sobjects/{spec.name}/{m}" for m in matches])
        if not matches:
            return error_response(*NOT_FOUND)
        return Response(200, render(spec, matches[0], req))

    @emu.route("PATCH", r"/sobjects/(?P<obj>\w+)/(?P<field>\w+)/(?P<value>[^/]+)", "sobject_upsert")
    def upsert(req: Request) -> Response:
        spec = sobject_spec(org, req.group("obj"))
        field = external_field(spec, req.group("field"))
        value = req.group("value")
        options = write_options(emu, req)
        values = body_fields(org, spec, req, options)
        matches = external_matches(org, spec, field, value, options.lookup)
        if len(matches) > 1:
            return Response(300, [f"/services/data/v{req.version}/sobjects/{spec.name}/{m}" for m in matches])
        if matches:
            values.pop(field, None)
            record_id = save(org, spec.name, matches[0], values, options)
            if float(req.version) < 46:  # before API 46 an updating upsert answered 204 with no body
                return Response(204)
            return Response(200, {"id": record_id, "success": True, "errors": [], "created": False})
        if field == "Id":
            return error_response(*NOT_FOUND)
        values[field] = value
        record_id = save(org, spec.name, None, values, options)
        return Response(201, {"id": record_id, "success": True, "errors": [], "created": True})

