"""The receiver on 127.0.0.1 (port 0 picked free) in a thread, and the sample secrets it is configured with."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from flows.receiver.serving import receiver_config
from tests.support.postgres import free_port

SAMPLES = Path("/work/shared/samples")
TF_SECRET = json.loads((SAMPLES / "typeform_webhook.headers.json").read_text())["_secret"]
GOOGLE_KEY = json.loads((SAMPLES / "google_ads.headers.json").read_text())["_configured_google_key"]
META_HEADERS = json.loads((SAMPLES / "fb_webhook.headers.json").read_text())
META_APP_SECRET = META_HEADERS["_app_secret"]
META_VERIFY_TOKEN = "meatyhamhock-test-verify-token"
WEBFLOW_SECRET = "wf-test-client-secret-9f8e7d"
JSON_SECRET = "json-hook-shared-secret-42"


@contextmanager
def serve(app: Starlette, header_timeout_seconds: float = 10) -> Iterator[str]:
    """The receiver as `leadsync receive` runs it (same uvicorn settings and protocol)."""
    port = free_port()
    server = uvicorn.Server(receiver_config(app, "127.0.0.1", port, log_level="error",
                                            header_timeout_seconds=header_timeout_seconds))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


def meta_signature(body: bytes, secret: str = META_APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webflow_headers(body: bytes, secret: str = WEBFLOW_SECRET, age_seconds: float = 0) -> dict[str, str]:
    timestamp = str(int((time.time() - age_seconds) * 1000))
    signature = hmac.new(secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "x-webflow-timestamp": timestamp, "x-webflow-signature": signature}
