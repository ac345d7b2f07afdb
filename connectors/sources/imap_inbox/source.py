"""IMAP inbox source: poll folders by UID, store raw messages, then flag or move them.

imapclient over raw imaplib: it parses SELECT/FETCH responses into typed values, speaks UIDs by
default, knows MOVE (RFC 6851) and XOAUTH2, and handles modified UTF-7 folder names, all of which
imaplib leaves to the caller. Per folder the cursor is UIDVALIDITY + last UID. A changed UIDVALIDITY
means every UID may have been reassigned: the folder is read again from the start, and the inbox's
uniqueness on Message-ID keeps that from storing anything twice.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import ssl
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from connectors.errors import FatalError, RecordRejectedError, RetriableError
from connectors.normalise import build_lead
from connectors.records import Event, Lead, RawSubmission
from connectors.redaction import redact, register_secret
from connectors.sources.base import Page
from connectors.sources.imap_inbox.config import ImapInboxConfig
from connectors.sources.imap_inbox.parsing import extract

ClientFactory = Callable[[ImapInboxConfig], IMAPClient]
# A sender's clock may run a little fast; a Date further ahead than this is not believed.
CLOCK_SKEW = timedelta(minutes=15)


def connect(config: ImapInboxConfig) -> IMAPClient:
    """Connect with certificate and host name verification (never switched off)."""
    context = ssl.create_default_context(cafile=config.ca_file)
    if config.security == "imaps":
        return IMAPClient(config.host, port=config.effective_port, ssl=True, ssl_context=context,
                          timeout=config.timeout_seconds)
    client = IMAPClient(config.host, port=config.effective_port, ssl=False, timeout=config.timeout_seconds)
    if config.security == "starttls":
        client.starttls(context)
    return client


class ImapInboxSource:
    def __init__(self, config: ImapInboxConfig, secret: str, *, factory: ClientFactory = connect,
                 is_known_email: Callable[[str], bool] | None = None) -> None:
        register_secret(secret)
        self.config = config
        self.name = f"imap:{config.name}"
        self._secret = secret
        self._factory = factory
        self._own = frozenset(d.lower() for d in config.own_domains)
        self._is_known = is_known_email
        self._client: IMAPClient | None = None

    # connection ------------------------------------------------------------------------------------
    def _open(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        try:
            client = self._factory(self.config)
            if self.config.auth == "xoauth2":
                client.oauth2_login(self.config.username, self._secret)
            else:
                client.login(self.config.username, self._secret)
        except LoginError as exc:
            raise self._login_error(exc) from None
        except ssl.SSLCertVerificationError as exc:
            raise FatalError(f"source {self.name}: the certificate of {self.config.host} is not trusted "
                             f"({exc.verify_message}); set ca_file for a private CA") from None
        except (TimeoutError, OSError, IMAPClientError) as exc:
            raise RetriableError(f"source {self.name}: cannot reach {self.config.host}: {redact(exc)}") from None
        self._client = client
        return client

    def _login_error(self, exc: LoginError) -> FatalError | RetriableError:
        # The server's text is only checked, never quoted: some servers echo what the client sent.
        if "[UNAVAILABLE]" in str(exc).upper():  # RFC 5530: e.g. the OAuth2 provider's endpoint is down
            return RetriableError(f"source {self.name}: the IMAP server could not check the login right now "
                                  "(temporary authentication failure)")
        if self.config.auth == "xoauth2":
            return FatalError(f"source {self.name}: the IMAP server refused the OAuth2 access token for the "
                              "configured user (expired, revoked or issued for another account): renew the secret")
        return FatalError(f"source {self.name}: the IMAP server refused the login for the configured user")

    def close(self) -> None:
        if self._client is not None:
            # The server may already have dropped us; nothing is pending on this connection.
            with contextlib.suppress(OSError, IMAPClientError):
                self._client.logout()
            self._client = None

    # reading ---------------------------------------------------------------------------------------
    def read(self, cursors: Mapping[str, str]) -> Iterator[Page]:
        try:
            for folder in self.config.folders:
                yield from self._read_folder(folder, cursors.get(folder))
        except (TimeoutError, OSError, IMAPClientError) as exc:
            self._client = None  # the connection is gone; pages already yielded stay stored
            raise RetriableError(f"source {self.name}: IMAP connection lost: {redact(exc)}") from None

    def _read_folder(self, folder: str, cursor: str | None) -> Iterator[Page]:
        client = self._open()
        status = client.select_folder(folder, readonly=False)
        validity = int(status[b"UIDVALIDITY"])
        state = json.loads(cursor) if cursor else {}
        last_uid = int(state.get("last_uid", 0)) if state.get("uidvalidity") == validity else 0
        # "UID n:*" always includes the highest UID, even below n (RFC 3501 6.4.8): filter here.
        uids = sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
        for start in range(0, len(uids), self.config.batch_size):
            chunk = uids[start:start + self.config.batch_size]
            fetched = client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE"])
            records: list[RawSubmission] = []
            skipped: list[tuple[str, str]] = []
            for uid in chunk:
                data = fetched.get(uid)
                if data is None or b"BODY[]" not in data:
                    continue  # expunged between SEARCH and FETCH: nothing to keep
                raw, kind_reason = bytes(data[b"BODY[]"]), None
                record_id = _message_id(raw)
                parsed = extract(raw, self._own)
                if parsed.kind == "skip":
                    kind_reason = parsed.reason
                if kind_reason:
                    skipped.append((record_id, kind_reason))
                    continue
                received = data.get(b"INTERNALDATE")
                received_at = received.astimezone(UTC) if isinstance(received, datetime) and received.tzinfo \
                    else datetime.now(UTC)
                records.append(RawSubmission(
                    source=self.name, partition=folder, source_record_id=record_id, received_at=received_at,
                    cursor_value=str(uid),
                    payload={"folder": folder, "uid": uid, "uidvalidity": validity,
                             "raw": base64.b64encode(raw).decode("ascii")}))
            cursor_value = json.dumps({"uidvalidity": validity, "last_uid": chunk[-1]})
            yield Page(partition=folder, records=records, cursor=cursor_value, skipped=skipped,
                       ack=(folder, tuple(chunk)))

    # acknowledging -------------------------------------------------------------------------------------
    def commit(self, page: Page) -> None:
        """Flag or move exactly this page's messages, only now that they are stored."""
        if self.config.after_capture == "none" or not page.ack:
            return
        folder, uids = str(page.ack[0]), [int(u) for u in page.ack[1]]  # type: ignore[attr-defined]
        client = self._open()
        try:
            client.select_folder(folder)
            if self.config.after_capture == "move":
                client.move(uids, self.config.processed_folder)
            else:
                client.add_flags(uids, [self.config.flag])
        except (OSError, IMAPClientError) as exc:
            self._client = None
            # Stored but not yet acknowledged: the next run reads them again and the inbox keeps one copy.
            raise RetriableError(f"source {self.name}: could not {self.config.after_capture} captured mail: "
                                 f"{redact(exc)}") from None

    # mapping -------------------------------------------------------------------------------------------------
    def to_lead(self, raw: RawSubmission) -> Lead:
        record = f"{raw.source}/{raw.source_record_id}"
        try:
            message = base64.b64decode(raw.payload["raw"])
        except (KeyError, ValueError):
            raise RecordRejectedError(record, "raw", "stored message is missing or not base64", code="MALFORMED") \
                from None
        parsed = extract(message, self._own)
        if parsed.kind == "skip":
            raise RecordRejectedError(record, "message", f"not a lead: {parsed.reason}", code="NOT_A_LEAD")
        fields: dict[str, Any] = dict(parsed.fields)
        written_at = _written_at(parsed.sent_at, raw.received_at)
        fields["submitted_at"] = written_at
        if parsed.kind == "activity" or (self._is_known and fields.get("email") and self._is_known(str(
                fields["email"]))):
            # A reply from a known person: an activity on that lead (merged by lead key), not a new person.
            fields["events"] = [Event(type="email_reply", at=written_at, detail=parsed.subject[:200])]
        return build_lead(raw, fields, self.config.default_region)


def _written_at(sent: datetime | None, received: datetime) -> datetime:
    """The Date header (when the person wrote), unless it claims a time after the server received the mail."""
    if sent is None or sent - received > CLOCK_SKEW:
        return received
    return sent.astimezone(UTC)


def _message_id(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in head.replace(b"\r\n", b"\n").replace(b"\n ", b" ").replace(b"\n\t", b" ").split(b"\n"):
        if line.lower().startswith(b"message-id:"):
            value = line.split(b":", 1)[1].strip().decode("ascii", "replace")
            if value:
                return value.strip("<>").lower()
    return "sha256:" + hashlib.sha256(raw).hexdigest()
