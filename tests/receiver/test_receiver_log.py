"""The receiver logs each stored submission at INFO: source, record id and outcome, never personal data."""

from __future__ import annotations

import logging

import httpx
import pytest

from flows.state import StateStore


def test_each_stored_submission_is_logged_without_personal_data(receiver: tuple[str, StateStore],
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    url, _ = receiver
    form = {"submission_id": "sub-77", "email": "kim.private@example.org", "company": "Kim Co",
            "phone": "+1 415 555 0100"}
    with caplog.at_level(logging.INFO, logger="flows.receiver"):
        assert httpx.post(f"{url}/web_form/demo-request", data=form).status_code == 200
        assert httpx.post(f"{url}/web_form/demo-request", data=form).status_code == 200
        assert httpx.post(f"{url}/web_form/demo-request", data={**form, "submission_id": "sub-78",
                                                                 "website": "http://spam"}).status_code == 200
    messages = [r.getMessage() for r in caplog.records if r.name == "flows.receiver.app"]
    assert messages == ["stored web_form/demo-request record sub-77: pending",
                        "stored web_form/demo-request record sub-77: duplicate (already stored)",
                        "stored web_form/demo-request record sub-78: spam"]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "flows.receiver.app")
    assert not any("kim" in m.lower() or "555" in m for m in messages)
