"""SOQL query / queryAll with paging, describe and limits."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.emulators.salesforce.ids import KEY_PREFIXES, make_id
from tests.emulators.salesforce.query_eval import Executor
from tests.emulators.salesforce.server import Request, Response, error_response
from tests.emulators.salesforce.soql import parse

if TYPE_CHECKING:
    from tests.emulators.salesforce.server import SalesforceEmulator

DEFAULT_BATCH = 2000
MIN_BATCH = 200


def register(emu: SalesforceEmulator) -> None:
    org = emu.org

    def page(req: Request, cursor: str, rows: list[dict[str, Any]], offset: int, total: int, size: int) -> Response:
        body: dict[str, Any] = {"totalSize": total, "done": offset + size >= len(rows),
                                "records": rows[offset:offset + size]}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/v{req.version}/query/{cursor}-{offset + size}"
        return Response(200, body)

    def run_query(req: Request, include_deleted: bool) -> Response:
        text = (req.query.get("q") or [""])[0]
        if not text:
            return error_response(400, "MALFORMED_QUERY", "A query string has to be specified")
        total, rows = Executor(org, req.version).run(parse(text), include_deleted)
        cursor = make_id(KEY_PREFIXES["QueryLocator"], len(emu.cursors) + 1)
        size = _batch_size(req, DEFAULT_BATCH)
        if len(rows) > size:  # only results with more pages keep a server-side cursor (and its batch size)
            emu.cursors[cursor] = (rows, size)
        return page(req, cursor, rows, 0, total, size)

    @emu.route("GET", "/query", "query")
    def query(req: Request) -> Response:
        return run_query(req, include_deleted=False)

    @emu.route("GET", "/queryAll", "query")
    def query_all(req: Request) -> Response:
        return run_query(req, include_deleted=True)

    @emu.route("GET", r"/(?:query|queryAll)/(?P<cursor>[A-Za-z0-9]+)-(?P<offset>\d+)", "query_more")
    def query_more(req: Request) -> Response:
        saved = emu.cursors.get(req.group("cursor"))
        if saved is None:
            return error_response(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        rows, size = saved
        return page(req, req.group("cursor"), rows, int(req.group("offset")), len(rows), _batch_size(req, size))

    @emu.route("GET", "/limits", "limits")
    def limits(req: Request) -> Response:
        faults = emu.faults
        remaining = max(faults.daily_max - faults.daily_used, 0)
        return Response(200, {"DailyApiRequests": {"Max": faults.daily_max, "Remaining": remaining},
                              "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                              "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000}})

    @emu.route("GET", "/sobjects", "describe_global")
    def describe_global(req: Request) -> Response:
        return Response(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [
            {"name": name, "label": name, "keyPrefix": KEY_PREFIXES[name], "createable": spec.writable,
             "updateable": spec.writable, "queryable": True, "custom": False,
             "urls": {"sobject": f"/services/data/v{req.version}/sobjects/{name}"}}
            for name, spec in org.schema.items()]})

    @emu.route("GET", r"/sobjects/(?P<obj>\w+)/describe", "describe")
    def describe(req: Request) -> Response:
        spec = org.sobject(req.group("obj"))
        if spec is None:
            return error_response(404, "NOT_FOUND", "The requested resource does not exist")
        fields = []
        for fspec in spec.fields.values():
            key = (spec.name, fspec.name)
            fields.append(fspec.describe(org.picklists.get(key), org.picklist_defaults.get(key)))
        return Response(200, {"name": spec.name, "label": spec.name, "keyPrefix": KEY_PREFIXES[spec.name],
                              "createable": spec.writable, "updateable": spec.writable, "queryable": True,
                              "fields": fields})


def _batch_size(req: Request, default: int) -> int:
    options = req.headers.get("sforce-query-options", "")
    match = re.search(r"batchSize\s*=\s*(\d+)", options, re.IGNORECASE)
    if match is None:
        return default
    return min(max(int(match.group(1)), MIN_BATCH), DEFAULT_BATCH)
