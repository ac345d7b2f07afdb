"""LinkedIn Lead Sync: a scheduled pull of lead form responses by owner (Rest.li 2.0, versioned API).

`GET /rest/leadForms?q=owner` gives each form's questions (questionId -> predefinedField); then
`GET /rest/leadFormResponses?q=owner&owner=(...)&leadType=(leadType:...)&submittedAtTimeRange=(start:ms,end:ms)`
is paged with start/count. Rest.li values are written into the query string by hand: httpx would
percent-encode the parentheses and colons that Rest.li needs literally, while the URN inside must
stay encoded (urn%3Ali%3A...).

The cursor is the newest submittedAt (ms) plus the ids submitted in that very millisecond: the
next window starts at that millisecond (closed) and drops those ids, so nothing is read twice or
skipped. The window ends at a signpost taken when the run starts; responses are not promised in
order, so the cursor is saved only after the window's last page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.errors import FatalError, LeadsyncError
from connectors.field_targets import check_field_map
from connectors.records import Lead, RawSubmission
from connectors.redaction import register_secret
from connectors.retry import DEFAULT_POLICY, RetryPolicy
from connectors.sources.base import Page
from connectors.sources.linkedin_mapping import PREDEFINED_FIELDS, form_summary, linkedin_lead

if TYPE_CHECKING:
    import httpx

__all__ = ["PREDEFINED_FIELDS", "LinkedInLeadGenConfig", "LinkedInLeadGenSource", "classify_linkedin"]

DAY_MS = 24 * 3600 * 1000


class LinkedInLeadGenConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["linkedin_lead_gen"] = "linkedin_lead_gen"
    name: str
    owner: str = Field(pattern=r"^urn:li:(sponsoredAccount|organization):\d+$",
                       description="urn:li:sponsoredAccount:<id> (ads) or urn:li:organization:<id> (pages, events).")
    lead_type: Literal["SPONSORED", "EVENT", "COMPANY", "ORGANIZATION_PRODUCT"] = "SPONSORED"
    access_token: str = Field(description="OAuth token (r_marketing_leadgen_automation): ${ENV_VAR} or prefect-secret.")
    linkedin_version: str = Field(default="202601", pattern=r"^20\d{4}$",
                                  description="LinkedIn-Version header (YYYYMM); versions sunset after about a year.")
    base_url: str = "https://api.linkedin.com"
    page_size: int = Field(default=100, ge=1, le=1000)
    first_run_days: int = Field(default=30, ge=1, le=365, description="How far back the first run reads "
                                "(LinkedIn keeps leads 365 days).")
    field_map: dict[str, str] = Field(default_factory=dict, description="predefinedField or questionId -> lead "
                                      "field (e.g. '807234246: inquiry', '807234247: custom.seats:number').")
    default_region: str = "US"


    @field_validator("field_map")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        return check_field_map(value)


def classify_linkedin(response: httpx.Response) -> LeadsyncError | None:
    status = response.status_code
    if status == 401:
        return FatalError("LinkedIn access expired or revoked (HTTP 401): authorise the app again for a new token",
                          code="LINKEDIN_401")
    if status == 403:
        return FatalError("LinkedIn refused access (HTTP 403): r_marketing_leadgen_automation and a role on the "
                          "owner are needed", code="LINKEDIN_403")
    if status == 426:
        return FatalError("LinkedIn no longer serves this API version (HTTP 426): raise linkedin_version",
                          code="LINKEDIN_426")
    return None  # 429 and 5xx: retriable with Retry-After, by the http layer's default


def _owner_param(owner: str) -> str:
    kind = owner.split(":")[2]
    return f"({kind}:{quote(owner, safe='')})"


class LinkedInLeadGenSource:
    def __init__(self, config: LinkedInLeadGenConfig, *, transport: httpx.BaseTransport | None = None,
                 policy: RetryPolicy = DEFAULT_POLICY, now_ms: Callable[[], int] | None = None) -> None:
        register_secret(config.access_token)
        self.config = config
        self.name = f"linkedin_lead_gen:{config.name}"
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        # httpx is imported only when an HTTP source is built: every run imports this config model
        from connectors.http_client import HttpClient

        self._http = HttpClient(config.base_url, classify=classify_linkedin, policy=policy, transport=transport,
                                headers={"Authorization": f"Bearer {config.access_token}",
                                         "LinkedIn-Version": config.linkedin_version,
                                         "X-Restli-Protocol-Version": "2.0.0"})
        self._forms: dict[str, dict[str, Any]] = {}

    # forms -------------------------------------------------------------------------------------

    def load_forms(self) -> dict[str, dict[str, Any]]:
        """Every form of the owner, summarised: questions by id with their predefinedField and options."""
        start = 0
        while True:
            body = self._http.get_json(f"/rest/leadForms?q=owner&owner={_owner_param(self.config.owner)}"
                                       f"&start={start}&count={self.config.page_size}")
            elements = body.get("elements") or []
            for form in elements:
                self._forms[str(form["id"])] = form_summary(form)
            start += len(elements)
            if not elements or not _has_next(body, start):
                return self._forms

    def form(self, form_id: str) -> dict[str, Any]:
        if form_id not in self._forms:  # a form created after the listing, or owned elsewhere
            self._forms[form_id] = form_summary(self._http.get_json(f"/rest/leadForms/{quote(form_id, safe='')}"))
        return self._forms[form_id]

    # responses ---------------------------------------------------------------------------------

    def read(self, cursors: Mapping[str, str]) -> Iterator[Page]:
        partition = self.config.owner
        end = self._now_ms()
        since_ms, boundary = parse_cursor(cursors.get(partition))
        if since_ms is None:
            since_ms = end - self.config.first_run_days * DAY_MS
        self.load_forms()
        newest, newest_ids = since_ms, set(boundary)
        start = 0
        while True:
            body = self._http.get_json(self._responses_url(since_ms, end, start))
            elements = body.get("elements") or []
            records = []
            for element in elements:
                lead_id, submitted = str(element["id"]), int(element["submittedAt"])
                if lead_id in boundary:
                    continue
                if submitted > newest:
                    newest, newest_ids = submitted, set()
                if submitted == newest:
                    newest_ids.add(lead_id)
                records.append(self._raw(element, lead_id, submitted))
            start += len(elements)
            more = bool(elements) and _has_next(body, start)
            cursor = json.dumps({"ms": newest, "ids": sorted(newest_ids)}) if not more else None
            yield Page(partition=partition, records=records, cursor=cursor)
            if not more:
                return

    def _responses_url(self, since_ms: int, end_ms: int, start: int) -> str:
        return (f"/rest/leadFormResponses?q=owner&owner={_owner_param(self.config.owner)}"
                f"&leadType=(leadType:{self.config.lead_type})&limitedToTestLeads=false"
                f"&submittedAtTimeRange=(start:{since_ms},end:{end_ms})&start={start}&count={self.config.page_size}")

    def _raw(self, element: dict[str, Any], lead_id: str, submitted_ms: int) -> RawSubmission:
        form_id = form_id_of(element.get("versionedLeadGenFormUrn"))
        form = self.form(form_id) if form_id else {}
        return RawSubmission(source=self.name, partition=self.config.owner, source_record_id=lead_id,
                             received_at=datetime.fromtimestamp(submitted_ms / 1000, UTC),
                             cursor_value=str(submitted_ms), payload={"response": element, "form": form})

    def to_lead(self, raw: RawSubmission) -> Lead:
        return linkedin_lead(raw, self.config.field_map, self.config.default_region)

    def commit(self, page: Page) -> None:
        """LinkedIn needs no acknowledgement."""

    def close(self) -> None:
        self._http.close()


def _has_next(body: Mapping[str, Any], next_start: int) -> bool:
    paging = body.get("paging") or {}
    if any(link.get("rel") == "next" for link in paging.get("links") or []):
        return True
    total = paging.get("total")
    return isinstance(total, int) and next_start < total


def parse_cursor(value: str | None) -> tuple[int | None, set[str]]:
    if not value:
        return None, set()
    if value.isascii() and value.isdigit():  # a bare millisecond value is accepted too
        return int(value), set()
    try:
        data = json.loads(value)
        return int(data["ms"]), {str(i) for i in data.get("ids", [])}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise FatalError("the stored LinkedIn cursor is unreadable; reset it to a millisecond time",
                         code="BAD_CURSOR") from None


def form_id_of(urn: object) -> str | None:
    """urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,2) -> '7234246'."""
    if not isinstance(urn, str) or "leadGenForm:" not in urn:
        return None
    return urn.split("leadGenForm:", 1)[1].split(",", 1)[0].rstrip(")") or None
