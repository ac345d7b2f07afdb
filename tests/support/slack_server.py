"""A local HTTP server standing in for Slack incoming webhooks: records posts, answers 200 "ok",
or a scripted failure (429 with Retry-After, 5xx, 4xx invalid_payload)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SlackTestServer:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.fail_next: list[tuple[int, str, dict[str, str]]] = []
        self.down = False  # every post answers 503 while set
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server.lock:
                    failure = server.fail_next.pop(0) if server.fail_next else None
                    if failure is None and server.down:
                        failure = (503, "service_unavailable", {})
                    if failure is None:
                        server.posts.append((self.path, json.loads(body)))
                status, text, headers = failure or (200, "ok", {})
                payload = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/services/T000/B000/XXXXsecretXXXX") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self) -> SlackTestServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
