"""`leadsync receive`: the webhook receiver. A 2xx means the submission is stored in the inbox.

Order of work per request: size limit, content type, authenticity on the raw bytes, parse,
store (duplicates by the vendor's id are acknowledged and stored once), then answer.
Nothing is stored for a request that gets a 4xx.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.records import RawSubmission
from connectors.sources.webhook_auth import google_key_ok, typeform_signature_ok
from connectors.sources.webhooks import GoogleAdsConfig, TypeformConfig, WebFormConfig, WebhookSource
from flows.state import StateStore

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Rejected(413, f"body larger than {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Rejected(413, f"body larger than {limit} bytes")
    return body


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected(400, f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Rejected(400, "malformed JSON: expected an object")
    return data


async def _form_fields(request: Request, body: bytes, kind: str) -> dict[str, Any]:
    if kind == "application/json":
        return _json(body)
    if kind == "application/x-www-form-urlencoded":
        try:
            parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise Rejected(400, "form body is not UTF-8") from None
        return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}
    request._body = body
    try:
        form = await request.form()
    except (MultiPartException, ValueError, KeyError) as exc:
        raise Rejected(400, f"malformed multipart body: {exc}") from None
    fields: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            continue  # files are not lead data
        fields[key] = [*fields[key], value] if isinstance(fields.get(key), list) else (
            [fields[key], value] if key in fields else value)
    return fields


def create_app(store: StateStore, sources: dict[str, WebhookSource], max_body_bytes: int = 1 << 20,
               on_stored: Callable[[], None] | None = None) -> Starlette:
    """`on_stored` is called after each new submission is stored (e.g. DebouncedTrigger.poke)."""
    by_path = {(s.kind, s.config.name): s for s in sources.values()}

    def stored(source: WebhookSource, record_id: str, payload: dict[str, Any], status: str = "pending") -> JSONResponse:
        raw = RawSubmission(source=source.name, partition=source.config.name, source_record_id=record_id,
                            received_at=datetime.now(UTC), payload=payload)
        [new] = store.inbox_add([raw], status=status, reason="honeypot field filled" if status == "spam" else None)
        if new and status == "pending" and on_stored is not None:
            on_stored()
        return JSONResponse({"stored": True, "duplicate": not new}, status_code=200)

    async def receive(request: Request) -> JSONResponse:
        source = by_path.get((request.path_params["kind"], request.path_params["name"]))
        if source is None:
            return JSONResponse({"error": "no such endpoint"}, status_code=404)
        try:
            body = await _body(request, max_body_bytes)
            kind = _content_type(request)
            config = source.config
            if isinstance(config, WebFormConfig):
                if kind not in FORM_TYPES:
                    raise Rejected(415, f"content type must be one of {', '.join(FORM_TYPES)}")
                fields = await _form_fields(request, body, kind)
                record_id = str(fields.get("submission_id") or hashlib.sha256(body).hexdigest()[:32])
                spam = bool(config.honeypot_field and fields.get(config.honeypot_field))
                payload = {"fields": fields, "form_id": config.name,
                           "submitted_at": datetime.now(UTC).isoformat()}
                return stored(source, record_id, payload, "spam" if spam else "pending")
            if kind != "application/json":
                raise Rejected(415, "content type must be application/json")
            if isinstance(config, TypeformConfig):
                if not typeform_signature_ok(config.secret, body, request.headers.get("typeform-signature")):
                    raise Rejected(401, "missing or invalid Typeform-Signature")
                data = _json(body)
                token = (data.get("form_response") or {}).get("token") or data.get("event_id")
                if not token:
                    raise Rejected(400, "form_response.token missing")
                return stored(source, str(token), data)
            assert isinstance(config, GoogleAdsConfig)
            if not google_key_ok(config.google_key, body):
                raise Rejected(401, "missing or invalid google_key")
            data = _json(body)
            if not data.get("lead_id"):
                raise Rejected(400, "lead_id missing")
            status = "test" if data.get("is_test") and not config.push_test_leads else "pending"
            return stored(source, str(data["lead_id"]), data, status)
        except Rejected as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/health", health), Route("/{kind}/{name}", receive, methods=["POST"])])
