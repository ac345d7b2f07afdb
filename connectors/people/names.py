"""People's names as sources send them: one field or two, "Last, First", titles, suffixes, emoji, shouting.

nameparser does the parsing (titles such as Dr./Prof./Mr, suffixes such as Jr./PhD/MBA, "Last, First"
order, particles such as van der / de la) and the re-casing of names typed in ALL CAPS or all lower
case (O'Brien, McDonald, van der Berg). A name the person wrote in mixed case is kept as written:
they know how their name is spelt better than any rule does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nameparser import HumanName
    from nameparser.config import Constants

# Symbols (emoji, pictographs, dingbats, ™), private-use, surrogate and unassigned code points.
_DROPPED_CATEGORIES = {"So", "Cs", "Co", "Cn"}
# Parts of emoji sequences that are not symbols themselves: skin tones, variation selectors, the
# zero-width joiner, the keycap mark and tag characters (flag sub-regions).
_EMOJI_GLUE = re.compile("[\U0001f3fb-\U0001f3ff\ufe00-\ufe0f\u200d\u20e3\U000e0020-\U000e007f]")
# nameparser capitalises every "mac" (MacHado, MacIas). Like Perl's Lingua::EN::NameCase, keep "Mac" +
# capital only for Gaelic-looking names, minus the known exceptions.
_MAC = re.compile(r"\bMac([A-Z])([a-z]+)\b")
_MAC_GAELIC_END = re.compile(r"^[a-z]{2,}[^aciozj]$")
_MAC_EXCEPTIONS = {"evicius", "hado", "har", "hin", "hlin", "ias", "iulis", "kie", "kle", "klin", "kmin", "quarie",
                   "omber", "in", "kintosh", "ken", "hen", "hiel", "iol", "kell", "klem", "krell", "lin", "key",
                   "kley", "hell", "hon", "edo", "ario", "on", "eo", "chi", "ey", "y", "k"}
_SPACES = re.compile(r"\s+")
_MAX_NAME = 255  # characters of a name box read; past that it is no name, and parsing costs grow
_DISPLAY_TAIL = re.compile(r"\s+(?:\||–|—|-|/|via|@)\s+", re.I)
# Only honorifics and academic or professional titles: nameparser's full list also holds words that
# are first names or surnames (Judge, King, Bishop, Chief), which must not vanish from a name.
_TITLES = [
    "mr", "mrs", "ms", "miss", "mx", "dr", "doctor", "prof", "professor", "sir", "dame", "lady", "lord", "rev",
    "reverend", "hon", "honorable", "herr", "frau", "mme", "madame", "mlle", "mademoiselle", "monsieur", "sr",
    "sra", "srta", "señor", "señora", "señorita", "sig", "sig.ra", "signor", "signora", "dott", "dott.ssa",
    "ing", "mag", "dipl", "dipl.-ing", "eng", "engr", "capt", "captain", "col", "lt", "sgt", "pr", "mevr", "dhr",
]


@lru_cache(maxsize=1)
def _constants() -> Constants:
    # nameparser is imported on the first name, not with this module: ~35 ms of every run's start-up.
    from nameparser.config import Constants

    return Constants(titles=_TITLES)


@dataclass(frozen=True)
class PersonName:
    first: str | None = None
    last: str | None = None
    salutation: str | None = None
    suffix: str | None = None


def strip_symbols(text: str) -> str:
    """Remove emoji and other pictographs by Unicode category, keeping every script's letters and marks."""
    if text.isascii():  # NFC keeps ASCII as it is, and no ASCII character is a symbol (So) or emoji glue
        return _SPACES.sub(" ", text).strip(" ,;|")
    kept = "".join(ch for ch in unicodedata.normalize("NFC", text)
                   if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    return _SPACES.sub(" ", _EMOJI_GLUE.sub("", kept)).strip(" ,;|")


def _needs_recasing(text: str) -> bool:
    if text.isascii():  # no titlecase letters in ASCII: str.isupper/islower test exactly the cased letters
        return text.isupper() or text.islower()
    letters = [c for c in text if c.isalpha()]
    cased = [c for c in letters if c.isupper() or c.islower()]
    return bool(cased) and (all(c.isupper() for c in cased) or all(c.islower() for c in cased))


def _fix_mac(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        rest = match.group(1).lower() + match.group(2)
        if _MAC_GAELIC_END.match(rest) and rest not in _MAC_EXCEPTIONS:
            return match.group(0)
        return "Mac" + rest
    return _MAC.sub(repl, text)


def _recase(first: str | None, last: str | None) -> tuple[str | None, str | None]:
    """Recase each part typed in one case (nameparser, in context: "van der berg" -> "van der Berg")."""
    if not any(part and _needs_recasing(part) for part in (first, last)):
        return first or None, last or None
    name = _human("")
    name.first, name.last = first or "", last or ""
    name.capitalize(force=True)
    fixed_first = _fix_mac(name.first) if first and _needs_recasing(first) else first
    fixed_last = _fix_mac(name.last) if last and _needs_recasing(last) else last
    return fixed_first or None, fixed_last or None


def clean_name_part(text: str) -> str | None:
    """One name box alone: symbols removed, recased only when typed in one case."""
    return _recase(None, strip_symbols(text))[1]


def _person(first: str | None, last: str | None, salutation: str | None, suffix: str | None) -> PersonName:
    first, last = _recase(first, last)
    return PersonName(first=first, last=last, salutation=salutation or None, suffix=suffix or None)


def _joined(*parts: str) -> str | None:
    text = " ".join(p for p in parts if p).strip()
    return text or None


def _human(text: str) -> HumanName:
    from nameparser import HumanName

    return HumanName(text, constants=_constants())


# Names repeat (Jane, Smith, a list's shouted badge scans); nameparser takes about a third of a millisecond.
@lru_cache(maxsize=16384)
def parse_person_name(first: str | None, last: str | None, full: str | None) -> PersonName:
    """First and last name from whatever the source filled: both fields, one of them, or a full name.

    Titles and suffixes are taken out of the name fields (Dr. is not a first name, PhD not a last
    name). A middle name stays with the first name, so no part of the name is lost.
    """
    first, last, full = (_name_text(v) for v in (first, last, full))
    if first and last and first.casefold() == last.casefold():
        first, last, full = "", "", first  # the whole name typed in both boxes
    elif first and last and first.casefold().endswith(" " + last.casefold()):
        first = first[:-len(last)].strip()  # "Jane Doe" / "Doe": the first box holds the whole name
    if first and last:
        return _from_boxes(first, last)
    single = first or last or full
    if not single:
        return PersonName()
    if (first or last) and _plain_word(single):
        # One word in one box: that box's part of the name, recased only when shouted or flat.
        return _person(single, None, None, None) if first else _person(None, single, None, None)
    return _from_full(single)


def _plain_word(text: str) -> bool:
    """One word that is neither a title nor a suffix: nothing for nameparser to find in it."""
    if " " in text or "," in text:
        return False
    word = text.lower().rstrip(".")
    constants = _constants()
    return word not in constants.titles and word not in constants.suffix_acronyms and \
        word not in constants.suffix_not_acronyms


def _from_boxes(first: str, last: str) -> PersonName:
    """Both boxes filled: "Dr." may sit in the first-name box, "Jr." or ", PhD" in the last-name box."""
    given, title = first, None
    if not _plain_word(first):
        head = _human(first)
        given, title = (_after_title(first, head.title), head.title) if head.title else (first, None)
    family, suffix = last, None
    if not _plain_word(last):
        tail = _human(last)
        if tail.suffix:
            family = _joined(tail.title, tail.first, tail.middle, tail.last) or last
            suffix = tail.suffix
    return _person(given, family, title, suffix)


def _after_title(text: str, title: str) -> str:
    words = text.split()
    count = len(title.split())
    return " ".join(words[count:])


def _name_text(value: str | None) -> str:
    """A name box's text: symbols gone, wrapping quotes and a trailing "| Company" or "via Tool" cut off;
    an e-mail address typed into a name box is no name."""
    if not value:
        return ""
    text = strip_symbols(value[:_MAX_NAME])
    text = _DISPLAY_TAIL.split(text, maxsplit=1)[0]
    text = text.strip().strip("\"'‘’“”`").strip()
    return "" if "@" in text else text


def _surname_first(text: str) -> str:
    """'DUPONT Marie' (surname in capitals first, as French and many Asian forms write it) -> 'Marie DUPONT'."""
    words = text.split()
    caps = 0
    while caps < len(words) and words[caps].isupper() and len(words[caps]) > 1 and not words[caps].endswith("."):
        caps += 1
    rest = words[caps:]
    if caps and rest and "," not in text and any(c.islower() for c in "".join(rest)):
        return " ".join([*rest, *words[:caps]])
    return text


def _from_full(text: str) -> PersonName:
    text = _surname_first(text)
    name = _human(text)
    given = _joined(name.first, name.middle)
    family = name.last or None
    if given and not family and name.title:
        # "Ms. Smith": a title with one name is a salutation and a last name.
        given, family = None, given
    return _person(given, family, name.title, name.suffix)
