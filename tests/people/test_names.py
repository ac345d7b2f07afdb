"""Names as sources send them: titles, suffixes, "Last, First", emoji, shouting and careful spelling."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.normalise import build_lead
from connectors.people.names import PersonName, parse_person_name, strip_symbols
from connectors.records import RawSubmission

RAW = RawSubmission(source="t", source_record_id="1", received_at=datetime(2026, 3, 1, tzinfo=UTC), payload={})


@pytest.mark.parametrize(("first", "last", "full", "expected"), [
    # honorifics and suffixes are never first or last names
    (None, None, "Dr. Anja Weiß-Öztürk", PersonName("Anja", "Weiß-Öztürk", "Dr.")),
    (None, None, "Prof. Dr. Hans Müller", PersonName("Hans", "Müller", "Prof. Dr.")),
    (None, None, "Mrs. Jane Doe", PersonName("Jane", "Doe", "Mrs.")),
    (None, None, "Jane Doe, PhD", PersonName("Jane", "Doe", None, "PhD")),
    (None, None, "Mr John Smith MBA", PersonName("John", "Smith", "Mr", "MBA")),
    (None, None, "John Smith Jr.", PersonName("John", "Smith", None, "Jr.")),
    ("Dr.", "Smith", None, PersonName(None, "Smith", "Dr.")),
    ("Dr. Jane", "Smith", None, PersonName("Jane", "Smith", "Dr.")),
    ("Jane", "Smith Jr.", None, PersonName("Jane", "Smith", None, "Jr.")),
    ("Jane", "Smith, PhD", None, PersonName("Jane", "Smith", None, "PhD")),
    ("Ms. Smith", None, None, PersonName(None, "Smith", "Ms.")),
    # words that are titles somewhere but names here stay names
    ("Judge", "Reinhold", None, PersonName("Judge", "Reinhold")),
    (None, None, "King Smith", PersonName("King", "Smith")),
    # "Last, First"
    (None, None, "Doe, Jane", PersonName("Jane", "Doe")),
    (None, None, "DE LA CRUZ, JUAN", PersonName("Juan", "de la Cruz")),
    (None, None, "Smith Jr., John", PersonName("John", "Smith", None, "Jr.")),
    (None, "Doe, Jane", None, PersonName("Jane", "Doe")),
    # a full name in one box, or in the full-name field
    ("Jane Doe", None, None, PersonName("Jane", "Doe")),
    (None, None, "Anna Maria Schmidt", PersonName("Anna Maria", "Schmidt")),
    (None, None, "Madonna", PersonName("Madonna", None)),
    ("Jane Doe", "Doe", None, PersonName("Jane", "Doe")),
    ("Jane Doe", "Jane Doe", None, PersonName("Jane", "Doe")),
    # case kept when written well, fixed when all-caps or all-lower
    ("Bob", "O'Brien", None, PersonName("Bob", "O'Brien")),
    ("Angus", "MacLeod", None, PersonName("Angus", "MacLeod")),
    ("Pieter", "van der Berg", None, PersonName("Pieter", "van der Berg")),
    ("Ronald", "McDonald", None, PersonName("Ronald", "McDonald")),
    ("Charles", "d'Artagnan", None, PersonName("Charles", "d'Artagnan")),
    ("JANE", "O'BRIEN", None, PersonName("Jane", "O'Brien")),
    ("angus", "macleod", None, PersonName("Angus", "MacLeod")),
    (None, None, "pieter van der berg", PersonName("Pieter", "van der Berg")),
    ("Mary-Kate", "mcdonald", None, PersonName("Mary-Kate", "McDonald")),
    ("MARIO", "MACHADO", None, PersonName("Mario", "Machado")),
    ("JOSÉ", "GARCÍA", None, PersonName("José", "García")),
    ("Zoë", "Ångström-Nuñez", None, PersonName("Zoë", "Ångström-Nuñez")),
    # emoji and pictographs removed, whatever the sequence
    ("Jane 🔥", "Doe 👋🏽", None, PersonName("Jane", "Doe")),
    (None, None, "🚀 JOHN MACLEOD 🚀", PersonName("John", "MacLeod")),
    ("👨\u200d👩\u200d👧 Ann", "Lee ❤️", None, PersonName("Ann", "Lee")),
    ("Rachel", "Green ☕️✨", None, PersonName("Rachel", "Green")),
    (None, None, "✨🎉", PersonName()),
    (None, None, "李伟", PersonName(None, "李伟")),
    # display names as mail clients and forms pass them on
    (None, None, "'Jane Doe'", PersonName("Jane", "Doe")),
    (None, None, '"Doe, Jane"', PersonName("Jane", "Doe")),
    (None, None, "Jane Doe | Acme Corp", PersonName("Jane", "Doe")),
    (None, None, "Jane Doe via LinkedIn", PersonName("Jane", "Doe")),
    (None, None, 'Robert "Bob" Smith', PersonName("Robert", "Smith")),
    (None, None, "Jane Doe (CEO)", PersonName("Jane", "Doe")),
    (None, None, "jane.doe@acme.example", PersonName()),
    # surname first in capitals, as French and many Asian forms write it
    (None, None, "DUPONT Marie-Claire", PersonName("Marie-Claire", "Dupont")),
    (None, None, "Jean-Claude VAN DAMME", PersonName("Jean-Claude", "van Damme")),
])
def test_parse_person_name(first: str | None, last: str | None, full: str | None, expected: PersonName) -> None:
    assert parse_person_name(first, last, full) == expected


@pytest.mark.parametrize(("given", "expected"), [
    ("Zoë 🌸", "Zoë"), ("नमस्ते", "नमस्ते"), ("محمد", "محمد"), ("Ana™", "Ana"), ("🇸🇪 Sven", "Sven"),
])
def test_strip_symbols_keeps_every_script(given: str, expected: str) -> None:
    assert strip_symbols(given) == expected


def test_build_lead_keeps_title_and_suffix_aside() -> None:
    lead = build_lead(RAW, {"email": "a@b.example", "full_name": "Dr. Anja Weiß-Öztürk, MBA"})
    assert (lead.first_name, lead.last_name, lead.salutation, lead.name_suffix) == (
        "Anja", "Weiß-Öztürk", "Dr.", "MBA")
