"""Webhook authenticity, checked on the raw bytes before anything is parsed or stored.

Every comparison is constant-time (hmac.compare_digest), so a forger learns nothing from timing,
and made on bytes: a header may carry any character (non-ASCII, lone surrogates) and must simply not match.
SendGrid's ECDSA signatures are verified with `cryptography`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec


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


@lru_cache(maxsize=16)
def _sendgrid_key(public_key: str) -> ec.EllipticCurvePublicKey | None:
    """SendGrid shows the verification key as base64 of the DER SubjectPublicKeyInfo (no PEM armour)."""
    # cryptography is imported on first use: the config model that calls this is imported by every run.
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_der_public_key(base64.b64decode("".join(public_key.split()), validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1" else None


def sendgrid_key_ok(public_key: str) -> bool:
    """True when the configured key is a P-256 public key as SendGrid shows it."""
    return _sendgrid_key(public_key) is not None


def sendgrid_signature_ok(public_key: str, body: bytes, timestamp: str | None, signature: str | None,
                          now: float | None = None, max_age_seconds: float | None = None) -> bool:
    """X-Twilio-Email-Event-Webhook-Signature: base64 DER ECDSA P-256 / SHA-256 over timestamp + raw body.

    SendGrid documents no freshness window; with `max_age_seconds` a timestamp further than that
    from `now` (either way) is refused.
    """
    key = _sendgrid_key(public_key)
    if key is None or not timestamp or not signature or len(timestamp) > 32 or len(signature) > 256:
        return False
    if max_age_seconds is not None and (not timestamp.isdigit() or now is None
                                        or abs(now - int(timestamp)) > max_age_seconds):
        return False
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key.verify(base64.b64decode(signature.strip(), validate=True), timestamp.encode() + body,
                   ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
