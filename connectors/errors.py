"""One error taxonomy for every connector: retriable, fatal, record rejected.

Flows decide what to do from the class alone: a `RetriableError` leaves the work in the
inbox for the next attempt, a `FatalError` stops the run before anything else is touched,
and a `RecordRejectedError` sends exactly one record to the dead-letter store.
Messages must never carry secrets or personal data; pass them through
`connectors.redaction.redact` when they quote a vendor's response.
"""

from __future__ import annotations


class LeadsyncError(Exception):
    """Base class of every error leadsync raises on purpose."""

    code: str = "ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class RetriableError(LeadsyncError):
    """A transient failure (timeout, 5xx, throttling): the same call may succeed later."""

    code = "RETRIABLE"

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class QuotaExhaustedError(RetriableError):
    """The CRM's API budget for the day (or our configured share of it) is used up.

    Not worth retrying within the run: the run stops cleanly and leaves leads in the inbox.
    """

    code = "QUOTA_EXHAUSTED"


class FatalError(LeadsyncError):
    """A failure no retry can fix (bad credentials, missing permission, broken config)."""

    code = "FATAL"


class ConfigError(FatalError):
    """Invalid configuration; `problems` lists every error found, each with file, line and YAML path."""

    code = "CONFIG"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        full = message if not self.problems else message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(full)


class RecordRejectedError(LeadsyncError):
    """One record cannot be processed; the rest of the batch goes on.

    `record` names the record (source record id or lead key), `field` the offending field.
    The reason must not quote the field's value when that value is personal data.
    """

    code = "REJECTED"

    def __init__(self, record: str, field: str, reason: str, *, code: str | None = None) -> None:
        self.record = record
        self.field = field
        self.reason = reason
        super().__init__(f"record {record}: field '{field}': {reason}", code=code or "INVALID_" + field.upper())
