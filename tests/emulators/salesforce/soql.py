"""A hand-written SOQL tokenizer and parser for the subset leadsync sends.

SELECT f, Rel.f, COUNT() FROM obj [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]
cond: comparisons (= != <> < <= > >=), [NOT] IN (...), LIKE, AND / OR / NOT and parentheses. Like Salesforce,
AND and OR cannot be mixed at one level without parentheses. String literals undo exactly SOQL's escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

MAX_QUERY_LENGTH = 100_000
KEYWORDS = {"select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "asc", "desc", "limit",
            "offset", "nulls", "first", "last", "true", "false", "null", "includes", "excludes"}
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
""", re.VERBOSE)


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def malformed(message: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", message)


@dataclass
class Token:
    kind: str   # "string" (raw text between quotes, escapes intact), "number", "datetime", "date", "name", ...
    text: str
    pos: int

    def keyword(self) -> str | None:
        return self.text.lower() if self.kind == "name" and self.text.lower() in KEYWORDS else None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "'":
            end = text.find("'", pos + 1)
            if end < 0 or "\\" in text[pos + 1:end]:  # an escape inside: walk it character by character
                end = pos + 1
                while end < len(text) and text[end] != "'":
                    end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise malformed(f"unterminated string literal at column {pos + 1}")
            tokens.append(Token("string", text[pos + 1:end], pos))
            pos = end + 1
            continue
        match = _TOKEN.match(text, pos)
        if match is None:
            raise malformed(f"unexpected character {text[pos]!r} at column {pos + 1}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


def unescape(raw: str, like: bool = False) -> str | list[tuple[str, bool]]:
    """Undo SOQL escapes. For LIKE, return (char, is_wildcard) pairs: \\% and \\_ are literal there."""
    if "\\" not in raw:  # nearly every literal: nothing to undo
        return [(char, char in "%_") for char in raw] if like else raw
    plain: list[tuple[str, bool]] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char != "\\":
            plain.append((char, like and char in "%_"))
            index += 1
            continue
        nxt = raw[index + 1] if index + 1 < len(raw) else ""
        if nxt and nxt in "\"'\\":
            plain.append((nxt, False))
            index += 2
        elif nxt and nxt.lower() in "nrtbf":
            plain.append((_ESCAPES[nxt.lower()], False))
            index += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", raw[index + 2:index + 6]):
            plain.append((chr(int(raw[index + 2:index + 6], 16)), False))
            index += 6
        elif like and nxt in ("%", "_"):
            plain.append((nxt, False))
            index += 2
        else:
            raise malformed(f"Invalid string literal '{raw}'. Illegal escape sequence '\\{nxt}'")
    return plain if like else "".join(c for c, _ in plain)


@dataclass
class Literal:
    value: Any
    kind: str  # string, number, boolean, null, datetime, date


@dataclass
class Compare:
    path: str
    op: str                     # = != < <= > >= in notin like
    value: Literal | list[Literal]
    like: list[tuple[str, bool]] | None = None


@dataclass
class BoolOp:
    op: str                     # and, or, not
    parts: list[Any]


@dataclass
class Query:
    fields: list[str]
    sobject: str
    where: Compare | BoolOp | None = None
    order: list[tuple[str, bool, bool]] = field(default_factory=list)  # path, descending, nulls_last
    limit: int | None = None
    offset: int = 0
    count_only: bool = False


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise malformed("unexpected end of query")
        self.index += 1
        return token

    def accept(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and (token.keyword() in words or (token.kind in ("op", "punct") and token.text in words)):
            self.index += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            token = self.peek()
            raise malformed(f"unexpected token: '{token.text if token else '<end>'}' (expected {word.upper()})")

    def name(self) -> str:
        token = self.take()
        if token.kind != "name" or token.keyword() is not None:
            raise malformed(f"unexpected token: '{token.text}'")
        return token.text

    def integer(self) -> int:
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            raise malformed(f"unexpected token: '{token.text}' (expected an integer)")
        return int(token.text)

    def query(self) -> Query:
        self.expect("select")
        fields: list[str] = []
        count_only = False
        while True:
            path = self.name()
            if path.lower() == "count" and self.accept("("):
                self.expect(")")
                count_only = True
            else:
                fields.append(path)
            if not self.accept(","):
                break
        self.expect("from")
        query = Query(fields, self.name(), count_only=count_only)
        if count_only and fields:
            raise malformed("COUNT() cannot be combined with other fields")
        if self.accept("where"):
            query.where = self.condition()
        if self.accept("order"):
            self.expect("by")
            while True:
                path = self.name()
                descending = self.accept("desc")
                if not descending:
                    self.accept("asc")
                nulls_last = descending  # Salesforce's default: nulls first ascending, last descending
                if self.accept("nulls"):
                    nulls_last = self.accept("last")
                    if not nulls_last:
                        self.expect("first")
                query.order.append((path, descending, nulls_last))
                if not self.accept(","):
                    break
        if self.accept("limit"):
            query.limit = self.integer()
        if self.accept("offset"):
            query.offset = self.integer()
        if self.peek() is not None:
            raise malformed(f"unexpected token: '{self.take().text}'")
        return query

    def condition(self) -> Compare | BoolOp:
        first = self.unary()
        parts: list[Any] = [first]
        joiner: str | None = None
        while (token := self.peek()) is not None and token.keyword() in ("and", "or"):
            word = token.keyword()
            if joiner is not None and word != joiner:
                raise malformed(f"unexpected token: '{token.text}' (mixing AND and OR needs parentheses)")
            joiner = word
            self.index += 1
            parts.append(self.unary())
        return BoolOp(joiner, parts) if joiner else first

    def unary(self) -> Compare | BoolOp:
        if self.accept("not"):
            return BoolOp("not", [self.unary()])
        if self.accept("("):
            inner = self.condition()
            self.expect(")")
            return inner
        path = self.name()
        if self.accept("not"):
            self.expect("in")
            return Compare(path, "notin", self.value_list())
        if self.accept("in"):
            return Compare(path, "in", self.value_list())
        if self.accept("like"):
            token = self.take()
            if token.kind != "string":
                raise malformed("LIKE needs a string literal")
            pattern = unescape(token.text, like=True)
            assert isinstance(pattern, list)
            return Compare(path, "like", Literal("".join(c for c, _ in pattern), "string"), pattern)
        token = self.take()
        if token.kind != "op":
            raise malformed(f"unexpected token: '{token.text}'")
        return Compare(path, "!=" if token.text == "<>" else token.text, self.literal())

    def value_list(self) -> list[Literal]:
        self.expect("(")
        values = [self.literal()]
        while self.accept(","):
            values.append(self.literal())
        self.expect(")")
        return values

    def literal(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            text = unescape(token.text)
            assert isinstance(text, str)
            return Literal(text, "string")
        if token.kind == "number":
            return Literal(float(token.text), "number")
        if token.kind == "datetime":
            return Literal(parse_datetime(token.text), "datetime")
        if token.kind == "date":
            return Literal(date.fromisoformat(token.text), "date")
        word = token.keyword()
        if word in ("true", "false"):
            return Literal(word == "true", "boolean")
        if word == "null":
            return Literal(None, "null")
        raise malformed(f"unexpected token: '{token.text}' (expected a value)")


def parse_datetime(text: str) -> datetime:
    normalised = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normalised):
        normalised = normalised[:-2] + ":" + normalised[-2:]
    return datetime.fromisoformat(normalised).astimezone(UTC)


def parse(text: str) -> Query:
    if len(text) > MAX_QUERY_LENGTH:
        raise malformed(f"query too long: {len(text)} characters, the limit is {MAX_QUERY_LENGTH}")
    return _Parser(text).query()
