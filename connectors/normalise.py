"""Turn a source's field dict into a clean Lead: e-mail, phone (E.164), names, country, lead key.

Every source maps its payload to a plain dict of lead fields and calls `build_lead`, so
cleaning rules live in one place. Problems raise RecordRejectedError naming the record and
field; the reason never quotes the personal value itself.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from connectors.errors import RecordRejectedError
from connectors.field_targets import apply_types
from connectors.geo import place
from connectors.people.names import PersonName, clean_name_part, parse_person_name
from connectors.people.phones import PROBLEM_REASONS, read_lead_phones, read_phone
from connectors.people.roles import is_role_address, is_role_name
from connectors.records import Attribution, Consent, Lead, RawSubmission

if TYPE_CHECKING:
    from email_validator import EmailNotValidError, ValidatedEmail

_TRUE = {"1", "y", "yes", "true", "on", "oui", "ja", "si", "sí", "checked", "x", "opt-in", "opted in"}
_FALSE = {"0", "n", "no", "false", "off", "non", "nein", "", "opt-out", "opted out", "unchecked"}
_COUNTRY_ALIASES = {
    "usa": "US", "u.s.": "US", "u.s.a.": "US", "united states": "US", "united states of america": "US",
    "america": "US", "uk": "GB", "u.k.": "GB", "united kingdom": "GB", "great britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "deutschland": "DE", "germany": "DE",
    "france": "FR", "canada": "CA", "china": "CN", "prc": "CN", "sweden": "SE", "sverige": "SE",
    "spain": "ES", "españa": "ES", "italy": "IT", "italia": "IT", "netherlands": "NL",
    "the netherlands": "NL", "holland": "NL", "japan": "JP", "india": "IN", "australia": "AU",
    "brazil": "BR", "brasil": "BR", "mexico": "MX", "méxico": "MX", "ireland": "IE", "switzerland": "CH",
    "schweiz": "CH", "austria": "AT", "österreich": "AT", "belgium": "BE", "denmark": "DK",
    "norway": "NO", "finland": "FI", "poland": "PL", "portugal": "PT", "singapore": "SG",
    "south korea": "KR", "korea": "KR", "new zealand": "NZ", "south africa": "ZA", "israel": "IL",
    "united arab emirates": "AE", "uae": "AE",
}
_SPACES = re.compile(r"\s+")
_NO_VALUE = re.compile(r"0+(\.0+)?|null|none|nil|undefined|n/?a|\(not set\)|\(none\)|\{+[^{}]*\}+|-", re.I)
_PHONE_CODES = {"spreadsheet_mangled": "PHONE_MANGLED", "unreadable": "INVALID_PHONE", "not_possible": "INVALID_PHONE"}


def _memoise_domain_check() -> None:
    """Check each e-mail domain's syntax once: most of a list's addresses share a few domains, and the check
    (character classes, IDNA mapping) was two thirds of validating an address.

    email-validator's domain check is a pure function of the domain text and two flags, so caching its
    answers changes no result; a failing domain raises again on every call (errors are not cached).
    """
    # (the package exports a function of the same name as this module, so the module is fetched by name)
    module: Any = importlib.import_module("email_validator.validate_email")
    check = getattr(module, "validate_email_domain_name", None)
    if check is not None and not hasattr(check, "cache_info"):
        module.validate_email_domain_name = lru_cache(maxsize=4096)(check)


# The validation libraries are imported on the first lead, not with this module: every run imports it
# (through the source and CRM modules), and e-mail, phone and name parsing cost ~0.1 s of start-up.
@lru_cache(maxsize=1)
def _email_validation() -> tuple[Callable[..., ValidatedEmail], type[EmailNotValidError]]:
    from email_validator import EmailNotValidError, validate_email

    _memoise_domain_check()
    return validate_email, EmailNotValidError


@lru_cache(maxsize=1)
def _known_regions() -> frozenset[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def clean_text(value: Any) -> str | None:
    """Trim, collapse whitespace, NFC-normalise; empty becomes None."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value if v not in (None, ""))
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", str(value))).strip()
    return text or None


def clean_multiline(value: Any) -> str | None:
    """Like clean_text, but line breaks stay: a message's paragraphs and lists are part of what it says."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        value = "\n".join(str(v) for v in value if v not in (None, ""))
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    lines = [re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() or None


def attribution_value(value: Any) -> str | None:
    """An attribution value, or None for the ways platforms say "none": Meta's ad_id 0 for organic leads,
    unfilled URL macros ({gclid}, {{ad.id}}), 'null', 'undefined', '(not set)'."""
    text = clean_text(value)
    if text is None or _NO_VALUE.fullmatch(text):
        return None
    return text


def normalise_email(value: Any, record: str) -> str | None:
    """Syntax-check and normalise an e-mail address (no DNS look-up); domain lower-cased."""
    text = clean_text(value)
    if text is None:
        return None
    text = text.strip("<>").removeprefix("mailto:")
    validate_email, not_valid = _email_validation()
    try:
        result = validate_email(text, check_deliverability=False)
    except not_valid as exc:
        raise RecordRejectedError(record, "email", f"not a valid e-mail address ({_reason(exc)})") from None
    return f"{result.local_part.lower()}@{result.ascii_domain.lower()}"


def _reason(exc: EmailNotValidError) -> str:
    # email-validator's messages may quote the address; keep only the generic part.
    text = str(exc)
    if "@" in text:
        return "malformed address"
    return text.rstrip(".")


def normalise_phone(value: Any, default_region: str | None, record: str) -> str | None:
    """Parse a phone number into E.164 (extension dropped), reading national numbers in `default_region`."""
    text = clean_text(value)
    if text is None:
        return None
    reading = read_phone(text, default_region)
    if reading.problem:
        raise RecordRejectedError(record, "phone", PROBLEM_REASONS[reading.problem], code=_PHONE_CODES[reading.problem])
    return reading.e164


def normalise_country(value: Any, record: str) -> str | None:
    """Return an ISO 3166-1 alpha-2 code from a code or a common country name."""
    text = clean_text(value)
    if text is None:
        return None
    if len(text) == 2 and (text.upper() in _known_regions() or text.upper() == "UK"):
        return "GB" if text.upper() == "UK" else text.upper()
    alias = _COUNTRY_ALIASES.get(text.lower())
    if alias:
        return alias
    if len(text) == 3 and text.isalpha():
        alias = _COUNTRY_ALIASES.get(text.lower())
        if alias:
            return alias
    raise RecordRejectedError(record, "country", "unknown country name or code")


def normalise_name(value: Any) -> str | None:
    """One name part: emoji removed, ALL-CAPS and all-lower recased, mixed case (McDonald, van Dijk) kept."""
    text = clean_text(value)
    if text is None:
        return None
    return clean_name_part(text)


def split_full_name(full_name: Any) -> tuple[str | None, str | None]:
    """(first, last) of a full name; titles and suffixes dropped, "Last, First" understood."""
    name = parse_person_name(None, None, clean_text(full_name))
    return name.first, name.last


def parse_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False if text else None
    return None


def parse_int(value: Any, field: str, record: str) -> int | None:
    text = clean_text(value)
    if text is None:
        return None
    digits = re.sub(r"[,\s_'.](?=\d{3}\b)", "", text)
    match = re.fullmatch(r"(\d+)\s*(?:-|–|to)\s*(\d+)", digits)
    if match:  # a range such as "50-100": keep the lower bound, which rules compare against
        return int(match.group(1))
    digits = digits.rstrip("+")
    if not digits.isdigit():
        raise RecordRejectedError(record, field, "not a whole number")
    return int(digits)


def region_of_domain(email: str | None) -> str | None:
    """A country-code top-level domain (.uk, .de, .se) says where national phone numbers come from."""
    if not email:
        return None
    tld = email.rsplit(".", 1)[-1].upper()
    return "GB" if tld == "UK" else tld if len(tld) == 2 and tld in _known_regions() else None


def lead_key_for(email: str | None, source: str, source_record_id: str, phone: str | None = None) -> str:
    """Deterministic key: the same e-mail is the same person, from any source, in any run; without one,
    the same E.164 phone is (a record id changes when an edited copy of a file is imported again)."""
    if email:
        return "e-" + hashlib.sha256(email.encode()).hexdigest()[:24]
    if phone:
        return "p-" + hashlib.sha256(phone.encode()).hexdigest()[:24]
    return "s-" + hashlib.sha256(f"{source}\x1f{source_record_id}".encode()).hexdigest()[:24]


def build_lead(raw: RawSubmission, fields: Mapping[str, Any], default_region: str | None = None) -> Lead:
    """Build a Lead from a source's mapped field dict; every problem names record and field."""
    record = f"{raw.source}/{raw.source_record_id}"
    email = normalise_email(fields.get("email"), record)
    name = parse_person_name(clean_text(fields.get("first_name")), clean_text(fields.get("last_name")),
                             clean_text(fields.get("full_name")))
    role = is_role_address(email)
    if role and is_role_name(name.first, name.last):
        name = PersonName()  # "Sales Team <sales@...>" names a mailbox, not a person
    country = normalise_country(fields.get("country"), record)
    custom = apply_types(dict(fields.get("custom") or {}), fields.get("custom_types") or {})
    # A reachable lead is not lost over a number we cannot read: it is kept as written, for a human.
    region = country or region_of_domain(email) or default_region
    phones = read_lead_phones(clean_text(fields.get("phone")), clean_text(fields.get("mobile")),
                              clean_text(fields.get("work_phone")), region)
    custom.update(phones.as_written or {})
    if email is None and phones.phone is None:
        if phones.problem:
            raise RecordRejectedError(record, "phone", PROBLEM_REASONS[phones.problem],
                                      code=_PHONE_CODES[phones.problem])
        raise RecordRejectedError(record, "email", "missing: a lead needs an e-mail address or a phone number",
                                  code="MISSING_CONTACT")
    consent = fields.get("consent") or {}
    attribution = fields.get("attribution") or {}
    city, state, postal_code = (clean_text(fields.get(name)) for name in ("city", "state", "postal_code"))
    where = place(city, state, postal_code, country) if city or postal_code else None
    interest = fields.get("product_interest")
    if isinstance(interest, str):
        interest = [p.strip() for p in re.split(r"[;,|]", interest) if p.strip()]
    try:
        return Lead(
            lead_key=lead_key_for(email, raw.source, raw.source_record_id, phones.phone),
            source=raw.source,
            source_record_id=raw.source_record_id,
            received_at=_as_datetime(fields.get("submitted_at")) or raw.received_at,
            email=email,
            role_address=role,
            first_name=name.first,
            last_name=name.last,
            salutation=name.salutation,
            name_suffix=name.suffix,
            phone=phones.phone,
            phone_extension=phones.extension,
            mobile_phone=phones.mobile,
            phone_flags=phones.flags or [],
            company=clean_text(fields.get("company")),
            title=clean_text(fields.get("title")),
            website=clean_text(fields.get("website")),
            industry=clean_text(fields.get("industry")),
            employees=parse_int(fields.get("employees"), "employees", record),
            street=clean_text(fields.get("street")),
            city=city,
            state=state,
            postal_code=postal_code,
            country=country,
            latitude=where.latitude if where else None,
            longitude=where.longitude if where else None,
            inquiry=clean_multiline(fields.get("inquiry")),
            product_interest=list(interest or []),
            consent=Consent(**{k: parse_bool(v) for k, v in consent.items()}),
            attribution=Attribution(**{k: attribution_value(v) for k, v in attribution.items()}),
            events=fields.get("events") or [],
            custom=custom,
            is_test=bool(fields.get("is_test")),
            is_spam=bool(fields.get("is_spam")),
        )
    except ValidationError as exc:
        first_error = exc.errors()[0]
        field = ".".join(str(p) for p in first_error["loc"]) or "lead"
        raise RecordRejectedError(record, field, first_error["msg"]) from None


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None
