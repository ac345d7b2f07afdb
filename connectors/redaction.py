"""Keep secrets and personal data out of logs, exceptions and stored error text."""

from __future__ import annotations

import re
from collections.abc import Iterable

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_PHONE = re.compile(r"(?<![\w/])\+?\d[\d ().-]{7,}\d")
_BEARER = re.compile(r"(?i)\b(bearer|token|session[_ ]?id|password|secret|api[_-]?key|access_token)"
                     r"(\s*[=:]\s*|\s+)(['\"]?)([^\s'\"&,;]+)")
# After "secret:" or "token " comes either a value or the next word of a sentence ("secret: environment
# variable X is not set"): a plain word is left alone; after "=" it is always a value.
_PLAIN_WORD = re.compile(r"[A-Za-z][a-z]{0,19}[.:!?)]?")
_URL_SECRET = re.compile(r"(?i)([?&](?:access_token|token|key|hapikey|secret|sig|signature|password)=)[^&\s]+")
_LONG_TOKEN = re.compile(r"\b[A-Za-z0-9!._~+-]{40,}={0,2}")  # no "/": keep file paths readable

_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")

_known_secrets: set[str] = set()
_staff_addresses: set[str] = set()


def _phone_unless_address(match: re.Match[str]) -> str:
    # Host addresses and version numbers help debugging and are not personal data.
    return match.group(0) if _IPV4.fullmatch(match.group(0)) else "<phone>"


def register_secret(value: str | None) -> None:
    """Remember a secret value so that `redact` masks it wherever it appears."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def register_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        register_secret(value)


def register_staff_addresses(addresses: Iterable[str]) -> None:
    """Sales reps' and queues' addresses from the config: not lead data, shown so errors can name them."""
    _staff_addresses.update(a.lower() for a in addresses if a)


def _credential(match: re.Match[str]) -> str:
    keyword, separator, quote, value = match.groups()
    if "=" not in separator and _PLAIN_WORD.fullmatch(value):
        return match.group(0)
    return f"{keyword}{separator}{quote}***"


def _email(match: re.Match[str]) -> str:
    # The address pattern allows quotes in the local part, so "'rep@x.example'" matches with its opening quote.
    return match.group(0) if match.group(0).lstrip("'`{|").lower() in _staff_addresses else "<email>"


def redact(text: object, max_length: int = 2000) -> str:
    """Mask known secrets, credentials, tokens, e-mail addresses and phone numbers in `text`."""
    out = str(text)
    for secret in sorted(_known_secrets, key=len, reverse=True):
        out = out.replace(secret, "***")
    out = _URL_SECRET.sub(r"\1***", out)
    out = _BEARER.sub(_credential, out)
    out = _EMAIL.sub(_email, out)
    out = _PHONE.sub(_phone_unless_address, out)
    out = _LONG_TOKEN.sub("<token>", out)
    if len(out) > max_length:
        out = out[:max_length] + "…"
    return out
