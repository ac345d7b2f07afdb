"""Phone numbers as people and spreadsheets write them: E.164, extensions, second numbers, mangled cells.

phonenumbers does the parsing (national formats, "x123" / "ext. 123" / "#123" extensions) and
finds numbers inside labelled text ("T: +44 161 496 0732 | M: +44 7700 900 418"). What it cannot
know is that a spreadsheet turned 447911123456 into 4.47911E+11: those digits are gone, so such a
number is flagged and kept as written for a human, never rebuilt into somebody else's number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

PhoneKind = Literal["phone", "mobile"]
# What went wrong with a number; the raw value is then kept as written, out of the E.164 field.
SPREADSHEET_MANGLED = "spreadsheet_mangled"  # scientific notation that lost digits (3.12457E+10)
UNREADABLE = "unreadable"  # not a phone number at all
NOT_POSSIBLE = "not_possible"  # wrong length for its country
# Facts worth knowing about a number that was kept.
FROM_SPREADSHEET = "from_spreadsheet"  # a float cell ("4155550134.0"): read, and valid for its country

_SCIENTIFIC = re.compile(r"^[+-]?(\d+)(?:[.,](\d+))?[eE]\+?(\d{1,2})$")
_FLOAT_CELL = re.compile(r"^\+?(\d{6,})[.,]0+$")
_MAX_PHONE_FIELD = 200  # characters of a phone field searched for labelled numbers
_LABEL_AFTER = re.compile(r"\s*[(\[]\s*([^)\]\d]{1,20}?)\s*[)\]]")
_MOBILE_LABEL = re.compile(r"(?:^|[^a-z])(m|mob|mobile|mobil|cell|cellular|c|handy|gsm|portable|port|cel|"
                           r"celular|móvil|movil|natel)\s*(?:phone|no\.?|number|nr\.?|#)?\s*[.:)\]]?\s*$", re.I)


@dataclass(frozen=True)
class PhoneReading:
    """One number read: E.164 and extension, or the problem that kept it out of E.164; plus flags."""

    e164: str | None = None
    extension: str | None = None
    problem: str | None = None
    flags: tuple[str, ...] = ()


def read_phone(text: str, region: str | None) -> PhoneReading:
    """Read one written number into E.164 (extension apart), reading national numbers in `region`."""
    region = (region or "US").upper()
    cell = _spreadsheet_digits(text)
    if cell == SPREADSHEET_MANGLED:
        return PhoneReading(problem=SPREADSHEET_MANGLED)
    flags: tuple[str, ...] = (FROM_SPREADSHEET,) if cell else ()
    import phonenumbers  # here, not at the top: ~40 ms of every run's start-up, needed only with leads

    try:
        number = phonenumbers.parse(cell or text, region)
    except phonenumbers.NumberParseException:
        return PhoneReading(problem=UNREADABLE)
    if cell and not phonenumbers.is_valid_number(number):
        # A float cell lost what a number cannot keep: its "+", its leading 0. Guessing them back (is
        # 31245700000 Dutch?) could reach a stranger, so the number is left for a human.
        return PhoneReading(problem=SPREADSHEET_MANGLED)
    if not phonenumbers.is_possible_number(number):
        return PhoneReading(problem=NOT_POSSIBLE)
    return PhoneReading(e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                        extension=number.extension or None, flags=flags)


def _spreadsheet_digits(text: str) -> str | None:
    """Digits of a number a spreadsheet stored as a float; SPREADSHEET_MANGLED when digits were lost."""
    compact = text.replace(" ", "")
    match = _SCIENTIFIC.match(compact)
    if match:
        whole, fraction, exponent = match.group(1), match.group(2) or "", int(match.group(3))
        if len(whole) != 1 or len(fraction) < exponent:
            # 3.12457E+10: the cell shows six of eleven digits; the rest are gone for good.
            return SPREADSHEET_MANGLED
        try:
            value = Decimal(compact.replace(",", "."))
        except InvalidOperation:
            return SPREADSHEET_MANGLED
        return format(value.to_integral_value(), "f") if value == value.to_integral_value() else SPREADSHEET_MANGLED
    match = _FLOAT_CELL.match(compact)
    return match.group(1) if match else None


def labelled_numbers(text: str, region: str | None) -> list[tuple[PhoneKind, str]]:
    """Every number in a text with its kind from the label before it: "M:", "Mobile", "Cell" mean mobile.

    "T: +44 161 496 0732 | M: +44 7700 900 418" -> [("phone", "+44 161 496 0732"), ("mobile", "+44 7700 900 418")].
    """
    found: list[tuple[PhoneKind, str]] = []
    previous_end = 0
    import phonenumbers

    matcher = phonenumbers.PhoneNumberMatcher(text, (region or "US").upper(), leniency=phonenumbers.Leniency.POSSIBLE)
    for match in matcher:
        label = re.split(r"[|/,;\n]", text[previous_end:match.start])[-1]
        after = _LABEL_AFTER.match(text, match.end)  # "+1 415 555 0134 (cell)"
        previous_end = after.end() if after else match.end
        mobile = _MOBILE_LABEL.search(label) or (after and _MOBILE_LABEL.search(after.group(1)))
        found.append(("mobile" if mobile else "phone", match.raw_string.strip()))
    return found


def split_phone_field(text: str, region: str | None) -> tuple[str | None, str | None]:
    """(work number, mobile) written in one field; a lone number stays the field's own number."""
    text = text[:_MAX_PHONE_FIELD]
    numbers = labelled_numbers(text, region) if re.search(r"\d.*[|/;,\n].*\d|[a-zA-Z]", text) else []
    if not numbers:
        return text, None
    if len(numbers) == 1:
        kind, raw = numbers[0]
        return (None, raw) if kind == "mobile" else (raw, None)
    work = next((raw for kind, raw in numbers if kind == "phone"), None)
    mobile = next((raw for kind, raw in numbers if kind == "mobile"), None)
    if mobile is None and len(numbers) > 1:
        mobile = numbers[1][1]
    return work, mobile


PROBLEM_REASONS = {
    SPREADSHEET_MANGLED: "mangled by a spreadsheet (scientific notation lost digits); kept as written",
    UNREADABLE: "not a phone number",
    NOT_POSSIBLE: "not a possible phone number for its country",
}


@dataclass
class LeadPhones:
    """A lead's numbers: the main one (E.164 + extension), the mobile, flags, and what could not be read."""

    phone: str | None = None
    extension: str | None = None
    mobile: str | None = None
    flags: list[str] | None = None
    as_written: dict[str, str] | None = None
    problem: str | None = None  # why the main number could not be read, when it could not


def read_lead_phones(phone: str | None, mobile: str | None, work_phone: str | None,
                     region: str | None) -> LeadPhones:
    """The numbers a source gave: a work phone makes the plain phone the second number; labels split a field."""
    if work_phone:
        phone, mobile = work_phone, mobile or phone
    if phone:
        phone, labelled_mobile = split_phone_field(phone, region)
        mobile = mobile or labelled_mobile
    result = LeadPhones(flags=[], as_written={})
    assert result.flags is not None
    assert result.as_written is not None
    for field, text in (("phone", phone), ("mobile_phone", mobile)):
        if not text:
            continue
        reading = read_phone(text, region)
        result.flags += [f"{field}:{flag}" for flag in reading.flags]
        if reading.problem:
            result.flags.append(f"{field}:{reading.problem}")
            result.as_written[f"{field}_as_written"] = text
            if field == "phone":
                result.problem = reading.problem
        elif field == "phone":
            result.phone, result.extension = reading.e164, reading.extension
        else:
            result.mobile = reading.e164
            result.extension = result.extension or (reading.extension if result.phone is None else None)
    if result.phone is None and result.mobile:
        result.phone = result.mobile  # the only number there is: what every CRM dials first
    return result
