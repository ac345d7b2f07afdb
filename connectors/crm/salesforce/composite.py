"""Several REST requests in one API call: the Composite resource (POST /composite).

Salesforce counts a composite request as one call against the org's daily allocation and runs up
to 25 subrequests, at most 5 of which may be sObject Collections (200 records each) or queries.
So five 200-record upserts, or five look-up queries, cost one call instead of five: this is how
1,000 new leads fit in about a dozen calls. Subrequests are independent (allOrNone false): each
has its own status and body, in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote, unquote

from connectors.crm.salesforce.client import SalesforceBadRequest, SalesforceClient
from connectors.errors import RetriableError

PER_CALL = 5  # sObject Collections or queries per composite request (Salesforce's limit)


@dataclass(frozen=True)
class Sub:
    method: str
    path: str  # relative to /services/data/vXX.X/, e.g. "composite/sobjects" or "query?q=..."
    body: Any = None
    headers: dict[str, str] | None = None  # e.g. Sforce-Auto-Assign, sent with this subrequest


@dataclass(frozen=True)
class SubResult:
    status: int
    body: Any

    def error(self) -> tuple[str, str]:
        """(errorCode, message) of a failed subrequest."""
        first = self.body[0] if isinstance(self.body, list) and self.body else {}
        first = first if isinstance(first, dict) else {}
        return str(first.get("errorCode") or f"HTTP_{self.status}"), str(first.get("message") or "")


def run(client: SalesforceClient, subs: Sequence[Sub]) -> list[SubResult]:
    """Every subrequest's result, in order, PER_CALL subrequests per call (a lone one goes as is).

    The calls are independent (allOrNone false), so they go side by side (`client.concurrently`).
    """
    chunks = [subs[start:start + PER_CALL] for start in range(0, len(subs), PER_CALL)]
    answers = client.concurrently([partial(_call, client, chunk) for chunk in chunks])
    return [result for answer in answers for result in answer]


def _call(client: SalesforceClient, chunk: Sequence[Sub]) -> list[SubResult]:
    if len(chunk) == 1:
        return [_single(client, chunk[0])]
    body = {"allOrNone": False, "compositeRequest": [
        {"method": sub.method, "url": f"/services/data/v{client.api_version}/{sub.path}", "referenceId": f"r{i}",
         **({"body": sub.body} if sub.body is not None else {}),
         **({"httpHeaders": sub.headers} if sub.headers else {})} for i, sub in enumerate(chunk)]}
    headers = {k: v for sub in chunk for k, v in (sub.headers or {}).items()}
    answer = client.rest("composite", method="POST", json=body, **({"headers": headers} if headers else {})) or {}
    items = answer.get("compositeResponse") or []
    results = [SubResult(int(item.get("httpStatusCode") or 500), item.get("body")) for item in items]
    results += [SubResult(500, [{"errorCode": "NO_RESULT", "message": "no result for this subrequest"}])
                for _ in chunk[len(items):]]
    return results


def _single(client: SalesforceClient, sub: Sub) -> SubResult:
    path, _, query = sub.path.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&") if "=" in part) if query else None
    try:
        if path == "query":  # through simple-salesforce's query (it encodes q itself)
            soql = unquote((params or {})["q"])
            return SubResult(200, client.call(lambda sf: sf.query(soql, timeout=client.timeout)))
        options: dict[str, Any] = {"json": sub.body} if sub.body is not None else {}
        options.update({"params": params} if params else {})
        options.update({"headers": sub.headers} if sub.headers else {})
        body = client.rest(path, method=sub.method, **options)
        return SubResult(200, body)
    except SalesforceBadRequest as exc:
        return SubResult(exc.status, [{"errorCode": exc.code, "message": exc.message}])


def query_path(soql: str) -> str:
    return "query?q=" + quote(soql, safe="")


def queries(client: SalesforceClient, soqls: Sequence[str]) -> Iterator[list[dict[str, Any]]]:
    """Records of each query (in order), the first pages bundled; further pages follow nextRecordsUrl."""
    for result in run(client, [Sub("GET", query_path(s)) for s in soqls]):
        if result.status >= 500:
            raise RetriableError(f"Salesforce query failed ({result.status} {result.error()[0]})")
        if result.status >= 400:
            code, message = result.error()
            raise SalesforceBadRequest(result.status, code, message)
        page = result.body
        rows = list(page.get("records") or [])
        while not page.get("done", True):
            next_url = page["nextRecordsUrl"]
            page = client.call(lambda sf: sf.query_more(next_url, identifier_is_url=True,  # noqa: B023
                                                        timeout=client.timeout))
            rows += page.get("records") or []
        yield rows
