"""The one retry policy: tenacity around a call whose failures are already classified.

Vendor adapters translate their exceptions into RetriableError / FatalError /
RecordRejectedError first; this module only decides how long to wait and when to give up.
Only RetriableError is retried (QuotaExhaustedError never: waiting a day is not a retry), and not
when the vendor asks for a longer wait than a run can give (`retry_after` over
`longest_vendor_wait`, e.g. Meta's 17 minutes to regain access): calling again sooner only hammers
a limit already hit. The error goes up with its `retry_after`, so the caller can put the work off
until then (see flows.state.pauses).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from connectors.errors import QuotaExhaustedError, RetriableError

if TYPE_CHECKING:
    from tenacity import RetryCallState

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.25
    sleep: Callable[[float], None] = time.sleep
    longest_vendor_wait: float = 30.0
    """A vendor's stated wait above this is not waited out in the run: the error goes up at once."""


DEFAULT_POLICY = RetryPolicy()


def _retriable(policy: RetryPolicy) -> Callable[[BaseException], bool]:
    def retriable(exc: BaseException) -> bool:
        if not isinstance(exc, RetriableError) or isinstance(exc, QuotaExhaustedError):
            return False
        return exc.retry_after is None or exc.retry_after <= policy.longest_vendor_wait

    return retriable


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetriableError) and exc.retry_after is not None:
            return float(min(exc.retry_after, policy.max_delay))
        backoff: float = min(policy.base_delay * 2.0 ** (state.attempt_number - 1), policy.max_delay)
        return backoff * (1 + random.uniform(0, policy.jitter))  # noqa: S311 - jitter, not crypto

    return wait


def call_with_retries(call: Callable[[], T], policy: RetryPolicy = DEFAULT_POLICY) -> T:
    """Run `call`, retrying RetriableError with backoff, jitter and Retry-After; re-raise the last error."""
    # Imported on first call: the source config models import this module's policies on every run.
    from tenacity import Retrying, retry_if_exception, stop_after_attempt

    retrying = Retrying(
        retry=retry_if_exception(_retriable(policy)),
        stop=stop_after_attempt(policy.attempts),
        wait=_wait(policy),
        sleep=policy.sleep,
        reraise=True,
    )
    return retrying(call)
