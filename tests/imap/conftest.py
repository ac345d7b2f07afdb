from __future__ import annotations

import contextlib
import imaplib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from tests.imap.dovecot import PASSWORD, USER, Dovecot, dovecot_server
from tests.imap.introspection import TokenIntrospection


@pytest.fixture(scope="session")
def token_endpoint() -> Iterator[TokenIntrospection]:
    """The OAuth2 provider's introspection endpoint that Dovecot asks about every bearer token."""
    with TokenIntrospection() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def dovecot(token_endpoint: TokenIntrospection) -> Iterator[Dovecot]:
    """Dovecot with a plain listener (STARTTLS-capable) and an IMAPS listener, self-signed certificate.

    Password logins and XOAUTH2/OAUTHBEARER logins (tokens checked against `token_endpoint`) both work.
    """
    workdir = Path(tempfile.mkdtemp(prefix="leadsync-imap-"))
    workdir.chmod(0o755)
    try:
        with dovecot_server(workdir, tls=True, introspection_url=token_endpoint.url) as server:
            yield server
    except RuntimeError as exc:
        pytest.fail(str(exc))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot: Dovecot, request: pytest.FixtureRequest) -> Iterator[tuple[IMAPClient, str]]:
    """A fresh folder per test (its own UIDVALIDITY), and an admin connection to fill it."""
    folder = f"t-{request.node.name[:40].replace('[', '-').replace(']', '')}"
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False)
    client.login(USER, PASSWORD)
    for name in (folder, f"{folder}-done"):
        if client.folder_exists(name):
            client.delete_folder(name)
        client.create_folder(name)
    try:
        yield client, folder
    finally:
        with contextlib.suppress(OSError, IMAPClientError, imaplib.IMAP4.abort):
            client.logout()  # a test may have had the server drop this session
