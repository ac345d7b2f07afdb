"""Salesforce record ids: 15 case-sensitive characters plus the 3-character case checksum (18 in all)."""

from __future__ import annotations

import string
from functools import lru_cache

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX_ALPHABET = string.ascii_uppercase + "012345"

KEY_PREFIXES = {
    "Lead": "00Q", "Contact": "003", "Account": "001", "User": "005", "Group": "00G",
    "Campaign": "701", "CampaignMember": "00v", "Task": "00T", "Job": "750", "QueryLocator": "01g",
}
SOBJECT_BY_PREFIX = {prefix: name for name, prefix in KEY_PREFIXES.items()}


@lru_cache(maxsize=1 << 20)  # every reference is checked on every write: the same ids again and again
def checksum(id15: str) -> str:
    """The 3 characters that make a 15-character id case-insensitively unique."""
    out = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, char in enumerate(chunk) if char.isupper())
        out += _SUFFIX_ALPHABET[bits]
    return out


def make_id(prefix: str, serial: int) -> str:
    digits = ""
    while True:
        serial, rem = divmod(serial, 62)
        digits = BASE62[rem] + digits
        if serial == 0:
            break
    id15 = f"{prefix}5g{digits:0>10}"
    return id15 + checksum(id15)


def normalise_id(value: object) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not an id at all."""
    if not isinstance(value, str) or len(value) not in (15, 18) or not value.isalnum() or not value.isascii():
        return None
    id15 = value[:15]
    if len(value) == 18 and value[15:].upper() != checksum(id15):
        return None
    return id15 + checksum(id15)


def sobject_of(record_id: str) -> str | None:
    return SOBJECT_BY_PREFIX.get(record_id[:3])
