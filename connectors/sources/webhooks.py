"""Sources that arrive by webhook (the receiver stores them): HTML forms, Typeform, Google Ads lead forms,
Webflow forms and generic JSON (connectors.sources.webhook_forms); Meta's subclass is in meta_webhook.

Their `read` yields nothing (nothing to pull); `to_lead` maps a stored payload. Secrets are plain
values handed in by flows; the receiver checks signatures before anything is stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from connectors.errors import RecordRejectedError
from connectors.field_targets import assign
from connectors.normalise import build_lead
from connectors.records import Lead, RawSubmission
from connectors.sources.base import Page
from connectors.sources.form_files import ATTRIBUTION_KEYS, DEFAULT_FIELD_MAP, map_form_fields
from connectors.sources.webhook_forms import (
    JsonHookConfig,
    WebflowConfig,
    WebhookConfigBase,
    json_hook_fields,
    webflow_fields,
)

TYPEFORM_REFS = {"first_name": "first_name", "last_name": "last_name", "name": "full_name", "email": "email",
                 "work_email": "email", "phone": "phone", "mobile": "mobile", "mobile_phone": "mobile",
                 "work_phone": "work_phone", "company": "company", "job_title": "title",
                 "title": "title", "website": "website", "country": "country", "consent": "consent.email",
                 "use_case": "inquiry", "message": "inquiry", "team_size": "employees", "employees": "employees"}
GOOGLE_COLUMNS = {"FIRST_NAME": "first_name", "LAST_NAME": "last_name", "FULL_NAME": "full_name",
                  "EMAIL": "email", "WORK_EMAIL": "email", "PHONE_NUMBER": "phone", "WORK_PHONE": "work_phone",
                  "COMPANY_NAME": "company", "JOB_TITLE": "title", "POSTAL_CODE": "postal_code", "CITY": "city",
                  "REGION": "state", "COUNTRY": "country", "COMPANY_SIZE": "employees", "STREET_ADDRESS": "street"}


class WebFormConfig(WebhookConfigBase):
    type: Literal["web_form"] = "web_form"
    honeypot_field: str | None = Field(default=None, description="Hidden field only bots fill in.")
    thank_you_url: str | None = Field(default=None, description=(
        "Where a browser goes once its form post is stored (303 See Other, like Salesforce Web-to-Lead's "
        "retURL): an https:// or http:// URL, or a path on this host such as /thanks. API clients (no "
        "text/html in Accept, or a JSON body) still get the JSON answer."))

    @field_validator("thank_you_url")
    @classmethod
    def _redirect_target(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if " " in value or not value.isprintable():  # also no CR/LF: nothing may be added to the header
            raise ValueError("must be a URL without spaces or control characters")
        parts = urlsplit(value)
        absolute = parts.scheme in {"http", "https"} and bool(parts.netloc)
        on_this_host = not parts.scheme and not parts.netloc and value.startswith("/") and not value.startswith("//")
        if not (absolute or on_this_host):
            raise ValueError("must be an http(s):// URL or a path starting with / (e.g. /thanks)")
        return value


class TypeformConfig(WebhookConfigBase):
    type: Literal["typeform"] = "typeform"
    secret: str = Field(description="Webhook secret: ${ENV_VAR} or prefect-secret:<name>.")


class GoogleAdsConfig(WebhookConfigBase):
    type: Literal["google_ads"] = "google_ads"
    google_key: str = Field(description="The key typed into the lead form asset: ${ENV_VAR} or prefect-secret.")
    push_test_leads: bool = Field(default=False, description="Test leads are marked and not pushed unless set.")


WebhookConfig = WebFormConfig | TypeformConfig | GoogleAdsConfig | WebflowConfig | JsonHookConfig


class WebhookSource:
    """One webhook endpoint: nothing to pull, stored payloads mapped to leads."""

    def __init__(self, config: WebhookConfigBase) -> None:
        self.config = config
        self.kind = config.type
        self.name = f"{config.type}:{config.name}"

    def read(self, cursors: Mapping[str, str]) -> Iterator[Page]:
        return iter(())

    def commit(self, page: Page) -> None:
        """Webhooks are acknowledged by the receiver's 2xx, sent only after storing."""

    def to_lead(self, raw: RawSubmission) -> Lead:
        record = f"{raw.source}/{raw.source_record_id}"
        try:
            if isinstance(self.config, TypeformConfig):
                fields = typeform_fields(raw.payload, {**TYPEFORM_REFS, **self.config.field_map})
            elif isinstance(self.config, GoogleAdsConfig):
                fields = google_ads_fields(raw.payload, {**GOOGLE_COLUMNS, **self.config.field_map})
            elif isinstance(self.config, WebflowConfig):
                fields = webflow_fields(raw.payload, self.config)
            elif isinstance(self.config, JsonHookConfig):
                fields = json_hook_fields(raw.payload, self.config.field_map)
            elif isinstance(self.config, WebFormConfig):
                fields = map_form_fields(raw.payload.get("fields", {}), raw.payload,
                                         {**DEFAULT_FIELD_MAP, **self.config.field_map}, self.config.honeypot_field)
            else:
                raise TypeError(f"no field mapping for {self.kind} payloads")
        except (KeyError, TypeError, AttributeError) as exc:
            raise RecordRejectedError(record, str(exc).strip("'") or "payload", "missing or of the wrong shape",
                                      code="MALFORMED") from None
        return build_lead(raw, fields, self.config.default_region)


def typeform_fields(payload: Mapping[str, Any], refs: Mapping[str, str]) -> dict[str, Any]:
    response = payload["form_response"]
    hidden = response.get("hidden") or {}
    fields: dict[str, Any] = {"consent": {}, "custom": {}, "submitted_at": response.get("submitted_at"),
                              "attribution": {ATTRIBUTION_KEYS[k]: v for k, v in hidden.items()
                                              if k in ATTRIBUTION_KEYS and v},
                              "email": hidden.get("email") or None}  # a prefilled e-mail, unless one is answered
    fields["attribution"]["form_id"] = response.get("form_id")
    for answer in response.get("answers", []):
        kind = answer["type"]
        value = answer.get(kind)
        if kind == "choice":
            value = value.get("label") or value.get("other")
        elif kind == "choices":
            value = [*value.get("labels", []), *([value["other"]] if value.get("other") else [])]
        ref = answer["field"].get("ref") or answer["field"]["id"]
        target = refs.get(ref)
        if target:
            assign(fields, target, ", ".join(value) if isinstance(value, list) and target != "product_interest"
                   and not target.startswith("consent.") else value)
        else:
            fields["custom"][ref] = value
    return fields


def google_ads_fields(payload: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {"custom": {}, "is_test": bool(payload.get("is_test")),
                              "attribution": {"source": "google_ads", "gclid": payload.get("gcl_id"),
                                              "form_id": str(payload.get("form_id", "")) or None,
                                              "campaign": str(payload.get("campaign_id", "")) or None}}
    for column in payload["user_column_data"]:
        column_id = str(column.get("column_id", ""))
        value = column.get("string_value")
        target = columns.get(column_id)
        if target and not fields.get(target):
            assign(fields, target, value)
        elif not target:
            fields["custom"][column.get("column_name") or column_id] = value  # custom questions are kept
    return fields
