"""Where a source's field goes on a lead, as ops write it in a mapping: 'email', 'attribution.campaign',
'consent.email', 'custom.plan', and typed custom fields such as 'custom.budget:number' or
'custom.budget:number:de' (a number written the way that locale writes it: "1.234,5").

Typing lives in the mapping because only the person who knows the form knows that "3,75" is a
number of hours and "1,234" a count. A typed value that does not read as a number never sinks the
lead: the field is left empty and the text kept beside it as `<name>_as_written`.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberFormatError, parse_decimal

from connectors.records import Attribution, Consent

NESTED = ("custom", "attribution", "consent")
LEAD_TARGETS = frozenset({
    "email", "first_name", "last_name", "full_name", "phone", "mobile", "work_phone", "company", "title", "website",
    "industry", "employees", "street", "city", "state", "postal_code", "country", "inquiry", "product_interest",
    "submitted_at"})
TYPES = ("number", "integer")
_NESTED_FIELDS = {"attribution": set(Attribution.model_fields), "consent": set(Consent.model_fields)}
_TYPED = re.compile(r"^(?P<base>[^:]+)(?::(?P<type>[a-z]+)(?::(?P<locale>[A-Za-z_-]+))?)?$")
_GROUPING = re.compile(r"[\s\u00a0\u202f'’_]")  # spaces, no-break and thin spaces, Swiss apostrophes


def check_typed_target(target: str) -> str:
    """The target without its type; ValueError naming the problem when the type or locale is wrong."""
    match = _TYPED.match(target)
    if not match:
        raise ValueError(f"'{target}' is not a lead field, nor 'custom.<name>:number[:<locale>]'")
    base, kind, locale = match.group("base"), match.group("type"), match.group("locale")
    if kind is None:
        return base
    if not base.startswith("custom.") or base == "custom.":
        raise ValueError(f"'{target}': a type can only be given to a custom field (custom.<name>:{kind})")
    if kind not in TYPES:
        raise ValueError(f"'{target}': unknown type '{kind}'; known: {', '.join(TYPES)}")
    if locale is not None:
        try:
            Locale.parse(locale.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            raise ValueError(f"'{target}': unknown locale '{locale}' (e.g. de, fr_CH, en_US)") from None
    return base


def check_field_map(field_map: dict[str, str]) -> dict[str, str]:
    """Validate a mapping's targets (source field -> lead field); every unknown target is named."""
    problems = []
    for source_field, target in field_map.items():
        try:
            base = check_typed_target(target)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        head, _, tail = base.partition(".")
        if base in LEAD_TARGETS or (head == "custom" and tail) or tail in _NESTED_FIELDS.get(head, ()):
            continue
        problems.append(f"'{source_field}' maps to unknown lead field '{target}'")
    if problems:
        raise ValueError("; ".join(problems))
    return field_map


def assign(fields: dict[str, Any], target: str, value: Any) -> None:
    """Put a source value where its mapping target says, remembering a custom field's type."""
    match = _TYPED.match(target)
    base = match.group("base") if match else target
    head, _, tail = base.partition(".")
    if tail and head in NESTED:
        fields.setdefault(head, {})[tail] = value
        if match and match.group("type") and head == "custom":
            fields.setdefault("custom_types", {})[tail] = (match.group("type"), match.group("locale"))
    else:
        fields[base] = value


def parse_number(text: Any, locale: str | None) -> int | float | None:
    """A number as people write it: '3,75', '1.234,5', '1 234', '1,234.5'; None when it is not one.

    With a locale, Babel reads it strictly the locale's way. Without one, the last of '.' and ','
    is the decimal mark when both appear; a lone separator followed by exactly three digits groups
    thousands ('1,234', '1.234'), any other lone separator is the decimal mark ('3,75', '0.125').
    """
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, int | float):
        return text
    raw = "".join(c for c in str(text) if unicodedata.category(c) != "Sc").strip()  # "€ 3,75", "$1,200"
    if not raw:
        return None
    if locale:
        try:
            value = parse_decimal(_GROUPING.sub("", raw) if locale.startswith(("fr", "sv", "nb")) else raw,
                                  locale=locale.replace("-", "_"), strict=True)
        except NumberFormatError:
            return None
        return _plain(value)
    compact = _GROUPING.sub("", raw)
    if not re.fullmatch(r"[+-]?[\d.,]*\d[\d.,]*", compact):
        return None
    last_dot, last_comma = compact.rfind("."), compact.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal_mark = "." if last_dot > last_comma else ","
    else:
        mark = "." if last_dot >= 0 else "," if last_comma >= 0 else ""
        whole, _, fraction = compact.rpartition(mark) if mark else (compact, "", "")
        grouping = compact.count(mark) > 1 or (len(fraction) == 3 and whole.lstrip("+-") not in ("", "0"))
        decimal_mark = "" if grouping else mark
    group_mark = {".": ",", ",": ".", "": ".,"}[decimal_mark]
    digits = compact.translate({ord(c): None for c in group_mark})
    if decimal_mark and digits.count(decimal_mark) > 1:
        return None
    try:
        return _plain(Decimal(digits.replace(",", ".")))
    except InvalidOperation:
        return None


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def apply_types(custom: dict[str, Any], types: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
    """Custom fields converted to the numbers their mapping declared; unreadable ones kept as written."""
    converted = dict(custom)
    for name, (kind, locale) in types.items():
        if name not in converted or converted[name] in (None, ""):
            continue
        value = parse_number(converted[name], locale)
        if value is not None and kind == "integer" and value != int(value):
            value = None
        if value is None:
            converted[f"{name}_as_written"], converted[name] = converted[name], None
        else:
            converted[name] = int(value) if kind == "integer" else value
    return converted
