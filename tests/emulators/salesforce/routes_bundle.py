"""The Composite resource: POST /composite runs up to 25 subrequests in one API call.

Salesforce counts the whole request as one call against the daily allocation, allows at most 5
subrequests that are sObject Collections or queries, and answers 200 with one entry per
subrequest ({body, httpHeaders, httpStatusCode, referenceId}) in order; with allOrNone false a
failing subrequest does not stop the others. Subrequests are counted in `emulator.subrequests`
under their own route names; a bundle of reads only is counted as `query_bundle`, so it never
looks like a write.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.emulators.salesforce.server import Request, Response, error_response
from tests.emulators.salesforce.soql import SoqlError
from tests.emulators.salesforce.writes import RecordError, RequestError

if TYPE_CHECKING:
    from tests.emulators.salesforce.server import SalesforceEmulator

MAX_SUBREQUESTS = 25
MAX_HEAVY = 5  # sObject Collections or query subrequests per composite request


def _heavy(url: str) -> bool:
    path = urlsplit(url).path
    return "/composite/sobjects" in path or path.rstrip("/").endswith(("/query", "/queryAll"))


def register(emu: SalesforceEmulator) -> None:
    def run(req: Request, sub: dict[str, Any]) -> tuple[int, Any]:
        method, url = str(sub.get("method", "GET")).upper(), str(sub.get("url", ""))
        split = urlsplit(url)
        path = split.path.rstrip("/")
        found = next(((name, handler, m) for verb, regex, name, handler in emu.routes
                      if verb == method and (m := regex.match(path))), None)
        if found is None:
            return 404, [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
        name, handler, match = found
        emu.subrequests[name] += 1
        body = json.dumps(sub["body"]).encode() if sub.get("body") is not None else b""
        headers = {**req.headers, **{k.lower(): str(v) for k, v in (sub.get("httpHeaders") or {}).items()}}
        inner = Request(method, path, parse_qs(split.query, keep_blank_values=True), headers, body, match,
                        match.group("version"))
        try:
            response = handler(inner)
        except RequestError as exc:
            return exc.status, exc.body()
        except SoqlError as exc:
            return 400, [{"message": exc.message, "errorCode": exc.code}]
        except RecordError as exc:
            return 400, [exc.rest()]
        return response.status, response.body

    @emu.route("POST", "/composite", "composite")
    def composite(req: Request) -> Response:
        try:
            subs = json.loads(req.raw_body or b"{}").get("compositeRequest") or []
        except ValueError:
            return error_response(400, "JSON_PARSER_ERROR", "malformed JSON")
        if len(subs) > MAX_SUBREQUESTS or sum(_heavy(str(s.get("url", ""))) for s in subs) > MAX_HEAVY:
            return error_response(400, "INVALID_INPUT", f"at most {MAX_SUBREQUESTS} subrequests, of which at most "
                                  f"{MAX_HEAVY} sObject Collections or queries")
        answers = []
        for sub in subs:
            status, body = run(req, sub)
            answers.append({"body": body, "httpHeaders": {}, "httpStatusCode": status,
                            "referenceId": sub.get("referenceId")})
        if subs and all(str(s.get("method", "GET")).upper() == "GET" for s in subs):
            emu.calls["composite"] -= 1  # reads only: not a write call
            emu.calls["query_bundle"] += 1
        return Response(200, {"compositeResponse": answers})
