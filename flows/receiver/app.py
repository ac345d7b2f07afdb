"""`leadsync receive`: the webhook receiver. A 2xx means the submission is stored in the inbox.

Order of work per request: size limit, content type, authenticity on the raw bytes, parse,
store (duplicates by the vendor's id are acknowledged and stored once), then answer.
Nothing is stored for a request that gets a 4xx. GET on a Meta endpoint is Meta's subscription
handshake. The per-vendor checks are in flows.receiver.payloads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connectors.records import RawSubmission
from connectors.sources.meta_webhook import MetaWebhookConfig
from connectors.sources.sendgrid_events import SendGridConfig
from connectors.sources.webhook_auth import secret_matches
from connectors.sources.webhook_forms import JsonHookConfig, WebflowConfig
from connectors.sources.webhooks import GoogleAdsConfig, TypeformConfig, WebFormConfig, WebhookSource
from flows.receiver.payloads import (
    Capture,
    Rejected,
    generic_json,
    google_ads,
    json_object,
    meta,
    typeform,
    webflow,
)
from flows.receiver.sendgrid import sendgrid
from flows.state import StateStore

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")
Handler = Callable[[Any, bytes, Mapping[str, str]], list[Capture]]
JSON_HANDLERS: dict[type, Handler] = {TypeformConfig: typeform, GoogleAdsConfig: google_ads, MetaWebhookConfig: meta,
                                      WebflowConfig: webflow, JsonHookConfig: generic_json, SendGridConfig: sendgrid}


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


async def _form_fields(request: Request, body: bytes, kind: str) -> dict[str, Any]:
    if kind == "application/json":
        return json_object(body)
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

    def stored(source: WebhookSource, captures: list[Capture]) -> JSONResponse:
        now = datetime.now(UTC)
        new: list[bool] = []
        for status in dict.fromkeys(c.status for c in captures):  # one insert per status, usually just one
            raws = [RawSubmission(source=source.name, partition=c.partition or source.config.name,
                                  source_record_id=c.record_id, received_at=now, payload=c.payload)
                    for c in captures if c.status == status]
            added = store.inbox_add(raws, status=status, reason="honeypot field filled" if status == "spam" else None)
            new += added
            if any(added) and status == "pending" and on_stored is not None:
                on_stored()
        if len(captures) == 1:
            return JSONResponse({"stored": True, "duplicate": not new[0]}, status_code=200)
        return JSONResponse({"stored": True, "records": len(captures), "duplicates": new.count(False)})

    async def captures_of(source: WebhookSource, request: Request, body: bytes) -> list[Capture]:
        kind = _content_type(request)
        config = source.config
        if isinstance(config, WebFormConfig):
            if kind not in FORM_TYPES:
                raise Rejected(415, f"content type must be one of {', '.join(FORM_TYPES)}")
            fields = await _form_fields(request, body, kind)
            record_id = str(fields.get("submission_id") or hashlib.sha256(body).hexdigest()[:32])
            spam = bool(config.honeypot_field and fields.get(config.honeypot_field))
            payload = {"fields": fields, "form_id": config.name, "submitted_at": datetime.now(UTC).isoformat()}
            return [Capture(record_id, payload, status="spam" if spam else "pending")]
        if kind != "application/json":
            raise Rejected(415, "content type must be application/json")
        for config_type, handler in JSON_HANDLERS.items():  # isinstance: runtime builds config subclasses
            if isinstance(config, config_type):
                return handler(config, body, request.headers)
        raise Rejected(404, "no such endpoint")

    async def receive(request: Request) -> Response:
        source = by_path.get((request.path_params["kind"], request.path_params["name"]))
        if source is None:
            return JSONResponse({"error": "no such endpoint"}, status_code=404)
        try:
            body = await _body(request, max_body_bytes)
            return stored(source, await captures_of(source, request, body))
        except Rejected as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)

    async def verify(request: Request) -> Response:
        """Meta's subscription handshake: echo hub.challenge when hub.verify_token matches."""
        source = by_path.get((request.path_params["kind"], request.path_params["name"]))
        if source is None or not isinstance(source.config, MetaWebhookConfig):
            return JSONResponse({"error": "no such endpoint"}, status_code=404)
        params = request.query_params
        challenge = params.get("hub.challenge", "")
        if params.get("hub.mode") != "subscribe" or not secret_matches(source.config.verify_token,
                                                                       params.get("hub.verify_token")):
            return JSONResponse({"error": "verification failed"}, status_code=403)
        if not challenge or len(challenge) > 256:
            return JSONResponse({"error": "hub.challenge missing or too long"}, status_code=400)
        return PlainTextResponse(challenge)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    from flows.receiver.segment import segment_routes  # here: that module reuses this one's body reader

    return Starlette(routes=[Route("/health", health), *segment_routes(store, sources, _body, _content_type, on_stored),
                             Route("/{kind}/{name}", receive, methods=["POST"]),
                             Route("/{kind}/{name}", verify, methods=["GET"])])
