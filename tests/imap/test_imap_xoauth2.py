"""`auth: xoauth2` against a real Dovecot whose oauth2 passdb asks a token introspection endpoint."""

from __future__ import annotations

import secrets
import traceback
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from imapclient import IMAPClient

from connectors.errors import FatalError, RetriableError
from connectors.sources.imap_inbox import ImapInboxConfig, ImapInboxSource
from flows.pipeline.capture import capture_source, capture_source_safely
from tests.imap.dovecot import PASSWORD, USER, Dovecot
from tests.imap.introspection import TokenIntrospection
from tests.imap.test_imap_server import append_samples, store


def oauth_source(dovecot: Dovecot, folder: str, token: str) -> ImapInboxSource:
    config = ImapInboxConfig(name="sales", host="127.0.0.1", port=dovecot.port, security="none", username=USER,
                             secret="${IMAP_OAUTH_TOKEN}", auth="xoauth2", folders=[folder],
                             own_domains=["ourco.example"])
    return ImapInboxSource(config, token)


def test_xoauth2_login_polls_into_the_inbox(dovecot: Dovecot, mailbox: tuple[IMAPClient, str],
                                            token_endpoint: TokenIntrospection, tmp_path: Path) -> None:
    admin, folder = mailbox
    append_samples(admin, folder)
    token = token_endpoint.issue(USER)
    st, src = store(tmp_path), oauth_source(dovecot, folder, token)
    result = capture_source(st, src)
    assert token in token_endpoint.asked  # Dovecot checked the bearer token with the provider
    assert (result.new, result.skipped, result.error) == (2, 1, None)
    assert st.inbox_status_counts() == {"pending": 2, "skipped": 1}
    leads = [src.to_lead(row.raw) for row in st.claim_batch("r", 10, timedelta(minutes=1))]
    assert sorted(lead.email or "" for lead in leads) == ["aisha.bello@greenleaf-cafes.example",
                                                          "d.okafor@brightpath-logistics.example"]
    admin.select_folder(folder)  # the flags were set over the XOAUTH2 session
    flags = admin.get_flags(admin.search(["ALL"]))
    assert len(flags) == 3 and all(b"$LeadsyncCaptured" in f for f in flags.values())
    src.close()


def _revoked(endpoint: TokenIntrospection) -> str:
    token = endpoint.issue(USER)
    endpoint.revoke(token)
    return token


REFUSED_TOKENS: list[tuple[str, Callable[[TokenIntrospection], str]]] = [
    ("expired-or-revoked", _revoked),
    ("never-issued", lambda endpoint: secrets.token_urlsafe(32)),
    ("another-account", lambda endpoint: endpoint.issue("someone.else@example.test")),
    ("the-password", lambda endpoint: PASSWORD),  # the passwd-file passdb is not asked for XOAUTH2
]


@pytest.mark.parametrize(("case", "make_token"), REFUSED_TOKENS, ids=[case for case, _ in REFUSED_TOKENS])
def test_refused_token_is_a_fatal_error_without_the_token(
        dovecot: Dovecot, mailbox: tuple[IMAPClient, str], token_endpoint: TokenIntrospection, tmp_path: Path,
        case: str, make_token: Callable[[TokenIntrospection], str]) -> None:
    admin, folder = mailbox
    append_samples(admin, folder)
    token = make_token(token_endpoint)
    src = oauth_source(dovecot, folder, token)
    with pytest.raises(FatalError, match="refused the OAuth2 access token") as info:
        list(src.read({}))
    assert token in token_endpoint.asked  # refused by the provider's answer, not by a broken setup
    assert not isinstance(info.value, RetriableError)
    assert token not in "".join(traceback.format_exception(info.value))  # unredacted, with any chained cause
    st = store(tmp_path)
    failed = capture_source_safely(st, src)  # what a run stores and prints for this source
    assert failed.error is not None and failed.error.startswith("FATAL: ")
    assert token not in failed.error and st.inbox_count() == 0


def test_provider_outage_is_retriable_and_the_next_run_recovers(
        dovecot: Dovecot, mailbox: tuple[IMAPClient, str], token_endpoint: TokenIntrospection,
        tmp_path: Path) -> None:
    admin, folder = mailbox
    append_samples(admin, folder)
    token = token_endpoint.issue(USER)
    st, src = store(tmp_path), oauth_source(dovecot, folder, token)
    token_endpoint.outage = True
    try:
        with pytest.raises(RetriableError, match="temporary authentication failure") as info:
            list(src.read({}))
        failed = capture_source_safely(st, src)
    finally:
        token_endpoint.outage = False
    assert token not in "".join(traceback.format_exception(info.value))
    assert failed.error is not None and failed.error.startswith("RETRIABLE: ") and token not in failed.error
    assert capture_source(st, src).new == 2  # the provider is back: the same token logs in
    src.close()
