"""sObject Collections: /composite/sobjects create, update, upsert by external id and delete (200 records max).

A well-formed request answers 200 with one result per record, in order; per-record errors say statusCode.
With allOrNone, any failure rolls back the whole request and the other records say ALL_OR_NONE_OPERATION_ROLLED_BACK.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.emulators.salesforce.ids import normalise_id
from tests.emulators.salesforce.routes_sobjects import external_field, external_matches, write_options
from tests.emulators.salesforce.schema import SObjectSpec
from tests.emulators.salesforce.server import Request, Response
from tests.emulators.salesforce.state import Org
from tests.emulators.salesforce.writes import RecordError, RequestError, WriteOptions, canonical_fields, delete, save

if TYPE_CHECKING:
    from tests.emulators.salesforce.server import SalesforceEmulator

COLLECTION_LIMIT = 200
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all "
               "records were valid and the request was using AllOrNone header", "fields": []}
Step = Callable[[], dict[str, Any]]


def _too_many(count: int) -> None:
    if count > COLLECTION_LIMIT:
        raise RequestError(400, "EXCEEDED_ID_LIMIT",
                           f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call")


def _snapshot(org: Org) -> tuple[dict[str, dict[str, dict[str, Any]]], ...]:
    return tuple({s: {i: dict(r) for i, r in rows.items()} for s, rows in table.items()}
                 for table in (org.records, org.deleted))


def _restore(org: Org, snapshot: tuple[dict[str, dict[str, dict[str, Any]]], ...]) -> None:
    for table, saved in zip((org.records, org.deleted), snapshot, strict=True):
        for sobject, rows in saved.items():
            table[sobject].clear()
            table[sobject].update(rows)


def run_batch(org: Org, steps: list[Step], all_or_none: bool, upsert: bool = False) -> list[dict[str, Any]]:
    saved = _snapshot(org) if all_or_none else None
    results: list[dict[str, Any]] = []
    for step in steps:
        try:
            results.append(step())
        except RecordError as exc:
            failure: dict[str, Any] = {"success": False, "errors": [exc.collection()]}
            if exc.record_id is not None:
                failure = {"id": exc.record_id} | failure
            if upsert:
                failure["created"] = False
            results.append(failure)
    if saved is not None and any(not r["success"] for r in results):
        _restore(org, saved)
        rolled = {"id": None, "success": False, "errors": [ROLLED_BACK]} | ({"created": False} if upsert else {})
        results = [dict(rolled) if r["success"] else r for r in results]
    return results


def _records(req: Request) -> tuple[list[dict[str, Any]], bool]:
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise RequestError(400, "JSON_PARSER_ERROR", "Expected {\"allOrNone\": bool, \"records\": [...]}")
    records = body["records"]
    _too_many(len(records))
    if not all(isinstance(r, dict) for r in records):
        raise RequestError(400, "JSON_PARSER_ERROR", "Every record must be a JSON object")
    return records, bool(body.get("allOrNone", False))


def _typed(org: Org, record: dict[str, Any], options: WriteOptions) -> tuple[SObjectSpec, dict[str, Any]]:
    sobject = (record.get("attributes") or {}).get("type")
    spec = org.sobject(sobject) if isinstance(sobject, str) else None
    if spec is None:
        raise RequestError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
    return spec, canonical_fields(org, spec, record, options)


def register(emu: SalesforceEmulator) -> None:
    org = emu.org

    @emu.route("POST", "/composite/sobjects", "composite_create")
    def create(req: Request) -> Response:
        records, all_or_none = _records(req)
        options = write_options(emu, req)
        typed = [_typed(org, r, options) for r in records]  # whole-request errors before any write

        def step(spec: SObjectSpec, values: dict[str, Any]) -> Step:
            return lambda: {"id": save(org, spec.name, None, values, options), "success": True, "errors": []}

        return Response(200, run_batch(org, [step(s, v) for s, v in typed], all_or_none))

    @emu.route("PATCH", "/composite/sobjects", "composite_update")
    def update(req: Request) -> Response:
        records, all_or_none = _records(req)
        options = write_options(emu, req)
        typed = [_typed(org, r, options) for r in records]

        def step(spec: SObjectSpec, values: dict[str, Any]) -> Step:
            def run() -> dict[str, Any]:
                raw = values.get("Id")
                if raw is None:
                    raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", [])
                record_id = normalise_id(raw)
                if record_id is None:
                    raise RecordError("MALFORMED_ID", f"malformed id {raw}", ["Id"])
                try:
                    return {"id": save(org, spec.name, record_id, values, options), "success": True, "errors": []}
                except RecordError as exc:
                    exc.record_id = record_id
                    raise
            return run

        return Response(200, run_batch(org, [step(s, v) for s, v in typed], all_or_none))

    @emu.route("PATCH", r"/composite/sobjects/(?P<obj>\w+)/(?P<field>\w+)", "composite_upsert")
    def upsert(req: Request) -> Response:
        spec = org.sobject(req.group("obj"))
        if spec is None:
            raise RequestError(400, "INVALID_TYPE", f"sObject type '{req.group('obj')}' is not supported.")
        try:
            field = external_field(spec, req.group("field"))
        except RequestError:
            raise RequestError(400, "INVALID_FIELD", f"Field name provided, {req.group('field')} is not an External "
                               f"ID or indexed field for {spec.name}") from None
        records, all_or_none = _records(req)
        options = write_options(emu, req)
        typed = [_typed(org, r, options)[1] for r in records]
        seen = Counter(str(v.get(field)).lower() for v in typed if v.get(field) is not None)

        def step(values: dict[str, Any]) -> Step:
            def run() -> dict[str, Any]:
                key = values.get(field)
                if key in (None, ""):
                    raise RecordError("MISSING_ARGUMENT", f"{field} not specified", [field])
                if seen[str(key).lower()] > 1:
                    raise RecordError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {key}", [field])
                matches = external_matches(org, spec, field, str(key), options.lookup)
                if len(matches) > 1:
                    raise RecordError("DUPLICATE_EXTERNAL_ID", f"{field}: more than one record found for external "
                                      f"id field: {matches}", [field])
                if matches:
                    rest = {k: v for k, v in values.items() if k != field}
                    return {"id": save(org, spec.name, matches[0], rest, options), "success": True, "errors": [],
                            "created": False}
                if field == "Id":
                    raise RecordError("NOT_FOUND", "The requested resource does not exist", [])
                return {"id": save(org, spec.name, None, values, options), "success": True, "errors": [],
                        "created": True}
            return run

        return Response(200, run_batch(org, [step(v) for v in typed], all_or_none, upsert=True))

    @emu.route("DELETE", "/composite/sobjects", "composite_delete")
    def remove(req: Request) -> Response:
        ids = [i for i in ",".join(req.query.get("ids", [])).split(",") if i]
        if not ids:
            raise RequestError(400, "MISSING_ARGUMENT", "ids parameter is required")
        _too_many(len(ids))
        all_or_none = (req.query.get("allOrNone") or ["false"])[0].lower() == "true"

        def step(raw: str) -> Step:
            def run() -> dict[str, Any]:
                return {"id": delete(org, raw), "success": True, "errors": []}
            return run

        results = run_batch(org, [step(i) for i in ids], all_or_none)
        for raw, result in zip(ids, results, strict=True):
            result.setdefault("id", raw)
        return Response(200, results)
