"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 with STARTTLS (a self-signed certificate made
here with `cryptography`) and AUTH LOGIN/PLAIN against one user; received messages are kept."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.postgres import free_port


def make_self_signed_cert(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None


@dataclass
class _Handler:
    messages: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        message = message_from_bytes(content, _class=EmailMessage, policy=policy.default)
        with self.lock:
            self.messages.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message,
                                          session.ssl is not None, login))
        return "250 Message accepted for delivery"


class SmtpTestServer:
    """`with SmtpTestServer(tmp_path, user, password) as smtp:` then smtp.port, smtp.cert, smtp.messages."""

    def __init__(self, folder: Path, user: str = "leadsync", password: str = "s3cret-pass") -> None:
        self.cert, key = make_self_signed_cert(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.user, self.password = user, password
        self.handler = _Handler()
        self.port = free_port()

        def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                         auth_data: Any) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.user \
                and auth_data.password.decode() == self.password
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, auth_require_tls=True, auth_required=True,
                                     authenticator=authenticate)

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    def refuse(self, address: str) -> None:
        self.handler.refuse.add(address.lower())

    def __enter__(self) -> SmtpTestServer:
        self.controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.controller.stop()

    def stop(self) -> None:
        self.controller.stop()
