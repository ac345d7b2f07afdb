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
