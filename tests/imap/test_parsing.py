"""Which e-mails are leads, who the lead is, what they asked: table-driven over samples and built mail."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from connectors.sources.imap_inbox.bodies import html_to_text
from connectors.sources.imap_inbox.parsing import extract, inquiry_text

SAMPLES = Path("/work/shared/samples/emails") if Path("/work/shared/samples/emails").exists() else \
    Path(__file__).resolve().parents[3] / "shared" / "samples" / "emails"
OWN = frozenset({"ourco.example"})


def mail(headers: dict[str, str], body: str = "Hello, we would like a quote.", html: str | None = None,
         attach: EmailMessage | None = None) -> bytes:
    message = EmailMessage()
    for key, value in {"From": "Ann Lee <ann@bigco.example>", "To": "sales@ourco.example",
                       "Subject": "Quote please", "Message-ID": "<m1@bigco.example>", **headers}.items():
        if value:
            message[key] = value
    if html is not None and not body:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
    if attach is not None:
        message.add_attachment(attach)
    return message.as_bytes()


@pytest.mark.parametrize(("name", "kind", "email", "reason"), [
    ("01_plain_inquiry.eml", "lead", "d.okafor@brightpath-logistics.example", "inquiry"),
    ("03_form_notification.eml", "lead", "aisha.bello@greenleaf-cafes.example", "form notification"),
    ("04_auto_reply_ooo.eml", "skip", None, "auto-submitted (auto-replied)"),
])
def test_samples(name: str, kind: str, email: str | None, reason: str) -> None:
    parsed = extract((SAMPLES / name).read_bytes(), OWN)
    assert (parsed.kind, parsed.fields.get("email"), parsed.reason) == (kind, email, reason)


def test_form_notification_fields() -> None:
    fields = extract((SAMPLES / "03_form_notification.eml").read_bytes(), OWN).fields
    assert (fields["full_name"], fields["phone"], fields["company"]) == ("Aisha Bello", "0207 946 0321",
                                                                         "Greenleaf Cafés")
    assert str(fields["inquiry"]) == ("Looking for something to manage catering enquiries from our\n"
                                      "website and Instagram. Can you do a trial?")


def test_plain_inquiry_trims_signature_and_finds_phone() -> None:
    fields = extract((SAMPLES / "01_plain_inquiry.eml").read_bytes(), OWN).fields
    assert "Best regards" not in str(fields["inquiry"]) and "Thursday or Friday" in str(fields["inquiry"])
    assert fields["phone"] == "+44 161 496 0732"


@pytest.mark.parametrize(("headers", "kind", "reason"), [
    ({"Auto-Submitted": "auto-replied"}, "skip", "auto-submitted (auto-replied)"),
    ({"X-Autoreply": "yes"}, "skip", "auto-reply or out of office"),
    ({"Subject": "Out of Office: back Monday"}, "skip", "auto-reply or out of office"),
    ({"Subject": "Automatic reply: Quote"}, "skip", "auto-reply or out of office"),
    ({"List-Unsubscribe": "<mailto:u@news.example>"}, "skip", "newsletter or bulk mail"),
    ({"List-Id": "<news.example>"}, "skip", "newsletter or bulk mail"),
    ({"Precedence": "bulk"}, "skip", "newsletter or bulk mail"),
    ({"From": "MAILER-DAEMON@mx.example"}, "skip", "bounce or delivery report"),
    ({"From": "Tom <tom@ourco.example>"}, "skip", "from our own domain"),
    ({"Subject": "Re: Quote please", "In-Reply-To": "<x@ourco.example>"}, "activity", "reply in an existing thread"),
    ({}, "lead", "inquiry"),
])
def test_classification(headers: dict[str, str], kind: str, reason: str) -> None:
    parsed = extract(mail(headers), OWN)
    assert (parsed.kind, parsed.reason) == (kind, reason)


def test_delivery_report_is_a_bounce() -> None:
    report = EmailMessage()
    report["From"] = "Mail Delivery System <postmaster@mx.example>"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.set_content("The mail could not be delivered.")
    report.make_mixed()
    report.replace_header("Content-Type", 'multipart/report; report-type=delivery-status; boundary="b"')
    assert extract(report.as_bytes(), OWN).reason == "bounce or delivery report"


def test_rfc2047_display_name() -> None:
    raw = mail({"From": "=?UTF-8?B?Wm/DqyDDhW5nc3Ryw7Zt?= <zoe@fjard.example>"})
    fields = extract(raw, OWN).fields
    assert (fields["full_name"], fields["email"]) == ("Zoë Ångström", "zoe@fjard.example")


def test_html_only_body() -> None:
    raw = mail({}, body="", html="<html><body><p>Hi,<br>we need <b>50 seats</b>.</p><style>p{}</style></body></html>")
    assert extract(raw, OWN).fields["inquiry"] == "Hi,\nwe need 50 seats."


def test_forwarded_inline_yields_the_original_sender() -> None:
    body = ("FYI, see below\n\n---------- Forwarded message ---------\nFrom: Raj Patel <raj@prospect.example>\n"
            "Date: Mon, 2 Mar 2026\nSubject: Demo?\n\nCan we get a demo?\n")
    parsed = extract(mail({"From": "Tom <tom@ourco.example>"}, body), OWN)
    assert (parsed.kind, parsed.reason, parsed.fields["email"]) == ("lead", "forwarded inquiry", "raj@prospect.example")


def test_forwarded_as_attachment_yields_the_original_sender() -> None:
    original = EmailMessage()
    original["From"] = "Mia Chen <mia@prospect.example>"
    original["Subject"] = "Pricing"
    original.set_content("What does it cost?")
    parsed = extract(mail({"From": "Tom <tom@ourco.example>"}, "See attached.", attach=original), OWN)
    assert (parsed.kind, parsed.fields["email"]) == ("lead", "mia@prospect.example")


def test_quoted_history_is_trimmed() -> None:
    assert inquiry_text("Yes please.\n\nOn Mon, 2 Mar 2026 Tom wrote:\n> earlier text") == "Yes please."
    assert html_to_text("<div>a</div><div>b</div>") == "a\nb"


def test_reply_from_a_lead_is_an_activity_on_that_lead() -> None:
    import base64
    from datetime import UTC, datetime

    from connectors.records import RawSubmission
    from connectors.sources.imap_inbox import ImapInboxConfig, ImapInboxSource

    source = ImapInboxSource(ImapInboxConfig(name="s", host="127.0.0.1", security="none", username="u",
                                             secret="${X}", own_domains=["ourco.example"]), "pw")
    raw = mail({"Subject": "Re: Your demo", "In-Reply-To": "<demo@ourco.example>"}, "Yes, Tuesday works.")
    stored = RawSubmission(source="imap:s", source_record_id="m1@bigco.example",
                           received_at=datetime(2026, 3, 2, tzinfo=UTC),
                           payload={"raw": base64.b64encode(raw).decode()})
    lead = source.to_lead(stored)
    assert lead.email == "ann@bigco.example"
    assert [(e.type, e.detail) for e in lead.events] == [("email_reply", "Re: Your demo")]
    inquiry = source.to_lead(stored.model_copy(update={"payload": {"raw": base64.b64encode(mail({})).decode()}}))
    assert inquiry.events == []
