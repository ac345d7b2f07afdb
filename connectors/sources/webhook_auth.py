"""Webhook authenticity, checked on the raw bytes before anything is parsed or stored.

Every comparison is constant-time (hmac.compare_digest), so a forger learns nothing from timing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


def typeform_signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Typeform-Signature: 'sha256=' + base64(HMAC-SHA256(secret, body))."""
    if not header or not header.startswith("sha256="):
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(header.removeprefix("sha256="), expected)


def google_key_ok(expected_key: str, body: bytes) -> bool:
    """Google Ads lead forms put the configured key in the JSON body (no header signature)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    key = data.get("google_key") if isinstance(data, dict) else None
    return isinstance(key, str) and hmac.compare_digest(key.encode(), expected_key.encode())
