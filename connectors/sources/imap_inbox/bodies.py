"""The text of a mail and of what it forwards: HTML to text, forwarded originals, replies and signatures.

quotequail finds forwarded originals in the styles mail clients write them (Gmail's "---------- Forwarded
message ---------", Apple Mail's "Begin forwarded message:", Outlook's "From: ... Sent: ..." block, in
several languages); mail-parser-reply splits the new text of a message from quoted history and its
signature. HTML-only mail is turned into text first, keeping its line breaks, and read the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

import quotequail
from mailparser_reply.parser import EmailMessage as ReplyMessage

_BLOCK_TAGS = {"p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "ul", "ol",
               "hr", "pre", "section", "article", "header", "footer"}
_REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "sv", "da", "pl", "cs"]
_MAX_FORWARD_DEPTH = 5
_UNWRAP_WINDOW = 4000
# Where a forwarded original may start (Gmail, Thunderbird, Outlook, Apple Mail, in a few languages);
# only then is quotequail asked, and only from there on.
_FORWARD_HINT = re.compile(
    r"^[> \t]*(?:-{2,}\s*(?:forwarded message|original message|weitergeleitete nachricht|ursprüngliche nachricht|"
    r"message transféré|message d'origine|mensaje reenviado|mensaje original|messaggio inoltrato|"
    r"doorgestuurd bericht|vidarebefordrat meddelande)|begin forwarded message|anfang der weitergeleiteten|"
    r"_{10,}[ \t]*$|\*?(?:from|von|de|da|van|från|fra)\*?[ \t]*:[^\n]*\n[> \t]*\*?(?:sent|date|gesendet|datum|"
    r"envoyé|enviado|inviato|verzonden|skickat|sendt)\*?[ \t]*:)", re.I | re.M)
_MAX_ANALYSED = 32000  # characters of a body read for replies and signatures (a CRM description holds 32k)


class _TextFromHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "head", "title"}:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self._break(1)
        elif tag in {"td", "th"}:
            # Cells apart by a tab: a form notification's table reads as 'Label<TAB>value'.
            self.parts.append("\t" if self.parts and not self.parts[-1].endswith("\n") else "")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head", "title"} and self._skip:
            self._skip -= 1
        elif tag == "p":
            self._break(2)  # a paragraph ends with a blank line, as it reads
        elif tag in _BLOCK_TAGS:
            self._break(1)

    def _break(self, lines: int) -> None:
        """End the current line (and leave `lines - 1` blank ones) unless the text already does."""
        text = "".join(self.parts[-3:]).rstrip(" ")
        have = len(text) - len(text.rstrip("\n"))
        if self.parts and have < lines:
            self.parts.append("\n" * (lines - have))

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(html: str) -> str:
    """Text of an HTML body with its line breaks: <br> and blocks end lines, paragraphs end with a blank one."""
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    return tidy_lines("".join(parser.parts))


def tidy_lines(text: str) -> str:
    """Trim each line, keep single blank lines between paragraphs, drop blank lines at both ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = [re.sub(r"[ \t]*\t[ \t]*", "\t", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def body_text(message: EmailMessage) -> str:
    """The message's own text: the plain part, else the HTML part as text."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    return html_to_text(text) if part.get_content_type() == "text/html" else tidy_lines(text)


def address(value: str | None) -> tuple[str, str] | None:
    """(display name, address) of the first address in a header value; Outlook's [mailto:...] form too."""
    if not value:
        return None
    value = re.sub(r"\[mailto:([^\]]+)\]", r"<\1>", value)
    pairs = [(name.strip().strip('"'), addr) for name, addr in getaddresses([value]) if "@" in addr]
    return pairs[0] if pairs else None


def sent_at(value: str | None) -> datetime | None:
    """A Date header as an aware datetime; None when missing or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else None


@dataclass
class Original:
    """The message a forward carries: who wrote it and what they wrote."""

    sender: tuple[str, str]
    text: str
    sent: str | None = None


def attached_original(message: EmailMessage) -> EmailMessage | None:
    """A message/rfc822 attachment (Outlook's and Thunderbird's "forward as attachment")."""
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner, EmailMessage):
                return inner
    return None


def inline_original(text: str) -> Original | None:
    """The innermost original of an inline forward (a forward of a forward is unwrapped again).

    quotequail's time grows with the square of the header-like lines it is given, so it only sees
    a window from the first forward marker on; a longer forwarded text is cut after its header block.
    """
    found: Original | None = None
    for _ in range(_MAX_FORWARD_DEPTH):
        hint = _FORWARD_HINT.search(text)
        if hint is None:
            break
        start = text.rfind("\n", 0, hint.start()) + 1
        window = text[start:start + _UNWRAP_WINDOW]
        unwrapped = quotequail.unwrap(window)
        if not unwrapped or unwrapped.get("type") != "forward":
            break
        sender = address(unwrapped.get("from"))
        if sender is None:
            break
        inner = tidy_lines(unwrapped.get("text") or "") if len(text) - start <= _UNWRAP_WINDOW else ""
        text = inner or _after_header_block(text[start:], sender[1])
        found = Original(sender=sender, text=text, sent=unwrapped.get("date"))
    return found


def _after_header_block(text: str, sender: str) -> str:
    """The forwarded text after its From/Date/Subject block. quotequail reads a form notification's own
    'Name: ... / Email: ...' lines as more headers and returns no text; the block ends at a blank line."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if sender in line and ":" in line), None)
    if start is None:
        return ""
    blank = next((i for i in range(start, len(lines)) if not lines[i].strip(" >")), len(lines))
    return tidy_lines("\n".join(line.lstrip(">").lstrip() if line.startswith(">") else line
                                for line in lines[blank + 1:]))


@dataclass
class Reply:
    body: str
    signature: str


def split_reply(text: str) -> Reply:
    """The newest part of a message (quoted history dropped) and its signature block."""
    if not text.strip():
        return Reply("", "")
    text = text[:_MAX_ANALYSED]
    # keep_hyphen_lists: a "- item" line is part of what the person asked, not a signature marker.
    parsed = ReplyMessage(text=text, languages=list(_REPLY_LANGUAGES), keep_hyphen_lists=True).read()
    replies = parsed.replies
    if not replies:
        return Reply(text.strip(), "")
    first = replies[0]
    return Reply(tidy_lines(str(first.body or "")), tidy_lines(str(first.signatures or "")))
