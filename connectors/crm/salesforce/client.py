"""One place for Salesforce HTTP behaviour: login, error taxonomy, session refresh, quota guard.

simple-salesforce raises one exception class per HTTP status and never retries by itself in
session-id mode, so every call goes through `SalesforceClient.call`: classify, re-authenticate
once on an expired session, retry transient failures with the one policy, and stop the run
before the org's daily API allocation is used beyond the configured share.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession, SalesforceOperationError
from simple_salesforce.login import SalesforceLogin

from connectors.crm.salesforce.config import SalesforceConfig, SalesforceCredentials
from connectors.errors import FatalError, QuotaExhaustedError, RetriableError
from connectors.redaction import redact, register_secrets
from connectors.retry import DEFAULT_POLICY, RetryPolicy, call_with_retries

T = TypeVar("T")
ClientFactory = Callable[[], Salesforce]
RETRIABLE_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW",
                             "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT"})


class SalesforceBadRequest(Exception):
    """A 4xx about the request's content: the caller decides what it means per record."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


def login_factory(credentials: SalesforceCredentials, config: SalesforceConfig,
                  session_factory: Callable[[], requests.Session] = requests.Session) -> ClientFactory:
    """Build clients from credentials. The client never refreshes by itself; SalesforceClient does, once.

    The login yields a session id and instance, so the client is built in session-id mode: its own
    silent re-login (up to three times) stays off and "re-authenticate once" is ours to keep.
    """
    register_secrets(credentials.secret_values())

    def build() -> Salesforce:
        session = session_factory()
        mode = credentials.mode()
        if mode == "session":
            return Salesforce(session_id=_secret(credentials.session_id), instance_url=credentials.instance_url,
                              session=session, version=config.api_version)
        if mode == "jwt":
            session_id, instance = SalesforceLogin(username=credentials.username, consumer_key=credentials.consumer_key,
                                                   privatekey=_secret(credentials.private_key), domain=config.domain,
                                                   sf_version=config.api_version, session=session)
        else:
            session_id, instance = SalesforceLogin(username=credentials.username,
                                                   password=_secret(credentials.password),
                                                   security_token=_secret(credentials.security_token),
                                                   domain=config.domain, sf_version=config.api_version,
                                                   session=session)
        register_secrets([session_id])
        return Salesforce(session_id=session_id, instance=instance, session=session, version=config.api_version)

    return build


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def error_code(exc: SalesforceError) -> tuple[str, str]:
    """(errorCode, message) from a REST error body, which is a JSON list of {message, errorCode}."""
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode") or first.get("statusCode") or ""), str(first.get("message") or "")
    return "", str(content)[:300]


def classify(exc: Exception) -> Exception:
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return RetriableError(f"Salesforce unreachable or too slow: {type(exc).__name__}", code="SF_TIMEOUT")
    if isinstance(exc, SalesforceOperationError):  # a Bulk 2.0 job failed or timed out as a whole
        return RetriableError(f"Salesforce Bulk API job failed: {redact(exc, max_length=300)}", code="SF:BULK_JOB")
    if not isinstance(exc, SalesforceError):
        return exc
    code, message = error_code(exc)
    message = redact(message, max_length=500)
    if code in RETRIABLE_CODES or exc.status >= 500:
        return RetriableError(f"Salesforce {exc.status} {code or 'error'}: {message}", code=f"SF:{code or exc.status}")
    if exc.status == 403:
        return FatalError(f"Salesforce refused the request (403 {code}): {message}; check the integration "
                          "user's permissions")
    return SalesforceBadRequest(exc.status, code or f"HTTP_{exc.status}", message)


class SalesforceClient:
    """Holds the live client; every call is classified, retried, refreshed once and quota-guarded."""

    def __init__(self, factory: ClientFactory, config: SalesforceConfig, *,
                 policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._factory = factory
        self._config = config
        self._policy = policy
        self._lock = threading.Lock()
        self._sf: Salesforce | None = None
        self.usage: tuple[int, int] | None = None  # (used, max) from the last Sforce-Limit-Info header
        self.calls = 0
        self._calls_lock = threading.Lock()

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._sf = self._connect()
        return self._sf

    def _connect(self) -> Salesforce:
        try:
            sf = self._factory()
        except SalesforceError as exc:
            raise FatalError(f"Salesforce login failed: {redact(exc, max_length=300)}") from None
        except requests.RequestException as exc:
            raise RetriableError(f"Salesforce login unreachable: {type(exc).__name__}") from None
        sf.session.hooks.setdefault("response", []).append(self._observe)
        return sf

    def _observe(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        """Read Sforce-Limit-Info on every response, errors and Bulk calls included."""
        with self._calls_lock:  # responses may arrive on several threads (see `concurrently`)
            self.calls += 1
        info = response.headers.get("Sforce-Limit-Info", "")
        usage = Salesforce.parse_api_usage(info).get("api-usage") if info else None
        if usage is not None:
            self.usage = (usage.used, usage.total)

    def _guard_quota(self) -> None:
        if self.usage is None or self.usage[1] <= 0:
            return
        used, total = self.usage
        if used >= total * self._config.max_quota_share:
            # Forget the reading: the next run makes one call and learns whether the rolling 24 h window moved.
            self.usage = None
            raise QuotaExhaustedError(
                f"Salesforce API use is {used:,} of the org's {total:,} daily calls, at or above the configured "
                f"{self._config.max_quota_share:.0%}; the run stops and leads stay in the inbox")

    def call(self, fn: Callable[[Salesforce], T]) -> T:
        def attempt() -> T:
            self._guard_quota()
            try:
                return self._with_refresh(fn)
            except Exception as exc:  # noqa: BLE001 - classify maps every client and transport error
                raise classify(exc) from None

        return call_with_retries(attempt, self._policy)

    def _with_refresh(self, fn: Callable[[Salesforce], T]) -> T:
        sf = self.sf
        try:
            return fn(sf)
        except SalesforceExpiredSession:
            with self._lock:
                if self._sf is sf:  # calls running side by side all expire: the first one logs in again, once
                    self._sf = self._connect()
            try:
                return fn(self.sf)
            except SalesforceExpiredSession:
                raise FatalError("Salesforce rejected the session again right after logging in "
                                 "(INVALID_SESSION_ID); check the credentials and the connected app") from None

    def concurrently(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        """Each call's result, in order, with up to `concurrent_calls` requests in flight at once.

        Independent requests wait for the network side by side instead of one after another. Every call
        has finished (landed or failed) before this returns or raises, so no request is left in flight
        behind the caller's bookkeeping; the first failure (in order) is raised.
        """
        workers = min(self._config.concurrent_calls, len(calls))
        if workers <= 1:
            return [call() for call in calls]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="salesforce") as pool:
            futures = [pool.submit(call) for call in calls]
            wait(futures)
        return [future.result() for future in futures]

    @property
    def timeout(self) -> float:
        return self._config.request_timeout

    @property
    def api_version(self) -> str:
        return self._config.api_version

    # helpers used by every module ------------------------------------------------------------------------
    def query(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every record of a query, following nextRecordsUrl; each page is its own retried call."""
        timeout = self._config.request_timeout
        page = self.call(lambda sf: sf.query(soql, timeout=timeout))
        while True:
            yield from page["records"]
            if page.get("done", True):
                return
            next_url = page["nextRecordsUrl"]
            page = self.call(lambda sf: sf.query_more(next_url, identifier_is_url=True, timeout=timeout))  # noqa: B023

    def rest(self, path: str, method: str = "GET", **kwargs: Any) -> Any:
        timeout = self._config.request_timeout
        return self.call(lambda sf: sf.restful(path, method=method, timeout=timeout, **kwargs))
