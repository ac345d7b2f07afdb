"""What an e-mail signature says about its writer: company, job title, work and mobile numbers.

Signatures have no format, but the ones inquiries end with share a few shapes: "Title | Company",
"Title at Company", a line with a legal form (Ltd, GmbH, Inc...), and numbers behind labels such
as Direct, Tel, T:, Mobile, M:, Cell. Only those shapes are read; anything else is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connectors.people.phones import labelled_numbers

_PHONE_LABEL = re.compile(
    r"^\s*(?:t|tel|tél|tele|telephone|téléphone|telefon|telefono|teléfono|phone|ph|p|direct|direct dial|dd|"
    r"office|o|w|work|fixed|landline|fon|m|mob|mobile|mobil|cell|cellular|c|handy|gsm|portable|natel|"
    r"móvil|movil|celular|switchboard|main|hq)\s*\.?\s*(?:phone|line|no\.?|number|nr\.?|#)?\s*[:.]?\s*(?=[+(\d])",
    re.I)
_LEGAL_FORM = re.compile(
    r"\b(?:ltd|limited|llc|l\.l\.c\.|llp|plc|inc|incorporated|corp|corporation|co|company|gmbh|mbh|ag|kg|ohg|"
    r"ug|se|sa|s\.a|sas|sarl|s\.a\.r\.l|srl|s\.r\.l|spa|s\.p\.a|bv|b\.v|nv|n\.v|ab|as|a/s|aps|asa|oy|oyj|"
    r"pty|pte|ltda|s\.l|sl|kk|k\.k|sp\. z o\.o|group|holdings?|gruppe|groupe)\.?(?=\W|$)", re.I)
_TITLE_WORDS = re.compile(
    r"\b(?:director|manager|head|vp|vice president|president|ceo|cto|cfo|coo|cmo|cio|founder|co-founder|owner|"
    r"partner|chief|officer|lead|engineer|consultant|specialist|coordinator|buyer|purchaser|analyst|"
    r"administrator|assistant|executive|associate|architect|developer|designer|representative|advisor|"
    r"leiter|leiterin|geschäftsführer|geschäftsführerin|inhaber|einkauf|directeur|directrice|responsable|"
    r"gérant|directora|gerente|jefe|responsabile|direttore|verantwortlich)\b", re.I)
_URL_OR_MAIL = re.compile(r"(https?://|www\.|@|\.(com|net|org|io|example)\b)", re.I)
_PERSON = re.compile(r"(?:[^\W\d_][\w'’.-]*\s+){1,3}[^\W\d_][\w'’-]*")
_SIGN_OFF = re.compile(r"^(best|kind|warm|many|regards|thanks|thank you|cheers|sincerely|mit freundlichen|"
                       r"viele grüße|beste grüße|cordialement|saludos|un saluto|met vriendelijke|med vänliga|"
                       r"sent from)", re.I)
_SEGMENT_SPLIT = re.compile(r"\s+[|•·–—]\s+|\s*\|\s*")
_AT_COMPANY = re.compile(r"^(?P<title>.{2,80}?)\s+(?:at|@|bei|chez|en|presso)\s+(?P<company>.{2,80})$", re.I)


@dataclass
class SignatureFacts:
    company: str | None = None
    title: str | None = None
    phone: str | None = None
    mobile: str | None = None
    name: str | None = None  # the first line that reads as a person's name, for a sender without one


def read_signature(signature: str, name: str | None, region: str | None) -> SignatureFacts:
    """Company, title and numbers from a signature block; `name` (the sender's) is not a company."""
    facts = SignatureFacts()
    for line in signature.splitlines():
        segments = [s.strip(" ,;") for s in _SEGMENT_SPLIT.split(line.strip()) if s.strip(" ,;")]
        for segment in segments:
            if _PHONE_LABEL.match(segment) or re.fullmatch(r"\+[\d ()./-]{7,}", segment):
                for kind, raw in labelled_numbers(segment, region):
                    if kind == "mobile":
                        facts.mobile = facts.mobile or raw
                    else:
                        facts.phone = facts.phone or raw
                continue
            _read_words(segment, name, facts, len(segments) > 1)
    return facts


def _read_words(segment: str, name: str | None, facts: SignatureFacts, shared_line: bool) -> None:
    if facts.name is None and not shared_line and _PERSON.fullmatch(segment) and not _TITLE_WORDS.search(segment) \
            and not _LEGAL_FORM.search(segment) and not _SIGN_OFF.match(segment):
        facts.name = segment
        return
    if _URL_OR_MAIL.search(segment) or len(segment) > 80 or (name and segment.casefold() == name.casefold()):
        return
    if re.search(r"\d{3,}", segment) or re.match(r"^(sent from|get outlook|--|best|kind|regards|thanks)", segment,
                                                  re.I):
        return
    at = _AT_COMPANY.match(segment)
    if at and _TITLE_WORDS.search(at.group("title")):
        facts.title = facts.title or at.group("title").strip()
        facts.company = facts.company or at.group("company").strip()
        return
    if "," in segment:
        head, _, tail = segment.partition(",")
        if _TITLE_WORDS.search(head) and not _LEGAL_FORM.search(head) and tail.strip()[:1].isupper():
            facts.title = facts.title or head.strip()
            facts.company = facts.company or tail.strip()
            return
    if _LEGAL_FORM.search(segment) and not _TITLE_WORDS.fullmatch(segment):
        facts.company = facts.company or segment
    elif _TITLE_WORDS.search(segment) and facts.title is None:
        facts.title = segment
    elif shared_line and facts.title and facts.company is None and segment[:1].isupper():
        facts.company = segment  # "Commercial Director | BrightPath": what follows a title on its line


def trailing_signature(text: str) -> tuple[str, str]:
    """(body, signature) for a message that signs off without a greeting: its last lines are name,
    title, company and labelled numbers. The block must hold a labelled number to count as one."""
    lines = text.splitlines()
    start = len(lines)
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].strip()
        if not line:
            break
        if len(line) > 80:
            return text, ""
        start = index
    block = lines[start:]
    if start == 0 or not any(_PHONE_LABEL.match(s.strip()) for line in block for s in _SEGMENT_SPLIT.split(line)):
        return text, ""
    return "\n".join(lines[:start]).strip(), "\n".join(block).strip()
