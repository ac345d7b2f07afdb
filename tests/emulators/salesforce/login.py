"""The two login flows leadsync uses, as login.salesforce.com answers them.

- SOAP `login` (username + password + security token): POST /services/Soap/u/{version}; a SOAP
  fault with sf:exceptionCode INVALID_LOGIN (HTTP 500) when the credentials are wrong.
- OAuth 2.0 JWT bearer (connected app): POST /services/oauth2/token with an RS256 assertion signed by
  the app's private key; 400 {"error": "invalid_grant"} when the signature, subject or audience is wrong.

Both issue a fresh session id and name the emulator as the instance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import jwt

if TYPE_CHECKING:
    from tests.emulators.salesforce.server import Response, SalesforceEmulator

LOGIN_PATH = re.compile(r"^/services/(Soap/u/\d+\.\d|oauth2/token)/?$", re.IGNORECASE)

_FAULT = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>
<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring><detail>
<sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid username, password,
security token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>
</soapenv:Envelope>"""


@dataclass
class Logins:
    passwords: dict[str, str] = field(default_factory=dict)    # username -> password + security token
    jwt_apps: dict[str, str] = field(default_factory=dict)     # consumer key -> public key PEM
    count: int = 0                                             # successful logins


def handle_login(emu: SalesforceEmulator, path: str, body: bytes) -> Response:
    from tests.emulators.salesforce.server import Response

    if "soap" in path.lower():
        text = body.decode("utf-8", "replace")
        username = unescape(_element(text, "username"))
        password = unescape(_element(text, "password"))
        if emu.logins.passwords.get(username) != password:
            return Response(500, _FAULT, "text/xml;charset=UTF-8")
        emu.logins.count += 1
        session = emu.issue_session()
        server_url = f"https://127.0.0.1:{emu.port}/services/Soap/u/{emu.api_version}/00D5g000000Emu"
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/'
               f'soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
               f"<serverUrl>{server_url}</serverUrl><sessionId>{session}</sessionId></result></loginResponse>"
               "</soapenv:Body></soapenv:Envelope>")
        return Response(200, xml, "text/xml;charset=UTF-8")
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return Response(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
    try:
        unverified = jwt.decode(form.get("assertion", ""), options={"verify_signature": False})
        key = emu.logins.jwt_apps[str(unverified.get("iss"))]
        claims = jwt.decode(form["assertion"], key, algorithms=["RS256"], audience=str(unverified.get("aud")))
    except (KeyError, jwt.PyJWTError):
        return Response(400, {"error": "invalid_client_id", "error_description": "client identifier invalid"})
    if claims.get("sub") not in emu.logins.passwords and claims.get("sub") not in _usernames(emu):
        return Response(400, {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"})
    emu.logins.count += 1
    return Response(200, {"access_token": emu.issue_session(), "instance_url": f"https://127.0.0.1:{emu.port}",
                          "id": "https://login.salesforce.com/id/00D5g000000Emu/0055g0000000001", "token_type":
                          "Bearer", "scope": "api"})


def _element(text: str, name: str) -> str:
    found = re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", text, re.DOTALL)
    return found.group(1) if found else ""


def _usernames(emu: SalesforceEmulator) -> set[str]:
    return {str(u.get("Username")) for u in emu.org.records.get("User", {}).values()}
