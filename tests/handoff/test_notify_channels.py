"""E-mail over a real SMTP server (aiosmtpd: STARTTLS, AUTH LOGIN) and Slack through a local webhook server."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from connectors.errors import FatalError, RecordRejectedError, RetriableError
from connectors.notify import Notice, SlackWebhook, SmtpSender, SmtpSettings, Templates
from connectors.notify.smtp import build_message
from connectors.redaction import redact
from tests.support.slack_server import SlackTestServer
from tests.support.smtp_server import SmtpTestServer

TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "templates"
ITEM = {"name": "Ada Lovelace", "company": "Analytical <Engines> & Co", "score": 72.0, "source": "forms:demo",
        "why": "score 72: pricing page visit (+20)", "link": "https://crm.example/r/00Q1", "kind": "routed",
        "owner": "alice@ourco.example", "due": "2026-03-02 10:15 UTC", "sla": "15 min", "minutes_late": 0}


def notice(recipient: str = "alice@ourco.example", purpose: str = "handoff") -> Notice:
    return Notice(key="abc123:notify:email", purpose=purpose, recipient=recipient, items=[ITEM])


def test_templates_render_what_the_owner_needs_and_nothing_else() -> None:
    templates = Templates(TEMPLATES)
    assert templates.check() == []
    rendered = templates.render(notice())
    assert rendered.subject == "New lead: Ada Lovelace (Analytical <Engines> & Co)"
    for part in ("Ada Lovelace", "Score: 72.0", "forms:demo", "pricing page visit", "https://crm.example/r/00Q1"):
        assert part in rendered.text
    assert "Analytical &lt;Engines&gt; &amp; Co" in rendered.slack_text  # Slack control characters escaped
    digest = templates.render(Notice(key="d", purpose="digest", recipient="a", items=[ITEM, {**ITEM, "name": "Bo"}]))
    assert digest.subject == "2 new leads for you" and "Bo" in digest.text


def test_missing_template_is_reported(tmp_path: Path) -> None:
    (tmp_path / "handoff.subject.j2").write_text("x")
    problems = Templates(tmp_path).check()
    assert any("handoff.txt.j2: template missing" in p for p in problems)


def test_an_edited_template_is_checked_again_after_the_compiled_cache_was_filled(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(TEMPLATES, tmp_path / "t")
    assert Templates(tmp_path / "t").check() == []  # compiled once: the bytecode cache now holds them all
    (tmp_path / "t" / "handoff.txt.j2").write_text("Hello {{ lead.name }\n")  # broken in place
    problems = Templates(tmp_path / "t").check()
    assert len(problems) == 1 and "handoff.txt.j2" in problems[0], problems
    (tmp_path / "t" / "handoff.txt.j2").write_text("Hello {{ lead.name | no_such_filter }}\n")  # compile-time error
    problems = Templates(tmp_path / "t").check()
    assert len(problems) == 1 and "no_such_filter" in problems[0], problems


def test_smtp_starttls_login_and_delivery(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with SmtpTestServer(tmp_path) as server:
        sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port, from_address="leadsync@ourco.example",
                                         username=server.user, password=server.password, ca_file=str(server.cert)))
        rendered = Templates(TEMPLATES).render(notice())
        results = sender.send([("k1", build_message(notice(), rendered, "leadsync@ourco.example"))])
        assert results == {"k1": None}
        [received] = server.messages
    assert received.tls and received.login == "leadsync"
    assert received.rcpt_tos == ["alice@ourco.example"]
    assert received.message["Subject"] == "New lead: Ada Lovelace (Analytical <Engines> & Co)"
    assert received.message["Message-ID"] == "<abc123.notify.email@leadsync>"
    assert "s3cret-pass" not in caplog.text


def test_smtp_wrong_password_is_fatal_and_never_shows_the_password(tmp_path: Path) -> None:
    with SmtpTestServer(tmp_path) as server:
        sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port, username=server.user,
                                         password="wrong-password-123", ca_file=str(server.cert)))
        with pytest.raises(FatalError) as caught:
            sender.send([("k", build_message(notice(), Templates(TEMPLATES).render(notice()), "x@ourco.example"))])
    assert "wrong-password-123" not in str(caught.value)
    assert redact("wrong-password-123 leaked") == "*** leaked"


def test_smtp_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    with SmtpTestServer(tmp_path) as server:
        sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=server.port, username=server.user,
                                         password=server.password))  # no ca_file: the test cert is not trusted
        with pytest.raises(RetriableError):
            sender.send([("k", build_message(notice(), Templates(TEMPLATES).render(notice()), "x@ourco.example"))])
        assert server.messages == []


def test_smtp_down_is_retriable_and_refused_recipient_is_rejected(tmp_path: Path) -> None:
    with SmtpTestServer(tmp_path) as server:
        settings = SmtpSettings(host="127.0.0.1", port=server.port, username=server.user, password=server.password,
                                ca_file=str(server.cert))
        server.refuse("gone@ourco.example")
        rendered = Templates(TEMPLATES).render(notice())
        results = SmtpSender(settings).send([
            ("bad", build_message(notice("gone@ourco.example"), rendered, "x@ourco.example")),
            ("good", build_message(notice(), rendered, "x@ourco.example"))])
        assert isinstance(results["bad"], RecordRejectedError) and results["good"] is None
        assert len(server.messages) == 1
    with pytest.raises(RetriableError):  # the server is gone now
        SmtpSender(settings).send([("k", build_message(notice(), rendered, "x@ourco.example"))])


def test_slack_block_kit_post_and_failures() -> None:
    rendered = Templates(TEMPLATES).render(notice())
    with SlackTestServer() as slack:
        url = slack.url()
        hook = SlackWebhook(url)
        hook.post(notice(), rendered)
        [(path, body)] = slack.posts
        assert path == "/services/T000/B000/XXXXsecretXXXX"
        assert body["text"] == rendered.subject
        assert [b["type"] for b in body["blocks"]] == ["header", "section", "actions"]
        assert body["blocks"][2]["elements"][0]["url"] == "https://crm.example/r/00Q1"

        slack.fail_next.append((429, "rate_limited", {"Retry-After": "7"}))
        with pytest.raises(RetriableError) as limited:
            hook.post(notice(), rendered)
        assert limited.value.retry_after == 7.0

        slack.fail_next.append((500, "oops", {}))
        with pytest.raises(RetriableError) as down:
            hook.post(notice(), rendered)
        assert "XXXXsecretXXXX" not in str(down.value)

        slack.fail_next.append((400, "invalid_payload", {}))
        with pytest.raises(RecordRejectedError):
            hook.post(notice(), rendered)
        slack.fail_next.append((404, "no_service", {}))
        with pytest.raises(FatalError) as gone:
            hook.post(notice(), rendered)
        assert "XXXXsecretXXXX" not in str(gone.value) and url not in redact(url)
        assert len(slack.posts) == 1
        hook.close()
