"""E-mail leads in the shapes mail clients write them: forwards (Gmail, Outlook, Apple Mail, attached
messages), HTML-only bodies, signatures with labelled numbers, line breaks, and the message's own Date."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from connectors.records import Lead, RawSubmission
from connectors.sources.imap_inbox import ImapInboxConfig, ImapInboxSource
from connectors.sources.imap_inbox.parsing import extract
from connectors.sources.imap_inbox.signature import read_signature, trailing_signature

HERE = Path(__file__).parent / "emails"
SAMPLES = Path("/work/shared/samples/emails") if Path("/work/shared/samples/emails").exists() else \
    Path(__file__).resolve().parents[3] / "shared" / "samples" / "emails"
RECEIVED = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


def source() -> ImapInboxSource:
    return ImapInboxSource(ImapInboxConfig(name="s", host="127.0.0.1", security="none", username="u",
                                           secret="${X}", own_domains=["ourco.example"]), "pw")


def lead_of(raw: bytes) -> Lead:
    stored = RawSubmission(source="imap:s", source_record_id="m", received_at=RECEIVED,
                           payload={"raw": base64.b64encode(raw).decode()})
    return source().to_lead(stored)


@pytest.mark.parametrize(("path", "who", "company", "title", "phones", "inquiry"), [
    (HERE / "gmail_forward.eml", ("priya.raman@northwind-freight.example", "Priya", "Raman"),
     "Northwind Freight Ltd", "Head of Sales Operations", ("+442079460011", "204", "+447700900123"),
     "Hi Tom,\n\nWe met at the logistics expo. We have 40 reps across 3 offices and\nroute leads by hand today.\n\n"
     "Could we see a demo next week?\n- Tuesday or Wednesday works\n- ideally with our ops lead"),
    (HERE / "outlook_forward_html.eml", ("j.weiss@alpen-maschinen.example", "Jürgen", "Weiß"),
     "Alpen Maschinenbau GmbH", "Leiter Vertrieb", ("+498945678900", None, "+4915123456789"),
     "Sehr geehrte Frau Berg,\n\nwir möchten Ihr System für 15 Vertriebsmitarbeiter testen.\n\n"
     "Bitte senden Sie uns ein Angebot."),
    (HERE / "apple_forward.eml", ("marco.rossi@vitale-foods.example", "Marco", "Rossi"),
     "Vitale Foods S.p.A.", "Purchasing Manager", ("+390212345678", None, "+393471234567"),
     "Hello Lisa,\n\nwhat would 12 seats cost per year?\nWe are evaluating two vendors this month."),
    (HERE / "outlook_attachment.eml", ("siobhan.oneill@harbour-clinics.example", "Siobhan", "O'Neill"),
     "Harbour Clinics", "Operations Director", ("+16175550142", None, "+16175550142"),
     "Hi Sam,\n\nPlease send a quote for 8 clinic locations.\nWe need it before our board meeting on the 20th."),
    (HERE / "html_only_inquiry.eml", ("dana.white@bluepeak-software.example", "Dana", "White"),
     "BluePeak Software Inc.", "VP Revenue Operations", ("+15125550177", "31", "+15125550188"),
     "Hello,\n\nDoes leadsync work with Salesforce Enterprise Edition?\nWe have about 60 users."),
    (SAMPLES / "01_plain_inquiry.eml", ("d.okafor@brightpath-logistics.example", "Daniel", "Okafor"),
     "BrightPath Logistics Ltd", "Commercial Director", ("+441614960732", None, "+447700900418"),
     "Hi there,\n\nWe're a 3PL with about 120 staff and are looking at replacing our current\nlead tracking "
     "spreadsheet. Could you send pricing for ~25 sales users and\nlet me know if you integrate with HubSpot?\n\n"
     "Happy to jump on a call Thursday or Friday."),
])
def test_the_lead_is_the_writer_with_their_words_and_signature(
        path: Path, who: tuple[str, str, str], company: str, title: str,
        phones: tuple[str, str | None, str], inquiry: str) -> None:
    lead = lead_of(path.read_bytes())
    assert (lead.email, lead.first_name, lead.last_name) == who
    assert (lead.company, lead.title) == (company, title)
    assert (lead.phone, lead.phone_extension, lead.mobile_phone) == phones
    assert lead.inquiry == inquiry


@pytest.mark.parametrize(("name", "forwarder"), [
    ("gmail_forward.eml", "tom@ourco.example"), ("outlook_forward_html.eml", "anna.berg@ourco.example"),
    ("apple_forward.eml", "lisa.park@ourco.example"), ("outlook_attachment.eml", "sam.jones@ourco.example"),
])
def test_forwards_are_leads_of_the_original_sender(name: str, forwarder: str) -> None:
    parsed = extract((HERE / name).read_bytes(), frozenset({"ourco.example"}))
    assert (parsed.kind, parsed.reason) == ("lead", "forwarded inquiry")
    assert parsed.fields["custom"] == {"subject": parsed.subject, "forwarded_by": forwarder}


def test_forward_of_a_colleagues_mail_is_not_a_lead() -> None:
    body = ("see below\n\n---------- Forwarded message ---------\nFrom: Ann <ann@ourco.example>\n"
            "Date: Mon, 2 Mar 2026\nSubject: lunch\n\nLunch at 12?\n")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Tom <tom@ourco.example>", "x@ourco.example", "Fwd: lunch"
    message.set_content(body)
    assert extract(message.as_bytes(), frozenset({"ourco.example"})).kind == "skip"


def test_a_forward_of_a_forward_yields_the_innermost_sender() -> None:
    body = ("FYI\n\n---------- Forwarded message ---------\nFrom: Bea <bea@partner.example>\nDate: Mon, 2 Mar 2026\n"
            "Subject: Fwd: Demo\nTo: <tom@ourco.example>\n\nA lead for you\n\n"
            "---------- Forwarded message ---------\nFrom: Raj Patel <raj@prospect.example>\n"
            "Date: Sun, 1 Mar 2026\nSubject: Demo\nTo: <bea@partner.example>\n\nCan we get a demo?\n")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Tom <tom@ourco.example>", "x@ourco.example", "Fwd: Demo"
    message.set_content(body)
    fields = extract(message.as_bytes(), frozenset({"ourco.example"})).fields
    assert (fields["email"], fields["inquiry"]) == ("raj@prospect.example", "Can we get a demo?")


def test_reply_activity_is_stamped_with_the_date_header() -> None:
    message = EmailMessage()
    message["From"], message["To"] = "Ann Lee <ann@bigco.example>", "sales@ourco.example"
    message["Subject"], message["In-Reply-To"] = "Re: Your demo", "<demo@ourco.example>"
    message["Date"] = "Thu, 05 Mar 2026 09:30:00 +0100"
    message.set_content("Yes, Tuesday works.\n\nOn Wed, 4 Mar 2026 Tom wrote:\n> Tuesday?")
    lead = lead_of(message.as_bytes())
    assert [(e.type, e.at) for e in lead.events] == [("email_reply", datetime(2026, 3, 5, 8, 30, tzinfo=UTC))]
    assert lead.received_at == datetime(2026, 3, 5, 8, 30, tzinfo=UTC)
    assert lead.inquiry == "Yes, Tuesday works."


def test_a_date_from_the_future_is_not_believed() -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Ann <ann@bigco.example>", "s@ourco.example", "Quote"
    message["Date"] = "Fri, 01 Jan 2027 00:00:00 +0000"
    message.set_content("A quote, please.")
    assert lead_of(message.as_bytes()).received_at == RECEIVED


@pytest.mark.parametrize(("text", "body", "signature"), [
    ("Can we get a demo?\n\nRaj Patel\nHead of Sales | Prospect Corp Ltd\nDirect: +1 415 555 0134",
     "Can we get a demo?", "Raj Patel\nHead of Sales | Prospect Corp Ltd\nDirect: +1 415 555 0134"),
    ("Can we get a demo?\n\nSee you,\nRaj", "Can we get a demo?\n\nSee you,\nRaj", ""),
])
def test_signature_without_a_sign_off(text: str, body: str, signature: str) -> None:
    assert trailing_signature(text) == (body, signature)


@pytest.mark.parametrize(("signature", "expected"), [
    ("Raj Patel\nHead of Sales | Prospect Corp Ltd\nTel: +1 415 555 0134 | Cell: +1 415 555 0199",
     ("Prospect Corp Ltd", "Head of Sales", "+1 415 555 0134", "+1 415 555 0199")),
    ("Hans Müller\nGeschäftsführer\nBeispiel GmbH\nT: +49 89 1234567\nM: +49 151 1234567",
     ("Beispiel GmbH", "Geschäftsführer", "+49 89 1234567", "+49 151 1234567")),
    ("Ann Lee\nCTO at Acme Robotics\nMobile: 415-555-0199", ("Acme Robotics", "CTO", None, "415-555-0199")),
    ("Ann Lee\nwww.acme.example\nOffice: 415-555-0100", (None, None, "415-555-0100", None)),
])
def test_read_signature(signature: str, expected: tuple[str | None, ...]) -> None:
    facts = read_signature(signature, signature.splitlines()[0], "US")
    assert (facts.company, facts.title, facts.phone, facts.mobile) == expected


def notification(body: str, html: bool = False, reply_to: str | None = "Visitor <v@visitor.example>") -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = "Forms <no-reply@forms.example>", "sales@ourco.example"
    message["Subject"] = "New submission"
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(body, subtype="html" if html else "plain")
    return message.as_bytes()


@pytest.mark.parametrize(("raw", "expected"), [
    (notification("First Name: jane\nLast Name: DOE\nEmail address: jane@acme.example\nPhone number: 415 555 0134\n"
                  "Company name: Acme\nJob title: CTO\nHow can we help?: We need routing.\n\nAnd a demo.\n"
                  "Seats: 25\n--\nSent by Forms"),
     {"email": "jane@acme.example", "first_name": "Jane", "last_name": "Doe", "phone": "+14155550134",
      "company": "Acme", "title": "CTO", "inquiry": "We need routing.\n\nAnd a demo.", "custom.Seats": "25"}),
    (notification("<table><tr><td><b>Name</b></td><td>Aisha Bello</td></tr><tr><td><b>Email</b></td>"
                  "<td><a href='mailto:aisha@cafes.example'>aisha@cafes.example</a></td></tr><tr><td>Mobile</td>"
                  "<td>+44 7700 900 123</td></tr><tr><td><b>Message</b></td><td>Catering quote?</td></tr></table>",
                  html=True),
     {"email": "aisha@cafes.example", "first_name": "Aisha", "last_name": "Bello", "mobile_phone": "+447700900123",
      "inquiry": "Catering quote?"}),
])
def test_form_notifications(raw: bytes, expected: dict[str, str]) -> None:
    lead = lead_of(raw)
    got = {k: (lead.custom.get(k[7:]) if k.startswith("custom.") else getattr(lead, k)) for k in expected}
    assert got == expected


def test_a_forwarded_form_notification_is_the_visitors_lead() -> None:
    body = ("New lead below\n\n---------- Forwarded message ---------\nFrom: Forms <no-reply@forms.example>\n"
            "Date: Mon, 2 Mar 2026\nSubject: New submission\nTo: <tom@ourco.example>\n\n"
            "Name: Raj Patel\nEmail: raj@prospect.example\nMessage: Pricing please.\n")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Tom <tom@ourco.example>", "x@ourco.example", "Fwd: New"
    message.set_content(body)
    lead = lead_of(message.as_bytes())
    assert (lead.email, lead.first_name, lead.inquiry) == ("raj@prospect.example", "Raj", "Pricing please.")


def test_a_signature_with_email_and_phone_labels_is_not_a_form() -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "j.doe@acme.example", "s@ourco.example", "Question"
    message["Reply-To"] = "j.doe@acme.example"
    message.set_content("Do you support HubSpot?\n\nBest regards,\nJane Doe\nCTO, Acme Robotics\n"
                        "Email: j.doe@acme.example\nPhone: +1 415 555 0134\n")
    lead = lead_of(message.as_bytes())
    assert (lead.inquiry, lead.first_name, lead.last_name, lead.company, lead.phone) == (
        "Do you support HubSpot?", "Jane", "Doe", "Acme Robotics", "+14155550134")


@pytest.mark.timeout(60)  # a hang guard: quotequail's time grows with the square of header-like lines
@pytest.mark.parametrize("body", [
    "Name: x\n" * 5000,
    "---------- Forwarded message ---------\nFrom: A <a@x.example>\nDate: Mon\nSubject: s\n\n" + "Name: x\n" * 5000,
    "---------- Forwarded message ---------\n" + "From: a@x.example\nSent: Mon\n" * 3000,
    "> quoted\n" * 20000,
])
def test_hostile_bodies_are_read_in_bounded_time(body: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "A <a@b.example>", "s@ourco.example", "x"
    message.set_content(body)
    assert extract(message.as_bytes(), frozenset({"ourco.example"})).kind == "lead"


@pytest.mark.parametrize(("marker", "header"), [
    ("---------- Forwarded message ---------", "From: Raj Patel <raj@prospect.example>\nDate: Mon, 2 Mar 2026"),
    ("-------- Forwarded Message --------",
     "Subject: Demo\nDate: Mon, 2 Mar 2026\nFrom: Raj Patel <raj@prospect.example>"),
    ("-----Original Message-----", "From: Raj Patel [mailto:raj@prospect.example]\nSent: Monday, March 2, 2026"),
    ("________________________________", "From: Raj Patel <raj@prospect.example>\nSent: Monday, March 2, 2026"),
    ("Begin forwarded message:", "From: Raj Patel <raj@prospect.example>\nDate: 2 March 2026 at 09:14"),
    ("---------- Weitergeleitete Nachricht ---------", "Von: Raj Patel <raj@prospect.example>\nDate: Mo., 2. März"),
    ("---------- Message transféré ---------", "De : Raj Patel <raj@prospect.example>\nDate: lun. 2 mars 2026"),
    ("", "Von: Raj Patel <raj@prospect.example>\nGesendet: Montag, 2. März 2026 09:14"),
])
def test_forward_styles(marker: str, header: str) -> None:
    body = f"Please take this one.\n\n{marker}\n{header}\nSubject: Demo\nTo: Tom <tom@ourco.example>\n\n" \
           "Can we get a demo?\nWe have 40 reps.\n\nThanks,\nRaj\n"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Tom <tom@ourco.example>", "x@ourco.example", "Fwd: Demo"
    message.set_content(body)
    parsed = extract(message.as_bytes(), frozenset({"ourco.example"}))
    assert (parsed.reason, parsed.fields["email"], parsed.fields["inquiry"]) == (
        "forwarded inquiry", "raj@prospect.example", "Can we get a demo?\nWe have 40 reps.")
