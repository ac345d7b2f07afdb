"""Form notifications by e-mail ("New submission: Contact us"): 'Label: value' lines to lead fields.

Form services word their labels as the form's author did (Name, Your name, First Name, E-mail
address, Phone number, Company name, How can we help?), in plain text or in an HTML table; the
HTML is read as 'Label<TAB>value'. A known label fills its lead field; any other label is kept as a
custom field, so nothing the visitor typed is lost. The message may run over several lines and
paragraphs, up to the next label or the service's footer ("--").
"""

from __future__ import annotations

import re

FORM_LABELS: dict[str, str] = {
    **dict.fromkeys(["name", "full name", "your name", "contact name", "contact"], "full_name"),
    **dict.fromkeys(["first name", "firstname", "first", "given name", "forename", "vorname", "prénom", "prenom",
                     "nombre"], "first_name"),
    **dict.fromkeys(["last name", "lastname", "last", "surname", "family name", "nachname", "nom", "apellido",
                     "apellidos"], "last_name"),
    **dict.fromkeys(["email", "e-mail", "email address", "e-mail address", "your email", "your e-mail",
                     "work email", "business email", "mail", "e-mail-adresse", "courriel", "correo"], "email"),
    **dict.fromkeys(["phone", "telephone", "phone number", "tel", "tel.", "your phone", "direct phone", "telefon",
                     "téléphone", "telefono", "teléfono"], "phone"),
    **dict.fromkeys(["work phone", "business phone", "office phone"], "work_phone"),
    **dict.fromkeys(["mobile", "mobile phone", "mobile number", "cell", "cell phone", "handy", "mobil", "portable",
                     "móvil"], "mobile"),
    **dict.fromkeys(["company", "company name", "organisation", "organization", "business name", "business",
                     "firma", "unternehmen", "société", "societe", "empresa", "azienda"], "company"),
    **dict.fromkeys(["job title", "title", "position", "role", "your role", "job role"], "title"),
    **dict.fromkeys(["website", "web site", "company website", "url"], "website"),
    **dict.fromkeys(["country", "land", "pays", "país"], "country"),
    **dict.fromkeys(["city", "town", "stadt", "ville", "ciudad"], "city"),
    **dict.fromkeys(["message", "comments", "comment", "your message", "enquiry", "inquiry", "details",
                     "how can we help", "how can we help you", "questions", "question", "notes", "nachricht",
                     "mitteilung", "anfrage", "mensaje", "commentaire"], "inquiry"),
    **dict.fromkeys(["form", "form name"], "attribution.form_id"),
    **dict.fromkeys(["page", "page url", "source page", "landing page"], "attribution.landing_page"),
}
_LINE = re.compile(r"^\s*\**(?P<label>[^\W\d][\w .()/?'&-]{0,40}?)\**\s*(?:[:：]|\t)\s*(?P<value>.*)$")
_FOOTER = re.compile(r"^\s*(--|__|sent by |powered by |this (e-?mail|message) was sent)", re.I)


def _field_of(label: str) -> str | None:
    return FORM_LABELS.get(re.sub(r"\s+", " ", label.strip().rstrip("?*").strip().lower()))


def form_labels(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(lead fields, other labels) of a notification's 'Label: value' lines."""
    fields: dict[str, str] = {}
    extra: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        if _FOOTER.match(line):
            current = None
            continue
        match = _LINE.match(line)
        if match and (field := _field_of(match.group("label"))) is not None:
            current = field
            fields.setdefault(field, match.group("value").strip())
        elif match and not line.lstrip().lower().startswith(("http", "www.")):
            current = None
            extra.setdefault(match.group("label").strip(), match.group("value").strip())
        elif current == "inquiry":
            fields["inquiry"] = f"{fields['inquiry']}\n{line.strip()}"
        else:
            current = None
    if "inquiry" in fields:
        fields["inquiry"] = re.sub(r"\n{3,}", "\n\n", fields["inquiry"]).strip()
    return {k: v for k, v in fields.items() if v}, {k: v for k, v in extra.items() if v}


def has_email_label(text: str) -> bool:
    """Reads as a form's submission: an e-mail label beside a name or message label (a signature's
    'Email:' and 'Phone:' lines alone do not make a personal mail a form)."""
    labels = form_labels(text)[0]
    return "email" in labels and bool(labels.keys() & {"full_name", "first_name", "last_name", "inquiry"})


def form_fields(text: str, reply_to: tuple[str, str] | None) -> tuple[dict[str, object], dict[str, str]]:
    """(lead fields, other labels) of a notification; the visitor's Reply-To fills a missing name or address."""
    labels, extra = form_labels(text)
    attribution: dict[str, str] = {"source": "email"}
    fields: dict[str, object] = {"attribution": attribution}
    for field, value in labels.items():
        if field.startswith("attribution."):
            attribution[field.split(".", 1)[1]] = value
        else:
            fields[field] = value
    if reply_to is not None:
        fields.setdefault("email", reply_to[1])
        if not any(k in fields for k in ("full_name", "first_name", "last_name")) and reply_to[0]:
            fields["full_name"] = reply_to[0]
    return fields, extra
