"""Lead and Contact writes: sObject Collections (200 records, five to a Composite call) or Bulk API 2.0.

Every call uses allOrNone=false, so one bad record is one rejection and the other 199 land.
`Sforce-Auto-Assign: FALSE` keeps the org's assignment rule from overwriting the owner
leadsync routed, unless the config defers to the org's rules.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import Operation, SFBulk2Handler, SFBulk2Type

from connectors.crm.salesforce import composite
from connectors.crm.salesforce.client import RETRIABLE_CODES, SalesforceClient
from connectors.crm.salesforce.composite import Sub, SubResult
from connectors.crm.salesforce.config import SalesforceConfig
from connectors.records import OutcomeStatus
from connectors.redaction import redact

COLLECTION_LIMIT = 200
MAX_JOB_BYTES = 99 * 1024 * 1024  # Bulk 2.0 takes 100 MB per job upload (simple-salesforce's own margin)


@dataclass
class Write:
    """One record to write; `record_id` for updates, the lead key in `fields` for upserts."""

    ref: str  # the lead key: how results find their way back
    sobject: str
    fields: dict[str, Any]
    record_id: str | None = None


@dataclass
class WriteResult:
    status: OutcomeStatus
    record_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retriable: bool = False


class Writer:
    def __init__(self, client: SalesforceClient, config: SalesforceConfig, key_field: str | None) -> None:
        self.client = client
        self.config = config
        self.key_field = key_field if config.upsert_on_lead_key else None
        self.headers = {"Sforce-Auto-Assign": "TRUE" if config.use_assignment_rules else "FALSE"}

    def write(self, creates: Sequence[Write], updates: Sequence[Write]) -> dict[str, WriteResult]:
        """Each Lead operation with at least bulk_threshold records is one Bulk 2.0 job; the rest go as
        Collections. The job and the Collections touch different records, so they run side by side."""
        jobs: list[tuple[list[Write], str]] = []
        if self.key_field:
            lead_updates = [u for u in updates if u.sobject == "Lead"]
            for writes, operation in ((list(creates), "upsert"), (lead_updates, "update")):
                if len(writes) >= self.config.bulk_threshold:
                    jobs.append((writes, operation))
            if any(operation == "upsert" for _, operation in jobs):
                creates = []
            if any(operation == "update" for _, operation in jobs):
                updates = [u for u in updates if u.sobject != "Lead"]
        # sObject Collections of 200, bundled five to a Composite call (one API call per 1,000 records).
        chunks = [(creates[i:i + COLLECTION_LIMIT], True) for i in range(0, len(creates), COLLECTION_LIMIT)]
        chunks += [(updates[i:i + COLLECTION_LIMIT], False) for i in range(0, len(updates), COLLECTION_LIMIT)]
        subs = [self._collection(chunk, create=create) for chunk, create in chunks]
        calls: list[Callable[[], dict[str, WriteResult]]] = [
            *(partial(self._bulk, writes, operation) for writes, operation in jobs),
            lambda: self._collections_results(chunks, composite.run(self.client, subs))]
        parts = self.client.concurrently(calls)
        return {ref: result for part in parts for ref, result in part.items()}

    def _collections_results(self, chunks: Sequence[tuple[Sequence[Write], bool]],
                             answers: Sequence[SubResult]) -> dict[str, WriteResult]:
        results: dict[str, WriteResult] = {}
        for (chunk, create), answer in zip(chunks, answers, strict=True):
            results.update(self._collection_results(chunk, answer, create=create))
        return results

    def _collection(self, chunk: Sequence[Write], *, create: bool) -> Sub:
        records = [{"attributes": {"type": w.sobject}, **w.fields, **({"id": w.record_id} if w.record_id else {})}
                   for w in chunk]
        body = {"allOrNone": False, "records": records}
        if create and self.key_field is not None:
            return Sub("PATCH", f"composite/sobjects/Lead/{self.key_field}", body, self.headers)
        return Sub("POST" if create else "PATCH", "composite/sobjects", body, self.headers)

    def _collection_results(self, chunk: Sequence[Write], answer: SubResult, *,
                            create: bool) -> dict[str, WriteResult]:
        if answer.status >= 400:  # the whole request refused (e.g. a field the org lacks)
            code, message = answer.error()
            retriable = answer.status >= 500 or None
            return {w.ref: _rejected(code, _scrub(message, w.fields.values()), retriable=retriable) for w in chunk}
        results: dict[str, WriteResult] = {}
        answer_rows = answer.body if isinstance(answer.body, list) else []
        for write, result in zip(chunk, answer_rows, strict=False):
            if result.get("success"):
                created = result.get("created", create) is not False and create
                results[write.ref] = WriteResult(OutcomeStatus.CREATED if created else OutcomeStatus.UPDATED,
                                                 record_id=str(result.get("id") or write.record_id))
            else:
                error = (result.get("errors") or [{}])[0]
                results[write.ref] = _rejected(str(error.get("statusCode") or "ERROR"),
                                               _message(error, write.fields.values()))
        for write in chunk[len(answer_rows):]:  # Salesforce answers every record; a short answer is a server fault
            results[write.ref] = _rejected("NO_RESULT", "Salesforce returned no result for this record",
                                           retriable=True)
        return results

    def _bulk(self, writes: Sequence[Write], operation: str) -> dict[str, WriteResult]:
        """Bulk API 2.0 ingest: one job, results read back per record from the job's result files."""
        if not writes:
            return {}
        id_column = self.key_field if operation == "upsert" else "Id"
        assert id_column is not None
        columns = sorted({name for w in writes for name in w.fields} | {id_column})
        by_id: dict[str, Write] = {}
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\n")  # what simple-salesforce writes: comma, LF, minimal quoting
        out.writerow(columns)
        id_at = columns.index(id_column)
        for write in writes:
            row = [_csv_value(write.record_id if c == "Id" else write.fields.get(c)) for c in columns]
            by_id[row[id_at]] = write
            out.writerow(row)
        jobs = self.client.call(lambda sf: _upload(_bulk_leads(sf), operation, len(writes), buffer.getvalue(),
                                                   id_column, self.config.bulk_poll_seconds))
        results: dict[str, WriteResult] = {}
        for job in jobs:
            job_id = job["job_id"]
            successful, failed = self.client.concurrently([  # the two result files side by side
                lambda: self.client.call(lambda sf: _bulk_leads(sf).get_successful_records(job_id)),  # noqa: B023
                lambda: self.client.call(lambda sf: _bulk_leads(sf).get_failed_records(job_id))])  # noqa: B023
            for row in _rows(successful, id_column, "sf__Id", "sf__Created"):
                if (found := by_id.get(row[0])) is not None:
                    created = row[2].lower() == "true"
                    results[found.ref] = WriteResult(OutcomeStatus.CREATED if created else OutcomeStatus.UPDATED,
                                                     record_id=row[1] or found.record_id)
            for row in _rows(failed, id_column, "sf__Error"):
                if (found := by_id.get(row[0])) is not None:
                    code, _, message = (row[1] or "ERROR").partition(":")
                    results[found.ref] = _rejected(code.strip(), _scrub(message.strip(), found.fields.values()))
        for write in writes:  # unprocessed (job aborted midway): try again next run
            results.setdefault(write.ref, _rejected("UNPROCESSED", "the Bulk API job did not process this record",
                                                    retriable=True))
        return results


def _upload(leads: SFBulk2Type, operation: str, count: int, data: str, id_column: str,
            wait: int) -> list[dict[str, Any]]:
    """One ingest job for the CSV: create, upload, close, poll (simple-salesforce's own job flow).

    simple-salesforce's public upsert/update take dicts, write them as CSV, then parse that CSV twice
    more to count and split it: three passes over up to 10,000 rows per batch, a large share of a
    Bulk run's CPU. Its `_upload_data` takes the finished CSV (the package is pinned below 1.13). A
    file too large for one job goes through the public path, which splits it.
    """
    external_id = id_column if operation == "upsert" else None
    if len(data.encode()) < MAX_JOB_BYTES:
        return [leads._upload_data(Operation(operation), (count, data), external_id_field=external_id, wait=wait)]
    rows = list(csv.DictReader(io.StringIO(data)))
    extra = {"external_id_field": id_column} if external_id else {}
    return cast(list[dict[str, Any]], getattr(leads, operation)(records=rows, wait=wait, **extra))


def _bulk_leads(sf: Salesforce) -> SFBulk2Type:
    return cast(SFBulk2Handler, sf.bulk2).Lead


def _rows(text: str | None, *columns: str) -> Iterator[list[str]]:
    """The named columns of each row of a result file (it repeats every column sent: only these are read)."""
    reader = csv.reader(io.StringIO(text or ""))
    header = next(reader, None)
    if header is None:
        return
    where = [header.index(c) if c in header else -1 for c in columns]
    for row in reader:
        yield [row[i] if 0 <= i < len(row) else "" for i in where]


def _csv_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _message(error: dict[str, Any], sent: Iterable[Any]) -> str:
    fields = error.get("fields") or []
    suffix = f" (fields: {', '.join(map(str, fields))})" if fields else ""
    return _scrub(f"{error.get('message', '')}{suffix}", sent)


def _scrub(message: str, sent: Iterable[Any]) -> str:
    """Salesforce quotes the offending value in some messages ("data value too large: <value>"). The values
    we sent are personal data (names, companies), so each one is masked before the text is stored."""
    for value in sorted((str(v) for v in sent if isinstance(v, str) and len(v) >= 3), key=len, reverse=True):
        message = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", "<value>", message)  # whole values only
    return redact(message, max_length=500)


def _rejected(code: str, message: str, *, retriable: bool | None = None) -> WriteResult:
    return WriteResult(OutcomeStatus.REJECTED, error_code=f"SF:{code}", error_message=message,
                       retriable=code in RETRIABLE_CODES if retriable is None else retriable)
