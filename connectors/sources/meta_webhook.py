"""Meta Lead Ads by webhook: the notification (ids only) is stored, the answers are fetched when processed.

The receiver answers Meta's GET handshake, checks X-Hub-Signature-256 on the raw body and
stores one inbox row per `leadgen` change, keyed by leadgen_id (Meta delivers at least once).
`to_lead` then reads `GET /{leadgen-id}` through the one httpx layer. A failed read never loses
the notification: throttling or an outage raises RetriableError (the row goes back to the
inbox), an expired token raises FatalError (the row is dead-lettered with that reason), a lead
Meta no longer serves is rejected naming the leadgen_id. After one throttled or fatal answer the
source stops calling Meta for a while, so a batch does not hammer a limit it already hit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import httpx
from pydantic import Field

from connectors.errors import FatalError, LeadsyncError, RecordRejectedError, RetriableError
from connectors.http_client import HttpClient
from connectors.normalise import build_lead
from connectors.records import Lead, RawSubmission
from connectors.redaction import register_secret
from connectors.retry import RetryPolicy
from connectors.sources.meta_lead_ads import FIELD_MAP, LEAD_FIELDS, classify_meta, meta_lead_fields
from connectors.sources.webhook_forms import WebhookConfigBase
from connectors.sources.webhooks import WebhookSource

# Few, short retries per lead: the whole batch waits on them; the inbox retries the rest later.
FETCH_POLICY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=5.0)
FATAL_PAUSE_SECONDS = 60.0


class MetaWebhookConfig(WebhookConfigBase):
    type: Literal["meta_webhook"] = "meta_webhook"
    verify_token: str = Field(description="Verify Token typed into the App Dashboard: ${ENV_VAR} or prefect-secret.")
    app_secret: str = Field(description="App secret that signs X-Hub-Signature-256: ${ENV_VAR} or prefect-secret.")
    access_token: str = Field(description="Page access token to read the leads: ${ENV_VAR} or prefect-secret.")
    api_version: str = "v21.0"
    base_url: str = "https://graph.facebook.com"


class MetaWebhookSource(WebhookSource):
    config: MetaWebhookConfig

    def __init__(self, config: MetaWebhookConfig, *, transport: httpx.BaseTransport | None = None,
                 policy: RetryPolicy = FETCH_POLICY, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(config)
        for secret in (config.verify_token, config.app_secret, config.access_token):
            register_secret(secret)
        self.config = config
        self._http = HttpClient(config.base_url, classify=classify_meta, policy=policy, transport=transport)
        self._clock = clock
        self._paused: tuple[float, LeadsyncError] | None = None

    def to_lead(self, raw: RawSubmission) -> Lead:
        leadgen_id = raw.source_record_id
        item = self.fetch_lead(leadgen_id)
        fields = meta_lead_fields(item, {**FIELD_MAP, **self.config.field_map})
        fields["attribution"]["form_id"] = fields["attribution"].get("form_id") or raw.payload.get("form_id")
        fields["attribution"]["ad_id"] = fields["attribution"].get("ad_id") or raw.payload.get("ad_id")
        return build_lead(raw, fields, self.config.default_region)

    def fetch_lead(self, leadgen_id: str) -> dict[str, Any]:
        """GET /{leadgen-id}: the lead's answers; raises Retriable/Fatal/RecordRejected as described above."""
        if self._paused is not None:
            until, error = self._paused
            if self._clock() < until:
                raise error
            self._paused = None
        try:
            item = self._http.get_json(f"/{self.config.api_version}/{leadgen_id}",
                                       {"fields": LEAD_FIELDS, "access_token": self.config.access_token})
        except RetriableError as exc:
            self._pause(exc, exc.retry_after or 1.0)
            raise
        except FatalError as exc:
            if exc.code == "META_190":
                self._pause(exc, FATAL_PAUSE_SECONDS)
                raise
            # code 100 and the like: this one lead is gone or not readable with this token.
            raise RecordRejectedError(f"{self.name}/{leadgen_id}", "leadgen_id", f"Meta did not return the lead "
                                      f"({exc.code})", code="META_LEAD_UNAVAILABLE") from None
        if not isinstance(item, dict) or "field_data" not in item:
            raise RecordRejectedError(f"{self.name}/{leadgen_id}", "field_data", "missing from Meta's answer",
                                      code="META_NO_FIELD_DATA")
        return item

    def _pause(self, error: LeadsyncError, seconds: float) -> None:
        self._paused = (self._clock() + seconds, error)

    def close(self) -> None:
        self._http.close()


def leadgen_notifications(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The `leadgen` changes of a notification, each with its page id; ValueError names what is malformed.

    Ids may be strings or numbers (older payloads, test tool); they are kept as strings.
    """
    if body.get("object") != "page" or not isinstance(body.get("entry"), list):
        raise ValueError("expected object 'page' with a list of entries")
    found = []
    for entry in body["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise ValueError("entry without a list of changes")
        for change in changes:
            if not isinstance(change, dict) or change.get("field") != "leadgen":
                continue
            value = change.get("value")
            if not isinstance(value, dict) or not _is_id(value.get("leadgen_id")):
                raise ValueError("leadgen change without a leadgen_id")
            found.append({**{k: str(v) if k.endswith("_id") and _is_id(v) else v for k, v in value.items()},
                          "page_id": str(value.get("page_id") or entry.get("id") or ""),
                          "entry_time": entry.get("time")})
    return found


def _is_id(value: object) -> bool:
    return (isinstance(value, str) and value.strip() != "") or (isinstance(value, int) and not isinstance(value, bool)
                                                                and value > 0)
