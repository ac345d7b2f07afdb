"""Role addresses (info@, sales@, office@): a mailbox of a function or a group, not of a person.

No maintained Python package ships such a list; this one follows RFC 2142 (mailbox names for
common services) and the lists CRMs and e-mail verifiers publish (e.g. the npm package
role-based-email-addresses), plus the same words in the languages our leads write in. A local part
is a role when its words are all role words or qualifiers (sales.uk@, info-de@, support-team@,
sales2@), so john.sales@ stays a person.
"""

from __future__ import annotations

import re

ROLE_WORDS = frozenset({
    # RFC 2142 and mail infrastructure
    "abuse", "admin", "administrator", "hostmaster", "postmaster", "webmaster", "noc", "security", "root",
    "mailer-daemon", "noreply", "no-reply", "donotreply", "do-not-reply", "bounce", "bounces", "devnull", "nobody",
    # functions and groups
    "info", "information", "infos", "sales", "office", "contact", "contacts", "contactus", "hello", "hi", "hey",
    "support", "help", "helpdesk", "team", "marketing", "hr", "jobs", "careers", "career", "recruiting",
    "recruitment", "billing", "accounts", "accounting", "accountspayable", "accountsreceivable", "finance",
    "invoice", "invoices", "payments", "enquiries", "enquiry", "inquiries", "inquiry", "feedback", "press",
    "media", "pr", "news", "newsletter", "orders", "order", "purchasing", "procurement", "service", "services",
    "customerservice", "customercare", "customersupport", "care", "reception", "frontdesk", "general", "mail",
    "email", "all", "everyone", "staff", "ops", "operations", "it", "tech", "techsupport", "dev", "developers",
    "legal", "privacy", "compliance", "gdpr", "dpo", "partners", "partner", "partnerships", "booking",
    "bookings", "reservations", "events", "webinar", "social", "community", "investor", "investors", "ir",
    "management", "director", "board", "owner", "owners", "shop", "store", "studio", "teams",
    "salesteam", "sales-team", "office-manager", "officemanager", "bizdev", "business", "enterprise",
    "welcome", "request", "requests", "quote", "quotes", "export", "import", "logistics", "shipping",
    "warehouse", "dispatch", "admissions", "registrar", "school", "library",
    # the same in other languages
    "kontakt", "vertrieb", "verkauf", "buero", "büro", "zentrale", "anfrage", "anfragen", "bestellung",
    "rechnung", "buchhaltung", "empfang", "personal", "bewerbung", "contacto", "ventas", "hola", "oficina",
    "informacion", "información", "bonjour", "ventes", "commercial", "accueil", "compta", "comptabilite",
    "comptabilité", "direction", "secretariat", "secrétariat", "contatti", "vendite", "ufficio",
    "amministrazione", "info-nl", "verkoop", "receptie", "administratie", "kantoor", "hej", "kontor",
    "forsaljning", "försäljning", "ekonomi", "kundservice", "kundtjanst", "kundtjänst", "salg",
})
# Words that may qualify a role word (sales.uk@, support-emea@, info2@) without making it a person.
QUALIFIERS = frozenset({
    "team", "dept", "department", "desk", "group", "global", "intl", "international", "hq", "emea", "apac",
    "amer", "americas", "latam", "nordics", "dach", "benelux", "eu", "europe", "na", "us", "usa", "uk", "local",
    "online", "web", "new", "main", "general", "central", "office", "de", "fr", "es", "it", "nl", "se", "no",
    "dk", "fi", "at", "ch", "be", "ie", "pl", "pt", "br", "mx", "ca", "au", "nz", "in", "jp", "cn", "sg",
})
_SEPARATORS = re.compile(r"[._\-]+")


def is_role_name(first: str | None, last: str | None) -> bool:
    """A display name that names a function, not a person: "Sales Team", "Customer Service", "Info"."""
    words = [w for w in re.split(r"[\W_]+", f"{first or ''} {last or ''}".casefold()) if w]
    joined = "".join(words)
    return bool(words) and (joined in ROLE_WORDS or all(w in ROLE_WORDS or w in QUALIFIERS or w in _GROUP_WORDS
                                                        for w in words))


_GROUP_WORDS = frozenset({"customer", "client", "the", "our", "of", "and", "department", "desk"})


def is_role_address(email: str | None) -> bool:
    """True for a function or group mailbox: info@, sales.uk@, support-team@, kontakt@, noreply@."""
    if not email or "@" not in email:
        return False
    local = email.rsplit("@", 1)[0].split("+", 1)[0].lower()
    if local in ROLE_WORDS:
        return True
    words = [w.rstrip("0123456789") for w in _SEPARATORS.split(local) if w.rstrip("0123456789")]
    if not words:
        return False
    return any(w in ROLE_WORDS for w in words) and all(w in ROLE_WORDS or w in QUALIFIERS for w in words)
