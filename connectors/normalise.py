"""Turn a source's field dict into a clean Lead: e-mail, phone (E.164), names, country, lead key.

Every source maps its payload to a plain dict of lead fields and calls `build_lead`, so
cleaning rules live in one place. Problems raise RecordRejectedError naming the record and
field; the reason never quotes the personal value itself.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import ValidationError

from connectors.errors import RecordRejectedError
from connectors.geo import place
from connectors.records import Attribution, Consent, Lead, RawSubmission

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
_KNOWN_ISO2 = {r for r in phonenumbers.SUPPORTED_REGIONS}
_SPACES = re.compile(r"\s+")


def clean_text(value: Any) -> str | None:
    """Trim, collapse whitespace, NFC-normalise; empty becomes None."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value if v not in (None, ""))
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", str(value))).strip()
    return text or None


def normalise_email(value: Any, record: str) -> str | None:
    """Syntax-check and normalise an e-mail address (no DNS look-up); domain lower-cased."""
    text = clean_text(value)
    if text is None:
        return None
    text = text.strip("<>").removeprefix("mailto:")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise RecordRejectedError(record, "email", f"not a valid e-mail address ({_reason(exc)})") from None
    return f"{result.local_part.lower()}@{result.ascii_domain.lower()}"


def _reason(exc: EmailNotValidError) -> str:
    # email-validator's messages may quote the address; keep only the generic part.
    text = str(exc)
    if "@" in text:
        return "malformed address"
    return text.rstrip(".")


def normalise_phone(value: Any, default_region: str | None, record: str) -> str | None:
    """Parse a phone number into E.164, reading national numbers in `default_region`."""
    text = clean_text(value)
    if text is None:
        return None
    text = _excel_number(text)
    try:
        number = phonenumbers.parse(text, (default_region or "US").upper())
    except phonenumbers.NumberParseException:
        raise RecordRejectedError(record, "phone", "not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise RecordRejectedError(record, "phone", "not a possible phone number for its country") from None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _excel_number(text: str) -> str:
    """Undo Excel's scientific notation (4.15555E+09) that spreadsheets put on phone columns."""
    if re.fullmatch(r"\d(\.\d+)?[eE]\+\d{1,2}", text):
        return str(int(float(text)))
    return text


def normalise_country(value: Any, record: str) -> str | None:
    """Return an ISO 3166-1 alpha-2 code from a code or a common country name."""
    text = clean_text(value)
    if text is None:
        return None
    if len(text) == 2 and text.upper() in _KNOWN_ISO2 | {"UK"}:
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
    """Fix ALL-CAPS and all-lower names from badge scanners; leave mixed case (McDonald, van Dijk) alone."""
    text = clean_text(value)
    if text is None:
        return None
    if text.isupper() or text.islower():
        return "-".join(part[:1].upper() + part[1:].lower() if part else part
                        for part in text.title().split("-"))
    return text


def split_full_name(full_name: Any) -> tuple[str | None, str | None]:
    text = clean_text(full_name)
    if text is None:
        return None, None
    first, _, last = text.partition(" ")
    return first, last or None


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
    return "GB" if tld == "UK" else tld if len(tld) == 2 and tld in _KNOWN_ISO2 else None


def lead_key_for(email: str | None, source: str, source_record_id: str) -> str:
    """Deterministic key: the same e-mail is the same person, from any source, in any run."""
    if email:
        return "e-" + hashlib.sha256(email.encode()).hexdigest()[:24]
    return "s-" + hashlib.sha256(f"{source}\x1f{source_record_id}".encode()).hexdigest()[:24]


def build_lead(raw: RawSubmission, fields: Mapping[str, Any], default_region: str | None = None) -> Lead:
    """Build a Lead from a source's mapped field dict; every problem names record and field."""
    record = f"{raw.source}/{raw.source_record_id}"
    email = normalise_email(fields.get("email"), record)
    first, last = fields.get("first_name"), fields.get("last_name")
    if not first and not last and fields.get("full_name"):
        first, last = split_full_name(fields.get("full_name"))
    country = normalise_country(fields.get("country"), record)
    custom = dict(fields.get("custom") or {})
    try:
        phone = normalise_phone(fields.get("phone"), country or region_of_domain(email) or default_region, record)
    except RecordRejectedError:
        if email is None:
            raise
        # A reachable lead is not lost over a phone number we cannot read: keep it as written, for a human.
        phone, custom["phone_as_written"] = None, clean_text(fields.get("phone"))
    if email is None and phone is None:
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
            lead_key=lead_key_for(email, raw.source, raw.source_record_id),
            source=raw.source,
            source_record_id=raw.source_record_id,
            received_at=_as_datetime(fields.get("submitted_at")) or raw.received_at,
            email=email,
            first_name=normalise_name(first),
            last_name=normalise_name(last),
            phone=phone,
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
            inquiry=clean_text(fields.get("inquiry")),
            product_interest=list(interest or []),
            consent=Consent(**{k: parse_bool(v) for k, v in consent.items()}),
            attribution=Attribution(**{k: clean_text(v) for k, v in attribution.items()}),
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
