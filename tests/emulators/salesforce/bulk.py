"""Bulk API 2.0 ingest: jobs/ingest state machine (Open -> UploadComplete -> JobComplete | Failed | Aborted).

Data is processed synchronously when the job is closed, with the same validation as REST writes. Result paths
(successfulResults, failedResults, unprocessedRecords) match case-insensitively, as simple-salesforce sends camelCase.
Assignment rules run only when the job names an assignmentRuleId, as in Salesforce.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import TYPE_CHECKING, Any

from tests.emulators.salesforce.ids import normalise_id
from tests.emulators.salesforce.routes_sobjects import external_field, external_matches
from tests.emulators.salesforce.server import Request, Response, error_response
from tests.emulators.salesforce.writes import (
    Lookup,
    RecordError,
    RequestError,
    WriteOptions,
    canonical_fields,
    delete,
    save,
)

if TYPE_CHECKING:
    from tests.emulators.salesforce.server import SalesforceEmulator

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
OPERATIONS = ("insert", "update", "upsert", "delete")
PUBLIC_KEYS = ("id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
               "externalIdFieldName", "concurrencyMode", "contentType", "apiVersion", "jobType", "lineEnding",
               "columnDelimiter", "numberRecordsProcessed", "numberRecordsFailed", "retries", "totalProcessingTime",
               "errorMessage", "assignmentRuleId")


def _invalid_job(message: str) -> RequestError:
    return RequestError(400, "INVALIDJOB", message)


def register(emu: SalesforceEmulator) -> None:
    org = emu.org

    def job_info(job: dict[str, Any]) -> dict[str, Any]:
        return {k: job[k] for k in PUBLIC_KEYS if job.get(k) is not None}

    def get_job(req: Request) -> dict[str, Any]:
        job = emu.jobs.get(normalise_id(req.group("job")) or "")
        if job is None:
            raise RequestError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    @emu.route("POST", "/jobs/ingest", "bulk_create_job")
    def create_job(req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict) or body.get("operation") not in OPERATIONS:
            operation = body.get("operation") if isinstance(body, dict) else body
            raise _invalid_job(f"InvalidJob : Invalid operation: {operation}")
        spec = org.sobject(str(body.get("object")))
        if spec is None or not spec.writable:
            raise _invalid_job(f"InvalidJob : Invalid object: {body.get('object')}")
        external = body.get("externalIdFieldName")
        if body["operation"] == "upsert":
            try:
                external = external_field(spec, str(external))
            except RequestError:
                raise _invalid_job(f"InvalidJob : Invalid External ID field: {external}") from None
        stamp = org.stamp()
        job_id = org.new_id("Job")
        emu.jobs[job_id] = {
            "id": job_id, "operation": body["operation"], "object": spec.name,
            "createdById": next(iter(org.records["User"]), None),
            "createdDate": stamp, "systemModstamp": stamp, "state": "Open", "externalIdFieldName": external,
            "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(req.version),
            "jobType": "V2Ingest",
            "lineEnding": body.get("lineEnding", "LF"), "columnDelimiter": body.get("columnDelimiter", "COMMA"),
            "numberRecordsProcessed": 0, "numberRecordsFailed": 0, "retries": 0, "totalProcessingTime": 0,
            "assignmentRuleId": body.get("assignmentRuleId"),
            "contentUrl": f"services/data/v{req.version}/jobs/ingest/{job_id}/batches",
            "_data": None, "_results": {"successfulresults": [], "failedresults": [], "unprocessedrecords": []},
            "_header": [],
        }
        return Response(200, job_info(emu.jobs[job_id]) | {"contentUrl": emu.jobs[job_id]["contentUrl"]})

    @emu.route("PUT", r"/jobs/ingest/(?P<job>\w+)/batches", "bulk_upload")
    def upload(req: Request) -> Response:
        job = get_job(req)
        if job["state"] != "Open" or job["_data"] is not None:
            raise RequestError(409, "INVALIDJOBSTATE", f"Found multiple contents for job: <{job['id']}>, please "
                               "'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you "
                               "only do 'PUT' once on a given Job.")
        job["_data"] = req.raw_body.decode("utf-8")
        return Response(201)

    @emu.route("PATCH", r"/jobs/ingest/(?P<job>\w+)", "bulk_close_job")
    def set_state(req: Request) -> Response:
        job = get_job(req)
        wanted = (req.json() or {}).get("state")
        if wanted == "Aborted" and job["state"] in ("Open", "UploadComplete", "InProgress"):
            job["state"] = "Aborted"
            return Response(200, job_info(job))
        if wanted != "UploadComplete" or job["state"] != "Open":
            raise RequestError(400, "INVALIDJOBSTATE", f"Job state {job['state']} cannot change to {wanted}")
        answer = job_info(job) | {"state": "UploadComplete"}
        process(job)
        return Response(200, answer)

    def process(job: dict[str, Any]) -> None:
        spec = org.schema[job["object"]]
        if not job["_data"]:
            job.update(state="Failed", errorMessage="InvalidBatch : Failed to process query: no data uploaded")
            return
        rows = list(csv.reader(io.StringIO(job["_data"], newline=""), delimiter=DELIMITERS[job["columnDelimiter"]]))
        header, data = rows[0], [r for r in rows[1:] if r]
        unknown = [h for h in header if spec.get(h) is None]
        if unknown:
            job.update(state="Failed", errorMessage=f"InvalidBatch : Field name not found : {unknown[0]}")
            job["_results"]["unprocessedrecords"] = data
            job["_header"] = header
            return
        options = WriteOptions(
            auto_assign_owner=emu.faults.auto_assign_owner if job.get("assignmentRuleId") else None,
            reject_emails={k.lower(): v for k, v in emu.faults.reject_emails.items()}, lenient_types=True,
            lookup=Lookup(org))
        external = job["externalIdFieldName"]
        ext_index = next((i for i, h in enumerate(header) if (f := spec.get(h)) is not None and f.name == external),
                         None)
        seen = Counter(r[ext_index].lower() for r in data if ext_index is not None and len(r) > ext_index)
        job["_header"] = header
        for row in data:
            record_id = ""
            try:
                cells = {h: (None if v == "#N/A" else v) for h, v in zip(header, row, strict=False) if v != ""}
                values = canonical_fields(org, spec, cells, options)
                record_id, created = _write(job, spec.name, values, seen, options)
                job["_results"]["successfulresults"].append([record_id, "true" if created else "false", *row])
            except RecordError as exc:
                text = f"{exc.code}:{exc.message}:{','.join(exc.fields)} --"
                job["_results"]["failedresults"].append([exc.record_id or record_id, text, *row])
                job["numberRecordsFailed"] += 1
            job["numberRecordsProcessed"] += 1
        job.update(state="JobComplete", systemModstamp=org.stamp())

    def _write(job: dict[str, Any], sobject: str, values: dict[str, Any], seen: Counter[str],
               options: WriteOptions) -> tuple[str, bool]:
        operation = job["operation"]
        if operation in ("update", "delete"):
            raw = values.get("Id")
            record_id = normalise_id(raw) if raw else None
            if record_id is None:
                raise RecordError("MISSING_ARGUMENT" if not raw else "MALFORMED_ID",
                                  "Id not specified in an update call" if not raw else f"malformed id {raw}", ["Id"])
            if operation == "delete":
                return delete(org, record_id), False
            try:
                return save(org, sobject, record_id, values, options), False
            except RecordError as exc:
                exc.record_id = record_id
                raise
        if operation == "insert":
            return save(org, sobject, None, values, options), True
        field = job["externalIdFieldName"]
        key = values.get(field)
        if key in (None, ""):
            raise RecordError("MISSING_ARGUMENT", f"{field} not specified", [field])
        if seen[str(key).lower()] > 1:
            raise RecordError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {key}", [field])
        matches = external_matches(org, org.schema[sobject], field, str(key), options.lookup)
        if len(matches) > 1:
            raise RecordError("DUPLICATE_EXTERNAL_ID",
                              f"{field}: more than one record found for external id field: {matches}", [field])
        if matches:
            rest = {k: v for k, v in values.items() if k != field}
            try:
                return save(org, sobject, matches[0], rest, options), False
            except RecordError as exc:
                exc.record_id = matches[0]
                raise
        return save(org, sobject, None, values, options), True

    @emu.route("GET", r"/jobs/ingest/(?P<job>\w+)", "bulk_get_job")
    def read_job(req: Request) -> Response:
        return Response(200, job_info(get_job(req)))

    @emu.route("DELETE", r"/jobs/ingest/(?P<job>\w+)", "bulk_delete_job")
    def delete_job(req: Request) -> Response:
        job = get_job(req)
        if job["state"] in ("Open", "InProgress"):
            return error_response(400, "INVALIDJOBSTATE", "Job must be closed, aborted or complete to be deleted")
        del emu.jobs[job["id"]]
        return Response(204)

    @emu.route("GET", r"/jobs/ingest/(?P<job>\w+)/(?P<kind>successfulResults|failedResults|unprocessedRecords)",
               "bulk_results")
    def results(req: Request) -> Response:
        job = get_job(req)
        kind = req.group("kind").lower()
        prefix = {"successfulresults": ["sf__Id", "sf__Created"], "failedresults": ["sf__Id", "sf__Error"],
                  "unprocessedrecords": []}[kind]
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(prefix + job["_header"])
        writer.writerows(job["_results"][kind])
        return Response(200, out.getvalue(), "text/csv")

