"""A plain HTML form posted by a browser is sent on to the thank-you page (303); API clients get JSON."""

from __future__ import annotations

import httpx
import pytest

from flows.state import StateStore
from tests.receiver.conftest import THANK_YOU

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
FORM = "application/x-www-form-urlencoded"


def post(url: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.post(url + path, follow_redirects=False, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("headers", [BROWSER, {"Sec-Fetch-Mode": "navigate", "Accept": "*/*"}])
def test_browser_form_post_is_stored_then_redirected(receiver: tuple[str, StateStore],
                                                     headers: dict[str, str]) -> None:
    url, store = receiver
    before = store.inbox_count(source="web_form:contact")
    email = f"browser-{headers['Accept'][:4]}@example.test"
    form = {"email": email, "first_name": "Ada", "submission_id": email}
    first = post(url, "/web_form/contact", data=form, headers=headers)
    again = post(url, "/web_form/contact", data=form, headers=headers)  # the visitor pressed back and re-sent
    for response in (first, again):
        assert response.status_code == 303 and response.headers["location"] == THANK_YOU
    assert store.inbox_count(source="web_form:contact") == before + 1


def test_browser_multipart_post_is_redirected(receiver: tuple[str, StateStore]) -> None:
    url, _ = receiver
    response = post(url, "/web_form/contact", data={"email": "mp@example.test"}, files={"cv": ("cv.txt", b"x")},
                    headers=BROWSER)
    assert response.status_code == 303 and response.headers["location"] == THANK_YOU


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"data": {"email": "api@example.test"}, "headers": {"Accept": "application/json"}}, "API client"),
    ({"data": {"email": "curl@example.test"}}, "no Accept: text/html"),
    ({"json": {"email": "js@example.test"}, "headers": BROWSER}, "JSON body (fetch from a page script)"),
])
def test_api_clients_still_get_json(receiver: tuple[str, StateStore], kwargs: dict[str, object], why: str) -> None:
    url, _ = receiver
    response = post(url, "/web_form/contact", **kwargs)
    assert response.status_code == 200 and response.json()["stored"] is True, why


def test_no_thank_you_page_configured_means_json_for_browsers_too(receiver: tuple[str, StateStore]) -> None:
    url, _ = receiver
    response = post(url, "/web_form/demo-request", data={"email": "plain@example.test"}, headers=BROWSER)
    assert response.status_code == 200 and response.json()["stored"] is True


def test_a_refused_browser_post_is_not_redirected(receiver: tuple[str, StateStore]) -> None:
    url, store = receiver
    before = store.inbox_count(source="web_form:contact")
    response = post(url, "/web_form/contact", content=b"", headers={**BROWSER, "Content-Type": FORM})
    assert response.status_code == 400 and "location" not in response.headers
    assert store.inbox_count(source="web_form:contact") == before
