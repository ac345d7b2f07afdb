"""One receiver with every webhook kind, shared by the receiver tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.sources.meta_webhook import MetaWebhookConfig, MetaWebhookSource
from connectors.sources.segment import SegmentConfig, SegmentSource
from connectors.sources.sendgrid_events import SendGridConfig, SendGridSource
from connectors.sources.webhook_forms import JsonHookConfig, WebflowConfig
from connectors.sources.webhooks import GoogleAdsConfig, TypeformConfig, WebFormConfig, WebhookSource
from flows.receiver import create_app
from flows.state import StateStore
from tests.receiver.server import (
    GOOGLE_KEY,
    JSON_SECRET,
    META_APP_SECRET,
    META_VERIFY_TOKEN,
    TF_SECRET,
    WEBFLOW_SECRET,
    serve,
)
from tests.receiver.test_sendgrid_receiver import PUBLIC_B64

THANK_YOU = "https://www.example.test/thanks?sent=1"


def receiver_sources() -> dict[str, WebhookSource]:
    return {s.name: s for s in (
        WebhookSource(WebFormConfig(name="demo-request", honeypot_field="website")),
        WebhookSource(WebFormConfig(name="contact", thank_you_url=THANK_YOU)),
        WebhookSource(TypeformConfig(name="demo", secret=TF_SECRET)),
        WebhookSource(GoogleAdsConfig(name="leadform", google_key=GOOGLE_KEY)),
        MetaWebhookSource(MetaWebhookConfig(name="clinics", verify_token=META_VERIFY_TOKEN,
                                            app_secret=META_APP_SECRET, access_token="EAAB-unused-here-000000")),
        WebhookSource(WebflowConfig(name="site", secret=WEBFLOW_SECRET, honeypot_field="website",
                                    forms={"Partner form": {"Organisation": "company"}})),
        WebhookSource(JsonHookConfig(name="partner", id_path="/lead/ref", secret_header="X-Partner-Token",
                                     secret=JSON_SECRET, field_map={
                                         "/lead/contact/email": "email", "lead.contact.name": "full_name",
                                         "lead.company": "company", "/lead/utm/campaign": "attribution.campaign",
                                         "lead.optin": "consent.email", "lead.plan": "custom.plan"})),
        WebhookSource(JsonHookConfig(name="open", field_map={"email": "email", "phone": "phone"})),
        SegmentSource(SegmentConfig(name="web", write_key="wk-receiver-tests")),
        SendGridSource(SendGridConfig(name="mail", public_key=PUBLIC_B64)),
    )}


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StateStore]]:
    store = StateStore(f"sqlite:///{tmp_path_factory.mktemp('rx') / 'state.db'}")
    store.create_schema()
    with serve(create_app(store, receiver_sources(), max_body_bytes=64 * 1024)) as url:
        yield url, store
    store.dispose()
