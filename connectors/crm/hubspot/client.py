"""One place for HubSpot HTTP behaviour: error taxonomy, 429 policies, pacing under the burst limit.

hubspot-api-client builds a new ApiClient and connection pool on every attribute access, so the
API objects are created once here. urllib3's own retries are switched off (Retry(0)) so the one
retry policy (connectors.retry) is not multiplied by another layer. Every call carries a timeout:
the generated code passes `timeout=None` to urllib3 unless `_request_timeout` is given, which
overrides any pool default and would wait forever on a stalled connection.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from hubspot import HubSpot
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from connectors.errors import FatalError, QuotaExhaustedError, RetriableError
from connectors.redaction import redact, register_secret
from connectors.retry import DEFAULT_POLICY, RetryPolicy, call_with_retries

T = TypeVar("T")
WINDOW_SECONDS = 10.0
SEARCH_WINDOW_SECONDS = 1.0  # search has its own per-second limit and sends no rate-limit headers


class _Timed:
    """An API object whose public methods all get `_request_timeout` (every generated method accepts it)."""

    def __init__(self, api: Any, timeout: float) -> None:
        self._api = api
        self._timeout = timeout

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._api, name)
        if callable(attr) and not name.startswith("_"):
            return functools.partial(attr, _request_timeout=self._timeout)
        return attr


class HubSpotBadRequest(Exception):
    """A 4xx that concerns the request's content (validation): the caller decides per record."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _body(exc: Any) -> dict[str, Any]:
    try:
        data = json.loads(getattr(exc, "body", "") or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def classify(exc: Exception) -> Exception:
    """Map any sub-package's ApiException (they share no base class) or a transport error to the taxonomy."""
    if isinstance(exc, Urllib3Error | OSError):
        if "timed out" in str(exc).lower():
            return RetriableError("HubSpot did not answer within the request timeout", code="TIMEOUT")
        return RetriableError(f"HubSpot unreachable: {redact(exc)}")
    status = getattr(exc, "status", None)
    if status is None:
        return exc
    body = _body(exc)
    message = redact(body.get("message") or getattr(exc, "reason", "") or "no message")
    headers: Mapping[str, str] = getattr(exc, "headers", None) or {}
    if status == 429:
        policy = str(body.get("policyName", "")).upper()
        if policy == "DAILY":
            return QuotaExhaustedError("HubSpot daily API limit reached; the run stops, leads stay in the inbox")
        retry_after = float(headers.get("Retry-After") or (1.0 if policy == "SECONDLY" else WINDOW_SECONDS))
        return RetriableError(f"HubSpot rate limit ({policy or 'unknown policy'})", code="RATE_LIMITED",
                              retry_after=retry_after)
    if status == 0 or status >= 500:
        return RetriableError(f"HubSpot server error {status}: {message}", code=f"HTTP_{status}")
    if status in (401, 403):
        return FatalError(f"HubSpot refused the credentials ({status} {body.get('category', '')}): {message}")
    return HubSpotBadRequest(status, message)


class HubSpotClient:
    """Cached API objects, one call wrapper: classify, retry, pace."""

    def __init__(self, access_token: str, host: str | None = None, *, requests_per_10s: int = 190,
                 margin: int = 10, policy: RetryPolicy = DEFAULT_POLICY,
                 sleep: Callable[[float], None] = time.sleep, window_seconds: float = WINDOW_SECONDS,
                 timeout_seconds: float = 30.0, searches_per_second: int = 4) -> None:
        register_secret(access_token)
        options: dict[str, Any] = {"access_token": access_token, "retry": Retry(0, raise_on_status=False)}
        if host:
            options["host"] = host
        self._hs = HubSpot(**options)
        crm = self._hs.crm
        self.contacts = _Timed(crm.contacts.batch_api, timeout_seconds)
        self.contact_search = _Timed(crm.contacts.search_api, timeout_seconds)
        self.companies = _Timed(crm.companies.search_api, timeout_seconds)
        self.owners = _Timed(crm.owners.owners_api, timeout_seconds)
        self.properties = _Timed(crm.properties.core_api, timeout_seconds)
        self.lists = _Timed(crm.lists.lists_api, timeout_seconds)
        self.memberships = _Timed(crm.lists.memberships_api, timeout_seconds)
        self.tasks = _Timed(crm.objects.tasks.batch_api, timeout_seconds)
        self.task_search = _Timed(crm.objects.tasks.search_api, timeout_seconds)
        self._policy = policy
        self._sleep = sleep
        self._budget = max(1, requests_per_10s - margin)
        self._window = window_seconds
        self._sent: deque[float] = deque()
        self._search_budget = max(1, searches_per_second)
        self._searches: deque[float] = deque()
        self._lock = threading.Lock()
        self.calls = 0

    def _pace(self, search: bool = False) -> None:
        """Stay under the 10-second window (and search's per-second limit) instead of running into 429s."""
        sent, budget, window = ((self._searches, self._search_budget, SEARCH_WINDOW_SECONDS) if search
                                else (self._sent, self._budget, self._window))
        with self._lock:
            while True:
                now = time.monotonic()
                while sent and now - sent[0] >= window:
                    sent.popleft()
                if len(sent) < budget:
                    sent.append(now)
                    return
                self._sleep(window - (now - sent[0]) + 0.01)

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """Adopt the server's view of the window (other apps share it)."""
        if not headers:
            return
        remaining, maximum = headers.get("X-HubSpot-RateLimit-Remaining"), headers.get("X-HubSpot-RateLimit-Max")
        if remaining is not None and maximum is not None and (remaining + maximum).isascii() \
                and remaining.isdigit() and maximum.isdigit():
            with self._lock:
                used_elsewhere = int(maximum) - int(remaining) - len(self._sent)
                now = time.monotonic()
                for _ in range(max(0, used_elsewhere)):
                    self._sent.append(now)

    def call(self, fn: Callable[[], T], search: bool = False) -> T:
        def attempt() -> T:
            self._pace(search)
            self.calls += 1
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - every ApiException class is distinct; classify decides
                raise classify(exc) from None

        return call_with_retries(attempt, self._policy)

    def call_with_headers(self, fn: Callable[[], tuple[T, int, Mapping[str, str]]]) -> T:
        data, _status, headers = self.call(fn)
        self.observe(headers)
        return data
