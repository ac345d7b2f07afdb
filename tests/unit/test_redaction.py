from __future__ import annotations

import pytest

from connectors.redaction import redact, register_secret


@pytest.mark.parametrize(("text", "must_not_contain", "keeps"), [
    ("owner jane.doe@acme.example not found", "jane.doe@acme.example", "not found"),
    ("call +1 (415) 555-0134 now", "555-0134", "call"),
    ("GET /v19.0/123?access_token=EAAB123secret&fields=x", "EAAB123secret", "fields=x"),
    ("Authorization: Bearer pat-na1-11111111-2222", "pat-na1-11111111-2222", "Authorization"),
    ("password=hunter2 rest", "hunter2", "rest"),
    ("server at 127.0.0.1 port 5432", "<phone>", "127.0.0.1"),
])
def test_redact(text: str, must_not_contain: str, keeps: str) -> None:
    out = redact(text)
    assert must_not_contain not in out
    assert keeps in out


def test_registered_secret_is_masked_anywhere() -> None:
    register_secret("s3cr3t-value-XYZ")
    assert redact("boom s3cr3t-value-XYZ boom") == "boom *** boom"


def test_long_messages_are_cut() -> None:
    assert len(redact("x " * 5000, max_length=100)) == 101


@pytest.mark.parametrize("message", [
    "crm.access_token: environment variable HUBSPOT_TOKEN is not set",
    "source typeform:tf secret: environment variable TF_SECRET is not set",
    "Prefect Secret block 'crm-token' could not be loaded",
    "the token expired: renew it",
])
def test_words_of_a_message_are_never_masked(message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the patterns here: other tests register secret values (e.g. "TOKEN") that would be masked anywhere.
    monkeypatch.setattr("connectors.redaction._known_secrets", set())
    assert redact(message) == message


@pytest.mark.parametrize(("text", "value"), [
    ("secret: Abc123xyz rest", "Abc123xyz"),
    ("token eyJhbGciOiJIUzI1NiJ9 rest", "eyJhbGciOiJIUzI1NiJ9"),
    ("password=hunter rest", "hunter"),  # after "=" it is a value, even a plain word
])
def test_credential_values_are_still_masked(text: str, value: str) -> None:
    out = redact(text)
    assert value not in out and "rest" in out


def test_staff_addresses_are_shown_lead_addresses_masked() -> None:
    from connectors.redaction import register_staff_addresses

    register_staff_addresses(["Rep.Staff@OurCo.example"])
    out = redact("owner rep.staff@ourco.example is not a user; lead jane.doe@acme.example")
    assert "rep.staff@ourco.example" in out and "jane.doe@acme.example" not in out
