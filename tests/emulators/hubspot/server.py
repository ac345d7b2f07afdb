"""A stateful HubSpot CRM emulator on 127.0.0.1 that the real hubspot-api-client talks to over HTTP.

Covers what leadsync uses: owners, contacts batch read / upsert / create / update (100 inputs max,
e-mail matched case-insensitively), contacts and companies search (search.py: filter groups, sorts,
paging, 10,000 cap, a search index that lags writes), properties list / create, v3 manual lists and
memberships. A 10-second rolling rate limiter answers 429 like HubSpot (policyName, headers), search
has its own per-second limit, a daily budget answers 429 DAILY, and faults (statuses, per-record
rejections, late answers past the client's timeout) are injected by configuration. Every call is counted.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from tests.emulators.hubspot.state import Account, now_iso

Handler = Callable[["Request"], tuple[int, Any]]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    match: re.Match[str]


@dataclass
class Faults:
    statuses: list[int] = field(default_factory=list)          # next responses forced to these statuses
    reject_emails: dict[str, str] = field(default_factory=dict)  # e-mail -> per-record error message
    daily_remaining: int | None = None
    latency: float = 0.0
    window_seconds: float = 10.0
    window_max: int = 190
    search_per_second: int = 5        # search has its own, lower limit (429 SECONDLY, no rate-limit headers)
    search_lag_seconds: float = 0.0   # writes reach the search index this much later (eventual consistency)
    timeouts: int = 0                 # the next N requests are processed, then answered after timeout_sleep
    timeout_sleep: float = 2.0        # longer than the client's request timeout in the tests


class HubSpotEmulator:
    def __init__(self, port: int = 0) -> None:
        self.account = Account()
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.throttled = 0  # calls answered 429
        self.timed_out = 0  # calls answered too late (faults.timeouts)
        self._window: deque[float] = deque()
        self._search_window: deque[float] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)  # a quick shutdown keeps the tests fast
        self.routes: list[tuple[str, re.Pattern[str], str, Handler, bool]] = []
        from tests.emulators.hubspot import routes

        routes.register(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> HubSpotEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route(self, method: str, pattern: str, name: str, search: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append((method, re.compile(f"^{pattern}/?$"), name, handler, search))
            return handler

        return register

    def create_contact(self, properties: dict[str, Any], modified_at: str | None = None) -> str:
        """A contact entered by hand in HubSpot (or by another tool): no API call is counted."""
        with self.account.lock:
            return self.account.write_contact(None, properties, self.faults.search_lag_seconds, modified_at)[0]

    def write_calls(self) -> int:
        return sum(n for name, n in self.calls.items() if name.startswith(("contacts.batch.upsert",
                   "contacts.batch.create", "contacts.batch.update", "lists.memberships", "lists.create")))

    # rate limiting ---------------------------------------------------------------------------------------
    def _rate_limit(self) -> tuple[int, Any, dict[str, str]] | None:
        faults = self.faults
        with self._lock:
            now = time.monotonic()
            while self._window and now - self._window[0] >= faults.window_seconds:
                self._window.popleft()
            headers = {"X-HubSpot-RateLimit-Max": str(faults.window_max),
                       "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(faults.window_seconds * 1000))}
            if faults.daily_remaining is not None and faults.daily_remaining <= 0:
                self.throttled += 1
                return 429, _error("You have reached your daily limit.", "RATE_LIMITS", policy="DAILY"), headers
            if len(self._window) >= faults.window_max:
                self.throttled += 1
                headers["X-HubSpot-RateLimit-Remaining"] = "0"
                return 429, _error("You have reached your ten_secondly_rolling limit.", "RATE_LIMITS",
                                   policy="TEN_SECONDLY_ROLLING"), headers
            self._window.append(now)
            if faults.daily_remaining is not None:
                faults.daily_remaining -= 1
                headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(faults.daily_remaining)
            headers["X-HubSpot-RateLimit-Remaining"] = str(faults.window_max - len(self._window))
            self._last_headers = headers
        return None

    def _search_limit(self) -> tuple[int, Any, dict[str, str]] | None:
        """HubSpot's search limit: a few requests per second, answered without X-HubSpot-RateLimit headers."""
        with self._lock:
            now = time.monotonic()
            while self._search_window and now - self._search_window[0] >= 1.0:
                self._search_window.popleft()
            if len(self._search_window) >= self.faults.search_per_second:
                self.throttled += 1
                return 429, _error("You have reached your secondly limit.", "RATE_LIMITS", policy="SECONDLY"), {}
            self._search_window.append(now)
        return None

    # dispatch --------------------------------------------------------------------------------------------
    def dispatch(self, method: str, raw_path: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        parsed = urlparse(raw_path)
        path = parsed.path.rstrip("/") or "/"
        for route_method, pattern, name, handler, search in self.routes:
            match = pattern.match(path)
            if route_method == method and match:
                self.calls[name] += 1
                if self.faults.latency:
                    time.sleep(self.faults.latency)
                limited = self._search_limit() if search else self._rate_limit()
                if limited is not None:
                    return limited
                headers = {} if search else dict(self._last_headers)
                if self.faults.statuses:
                    status = self.faults.statuses.pop(0)
                    return status, _error("injected fault", "INTERNAL_ERROR"), headers
                try:
                    payload = json.loads(body) if body else None
                except json.JSONDecodeError:
                    return 400, _error("Invalid input JSON", "VALIDATION_ERROR"), headers
                query = {k.lower(): v for k, v in parse_qs(parsed.query).items()}
                with self.account.lock:
                    status, response = handler(Request(method, unquote(path), query, payload, match))
                with self._lock:
                    late, self.faults.timeouts = self.faults.timeouts > 0, max(0, self.faults.timeouts - 1)
                if late:  # the work is done, the answer comes after the client has given up
                    self.timed_out += 1
                    time.sleep(self.faults.timeout_sleep)
                return status, response, headers
        self.calls["unknown"] += 1
        return 404, _error(f"No route for {method} {path}", "OBJECT_NOT_FOUND"), {}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; with Nagle on, the body waits for the client's
            # delayed ACK (~40 ms per request on loopback), so a configured latency was not the latency.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if not str(self.headers.get("Authorization", "")).startswith("Bearer "):
                    status, payload, headers = 401, _error("Authentication credentials not found.",
                                                           "INVALID_AUTHENTICATION"), {}
                else:
                    status, payload, headers = emulator.dispatch(self.command, self.path, body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client timed out and hung up

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def _error(message: str, category: str, policy: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                            "category": category}
    if policy:
        body.update(errorType="RATE_LIMIT", policyName=policy, groupName="publicapi:private-app")
    return body


def error(message: str, category: str = "VALIDATION_ERROR") -> dict[str, Any]:
    return _error(message, category)


def batch_response(results: list[dict[str, Any]], errors: list[dict[str, Any]],
                   success: int = 200) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": now_iso(),
                            "completedAt": now_iso()}
    if errors:
        body.update(numErrors=len(errors), errors=errors)
        return 207, body
    return success, body
