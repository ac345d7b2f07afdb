"""`leadsync receive`: the webhook receiver. A 2xx means the submission is stored in the inbox.

Order of work per request: size limit, content type, authenticity on the raw bytes, parse,
store (duplicates by the vendor's id are acknowledged and stored once), then answer.
Nothing is stored for a request that gets a 4xx. GET on a Meta endpoint is Meta's subscription
handshake. The per-vendor checks are in flows.receiver.payloads.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
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
    check_ids,
    check_json_depth,
    check_storable,
    generic_json,
    google_ads,
    json_object,
    meta,
    typeform,
    webflow,
)
from flows.receiver.sendgrid import sendgrid
from flows.state import StateStore

log = logging.getLogger(__name__)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")
Handler = Callable[[Any, bytes, Mapping[str, str]], list[Capture]]
JSON_HANDLERS: dict[type, Handler] = {TypeformConfig: typeform, GoogleAdsConfig: google_ads, MetaWebhookConfig: meta,
                                      WebflowConfig: webflow, JsonHookConfig: generic_json, SendGridConfig: sendgrid}


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _body(request: Request, limit: int, seconds: float) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise Rejected(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):  # a client trickling its body does not hold a worker for long
            async for chunk in request.stream():
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise Rejected(413, f"body larger than {limit} bytes")
    except TimeoutError:
        raise Rejected(408, f"body not received within {seconds:g} seconds") from None
    except ClientDisconnect:
        raise Rejected(400, "client disconnected before the body was complete") from None
    return b"".join(chunks)


def _from_a_browser(request: Request) -> bool:
    """A plain HTML form post by a browser (which wants a page back), not an API client wanting JSON."""
    if _content_type(request) not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return False
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept or request.headers.get("sec-fetch-mode", "").lower() == "navigate"


def _multipart_complete(request: Request, body: bytes) -> None:
    """A body cut before its closing boundary would parse as fewer (or no) fields: refuse it."""
    boundary = _content_type_params(request).get("boundary", "")
    if not boundary:
        raise Rejected(400, "malformed multipart body: no boundary")
    if b"--" + boundary.encode("latin-1", "replace") + b"--" not in body:
        raise Rejected(400, "malformed multipart body: cut before its closing boundary")


def _content_type_params(request: Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in request.headers.get("content-type", "").split(";")[1:]:
        name, _, value = part.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return params


async def _form_fields(request: Request, body: bytes, kind: str) -> dict[str, Any]:
    if kind == "application/json":
        return json_object(body)
    if kind == "application/x-www-form-urlencoded":
        try:
            parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise Rejected(400, "form body is not UTF-8") from None
        return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}
    _multipart_complete(request, body)
    request._body = body
    try:
        form = await request.form()
    except (MultiPartException, ValueError, KeyError) as exc:
        raise Rejected(400, f"malformed multipart body: {type(exc).__name__}") from None
    fields: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            continue  # files are not lead data
        fields[key] = [*fields[key], value] if isinstance(fields.get(key), list) else (
            [fields[key], value] if key in fields else value)
    return fields


def create_app(store: StateStore, sources: dict[str, WebhookSource], max_body_bytes: int = 1 << 20,
               on_stored: Callable[[], None] | None = None, body_timeout_seconds: float = 30) -> Starlette:
    """`on_stored` is called after each new submission is stored (e.g. DebouncedTrigger.poke)."""
    by_path = {(s.kind, s.config.name): s for s in sources.values()}

    def stored(source: WebhookSource, captures: list[Capture]) -> JSONResponse:
        check_ids(captures)
        now = datetime.now(UTC)
        new: list[bool] = []
        for status in dict.fromkeys(c.status for c in captures):  # one insert per status, usually just one
            raws = [RawSubmission(source=source.name, partition=c.partition or source.config.name,
                                  source_record_id=c.record_id, received_at=now, payload=c.payload)
                    for c in captures if c.status == status]
            added = store.inbox_add(raws, status=status, reason="honeypot field filled" if status == "spam" else None)
            new += added
            for capture, is_new in zip((c for c in captures if c.status == status), added, strict=True):
                # Ids only: the vendor's record id is not personal data; the payload never reaches a log.
                log.info("stored %s/%s record %s: %s", source.kind, source.config.name, capture.record_id,
                         status if is_new else "duplicate (already stored)")
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
            if not any(fields.values()):
                raise Rejected(400, "the form has no filled fields")
            check_storable(fields)
            record_id = str(fields.get("submission_id") or hashlib.sha256(body).hexdigest()[:32])
            spam = bool(config.honeypot_field and fields.get(config.honeypot_field))
            payload = {"fields": fields, "form_id": config.name, "submitted_at": datetime.now(UTC).isoformat()}
            return [Capture(record_id, payload, status="spam" if spam else "pending")]
        if kind != "application/json":
            raise Rejected(415, "content type must be application/json")
        check_json_depth(body)  # before the signature checks: Google's key check parses the body
        for config_type, handler in JSON_HANDLERS.items():  # isinstance: runtime builds config subclasses
            if isinstance(config, config_type):
                return handler(config, body, request.headers)
        raise Rejected(404, "no such endpoint")

    async def receive(request: Request) -> Response:
        source = by_path.get((request.path_params["kind"], request.path_params["name"]))
        if source is None:
            return JSONResponse({"error": "no such endpoint"}, status_code=404)
        try:
            body = await _body(request, max_body_bytes, body_timeout_seconds)
            answer = stored(source, await captures_of(source, request, body))
            thank_you = getattr(source.config, "thank_you_url", None)
            if thank_you and _from_a_browser(request):
                return RedirectResponse(thank_you, status_code=303)  # stored: the browser shows the thank-you page
            return answer
        except Rejected as exc:
            # After a body deadline the rest of the body may still come: the connection cannot be reused.
            close = {"connection": "close"} if exc.status == 408 else None
            return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=close)

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

    def read_body(request: Request, limit: int) -> Any:
        return _body(request, limit, body_timeout_seconds)  # the same slow-client deadline as every endpoint

    return Starlette(routes=[Route("/health", health),
                             *segment_routes(store, sources, read_body, _content_type, on_stored),
                             Route("/{kind}/{name}", receive, methods=["POST"]),
                             Route("/{kind}/{name}", verify, methods=["GET"])])
