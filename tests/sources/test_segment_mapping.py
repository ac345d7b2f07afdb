"""Segment messages -> events-only leads (pure), and the `segment` source's config checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.errors import ConfigError, RecordRejectedError
from connectors.records import RawSubmission
from connectors.sources.event_mapping import EventMapping
from connectors.sources.segment import SegmentConfig, SegmentSource, message_id, tracking_messages
from flows.config import parse_config

MAPPING = EventMapping(pages={"/pricing*": "pricing_page_visit", "https://docs.acme.example/*": "docs_visit"},
                       tracks={"Whitepaper Downloaded": "whitepaper_download", "Demo Requested": "demo_request"})
SOURCE = SegmentSource(SegmentConfig(name="site", write_key="k", events=MAPPING))
DROPPING = SegmentSource(SegmentConfig(name="site", write_key="k", events=MAPPING.model_copy(
    update={"unmapped": "drop"})))
RECEIVED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def lead_of(message: dict[str, Any], source: SegmentSource = SOURCE) -> Any:
    raw = RawSubmission(source="segment:site", partition=message["type"], source_record_id=message_id(message),
                        received_at=RECEIVED, payload=message)
    return source.to_lead(raw)


@pytest.mark.parametrize(("message", "event_type", "facts"), [
    ({"type": "page", "anonymousId": "a1", "properties": {"path": "/pricing/enterprise", "title": "Pricing"}},
     "pricing_page_visit", {"path": "/pricing/enterprise", "title": "Pricing"}),
    ({"type": "page", "anonymousId": "a1", "context": {"page": {"url": "https://acme.example/pricing?x=1"}}},
     "pricing_page_visit", {"path": "/pricing", "url": "https://acme.example/pricing?x=1"}),
    ({"type": "page", "anonymousId": "a1", "properties": {"url": "https://docs.acme.example/setup"}},
     "docs_visit", {"path": "/setup"}),
    ({"type": "page", "anonymousId": "a1", "properties": {"path": "/blog/why"}}, "page_view", {"path": "/blog/why"}),
    ({"type": "track", "anonymousId": "a1", "event": "whitepaper downloaded", "properties": {"asset": "wp-7"}},
     "whitepaper_download", {"asset": "wp-7", "event_name": "whitepaper downloaded"}),
    ({"type": "track", "userId": "u1", "event": "Webinar Registered!"}, "webinar_registered", {}),
    ({"type": "screen", "anonymousId": "a1", "name": "Settings"}, "screen_view", {"name": "Settings"}),
    ({"type": "page", "anonymousId": "a1", "properties": {"path": "/pricing"},
      "context": {"campaign": {"name": "spring", "source": "google", "medium": "cpc"}}},
     "pricing_page_visit", {"campaign": "spring"}),
])
def test_calls_map_to_the_rules_event_types(message: dict[str, Any], event_type: str, facts: dict[str, Any]) -> None:
    message = {**message, "messageId": "m-1", "timestamp": "2026-11-29T08:30:00.000Z"}
    lead = lead_of(message)
    assert lead.events_only and lead.email is None
    [event] = lead.events
    assert (event.type, event.at, event.event_id) == (event_type, datetime(2026, 11, 29, 8, 30, tzinfo=UTC), "m-1")
    assert facts.items() <= event.properties.items()


def test_unmapped_calls_are_dropped_when_configured_and_mapped_ones_kept() -> None:
    assert lead_of({"type": "page", "anonymousId": "a", "properties": {"path": "/blog"}}, DROPPING).events == []
    assert lead_of({"type": "track", "anonymousId": "a", "event": "Other"}, DROPPING).events == []
    assert [e.type for e in lead_of({"type": "track", "anonymousId": "a", "event": "Demo Requested"},
                                    DROPPING).events] == ["demo_request"]


def test_identify_names_the_person_behind_the_anonymous_id() -> None:
    lead = lead_of({"type": "identify", "anonymousId": "anon-9", "userId": "user-42", "traits": {
        "email": "Ann.Lee@Acme.Example", "firstName": "ann", "lastName": "LEE", "company": {"name": "Acme"},
        "phone": "+1 415 555 0100", "title": "VP Sales"}})
    assert (lead.email, lead.first_name, lead.last_name, lead.company, lead.phone, lead.title) == (
        "ann.lee@acme.example", "Ann", "Lee", "Acme", "+14155550100", "VP Sales")
    assert (lead.anonymous_ids, lead.tracking_user_id, lead.events, lead.events_only) == (
        ["anon-9"], "user-42", [], True)
    assert lead.lead_key.startswith("e-")


def test_the_same_anonymous_visitor_always_gets_the_same_key() -> None:
    first = lead_of({"type": "page", "anonymousId": "v-1", "messageId": "1"})
    second = lead_of({"type": "track", "anonymousId": "v-1", "event": "x", "messageId": "2"})
    other = lead_of({"type": "track", "anonymousId": "v-2", "event": "x", "messageId": "3"})
    assert first.lead_key == second.lead_key != other.lead_key


def test_alias_links_the_previous_id() -> None:
    lead = lead_of({"type": "alias", "previousId": "anon-1", "userId": "user-1"})
    assert (lead.anonymous_ids, lead.tracking_user_id, lead.events) == (["anon-1"], "user-1", [])


def test_group_traits_give_company_facts() -> None:
    lead = lead_of({"type": "group", "userId": "u", "groupId": "g", "traits": {"name": "Acme", "employees": "900",
                                                                             "industry": "Software"}})
    assert (lead.company, lead.employees, lead.industry, lead.email, lead.events) == (
        "Acme", 900, "Software", None, [])


def test_identify_without_contact_keeps_the_names() -> None:
    lead = lead_of({"type": "identify", "userId": "u-7", "traits": {"name": "BO NG", "title": "CTO",
                                                                    "address": {"country": "Sweden"}}})
    assert (lead.first_name, lead.last_name, lead.title, lead.country, lead.email) == ("Bo", "Ng", "CTO", "SE", None)


def test_an_invalid_email_trait_is_rejected_naming_the_field() -> None:
    with pytest.raises(RecordRejectedError) as info:
        lead_of({"type": "identify", "anonymousId": "a", "messageId": "m-9", "traits": {"email": "not-an-address"}})
    assert (info.value.field, info.value.record) == ("traits.email", "segment:site/m-9")
    assert "not-an-address" not in str(info.value)


def test_message_ids_dedupe_and_fall_back_to_a_content_hash() -> None:
    assert message_id({"messageId": "abc"}) == "abc"
    assert message_id({"b": 1, "a": 2}) == message_id({"a": 2, "b": 1}) != message_id({"a": 3, "b": 1})


@pytest.mark.parametrize(("call", "data", "error"), [
    ("batch", {"batch": []}, "batch: expected a non-empty list"),
    ("batch", {"batch": ["x"]}, "batch[0]: expected an object"),
    ("batch", {"batch": [{"type": "purchase", "userId": "u"}]}, "batch[0].type"),
    ("alias", {"userId": "u"}, "message.previousId: required for alias"),
    ("group", {"userId": "u"}, "message.groupId: required for group"),
    ("track", {"userId": True, "event": "e"}, "userId or anonymousId"),
    ("track", {"userId": "u", "event": "e", "messageId": "x" * 201}, "message.messageId"),
])
def test_malformed_messages_name_message_and_field(call: str, data: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error.replace("[", r"\[").replace("]", r"\]")):
        tracking_messages(call, data)


def test_the_endpoint_sets_the_type_of_single_calls() -> None:
    assert tracking_messages("page", {"type": "track", "anonymousId": "a"})[0]["type"] == "page"


CONFIG = """\
rules: rules.yaml
sources:
  - type: segment
    name: site
    write_key: ${SEGMENT_WRITE_KEY}
    events:
      pages:
        /pricing*: pricing_page_visit
        pricing: Pricing Visit
      tracks:
        Whitepaper Downloaded: whitepaper_download
        whitepaper downloaded: whitepaper_download
      unmapped: ignore
    field_map:
      plan: favourite_colour
  - type: segment
    name: app
    write_key: plain-text-key
"""


def test_config_errors_name_yaml_path_and_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(CONFIG, "leadsync.yaml")
    problems = "\n".join(info.value.problems)
    assert "leadsync.yaml:8: sources[0].events.pages: pattern 'pricing' must start with" in problems
    assert "leadsync.yaml:11: sources[0].events.tracks: track names 'Whitepaper Downloaded' and " \
           "'whitepaper downloaded' differ only in case" in problems
    assert "leadsync.yaml:13: sources[0].events.unmapped:" in problems
    assert "leadsync.yaml:15: sources[0].field_map: 'plan' maps to unknown lead field" in problems
    assert "leadsync.yaml:18: sources[1].write_key: secrets are not written in the config" in problems


def test_a_good_segment_config_parses() -> None:
    config = parse_config(CONFIG.split("      pages:")[0] + "      pages: {/pricing*: pricing_page_visit}\n",
                          "leadsync.yaml")
    [entry] = config.sources
    assert entry.type == "segment" and entry.events.page_type("/pricing") == "pricing_page_visit"
