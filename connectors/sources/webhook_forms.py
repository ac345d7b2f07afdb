"""Webhook endpoints configured per form: Webflow form submissions and generic JSON posts.

Both map a stored payload to lead fields without any I/O; the receiver checks their signatures
(Webflow) or shared secret header (JSON) on the raw bytes before anything is stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.field_targets import assign, check_field_map
from connectors.sources.form_files import DEFAULT_FIELD_MAP, map_form_fields

WEBFLOW_FIELDS = {"phone_number": "phone", "company_name": "company", "job_title": "title",
                  "message": "inquiry", "first": "first_name", "last": "last_name", "email_address": "email"}
_SLUG = re.compile(r"[^a-z0-9]+")


class WebhookConfigBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    name: str = Field(description="Endpoint name: POST /<type>/<name> on the receiver.")
    field_map: dict[str, str] = Field(default_factory=dict, description="Incoming field -> lead field ('company', "
                                      "'attribution.campaign', 'custom.plan', 'custom.budget:number[:<locale>]').")
    default_region: str = "US"

    @field_validator("field_map")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        return check_field_map(value)


class WebflowConfig(WebhookConfigBase):
    type: Literal["webflow"] = "webflow"
    secret: str = Field(description="OAuth app client secret or webhook secret: ${ENV_VAR} or prefect-secret.")
    forms: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Per form (form name or formId): form field -> lead field.")
    honeypot_field: str | None = Field(default=None, description="Hidden field only bots fill in.")


class JsonHookConfig(WebhookConfigBase):
    type: Literal["json"] = "json"
    field_map: dict[str, str] = Field(
        min_length=1, description="Path in the JSON body (dotted 'contact.email' or JSON pointer "
        "'/contact/email') -> lead field ('email', 'attribution.campaign', 'consent.email', 'custom.plan', "
        "'custom.budget:number[:<locale>]').")
    id_path: str | None = Field(default=None, description="Path of the sender's record id; without it the "
                                "content hash of the body is the id.")
    secret_header: str | None = Field(default=None, description="Header carrying the shared secret.")
    secret: str | None = Field(default=None, description="Shared secret: ${ENV_VAR} or prefect-secret.")

    @field_validator("field_map")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value:
            check_path(path)
        return check_field_map(value)

    @field_validator("id_path")
    @classmethod
    def _id_path(cls, value: str | None) -> str | None:
        return None if value is None else check_path(value)

    @model_validator(mode="after")
    def _secret_pair(self) -> JsonHookConfig:
        if (self.secret_header is None) != (self.secret is None):
            raise ValueError("give both secret_header and secret, or neither")
        return self


def check_path(path: str) -> str:
    if not path or path == "/" or (not path.startswith("/") and any(not part for part in path.split("."))):
        raise ValueError(f"'{path}' is not a dotted path or a JSON pointer")
    return path


_MISSING = object()


def resolve_path(data: Any, path: str) -> Any:
    """Value at a dotted path or RFC 6901 JSON pointer; _MISSING when any step is absent."""
    parts = ([p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")] if path.startswith("/")
             else path.split("."))
    node = data
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isascii() and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def json_record_id(config: JsonHookConfig, data: Mapping[str, Any]) -> str | None:
    """The configured id, or a hash of the canonical JSON (same content, same id, whatever the spacing)."""
    if config.id_path is None:
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]
    value = resolve_path(data, config.id_path)
    if value is _MISSING or value is None or isinstance(value, dict | list) or str(value) == "":
        return None
    return str(value)


def json_hook_fields(payload: Mapping[str, Any], field_map: Mapping[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {"custom": {}, "consent": {}, "attribution": {}}
    for path, target in field_map.items():
        value = resolve_path(payload, path)
        if value is _MISSING or value is None:
            continue
        assign(fields, target, value)
    return fields


def webflow_fields(payload: Mapping[str, Any], config: WebflowConfig) -> dict[str, Any]:
    """Webflow sends the form's labels as keys ('First Name'); they are matched by their slug too."""
    inner = payload["payload"]
    data = inner["data"]
    if not isinstance(data, dict):
        raise TypeError("payload.data")
    per_form = config.forms.get(str(inner.get("formId"))) or config.forms.get(str(inner.get("name"))) or {}
    known = {**DEFAULT_FIELD_MAP, **WEBFLOW_FIELDS, **config.field_map, **per_form}
    field_map = dict(known)
    for key in data:
        slug = _SLUG.sub("_", key.lower()).strip("_")
        if key not in field_map and slug in known:
            field_map[key] = known[slug]
    envelope = {"form_id": inner.get("formId") or inner.get("name"), "submitted_at": inner.get("submittedAt")}
    fields = map_form_fields(data, envelope, field_map, config.honeypot_field)
    fields["attribution"].setdefault("source", "webflow")
    return fields
