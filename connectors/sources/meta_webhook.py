"""Meta Lead Ads by webhook: the notification (ids only) is stored, the answers are fetched when processed.

The receiver answers Meta's GET handshake, checks X-Hub-Signature-256 on the raw body and
stores one inbox row per `leadgen` change, keyed by leadgen_id (Meta delivers at least once).
When a batch is processed, `prefetch` reads its leads with the Graph API's multi-id read
(`GET /{version}/?ids=a,b,...`, IDS_PER_READ ids a call) and `to_lead` takes them from there; a
lead not prefetched is read alone with `GET /{leadgen-id}`. A failed read never loses the
notification: throttling or an outage raises RetriableError (the row goes back to the inbox), an
expired token raises FatalError (the row is dead-lettered with that reason), a lead Meta no longer
serves is rejected naming the leadgen_id. After one throttled or fatal answer the source stops
calling Meta for a while, so a batch does not hammer a limit it already hit.

Test leads (Lead Ads Testing Tool) are not marked: Meta's testing guide only says they are organic
leads with dummy data, and organic leads are real leads too; no field documents a test lead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from connectors.errors import FatalError, LeadsyncError, RecordRejectedError, RetriableError
from connectors.normalise import build_lead
from connectors.records import Lead, RawSubmission
from connectors.redaction import register_secret
from connectors.retry import RetryPolicy
from connectors.sources.meta_lead_ads import FIELD_MAP, LEAD_FIELDS, classify_meta, meta_lead_fields
from connectors.sources.webhook_forms import WebhookConfigBase
from connectors.sources.webhooks import WebhookSource

if TYPE_CHECKING:
    import httpx

# Few, short retries per lead: the whole batch waits on them; the inbox retries the rest later.
FETCH_POLICY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=5.0)
FATAL_PAUSE_SECONDS = 60.0
# The multi-id read takes at most 50 ids since Graph API v2.2 (upgrade guide,
# https://developers.facebook.com/docs/apps/upgrading#v21tov22, as cited in restfb/restfb#157); more
# fail with "(#100) Too many IDs. Maximum: 50. Provided: 54." (seen in integrations' tests).
IDS_PER_READ = 50
# Leads held per batch between prefetch and to_lead; rows past it are read one by one.
MAX_PREFETCHED = 1000


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
        # httpx is imported only when an HTTP source is built: every run imports this config model
        from connectors.http_client import HttpClient

        self._http = HttpClient(config.base_url, classify=classify_meta, policy=policy, transport=transport)
        self._clock = clock
        self._paused: tuple[float, LeadsyncError] | None = None
        self._prefetched: dict[str, dict[str, Any] | RecordRejectedError] = {}

    def prefetch(self, raws: Sequence[RawSubmission]) -> None:
        """Read the batch's leads, IDS_PER_READ a call, for the to_lead calls that follow.

        Never raises. After a throttled, failed or refused read nothing more is fetched, and
        to_lead reports those rows exactly as a single read would: RetriableError while Meta's
        pause lasts, FatalError for an expired token. Leads held from an earlier batch are dropped.
        """
        self._prefetched.clear()
        ids = list(dict.fromkeys(raw.source_record_id for raw in raws))[:MAX_PREFETCHED]
        for start in range(0, len(ids), IDS_PER_READ):
            if not self._read_many(ids[start:start + IDS_PER_READ]):
                return

    def to_lead(self, raw: RawSubmission) -> Lead:
        leadgen_id = raw.source_record_id
        held = self._prefetched.pop(leadgen_id, None)
        if isinstance(held, RecordRejectedError):
            raise held
        item = held if held is not None else self.fetch_lead(leadgen_id)
        fields = meta_lead_fields(item, {**FIELD_MAP, **self.config.field_map})
        fields["attribution"]["form_id"] = fields["attribution"].get("form_id") or raw.payload.get("form_id")
        fields["attribution"]["ad_id"] = fields["attribution"].get("ad_id") or raw.payload.get("ad_id")
        return build_lead(raw, fields, self.config.default_region)

    def fetch_lead(self, leadgen_id: str) -> dict[str, Any]:
        """GET /{leadgen-id}: the lead's answers; raises Retriable/Fatal/RecordRejected as described above."""
        if (paused := self._pause_in_force()) is not None:
            raise paused
        try:
            item = self._http.get_json(f"/{self.config.api_version}/{leadgen_id}",
                                       {"fields": LEAD_FIELDS, "access_token": self.config.access_token})
        except (RetriableError, FatalError) as exc:
            if self._pause_for(exc):
                raise
            # code 100 and the like: this one lead is gone or not readable with this token.
            raise self._unavailable(leadgen_id, exc.code) from None
        checked = self._checked(leadgen_id, item)
        if isinstance(checked, RecordRejectedError):
            raise checked
        return checked

    def _read_many(self, ids: list[str]) -> bool:
        """One multi-id read into the held leads; False once Meta throttles or refuses the token.

        Meta does not document how the multi-id read reports an id it cannot serve; integrations
        see both the id left out of the answer (rejected here, as a single read's code 100 is)
        and the whole read failing with code 100 / 803. So a read failing for another reason than
        throttling or token expiry is split in halves until the bad id is read alone.
        """
        if self._pause_in_force() is not None:
            return False
        try:
            body = self._http.get_json(f"/{self.config.api_version}/", {
                "ids": ",".join(ids), "fields": LEAD_FIELDS, "access_token": self.config.access_token})
        except (RetriableError, FatalError) as exc:
            if self._pause_for(exc):
                return False
            if len(ids) == 1:
                self._prefetched[ids[0]] = self._unavailable(ids[0], exc.code)
                return True
            half = len(ids) // 2
            return self._read_many(ids[:half]) and self._read_many(ids[half:])
        if isinstance(body, dict):  # anything else: nothing held, to_lead reads those leads one by one
            for leadgen_id in ids:
                item = body.get(leadgen_id)
                self._prefetched[leadgen_id] = (self._unavailable(leadgen_id, "not in the multi-id answer")
                                                if item is None else self._checked(leadgen_id, item))
        return True

    def _checked(self, leadgen_id: str, item: object) -> dict[str, Any] | RecordRejectedError:
        if not isinstance(item, dict) or "field_data" not in item:
            return RecordRejectedError(f"{self.name}/{leadgen_id}", "field_data", "missing from Meta's answer",
                                       code="META_NO_FIELD_DATA")
        return item

    def _unavailable(self, leadgen_id: str, why: str) -> RecordRejectedError:
        return RecordRejectedError(f"{self.name}/{leadgen_id}", "leadgen_id", f"Meta did not return the lead ({why})",
                                   code="META_LEAD_UNAVAILABLE")

    def _pause_for(self, error: LeadsyncError) -> bool:
        """Stop calling Meta for a while after throttling or an expired token; False for other failures."""
        if isinstance(error, RetriableError):
            self._paused = (self._clock() + (error.retry_after or 1.0), error)
        elif error.code == "META_190":
            self._paused = (self._clock() + FATAL_PAUSE_SECONDS, error)
        else:
            return False
        return True

    def _pause_in_force(self) -> LeadsyncError | None:
        if self._paused is None:
            return None
        until, error = self._paused
        if self._clock() < until:
            return error
        self._paused = None
        return None

    def close(self) -> None:
        self._prefetched.clear()
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
