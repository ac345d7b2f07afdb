"""Slack incoming webhooks with Block Kit messages, through the project's one httpx layer.

The webhook URL is the secret (anyone holding it can post): it is registered with the redactor
and never logged. Slack answers 200 "ok"; 429 with Retry-After when rate limited (posting is
limited to about one message per second per webhook, short bursts allowed); 4xx with a short
reason such as invalid_payload or channel_is_archived, which no retry fixes.
"""

from __future__ import annotations

from typing import Any

import httpx

from connectors.errors import FatalError, LeadsyncError, RecordRejectedError, RetriableError
from connectors.http_client import HttpClient
from connectors.notify.message import Notice, Rendered
from connectors.redaction import redact, register_secret
from connectors.retry import RetryPolicy

SINGLE_TRY = RetryPolicy(attempts=1)  # the outbox retries with its own backoff; a post never blocks a run
PERMANENT = frozenset({"invalid_payload", "no_text", "invalid_blocks", "too_many_attachments"})


def blocks(rendered: Rendered) -> dict[str, Any]:
    """Block Kit: a header, the message as mrkdwn, and a button per CRM record link (at most 5)."""
    body: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": rendered.subject[:150], "emoji": False}},
        {"type": "section", "text": {"type": "mrkdwn", "text": rendered.slack_text[:3000]}},
    ]
    if rendered.links:
        body.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open in CRM" if len(rendered.links) == 1
                                        else f"Open record {n}"}, "url": link}
            for n, link in enumerate(rendered.links[:5], start=1)]})
    return {"text": rendered.subject, "blocks": body}  # text: the notification fallback


def _classify(response: httpx.Response) -> LeadsyncError | None:
    status = response.status_code
    reason = redact(response.text[:100])
    if status == 429:
        after = response.headers.get("Retry-After", "")
        return RetriableError("Slack rate limit", code="SLACK_429",
                              retry_after=float(after) if after.isdigit() else 1.0)
    if status >= 500:
        return RetriableError(f"Slack unavailable (HTTP {status})", code=f"SLACK_{status}")
    if reason in PERMANENT:
        return RecordRejectedError("slack message", "payload", reason, code="SLACK_INVALID_PAYLOAD")
    return FatalError(f"Slack refused the webhook (HTTP {status}: {reason})", code=f"SLACK_{status}")


class SlackWebhook:
    def __init__(self, url: str, *, transport: httpx.BaseTransport | None = None, timeout: float = 15.0) -> None:
        register_secret(url)
        self._url = url
        self._http = HttpClient(timeout=timeout, classify=_classify, policy=SINGLE_TRY, transport=transport)

    def __repr__(self) -> str:
        return "SlackWebhook(<url hidden>)"

    def post(self, notice: Notice, rendered: Rendered) -> None:
        """Raises RetriableError (down, rate limited), RecordRejectedError (bad payload) or FatalError."""
        del notice  # the key is ours; Slack has no idempotency key for webhooks
        self._http.post_json(self._url, blocks(rendered))

    def close(self) -> None:
        self._http.close()
