"""Logging in the way production does (SOAP username + password + token, OAuth JWT bearer), through the real
simple-salesforce login functions; the emulator answers for login.salesforce.com / test.salesforce.com."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from requests.adapters import HTTPAdapter

from connectors.crm.salesforce import SalesforceConfig, SalesforceCredentials, SalesforceSink, login_factory
from connectors.errors import FatalError
from tests.crm.salesforce.conftest import ALICE, FAST, decision, lead, sync
from tests.emulators.salesforce import SalesforceEmulator, loopback_session


class LoginHostToEmulator(HTTPAdapter):
    """Send https://<domain>.salesforce.com/... to the emulator on loopback."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        path = request.url.split(".salesforce.com", 1)[1]
        request.url = f"http://127.0.0.1:{self.port}{path}"
        return super().send(request, *args, **kwargs)


def sessions(emu: SalesforceEmulator, domain: str) -> Any:
    def make() -> requests.Session:
        session = loopback_session(emu)
        session.mount(f"https://{domain}.salesforce.com/", LoginHostToEmulator(emu.port))
        return session

    return make


def sink_for(emu: SalesforceEmulator, credentials: SalesforceCredentials, domain: str = "login") -> SalesforceSink:
    config = SalesforceConfig(domain=domain)
    sink = SalesforceSink(config, login_factory(credentials, config, session_factory=sessions(emu, domain)),
                          policy=FAST)
    sink.resolve_owners([ALICE], ["Unassigned"], ["Nurture"])
    return sink


def test_password_and_token_login_and_one_relogin_after_expiry(emulator: SalesforceEmulator) -> None:
    emulator.logins.passwords["integration@ourco.example"] = "s3cret-pwTOKEN123"
    credentials = SalesforceCredentials(username="integration@ourco.example", password=SecretStr("s3cret-pw"),
                                        security_token=SecretStr("TOKEN123"))
    sink = sink_for(emulator, credentials, domain="test")
    assert emulator.logins.count == 1
    emulator.expire_sessions()
    assert [str(s) for s in sync(sink, [lead(1)], [decision(1)])] == ["created"]
    assert emulator.logins.count == 2


def test_wrong_password_is_a_clear_fatal_error_without_the_secret(emulator: SalesforceEmulator) -> None:
    emulator.logins.passwords["integration@ourco.example"] = "right-passwordTOKEN"
    credentials = SalesforceCredentials(username="integration@ourco.example", password=SecretStr("wrong-password"),
                                        security_token=SecretStr("TOKEN"))
    with pytest.raises(FatalError, match="INVALID_LOGIN") as caught:
        sink_for(emulator, credentials)
    assert "wrong-password" not in str(caught.value)


def test_jwt_bearer_login_with_the_connected_apps_key(emulator: SalesforceEmulator) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    emulator.logins.jwt_apps["3MVG9-consumer-key"] = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    emulator.logins.passwords["integration@ourco.example"] = "unused"
    credentials = SalesforceCredentials(username="integration@ourco.example", consumer_key="3MVG9-consumer-key",
                                        private_key=SecretStr(private_pem))
    sink = sink_for(emulator, credentials)
    assert [str(s) for s in sync(sink, [lead(1)], [decision(1)])] == ["created"]
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    forged = credentials.model_copy(update={"private_key": SecretStr(other)})
    with pytest.raises(FatalError, match="login failed"):
        sink_for(emulator, forged)


@pytest.mark.parametrize(("settings", "valid"), [
    ({"username": "u@x.example", "password": "${SF_PW}"}, True),
    ({"username": "u@x.example", "consumer_key": "3MVG9", "private_key": "${SF_KEY}"}, True),
    ({"session_id": "${SF_SESSION}", "instance_url": "https://acme.my.salesforce.com"}, True),
    ({"username": "u@x.example"}, False),
    ({"session_id": "${SF_SESSION}"}, False),
])
def test_the_config_needs_one_complete_login_method(settings: dict[str, str], valid: bool) -> None:
    from pydantic import ValidationError

    from flows.config.models import SalesforceEntry

    if valid:
        SalesforceEntry.model_validate({"type": "salesforce", **settings})
    else:
        with pytest.raises(ValidationError, match="username \\+ password"):
            SalesforceEntry.model_validate({"type": "salesforce", **settings})
