"""A real simple_salesforce.Salesforce pointed at the emulator (session-id mode, plain HTTP on loopback).

simple-salesforce hard-codes https:// in every URL, so the session mounts an adapter on https://127.0.0.1:PORT/
that rewrites the scheme to http:// (crm-apis.md 1.2 variant A). trust_env=False keeps proxy variables and
REQUESTS_CA_BUNDLE out of the way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce

if TYPE_CHECKING:
    from tests.emulators.salesforce.server import SalesforceEmulator


class HttpsToHttpAdapter(HTTPAdapter):
    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if request.url and request.url.startswith("https://"):
            request.url = "http://" + request.url[len("https://"):]
        return super().send(request, *args, **kwargs)


def loopback_session(emu: SalesforceEmulator) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount(f"https://127.0.0.1:{emu.port}/", HttpsToHttpAdapter())
    return session


def salesforce_client(emu: SalesforceEmulator, session_id: str | None = None, version: str | None = None,
                      session: requests.Session | None = None) -> Salesforce:
    """A real client for the emulator; issues a new session id when none is given."""
    return Salesforce(instance_url=emu.url, session_id=session_id or emu.issue_session(),
                      session=session or loopback_session(emu), version=version or emu.api_version)
