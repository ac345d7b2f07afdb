"""Per-vendor checks of one webhook request: authenticity on the raw bytes, then the records to store.

Each handler returns the captures (record id, partition, payload, inbox status) or raises
Rejected with the HTTP status and a reason that quotes no secret and no personal data.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.sources.meta_webhook import MetaWebhookConfig, leadgen_notifications
from connectors.sources.webhook_auth import (
    google_key_ok,
    meta_signature_ok,
    secret_matches,
    typeform_signature_ok,
    webflow_signature_ok,
)
from connectors.sources.webhook_forms import JsonHookConfig, WebflowConfig, json_record_id
from connectors.sources.webhooks import GoogleAdsConfig, TypeformConfig


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Capture:
    record_id: str
    payload: dict[str, Any]
    partition: str | None = None
    status: str = "pending"


# No vendor nests deeper than a dozen levels; deeper JSON is refused before it is parsed, so neither
# the parser nor any later stage meets a RecursionError.
MAX_JSON_DEPTH = 64
# The inbox's VARCHAR limits (flows/state/schema.py): source_record_id and partition are String(500).
MAX_ID_CHARS = 500
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL text) and lone surrogates (UTF-8)


def check_json_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than `limit`, counting brackets outside strings, without parsing."""
    depth = 0
    for match in _JSON_TOKEN.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise Rejected(400, f"malformed JSON: nested deeper than {limit} levels")
        elif token in (b"]", b"}"):
            depth -= 1


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_object(body: bytes) -> dict[str, Any]:
    check_json_depth(body)
    try:
        data = json.loads(body, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Rejected(400, f"malformed JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise Rejected(400, "malformed JSON: expected an object")
    check_storable(data)
    return data


def check_storable(data: Any) -> None:
    """Every string (key or value) must be storable as text on SQLite and PostgreSQL alike."""
    pending = [data]
    while pending:  # a loop, not recursion: depth was bounded, but stay cheap and safe
        node = pending.pop()
        if isinstance(node, dict):
            pending += node.keys()
            pending += node.values()
        elif isinstance(node, list):
            pending += node
        elif isinstance(node, str) and _UNSTORABLE.search(node):
            raise Rejected(400, "a value contains a NUL character or a lone surrogate")


def check_ids(captures: list[Capture]) -> None:
    for capture in captures:
        for what, value in (("record id", capture.record_id), ("form or partition id", capture.partition or "")):
            if len(value) > MAX_ID_CHARS:
                raise Rejected(400, f"{what} longer than {MAX_ID_CHARS} characters")
            if _UNSTORABLE.search(value):
                raise Rejected(400, f"{what} contains a NUL character or a lone surrogate")


def typeform(config: TypeformConfig, body: bytes, headers: Mapping[str, str]) -> list[Capture]:
    if not typeform_signature_ok(config.secret, body, headers.get("typeform-signature")):
        raise Rejected(401, "missing or invalid Typeform-Signature")
    data = json_object(body)
    response = data.get("form_response")
    token = (response.get("token") if isinstance(response, dict) else None) or data.get("event_id")
    if not token:
        raise Rejected(400, "form_response.token missing")
    return [Capture(str(token), data)]


def google_ads(config: GoogleAdsConfig, body: bytes, headers: Mapping[str, str]) -> list[Capture]:
    if not google_key_ok(config.google_key, body):
        raise Rejected(401, "missing or invalid google_key")
    data = json_object(body)
    if not data.get("lead_id"):
        raise Rejected(400, "lead_id missing")
    status = "test" if data.get("is_test") and not config.push_test_leads else "pending"
    return [Capture(str(data["lead_id"]), data, status=status)]


def meta(config: MetaWebhookConfig, body: bytes, headers: Mapping[str, str]) -> list[Capture]:
    """One inbox row per leadgen change; the answers are fetched from the Graph API when processed."""
    if not meta_signature_ok(config.app_secret, body, headers.get("x-hub-signature-256")):
        raise Rejected(401, "missing or invalid X-Hub-Signature-256")
    try:
        notifications = leadgen_notifications(json_object(body))
    except ValueError as exc:
        raise Rejected(400, f"not a leadgen notification: {exc}") from None
    return [Capture(n["leadgen_id"], n, partition=str(n.get("form_id") or "")) for n in notifications]


def webflow(config: WebflowConfig, body: bytes, headers: Mapping[str, str]) -> list[Capture]:
    if not webflow_signature_ok(config.secret, body, headers.get("x-webflow-timestamp"),
                                headers.get("x-webflow-signature"), time.time_ns() // 1_000_000):
        raise Rejected(401, "missing, stale or invalid x-webflow-signature / x-webflow-timestamp")
    data = json_object(body)
    if data.get("triggerType") != "form_submission":
        raise Rejected(400, "triggerType must be form_submission")
    inner = data.get("payload")
    if not isinstance(inner, dict) or not isinstance(inner.get("data"), dict):
        raise Rejected(400, "payload.data missing or not an object")
    submission_id = inner.get("id")
    if not isinstance(submission_id, str | int) or str(submission_id) == "":
        raise Rejected(400, "payload.id missing")
    honeypot = config.honeypot_field
    spam = bool(honeypot and inner["data"].get(honeypot))
    return [Capture(str(submission_id), data, partition=str(inner.get("formId") or inner.get("name") or ""),
                    status="spam" if spam else "pending")]


def generic_json(config: JsonHookConfig, body: bytes, headers: Mapping[str, str]) -> list[Capture]:
    if config.secret is not None and config.secret_header is not None and not secret_matches(
            config.secret, headers.get(config.secret_header.lower())):
        raise Rejected(401, f"missing or invalid {config.secret_header}")
    data = json_object(body)
    record_id = json_record_id(config, data)
    if record_id is None:
        raise Rejected(400, f"no record id at {config.id_path}")
    return [Capture(record_id, data)]
