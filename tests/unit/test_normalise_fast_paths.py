"""The speed-ups of normalising change no result: same addresses accepted, same values, same reasons.

E-mail: email-validator's domain check is memoised (connectors.normalise); the reference here runs the
library's own, uncached check on every call. Names: ASCII text skips the per-character Unicode scan of
strip_symbols; the reference is the full scan. Inputs are generated (hypothesis) from the characters
that matter: dots, hyphens, quotes, non-ASCII letters, emoji, spaces, "@" signs.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.errors import RecordRejectedError
from connectors.normalise import normalise_email
from connectors.people import names
from connectors.people.names import strip_symbols

_validation: Any = importlib.import_module("email_validator.validate_email")
_syntax = importlib.import_module("email_validator.syntax")
normalise_email("someone@example.com", "r")  # the memo is installed with the first address normalised

LOCAL = st.text(alphabet=st.sampled_from([*list("abcXYZ09._-+'\"!#~ äé日"), "\xa0"]), min_size=0, max_size=70)
LABEL = st.one_of(st.text(alphabet=st.sampled_from([*list("abcxyz019-_.ÄöçΩ日"), "。", "．", "\u200d"]),
                          min_size=0, max_size=30),
                  st.text(alphabet=st.sampled_from(list("abcz09-")), max_size=12).map(lambda t: "xn--" + t))
DOMAIN = st.one_of(
    st.lists(LABEL, min_size=1, max_size=4).map(".".join),
    st.sampled_from(["gmail.com", "Example.COM", "company7.example", "bücher.de", "xn--bcher-kva.de", "localhost",
                     "a" * 70 + ".com", "[127.0.0.1]", "example..com", "-bad.com", "com", "ex_ample.com", "日本.jp"]),
)
ADDRESS = st.one_of(st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN),
                    st.builds(lambda a, b, c: f"{a}@{b}@{c}", LOCAL, LOCAL, DOMAIN),
                    st.builds(lambda local, domain: f" <mailto:{local}@{domain}> ", LOCAL, DOMAIN),
                    st.text(max_size=40))


def _outcome(check: Callable[[], str | None]) -> tuple[str, str | None]:
    try:
        return "ok", check()
    except RecordRejectedError as exc:
        return "rejected", exc.reason


def _uncached(address: str) -> tuple[str, str | None]:
    """normalise_email with the library's own domain check, run afresh."""
    cached = _validation.validate_email_domain_name
    _validation.validate_email_domain_name = _syntax.validate_email_domain_name
    try:
        return _outcome(lambda: normalise_email(address, "r"))
    finally:
        _validation.validate_email_domain_name = cached


def test_the_domain_check_is_memoised() -> None:
    assert hasattr(_validation.validate_email_domain_name, "cache_info")


@settings(max_examples=1500, deadline=None)
@given(address=ADDRESS)
def test_normalise_email_equals_the_uncached_library(address: str) -> None:
    expected = _uncached(address)
    # twice: the second call answers the domain from the cache
    assert _outcome(lambda: normalise_email(address, "r")) == expected
    assert _outcome(lambda: normalise_email(address, "r")) == expected


@pytest.mark.parametrize("address", ["Jane.Doe@Gmail.COM", "jane@bücher.de", "jane@xn--bcher-kva.de", "a@b",
                                     "jane@example..com", "jane@-bad.com", "jane@" + "a" * 64 + ".com",
                                     "x" * 65 + "@example.com", "jane@[127.0.0.1]", "jane@exa mple.com"])
def test_normalise_email_known_cases(address: str) -> None:
    expected = _uncached(address)
    for _ in range(2):
        assert _outcome(lambda: normalise_email(address, "r")) == expected


def _full_scan(text: str) -> str:
    """strip_symbols without its ASCII shortcut (the code before the shortcut)."""
    kept = "".join(ch for ch in unicodedata.normalize("NFC", text)
                   if unicodedata.category(ch) not in names._DROPPED_CATEGORIES)
    return re.sub(r"\s+", " ", names._EMOJI_GLUE.sub("", kept)).strip(" ,;|")


def test_strip_symbols_every_ascii_character() -> None:
    for code in range(128):
        text = f"a{chr(code)}b {chr(code)}"
        assert strip_symbols(text) == _full_scan(text)


@settings(max_examples=1500, deadline=None)
@given(text=st.one_of(st.text(alphabet=st.characters(max_codepoint=127)), st.text(),
                      st.text(alphabet=st.sampled_from(list(" ,;|-'.\t\nJjÉé😀\u200d\ufe0f™O'Brien")))))
def test_strip_symbols_equals_the_full_scan(text: str) -> None:
    assert strip_symbols(text) == _full_scan(text)
