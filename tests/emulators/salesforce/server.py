"""A stateful Salesforce REST emulator on 127.0.0.1 that the real simple-salesforce client talks to over HTTP.

Serves SOQL query/queryAll with paging, sObject CRUD and upsert by external id, sObject Collections, describe,
limits and Bulk API 2.0 ingest. Sessions are issued and expired on demand, every response carries
Sforce-Limit-Info, a daily request allocation answers 403 REQUEST_LIMIT_EXCEEDED, and faults are configurable.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.emulators.salesforce.login import LOGIN_PATH, Logins, handle_login
from tests.emulators.salesforce.soql import SoqlError
from tests.emulators.salesforce.state import Org
from tests.emulators.salesforce.writes import RecordError, RequestError

FAULT_MESSAGES = {
    "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
    "SERVER_UNAVAILABLE": "Server unavailable, please try again later.",
    "UNKNOWN_EXCEPTION": "An unexpected error occurred. Please include this ErrorId if you contact support: "
                         "1234567890-12345 (-1234567890)",
}
_MAX_REQUEST_LINE = 1 << 20  # the stdlib stops at 64 KiB; Salesforce's own URI limit is enforced separately


@dataclass
class Faults:
    statuses: list[tuple[int, str]] = field(default_factory=list)          # next responses forced: (status, code)
    reject_emails: dict[str, tuple[str, str]] = field(default_factory=dict)  # e-mail -> (statusCode, message)
    timeouts: int = 0                 # the next N requests sleep timeout_seconds before answering
    timeout_seconds: float = 3.0
    latency: float = 0.0              # sleep per request
    daily_max: int = 15000
    daily_used: int = 0
    auto_assign_owner: str | None = None  # an active lead assignment rule that assigns to this owner id
    max_uri_bytes: int | None = 16384     # Salesforce answers 414 URI Too Long past this


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]           # lower-case names
    raw_body: bytes
    match: re.Match[str]
    version: str

    def json(self) -> Any:
        if not self.raw_body:
            return None
        try:
            return json.loads(self.raw_body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RequestError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None

    def group(self, name: str) -> str:
        return unquote(self.match.group(name))

    def auto_assign(self) -> bool:
        """Sforce-Auto-Assign: absent or TRUE (or an AssignmentRule id) runs the active rule; FALSE does not."""
        return self.headers.get("sforce-auto-assign", "TRUE").strip().upper() != "FALSE"


@dataclass
class Response:
    status: int
    body: Any = None
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


def error_response(status: int, code: str, message: str) -> Response:
    return Response(status, [{"message": message, "errorCode": code}])


class SalesforceEmulator:
    def __init__(self, api_version: str = "59.0", port: int = 0) -> None:
        self.api_version = api_version
        self.org = Org()
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.subrequests: Counter[str] = Counter()  # what Composite requests ran inside (see routes_bundle)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.in_flight = 0       # requests being answered right now
        self.max_in_flight = 0   # the most at once since the last reset: how concurrent the client is
        self.spans: list[tuple[str, str, float, float]] = []  # method, path, start, end (perf_counter)
        self.sessions: set[str] = set()
        self.cursors: dict[str, tuple[list[dict[str, Any]], int]] = {}  # query locator -> rows, batch size
        self.jobs: dict[str, dict[str, Any]] = {}
        self.logins = Logins()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        from tests.emulators.salesforce import bulk, routes_bundle, routes_composite, routes_query, routes_sobjects

        for module in (routes_query, routes_sobjects, routes_composite, bulk, routes_bundle):
            module.register(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> SalesforceEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self.org.lock:
            self.org.clear()
            fresh = Faults()
            for spec in fields(Faults):
                setattr(self.faults, spec.name, getattr(fresh, spec.name))
            self.calls.clear()
            self.subrequests.clear()
            self.requests.clear()
            self.in_flight = self.max_in_flight = 0
            self.spans.clear()
            self.sessions.clear()
            self.cursors.clear()
            self.jobs.clear()
            self.logins = Logins()

    def issue_session(self) -> str:
        token = f"00D5g000000Emu!{secrets.token_urlsafe(32)}"
        with self._lock:
            self.sessions.add(token)
        return token

    def expire_sessions(self) -> None:
        with self._lock:
            self.sessions.clear()

    @property
    def daily_used(self) -> int:
        return self.faults.daily_used

    def route(self, method: str, pattern: str, name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            regex = re.compile(rf"^/services/data/v(?P<version>\d+\.\d){pattern}/?$", re.IGNORECASE)
            self.routes.append((method, regex, name, handler))
            return handler

        return register

    # dispatch ------------------------------------------------------------------------------------------------------
    def dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        start = time.perf_counter()
        try:
            return self._dispatch(method, raw_path, headers, body)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.spans.append((method, urlsplit(raw_path).path, start, time.perf_counter()))

    def _dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        faults = self.faults
        if faults.max_uri_bytes is not None and len(raw_path.encode()) > faults.max_uri_bytes:
            return Response(414, "URI Too Long", "text/plain;charset=UTF-8")
        if faults.latency:
            time.sleep(faults.latency)
        with self._lock:
            stall = faults.timeouts > 0
            if stall:
                faults.timeouts -= 1
            self.requests.append((method, raw_path, dict(headers)))
        if stall:  # the client times out first; the request is still processed afterwards, as on a real server
            time.sleep(faults.timeout_seconds)
        lowered = {k.lower(): v for k, v in headers.items()}
        split = urlsplit(raw_path)
        if LOGIN_PATH.match(split.path) and method == "POST":  # login.salesforce.com: no session needed
            with self._lock:
                self.calls["login"] += 1
            return handle_login(self, split.path, body)
        path = split.path.rstrip("/") or "/"
        found = next(((name, handler, m) for verb, regex, name, handler in self.routes
                      if verb == method and (m := regex.match(path))), None)
        with self._lock:
            self.calls[found[0] if found else "unknown"] += 1
            auth = lowered.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.sessions:
                return error_response(401, "INVALID_SESSION_ID", "Session expired or invalid")
            faults.daily_used += 1
            if faults.daily_used > faults.daily_max:
                return error_response(403, "REQUEST_LIMIT_EXCEEDED", FAULT_MESSAGES["REQUEST_LIMIT_EXCEEDED"])
            forced = faults.statuses.pop(0) if faults.statuses else None
        if forced is not None:
            status, code = forced
            return error_response(status, code, FAULT_MESSAGES.get(code, f"injected {code}"))
        if found is None:
            return error_response(404, "NOT_FOUND", "The requested resource does not exist")
        _name, handler, match = found
        query = {k: v for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        request = Request(method, path, query, lowered, body, match, match.group("version"))
        try:
            with self.org.lock:
                return handler(request)
        except RequestError as exc:
            return Response(exc.status, exc.body())
        except SoqlError as exc:
            return error_response(400, exc.code, exc.message)
        except RecordError as exc:
            return Response(400, [exc.rest()])

    def limit_header(self) -> str:
        return f"api-usage={self.faults.daily_used}/{self.faults.daily_max}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; with Nagle on, the body waits for the client's
            # delayed ACK (~40 ms per request on loopback), so a configured latency was not the latency.
            disable_nagle_algorithm = True

            def handle_one_request(self) -> None:
                # The stdlib version caps the request line at 64 KiB; long SOQL URIs must reach dispatch().
                self.raw_requestline = self.rfile.readline(_MAX_REQUEST_LINE + 1)
                if not self.raw_requestline or len(self.raw_requestline) > _MAX_REQUEST_LINE:
                    self.close_connection = True
                    return
                if not self.parse_request():
                    return
                self._serve()
                self.wfile.flush()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                response = emulator.dispatch(self.command, self.path, dict(self.headers.items()), body)
                if isinstance(response.body, bytes | str):
                    data = response.body.encode() if isinstance(response.body, str) else response.body
                else:
                    data = b"" if response.body is None else json.dumps(response.body).encode()
                self.send_response(response.status)
                if data or response.status != 204:
                    self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Sforce-Limit-Info", emulator.limit_header())
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
