"""The new sources in leadsync.yaml: accepted shapes, secrets only by reference, clear errors, built by the runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from connectors.errors import ConfigError
from connectors.sources.linkedin_lead_gen import LinkedInLeadGenSource
from connectors.sources.meta_webhook import MetaWebhookSource
from connectors.sources.webhook_forms import JsonHookConfig, WebflowConfig
from connectors.sources.webhooks import WebhookSource
from flows.config import parse_config
from flows.pipeline.runtime import build_runtime

SOURCES = """\
- {type: meta_webhook, name: clinics, verify_token: "${VT}", app_secret: "${APP_SECRET}", access_token: "${TOKEN}"}
- {type: webflow, name: site, secret: "${WF}", forms: {Contact Us: {Organisation: company}}}
- {type: json, name: partner, id_path: /lead/ref, secret_header: X-Token, secret: "${JS}",
   field_map: {/lead/email: email, lead.utm.campaign: attribution.campaign, lead.plan: custom.plan}}
- {type: json, name: open, field_map: {email: email}}
- {type: linkedin_lead_gen, name: emea, owner: "urn:li:sponsoredAccount:508123456", access_token: "${TOKEN}",
   linkedin_version: "202601", field_map: {"807234246": inquiry}}
"""


def config_text(sources: str) -> str:
    return "rules: rules.yaml\nsources:\n" + "".join(f"  {line}\n" for line in sources.splitlines())


def problems_of(sources: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(config_text(sources), "leadsync.yaml")
    return info.value.problems


def test_every_new_source_type_parses() -> None:
    config = parse_config(config_text(SOURCES), "leadsync.yaml")
    assert [s.type for s in config.sources] == ["meta_webhook", "webflow", "json", "json", "linkedin_lead_gen"]


@pytest.mark.parametrize(("sources", "expected"), [
    ("- {type: meta_webhook, name: m, verify_token: plain, app_secret: '${A}', access_token: '${T}'}",
     "sources[0].verify_token: secrets are not written in the config"),
    ("- {type: webflow, name: w, secret: s3cr3t}", "sources[0].secret: secrets are not written in the config"),
    ("- {type: json, name: j, field_map: {email: emial}}", "maps to unknown lead field 'emial'"),
    ("- {type: json, name: j, field_map: {'a..b': email}}", "'a..b' is not a dotted path or a JSON pointer"),
    ("- {type: json, name: j, field_map: {}}", "sources[0].field_map"),
    ("- {type: json, name: j, field_map: {email: email}, secret_header: X-Token}",
     "give both secret_header and secret, or neither"),
    ("- {type: json, name: j, field_map: {email: email}, id_path: ''}", "'' is not a dotted path"),
    ("- {type: linkedin_lead_gen, name: l, owner: '508123456', access_token: '${T}'}", "sources[0].owner"),
    ("- {type: linkedin_lead_gen, name: l, owner: 'urn:li:organization:5', access_token: '${T}', "
     "linkedin_version: '2026-01'}", "sources[0].linkedin_version"),
    ("- {type: linkedin_lead_gen, name: l, owner: 'urn:li:organization:5', access_token: '${T}', lead_type: ADS}",
     "sources[0].lead_type"),
])
def test_bad_source_config_is_named(sources: str, expected: str) -> None:
    problems = problems_of(sources)
    assert any(expected in p for p in problems), problems


def test_runtime_builds_the_new_sources_with_resolved_secrets(demo_config: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VT", "APP_SECRET", "TOKEN", "WF", "JS"):
        monkeypatch.setenv(name, f"value-of-{name.lower()}-0123")
    config = yaml.safe_load(demo_config.read_text())
    config["sources"] = yaml.safe_load(SOURCES)
    demo_config.write_text(yaml.safe_dump(config))
    runtime = build_runtime(demo_config)
    try:
        sources = runtime.sources
        meta, webflow, partner = sources["meta_webhook:clinics"], sources["webflow:site"], sources["json:partner"]
        assert isinstance(meta, MetaWebhookSource) and meta.config.app_secret == "value-of-app_secret-0123"
        assert isinstance(webflow, WebhookSource) and isinstance(webflow.config, WebflowConfig)
        assert webflow.config.secret == "value-of-wf-0123"
        assert isinstance(partner, WebhookSource) and isinstance(partner.config, JsonHookConfig)
        assert partner.config.secret == "value-of-js-0123"
        linkedin = sources["linkedin_lead_gen:emea"]
        assert isinstance(linkedin, LinkedInLeadGenSource) and linkedin.config.access_token == "value-of-token-0123"
    finally:
        runtime.close()


def test_a_missing_secret_names_the_source_not_the_value(demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WF", raising=False)
    config = yaml.safe_load(demo_config.read_text())
    config["sources"] = [{"type": "webflow", "name": "site", "secret": "${WF}"}]
    demo_config.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="site secret: environment variable WF is not set"):
        build_runtime(demo_config)


@pytest.mark.parametrize("url", ["https://www.example.test/thanks?sent=1", "http://intranet/thanks", "/thanks"])
def test_web_form_thank_you_url_accepted(url: str) -> None:
    config = parse_config(config_text(f"- {{type: web_form, name: contact, thank_you_url: '{url}'}}"),
                          "leadsync.yaml")
    assert config.sources[0].thank_you_url == url  # type: ignore[union-attr]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "//evil.example/x", "thanks", "ftp://x.example/",
                                 "https:///nohost", "/a b", "/x\\u0007"])
def test_web_form_thank_you_url_refused_with_path_and_line(url: str) -> None:
    problems = problems_of(f"- {{type: web_form, name: contact}}\n- {{type: web_form, name: b, "
                           f"thank_you_url: \"{url}\"}}")
    assert len(problems) == 1 and problems[0].startswith("leadsync.yaml:4: sources[1]"), problems
    assert "thank_you_url" in problems[0]
