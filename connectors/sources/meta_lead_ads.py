"""Meta (Facebook / Instagram) Lead Ads: a scheduled pull per form from the Graph API.

`GET /{form-id}/leads` filtered on time_created after the cursor, following `paging.next` until
it is absent (a page may be empty yet have a next page). Throttling arrives as HTTP 400 with
codes 4 / 17 / 32 / 613 / 80005; the wait (estimated_time_to_regain_access) comes from
X-Business-Use-Case-Usage or the error body. A wait longer than the retry policy's is not waited
out: the error goes up with it and the run puts the source off until then. An expired or
revoked token (code 190) is fatal and says so, without the token.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.errors import FatalError, LeadsyncError, RetriableError
from connectors.field_targets import assign, check_field_map
from connectors.normalise import build_lead
from connectors.records import Lead, RawSubmission
from connectors.redaction import register_secret
from connectors.retry import DEFAULT_POLICY, RetryPolicy
from connectors.sources.base import Page

if TYPE_CHECKING:
    import httpx

THROTTLE_CODES = {4, 17, 32, 613, 80005}
MAX_REGAIN_MINUTES = 24 * 60  # a longer estimate is not believed: look again in a day
LEAD_FIELDS = "id,created_time,field_data,ad_id,ad_name,adset_id,campaign_id,campaign_name,form_id,is_organic," \
              "platform,custom_disclaimer_responses"
FIELD_MAP = {"full_name": "full_name", "first_name": "first_name", "last_name": "last_name", "email": "email",
             "work_email": "email", "phone_number": "phone", "work_phone_number": "work_phone",
             "company_name": "company",
             "job_title": "title", "city": "city", "state": "state", "zip_code": "postal_code",
             "post_code": "postal_code", "country": "country", "street_address": "street"}


class MetaLeadAdsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["meta_lead_ads"] = "meta_lead_ads"
    name: str
    form_ids: list[str] = Field(min_length=1, description="Lead form ids to pull.")
    access_token: str = Field(description="Page access token: ${ENV_VAR} or prefect-secret:<name>.")
    api_version: str = "v21.0"
    base_url: str = "https://graph.facebook.com"
    page_size: int = Field(default=100, ge=1, le=500)
    field_map: dict[str, str] = Field(default_factory=dict, description="Question key -> lead field "
                                      "('company', 'custom.budget:number').")
    default_region: str = "US"


    @field_validator("field_map")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        return check_field_map(value)


def classify_meta(response: httpx.Response) -> LeadsyncError | None:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return None
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    if code in THROTTLE_CODES:
        wait = regain_seconds(response.headers.get("X-Business-Use-Case-Usage"), error)
        said = f"; Meta estimates access back in {wait / 60:g} min" if wait else ""
        return RetriableError(f"Meta throttled the request (code {code}){said}", code=f"META_{code}",
                              retry_after=wait)
    if code == 190:
        # Worded so that redaction (which masks the word after "token") leaves the reason readable.
        return FatalError("Meta page access expired or revoked (code 190): issue a new long-lived page access token",
                          code="META_190")
    if code in (1, 2) or error.get("is_transient"):
        return RetriableError(f"Meta transient error (code {code})", code=f"META_{code}")
    return None


def regain_seconds(header: str | None, error: Mapping[str, Any] | None = None) -> float | None:
    """Meta's `estimated_time_to_regain_access` (minutes) in seconds: the longest found in the
    X-Business-Use-Case-Usage header (per business, per usage type) or anywhere in the error body.

    Meta documents no Retry-After; a value that is missing, zero, negative or unreadable means none.
    """
    minutes: list[float] = []
    for found in (_json_or_none(header), error):
        minutes += _numbers_under(found, "estimated_time_to_regain_access")
    longest = max((m for m in minutes if m > 0), default=0.0)
    return min(longest, MAX_REGAIN_MINUTES) * 60 or None


def _number(value: Any) -> float | None:
    if isinstance(value, str) and value.isascii() and value.strip().isdigit():
        return float(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _json_or_none(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except (ValueError, RecursionError):
        return None


def _numbers_under(data: Any, key: str) -> list[float]:
    found: list[float] = []
    pending, budget = [data], 10_000  # a bounded walk: headers are vendor input too
    while pending and budget:
        node, budget = pending.pop(), budget - 1
        if isinstance(node, dict):
            if (number := _number(node.get(key))) is not None:
                found.append(number)
            pending += node.values()
        elif isinstance(node, list):
            pending += node
    return found


class MetaLeadAdsSource:
    def __init__(self, config: MetaLeadAdsConfig, *, transport: httpx.BaseTransport | None = None,
                 policy: RetryPolicy = DEFAULT_POLICY) -> None:
        register_secret(config.access_token)
        self.config = config
        self.name = f"meta_lead_ads:{config.name}"
        # httpx is imported only when an HTTP source is built: every run imports this config model
        from connectors.http_client import HttpClient

        self._http = HttpClient(config.base_url, classify=classify_meta, policy=policy, transport=transport)

    def read(self, cursors: Mapping[str, str]) -> Iterator[Page]:
        for form_id in self.config.form_ids:
            since = int(cursors.get(form_id, "0"))
            url: str | None = f"/{self.config.api_version}/{form_id}/leads"
            params: dict[str, Any] | None = {
                "fields": LEAD_FIELDS, "limit": self.config.page_size, "access_token": self.config.access_token,
                # A minute of overlap: leads created in the cursor's second are not missed; the inbox dedupes.
                "filtering": json.dumps([{"field": "time_created", "operator": "GREATER_THAN",
                                          "value": max(0, since - 60)}])}
            newest = since
            while url:
                body = self._http.get_json(url, params)
                records = []
                for item in body.get("data", []):
                    created = datetime.fromisoformat(item["created_time"])
                    newest = max(newest, int(created.timestamp()))
                    records.append(RawSubmission(source=self.name, partition=form_id, source_record_id=str(item["id"]),
                                                 received_at=created.astimezone(UTC), cursor_value=str(newest),
                                                 payload=item))
                url, params = (body.get("paging") or {}).get("next"), None  # next carries every parameter
                yield Page(partition=form_id, records=records, cursor=str(newest) if not url else None)

    def commit(self, page: Page) -> None:
        """The Graph API needs no acknowledgement."""

    def to_lead(self, raw: RawSubmission) -> Lead:
        fields = meta_lead_fields(raw.payload, {**FIELD_MAP, **self.config.field_map})
        return build_lead(raw, fields, self.config.default_region)

    def close(self) -> None:
        self._http.close()


def meta_lead_fields(item: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """A Graph API lead object -> lead fields; shared by the scheduled pull and the webhook."""
    fields: dict[str, Any] = {"custom": {}, "consent": {}, "attribution": {
        "source": "instagram" if item.get("platform") == "ig" else "facebook", "form_id": item.get("form_id"),
        "ad_id": item.get("ad_id"), "campaign": item.get("campaign_name")}}
    for answer in item.get("field_data", []):
        values = [v for v in answer.get("values") or [] if v not in (None, "")]
        target = mapping.get(answer["name"])
        if target and values and not fields.get(target):
            assign(fields, target, values[0])
        elif not target and values:
            fields["custom"][answer["name"]] = values if len(values) > 1 else values[0]
    for disclaimer in item.get("custom_disclaimer_responses") or []:
        if "optin" in str(disclaimer.get("checkbox_key", "")).lower():
            fields["consent"]["email"] = disclaimer.get("is_checked") == "1"
    fields["custom"]["is_organic"] = bool(item.get("is_organic"))
    return fields
