"""Webhook authenticity, checked on the raw bytes before anything is parsed or stored.

Every comparison is constant-time (hmac.compare_digest), so a forger learns nothing from timing,
and made on bytes: a header may carry any character (non-ASCII, lone surrogates) and must simply not match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(_bytes(given), _bytes(expected))


def typeform_signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Typeform-Signature: 'sha256=' + base64(HMAC-SHA256(secret, body))."""
    if not header or not header.startswith("sha256="):
        return False
    expected = base64.b64encode(hmac.new(_bytes(secret), body, hashlib.sha256).digest()).decode()
    return _same(header.removeprefix("sha256="), expected)


def google_key_ok(expected_key: str, body: bytes) -> bool:
    """Google Ads lead forms put the configured key in the JSON body (no header signature)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # the receiver bounds the depth first; a library caller may not
        return False
    key = data.get("google_key") if isinstance(data, dict) else None
    return isinstance(key, str) and _same(key, expected_key)


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(_bytes(secret), message, hashlib.sha256).hexdigest()


def meta_signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256: 'sha256=' + hex(HMAC-SHA256(app secret, raw body)), lower-case hex."""
    if not header or not header.startswith("sha256="):
        return False
    return _same(header.removeprefix("sha256=").lower(), _hex_hmac(app_secret, body))


def secret_matches(expected: str, given: str | None) -> bool:
    """A configured token (Meta's hub.verify_token, a shared-secret header) compared in constant time."""
    return given is not None and _same(given, expected)


WEBFLOW_MAX_AGE_MS = 5 * 60 * 1000


def webflow_signature_ok(secret: str, body: bytes, timestamp: str | None, signature: str | None,
                         now_ms: int, max_age_ms: int = WEBFLOW_MAX_AGE_MS) -> bool:
    """x-webflow-signature: hex(HMAC-SHA256(secret, f"{x-webflow-timestamp}:{raw body}")), timestamp in ms.

    A timestamp more than `max_age_ms` away from now (either way) is refused: a captured request
    cannot be replayed later.
    """
    # isascii: str.isdigit() accepts other scripts' digits and superscripts, which int() may then refuse
    if not timestamp or not signature or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 16:
        return False
    if abs(now_ms - int(timestamp)) > max_age_ms:
        return False
    expected = _hex_hmac(secret, timestamp.encode() + b":" + body)
    return _same(signature.strip().lower(), expected)
