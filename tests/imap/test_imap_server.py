"""The IMAP source against a real Dovecot: poll, flag or move after storing, UIDVALIDITY change, drops."""

from __future__ import annotations

import time
from pathlib import Path

from imapclient import IMAPClient

from connectors.sources.imap_inbox import ImapInboxConfig, ImapInboxSource
from flows.pipeline.capture import capture_source, capture_source_safely
from flows.state import StateStore
from tests.imap.dovecot import PASSWORD, USER, Dovecot
from tests.imap.test_parsing import SAMPLES, mail

SAMPLE_FILES = ["01_plain_inquiry.eml", "03_form_notification.eml", "04_auto_reply_ooo.eml"]


def source(dovecot: Dovecot, folder: str, **options: object) -> ImapInboxSource:
    config = ImapInboxConfig(name="sales", host="127.0.0.1", port=dovecot.port, security="none", username=USER,
                             secret="${IMAP_PASSWORD}", folders=[folder], processed_folder=f"{folder}-done",
                             own_domains=["ourco.example"], **options)  # type: ignore[arg-type]
    return ImapInboxSource(config, PASSWORD)


def store(tmp_path: Path) -> StateStore:
    s = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    s.create_schema()
    return s


def append_samples(client: IMAPClient, folder: str) -> None:
    for name in SAMPLE_FILES:
        client.append(folder, (SAMPLES / name).read_bytes())


def test_poll_store_then_flag(dovecot: Dovecot, mailbox: tuple[IMAPClient, str], tmp_path: Path) -> None:
    admin, folder = mailbox
    append_samples(admin, folder)
    st, src = store(tmp_path), source(dovecot, folder)
    result = capture_source(st, src)
    assert (result.new, result.skipped, result.skip_reasons) == (2, 1, {"auto-submitted (auto-replied)": 1})
    assert st.inbox_status_counts() == {"pending": 2, "skipped": 1}
    admin.select_folder(folder)
    flags = admin.get_flags(admin.search(["ALL"]))
    assert all(b"$LeadsyncCaptured" in f for f in flags.values()) and len(flags) == 3
    assert all(b"\\Seen" not in f for f in flags.values())  # read with BODY.PEEK: humans still see them unread
    again = capture_source(st, src)
    assert (again.new, again.seen) == (0, 0)
    leads = [src.to_lead(row.raw) for row in st.claim_batch("r", 10, __import__("datetime").timedelta(minutes=1))]
    assert sorted(lead.email or "" for lead in leads) == ["aisha.bello@greenleaf-cafes.example",
                                                          "d.okafor@brightpath-logistics.example"]


def test_move_to_processed_folder(dovecot: Dovecot, mailbox: tuple[IMAPClient, str], tmp_path: Path) -> None:
    admin, folder = mailbox
    append_samples(admin, folder)
    capture_source(store(tmp_path), source(dovecot, folder, after_capture="move"))
    admin.select_folder(folder)
    assert admin.search(["ALL"]) == []
    admin.select_folder(f"{folder}-done")
    assert len(admin.search(["ALL"])) == 3


def test_uidvalidity_change_rescans_without_duplicates(dovecot: Dovecot, mailbox: tuple[IMAPClient, str],
                                                      tmp_path: Path) -> None:
    admin, folder = mailbox
    append_samples(admin, folder)
    st, src = store(tmp_path), source(dovecot, folder, after_capture="none")
    capture_source(st, src)
    before = st.inbox_count()
    src.close()
    admin.delete_folder(folder)  # a server migration or restore: every UID may be reassigned
    time.sleep(1.1)  # Dovecot derives UIDVALIDITY from the clock
    admin.create_folder(folder)
    append_samples(admin, folder)
    admin.append(folder, mail({"Message-ID": "<new-after-restore@bigco.example>"}))
    result = capture_source(st, src)
    assert st.inbox_count() == before + 1 and result.new == 1


def test_server_drop_mid_fetch_resumes_without_loss(dovecot: Dovecot, mailbox: tuple[IMAPClient, str],
                                                   tmp_path: Path) -> None:
    admin, folder = mailbox
    for i in range(5):
        admin.append(folder, mail({"Message-ID": f"<drop-{i}@bigco.example>", "From": f"P{i} <p{i}@co.example>"}))
    st, src = store(tmp_path), source(dovecot, folder, batch_size=2)
    pages = src.read(st.get_cursors(src.name))
    first = next(pages)
    st.capture_page(src.name, first)
    src.commit(first)
    dovecot.kick()  # the server drops the connection between two pages
    failed = capture_source_safely(st, _Resume(src, pages))
    assert failed.error is not None and failed.error.startswith("RETRIABLE")
    done = capture_source(st, src)  # the next run reconnects and resumes from the stored cursor
    assert st.inbox_count() == 5 and done.new == 3
    fresh = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False)  # the kick dropped our admin session too
    fresh.login(USER, PASSWORD)
    fresh.select_folder(folder)
    assert all(b"$LeadsyncCaptured" in f for f in fresh.get_flags(fresh.search(["ALL"])).values())
    fresh.logout()


class _Resume:
    """Feeds capture the rest of an already-started read, as a run interrupted mid-folder would."""

    def __init__(self, src: ImapInboxSource, pages: object) -> None:
        self.name, self._src, self._pages = src.name, src, pages

    def read(self, cursors: object) -> object:
        return self._pages

    def commit(self, page: object) -> None:
        self._src.commit(page)  # type: ignore[arg-type]

    def to_lead(self, raw: object) -> object:
        return self._src.to_lead(raw)  # type: ignore[arg-type]


def test_wrong_password_is_a_clear_fatal_error(dovecot: Dovecot, mailbox: tuple[IMAPClient, str]) -> None:
    _, folder = mailbox
    config = ImapInboxConfig(name="sales", host="127.0.0.1", port=dovecot.port, security="none", username=USER,
                             secret="${IMAP_PASSWORD}", folders=[folder])
    src = ImapInboxSource(config, "wrong-password-xyz")
    import pytest

    from connectors.errors import FatalError

    with pytest.raises(FatalError, match="refused the login") as info:
        list(src.read({}))
    assert "wrong-password-xyz" not in str(info.value)


def test_imaps_and_starttls_verify_the_certificate(dovecot: Dovecot, mailbox: tuple[IMAPClient, str],
                                                   tmp_path: Path) -> None:
    import pytest

    from connectors.errors import FatalError

    admin, folder = mailbox
    append_samples(admin, folder)
    base = {"name": "sales", "host": "127.0.0.1", "username": USER, "secret": "${X}", "folders": [folder],
            "after_capture": "none", "ca_file": str(dovecot.ca_file)}
    for security, port in (("imaps", dovecot.tls_port), ("starttls", dovecot.port)):
        src = ImapInboxSource(ImapInboxConfig(**base, security=security, port=port), PASSWORD)  # type: ignore[arg-type]
        assert capture_source(store(tmp_path / security), src).new == 2
        src.close()
    untrusted = ImapInboxSource(ImapInboxConfig(**{**base, "ca_file": None}, security="imaps",  # type: ignore[arg-type]
                                                port=dovecot.tls_port), PASSWORD)
    with pytest.raises(FatalError, match=r"certificate of 127\.0\.0\.1 is not trusted"):
        list(untrusted.read({}))  # a self-signed certificate is refused unless its CA is configured
