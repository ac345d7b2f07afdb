"""SendGrid's signed Event Webhook over real HTTP on 127.0.0.1, signed with a key generated here.

The verification itself is also checked against the vector in SendGrid's own Node helper's tests
(@sendgrid/eventwebhook), so a scheme both sides got wrong the same way cannot pass.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from connectors.sources.sendgrid_events import SendGridConfig, SendGridSource
from connectors.sources.webhook_auth import sendgrid_key_ok, sendgrid_signature_ok
from flows.receiver import create_app
from flows.state import StateStore
from tests.receiver.server import serve

TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
PRIVATE = ec.generate_private_key(ec.SECP256R1())
PUBLIC_B64 = base64.b64encode(PRIVATE.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
# From SendGrid's Node helper tests: key, signature and timestamp over this exact payload.
VENDOR_KEY = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlv"
              "FYPAZFceEu/1FwCM/QmGUhA==")
VENDOR_SIGNATURE = ("MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=")
VENDOR_PAYLOAD = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'


def signed(body: bytes, key: ec.EllipticCurvePrivateKey = PRIVATE, timestamp: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {"Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode()}


def events(*kinds: str, prefix: str = "ev") -> list[dict[str, object]]:
    return [{"email": "ann@acme.example", "timestamp": 1764500000 + i, "event": kind,
             "sg_event_id": f"{prefix}-{i}-{kind}", "sg_message_id": "msg.1"} for i, kind in enumerate(kinds)]


@pytest.fixture(scope="module")
def hook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StateStore]]:
    store = StateStore(f"sqlite:///{tmp_path_factory.mktemp('sg') / 'state.db'}")
    store.create_schema()
    source = SendGridSource(SendGridConfig(name="mail", public_key=PUBLIC_B64))
    with serve(create_app(store, {source.name: source})) as url:
        yield url, store
    store.dispose()


def stored_ids(store: StateStore) -> set[str]:
    rows = store.claim_batch("look", 10_000, timedelta(seconds=1), sources=["sendgrid:mail"])
    store.release_claims("look", [r.id for r in rows], "looked at by a test", count_attempt=False)
    return {r.raw.source_record_id for r in rows}


def test_vendor_vector_verifies_and_a_changed_byte_does_not() -> None:
    assert sendgrid_signature_ok(VENDOR_KEY, VENDOR_PAYLOAD, "1588788367", VENDOR_SIGNATURE)
    assert not sendgrid_signature_ok(VENDOR_KEY, VENDOR_PAYLOAD.replace(b"test_event", b"test_evenT"), "1588788367",
                                     VENDOR_SIGNATURE)
    assert not sendgrid_signature_ok(VENDOR_KEY, VENDOR_PAYLOAD, "1588788368", VENDOR_SIGNATURE)
    # with a freshness window the 2020 timestamp is refused
    assert not sendgrid_signature_ok(VENDOR_KEY, VENDOR_PAYLOAD, "1588788367", VENDOR_SIGNATURE,
                                     now=time.time(), max_age_seconds=300)


@pytest.mark.parametrize(("key", "ok"), [(PUBLIC_B64, True), (VENDOR_KEY, True), ("not base64!", False),
                                         (base64.b64encode(b"\x30\x03\x02\x01\x01").decode(), False),
                                         (base64.b64encode(ec.generate_private_key(ec.SECP384R1()).public_key()
                                          .public_bytes(serialization.Encoding.DER,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo)).decode(),
                                          False)])
def test_only_p256_keys_as_sendgrid_shows_them_are_accepted(key: str, ok: bool) -> None:
    assert sendgrid_key_ok(key) is ok


def test_signed_batch_is_stored_one_row_per_event_and_redelivery_once(hook: tuple[str, StateStore]) -> None:
    url, store = hook
    body = json.dumps(events("open", "click", "bounce", "delivered", prefix="a")).encode()
    first = httpx.post(f"{url}/sendgrid/mail", content=body, headers=signed(body))
    again = httpx.post(f"{url}/sendgrid/mail", content=body, headers=signed(body))  # SendGrid retries
    assert (first.status_code, first.json(), again.json()) == (
        200, {"stored": True, "records": 4, "duplicates": 0}, {"stored": True, "records": 4, "duplicates": 4})
    assert {"a-0-open", "a-1-click", "a-2-bounce", "a-3-delivered"} <= stored_ids(store)


def forged_headers(body: bytes) -> list[dict[str, str]]:
    good = signed(body)
    other = signed(body, ec.generate_private_key(ec.SECP256R1()))
    return [
        {"Content-Type": "application/json"},
        {**good, "X-Twilio-Email-Event-Webhook-Signature": ""},
        {k: v for k, v in good.items() if "Timestamp" not in k},
        other,
        {**good, TIMESTAMP_HEADER: str(int(good[TIMESTAMP_HEADER]) + 1)},
        {**good, "X-Twilio-Email-Event-Webhook-Signature": "bm90IGEgc2lnbmF0dXJl"},
    ]


@pytest.mark.parametrize("case", range(6))
def test_missing_or_bad_signature_is_401_and_nothing_stored(hook: tuple[str, StateStore], case: int) -> None:
    url, store = hook
    body = json.dumps(events("open", prefix=f"forged{case}")).encode()
    before = store.inbox_count("sendgrid:mail")
    response = httpx.post(f"{url}/sendgrid/mail", content=body, headers=forged_headers(body)[case])
    assert response.status_code == 401 and "Signature" in response.json()["error"]
    assert store.inbox_count("sendgrid:mail") == before


def test_a_signed_body_changed_in_transit_is_401(hook: tuple[str, StateStore]) -> None:
    url, _ = hook
    body = json.dumps(events("click", prefix="t")).encode()
    headers = signed(body)
    response = httpx.post(f"{url}/sendgrid/mail", content=body.replace(b"ann@", b"eve@"), headers=headers)
    assert response.status_code == 401


def test_absurdly_nested_json_is_400_not_a_crash(hook: tuple[str, StateStore]) -> None:
    url, _ = hook
    body = b"[" * 100_000 + b"]" * 100_000
    response = httpx.post(f"{url}/sendgrid/mail", content=body, headers=signed(body))
    assert response.status_code == 400


@pytest.mark.parametrize(("payload", "says"), [
    ({"event": "open"}, "expected a non-empty JSON array"),
    ([], "expected a non-empty JSON array"),
    ([{"email": "a@b.example", "timestamp": 1, "event": "open"}], "events[0].sg_event_id"),
    ([*events("open", prefix="ok"), {"email": "a@b.example", "event": "open", "sg_event_id": "x"}],
     "events[1].timestamp"),
    ([{"timestamp": 1, "event": "open", "sg_event_id": "y"}], "events[0].email"),
])
def test_signed_but_malformed_batches_are_400_and_nothing_stored(hook: tuple[str, StateStore], payload: object,
                                                                 says: str) -> None:
    url, store = hook
    body = json.dumps(payload).encode()
    before = store.inbox_count("sendgrid:mail")
    response = httpx.post(f"{url}/sendgrid/mail", content=body, headers=signed(body))
    assert response.status_code == 400 and says in response.json()["error"]
    assert store.inbox_count("sendgrid:mail") == before
