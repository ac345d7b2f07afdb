"""Segment's HTTP Tracking API on the receiver: POST /segment/<name>/v1/<call>.

Order of work per request, as for every webhook: size limit (Segment's 32 KB per call, 500 KB per
batch, 400 above; gzip bodies are inflated within the same limit), content type, write key (HTTP
Basic user name, or `writeKey` in the body as Segment's libraries since analytics-python 2.3 send
it; 401 otherwise), every message checked, then stored (one inbox row per messageId, in one
transaction), then the 200. A 4xx stores nothing, except the 429 of the flood cap: the messages
of other visitors in that batch are stored and counted in the answer, the flooding anonymousId's
new messages are refused until the next clock hour (a sender's retry stores each message once,
and a re-delivery of messages already stored is acknowledged as duplicates).

Answers carry Segment's error shape (`code`, `message`) because its libraries read those keys,
and CORS headers so a web page on another origin can post. analytics.js (analytics-next) posts
text/plain to the one-letter paths /t /p /i /a /g /s (and /b when batching) with the write key in
the body; those paths are answered too, so its `apiHost` can point here unchanged.
"""

from __future__ import annotations

import base64
import binascii
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.records import RawSubmission
from connectors.sources.segment import (
    CALLS,
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    SegmentSource,
    message_id,
    tracking_messages,
)
from connectors.sources.webhook_auth import secret_matches
from flows.receiver.payloads import Rejected, json_object
from flows.state import StateStore
from flows.state.schema import inbox

BodyReader = Callable[[Request, int], Any]  # the receiver's size-limited body reader (a coroutine function)
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Expose-Headers": "Retry-After, X-RateLimit-Reset",
        "Access-Control-Allow-Headers": "Content-Type, Authorization, Content-Encoding",
        "Access-Control-Max-Age": "86400"}
CONTENT_TYPES = ("application/json", "text/plain")
# analytics.js (analytics-next) posts to <apiHost>/t, /p, /i, /a, /g, /s, and /b when it batches.
SHORT_PATHS = {"t": "track", "p": "page", "i": "identify", "a": "alias", "g": "group", "s": "screen", "b": "batch"}
_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 415: "unsupported_media_type",
          429: "rate_limited"}


class HourlyCap:
    """Messages per (source, anonymousId) in the current clock hour.

    One counter per id seen this hour, all dropped when the hour turns: memory grows with the
    distinct visitors of one hour only, and no table is written per message.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._hour = -1
        self._counts: dict[tuple[str, str], int] = {}

    def _turn(self) -> None:
        hour = int(self._clock() // 3600)
        if hour != self._hour:
            self._hour, self._counts = hour, {}

    def admit(self, source: str, ids: Sequence[str | None], limit: int) -> list[bool]:
        """Which messages fit under the cap (counting those before them in the same request)."""
        self._turn()
        pending: dict[str, int] = {}
        admitted = []
        for anonymous_id in ids:
            if anonymous_id is None:
                admitted.append(True)
                continue
            seen = self._counts.get((source, anonymous_id), 0) + pending.get(anonymous_id, 0)
            admitted.append(seen < limit)
            pending[anonymous_id] = pending.get(anonymous_id, 0) + (seen < limit)
        return admitted

    def count(self, source: str, ids: Sequence[str | None]) -> None:
        """Count messages newly stored (a re-delivered duplicate is not counted twice)."""
        self._turn()
        for anonymous_id in ids:
            if anonymous_id is not None:
                self._counts[(source, anonymous_id)] = self._counts.get((source, anonymous_id), 0) + 1

    def seconds_to_next_hour(self) -> int:
        return 3600 - int(self._clock()) % 3600


def _answer(status: int, message: str, retry_after: int | None = None, **extra: Any) -> JSONResponse:
    # Retry-After for HTTP clients, X-RateLimit-Reset (seconds) for analytics.js's batching dispatcher
    waits = {"Retry-After": str(retry_after), "X-RateLimit-Reset": str(retry_after)} if retry_after else {}
    headers = {**CORS, **waits}
    return JSONResponse({"success": False, "code": _CODES.get(status, "error"), "message": message, **extra},
                        status_code=status, headers=headers)


def _basic_user(header: str | None) -> str | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.split(":", 1)[0]


def _inflate(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise Rejected(400, "Content-Encoding is gzip but the body is not gzip data") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise Rejected(400, f"request larger than {limit // 1024} KB once inflated")
    return data


def _already_stored(store: StateStore, source: str, record_ids: list[str]) -> set[str]:
    query = select(inbox.c.source_record_id).where(inbox.c.source == source,
                                                   inbox.c.source_record_id.in_(record_ids))
    with store.engine.connect() as conn:
        return {row[0] for row in conn.execute(query)}


def segment_routes(store: StateStore, sources: Mapping[str, object], read_body: BodyReader,
                   content_type: Callable[[Request], str], on_stored: Callable[[], None] | None = None,
                   cap: HourlyCap | None = None) -> list[Route]:
    by_name = {s.config.name: s for s in sources.values() if isinstance(s, SegmentSource)}
    flood = cap or HourlyCap()

    async def messages_of(source: SegmentSource, call: str, request: Request) -> list[dict[str, Any]]:
        limit = MAX_BATCH_BYTES if call == "batch" else MAX_MESSAGE_BYTES
        try:
            body = await read_body(request, limit)
        except Rejected as exc:
            if exc.status != 413:
                raise
            raise Rejected(400, f"request larger than {limit // 1024} KB") from None
        if request.headers.get("content-encoding", "").strip().lower() == "gzip":
            body = _inflate(body, limit)
        if content_type(request) not in CONTENT_TYPES:
            raise Rejected(415, "content type must be application/json")
        basic = _basic_user(request.headers.get("authorization"))
        if basic is not None and not secret_matches(source.config.write_key, basic):
            raise Rejected(401, "invalid write key")
        try:
            data = json_object(body)
        except RecursionError:  # absurdly nested JSON
            raise Rejected(400, "malformed JSON: nested too deeply") from None
        if basic is None and not (isinstance(data.get("writeKey"), str)
                                  and secret_matches(source.config.write_key, data["writeKey"])):
            raise Rejected(401, "missing or invalid write key (HTTP Basic user name or writeKey)")
        try:
            return tracking_messages(call, data)
        except ValueError as exc:
            raise Rejected(400, str(exc)) from None

    def store_messages(source: SegmentSource, messages: list[dict[str, Any]]) -> Response:
        anonymous = [str(m["anonymousId"]) if m.get("anonymousId") not in (None, "") else None for m in messages]
        admitted = flood.admit(source.name, anonymous, source.config.max_per_anonymous_id_per_hour)
        if not all(admitted):  # a re-delivery of what is already stored is acknowledged, cap or not
            known = _already_stored(store, source.name, [message_id(m) for m, ok in zip(messages, admitted,
                                                                                         strict=True) if not ok])
            admitted = [ok or message_id(m) in known for m, ok in zip(messages, admitted, strict=True)]
        now = datetime.now(UTC)
        raws = [RawSubmission(source=source.name, partition=str(m["type"]), source_record_id=message_id(m),
                              received_at=now, payload=m) for m, ok in zip(messages, admitted, strict=True) if ok]
        added = store.inbox_add(raws)
        kept = [a for a, ok in zip(anonymous, admitted, strict=True) if ok]
        flood.count(source.name, [a for a, new in zip(kept, added, strict=True) if new])
        if any(added) and on_stored is not None:
            on_stored()
        refused = admitted.count(False)
        if refused:
            return _answer(429, f"{refused} message(s) refused: their anonymousId sent more than "
                           f"{source.config.max_per_anonymous_id_per_hour} messages this hour",
                           stored=len(raws), duplicates=added.count(False),
                           retry_after=flood.seconds_to_next_hour())
        return JSONResponse({"success": True, "stored": len(raws), "duplicates": added.count(False)},
                            headers=CORS)

    async def track_api(request: Request) -> Response:
        source = by_name.get(request.path_params["name"])
        call = SHORT_PATHS.get(request.path_params["call"], request.path_params["call"])
        if source is None or call not in (*CALLS, "batch"):
            return _answer(404, "no such endpoint")
        try:
            messages = await messages_of(source, call, request)
        except Rejected as exc:
            return _answer(exc.status, exc.reason)
        return store_messages(source, messages)

    async def preflight(request: Request) -> Response:
        return Response(status_code=204, headers=CORS)

    return [Route("/segment/{name}/v1/{call}", track_api, methods=["POST"]),
            Route("/segment/{name}/v1/{call}", preflight, methods=["OPTIONS"])]

