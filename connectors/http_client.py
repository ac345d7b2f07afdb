"""The one httpx layer for source connectors: timeouts, status -> taxonomy, retries via connectors.retry.

Vendors that report errors in their own way (Meta throttles with HTTP 400 and an error code)
pass a `classify` hook that may return an error to raise instead of the default mapping.
Messages are redacted: URLs often carry access tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from connectors.errors import FatalError, LeadsyncError, RetriableError
from connectors.redaction import redact
from connectors.retry import DEFAULT_POLICY, RetryPolicy, call_with_retries

Classifier = Callable[[httpx.Response], LeadsyncError | None]


class _RedactingFilter(logging.Filter):
    """httpx logs every request's full URL at INFO; URLs carry secrets (Slack webhooks, access tokens)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


logging.getLogger("httpx").addFilter(_RedactingFilter())


def default_error(response: httpx.Response) -> LeadsyncError:
    status = response.status_code
    where = f"{response.request.method} {redact(response.request.url.copy_with(query=None))}"
    if status == 429 or status >= 500:
        after = response.headers.get("Retry-After")
        return RetriableError(f"{where}: HTTP {status}", code=f"HTTP_{status}",
                              retry_after=float(after) if after and after.isascii() and after.isdigit() else None)
    return FatalError(f"{where}: HTTP {status}: {redact(response.text[:300])}", code=f"HTTP_{status}")


class HttpClient:
    def __init__(self, base_url: str = "", *, timeout: float = 30.0, classify: Classifier | None = None,
                 policy: RetryPolicy = DEFAULT_POLICY, transport: httpx.BaseTransport | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport,
                                    headers=dict(headers or {}))
        self._classify = classify
        self._policy = policy

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        def attempt() -> Any:
            try:
                response = self._client.get(url, params=params)
            except httpx.TransportError as exc:
                raise RetriableError(f"GET {redact(url)}: {type(exc).__name__}", code="NETWORK") from None
            if response.is_success:
                try:
                    return response.json()
                except ValueError:
                    raise RetriableError(f"GET {redact(url)}: response is not JSON", code="BAD_RESPONSE") from None
            error = (self._classify(response) if self._classify else None) or default_error(response)
            raise error

        return call_with_retries(attempt, self._policy)

    def post_json(self, url: str, body: Any) -> httpx.Response:
        """POST a JSON body; the response on success, else the classified error (retried per the policy)."""

        def attempt() -> httpx.Response:
            try:
                response = self._client.post(url, json=body)
            except httpx.TransportError as exc:
                raise RetriableError(f"POST {redact(url)}: {type(exc).__name__}", code="NETWORK") from None
            if response.is_success:
                return response
            raise (self._classify(response) if self._classify else None) or default_error(response)

        return call_with_retries(attempt, self._policy)

    def close(self) -> None:
        self._client.close()
