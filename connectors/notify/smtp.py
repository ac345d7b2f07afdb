"""E-mail over SMTP with STARTTLS and login (smtplib): one connection per batch of messages.

Failures map to the taxonomy: an unreachable or failing server is retriable (the outbox tries
again later), a refused recipient is a rejection of that one message. The password is a secret:
it is registered with the redactor and never appears in an error.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from connectors.errors import FatalError, LeadsyncError, RecordRejectedError, RetriableError
from connectors.notify.message import Notice, Rendered
from connectors.redaction import redact, register_secret


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    from_address: str = "leadsync@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    ca_file: str | None = None        # a private CA (or a test's self-signed certificate)
    timeout_seconds: float = 30.0

    def __repr__(self) -> str:  # never the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, username={self.username!r})"


def build_message(notice: Notice, rendered: Rendered, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = notice.recipient
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(localtime=False)
    # The outbox key as Message-ID: a copy that ever slipped through twice is recognisable as one message.
    message["Message-ID"] = f"<{notice.key.replace(':', '.')}@leadsync>"
    message.set_content(rendered.text)
    return message


class SmtpSender:
    def __init__(self, settings: SmtpSettings) -> None:
        register_secret(settings.password)
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=s.ca_file))
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
            return smtp
        except smtplib.SMTPAuthenticationError as exc:
            raise FatalError(f"SMTP login to {s.host}:{s.port} refused ({exc.smtp_code})", code="SMTP_AUTH") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise RetriableError(f"SMTP server {s.host}:{s.port} unavailable: {redact(type(exc).__name__)} "
                                 f"{redact(exc, max_length=200)}", code="SMTP_UNAVAILABLE") from None

    def send(self, messages: Sequence[tuple[str, EmailMessage]]) -> dict[str, LeadsyncError | None]:
        """Send (key, message) pairs over one connection; per key None (sent) or the error."""
        results: dict[str, LeadsyncError | None] = {}
        if not messages:
            return results
        smtp = self._connect()
        try:
            for key, message in messages:
                results[key] = self._send_one(smtp, key, message)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return results

    def _send_one(self, smtp: smtplib.SMTP, key: str, message: EmailMessage) -> LeadsyncError | None:
        try:
            refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            return RecordRejectedError(key, "recipient", "the SMTP server refused the recipient",
                                       code="SMTP_RECIPIENT_REFUSED")
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                return RetriableError(f"SMTP {exc.smtp_code}: temporary failure", code=f"SMTP_{exc.smtp_code}")
            return RecordRejectedError(key, "message", f"SMTP {exc.smtp_code}: refused",
                                       code=f"SMTP_{exc.smtp_code}")
        except (OSError, smtplib.SMTPException) as exc:
            return RetriableError(f"SMTP connection lost: {type(exc).__name__}", code="SMTP_UNAVAILABLE")
        if refused:
            return RecordRejectedError(key, "recipient", "the SMTP server refused the recipient",
                                       code="SMTP_RECIPIENT_REFUSED")
        return None
