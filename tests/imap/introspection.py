"""An OAuth2 token introspection endpoint (RFC 7662) in the test process, for Dovecot's oauth2 passdb.

Dovecot (introspection_mode = post) POSTs `token=<bearer token>` and reads `active` and `username`
from the JSON answer. The tests issue and revoke tokens here; every token Dovecot asked about is
recorded, which proves the login really went through this endpoint. `outage` makes it answer 503.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs


class TokenIntrospection:
    def __init__(self) -> None:
        self._owners: dict[str, str] = {}  # active token -> username
        self._lock = threading.Lock()
        self.asked: list[str] = []
        self.outage = False  # True: answer 503, as a provider that is down would
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="token-introspection", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/introspect"

    def issue(self, username: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._owners[token] = username
        return token

    def revoke(self, token: str) -> None:
        """Expired or revoked: from now on the endpoint answers `active: false` for it."""
        with self._lock:
            self._owners.pop(token, None)

    def answer(self, token: str) -> dict[str, object]:
        with self._lock:
            self.asked.append(token)
            owner = self._owners.get(token)
        return {"active": False} if owner is None else {"active": True, "username": owner, "token_type": "Bearer"}

    def __enter__(self) -> TokenIntrospection:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_for(endpoint: TokenIntrospection) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # Dovecot's HTTP client keeps the connection open

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode("ascii", "replace"))  # read even to refuse: keep-alive
            if endpoint.outage:
                self._reply(503, {"error": "temporarily_unavailable"})
                return
            tokens = form.get("token", [])
            if len(tokens) != 1:
                self._reply(400, {"error": "invalid_request"})
                return
            self._reply(200, endpoint.answer(tokens[0]))

        def _reply(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the request line would print tokens into the test output

    return Handler
