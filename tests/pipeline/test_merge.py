"""Merges keep the better value; attribution 'none' values; posted form ids; locale numbers in custom fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.field_targets import parse_number
from connectors.normalise import build_lead
from connectors.records import Lead, RawSubmission
from connectors.sources.csv_import import CsvImportConfig
from connectors.sources.form_files import FormFilesConfig, FormFilesSource
from connectors.sources.webhook_forms import JsonHookConfig, json_hook_fields
from connectors.sources.webhooks import WebFormConfig, WebhookSource
from flows.pipeline.merge import merge_leads

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def lead(minutes: int, source: str = "forms:demo", **fields: Any) -> Lead:
    raw = RawSubmission(source=source, source_record_id=str(minutes), received_at=T0 + timedelta(minutes=minutes),
                        payload={})
    return build_lead(raw, {"email": "jane.doe@acme-robotics.example", **fields})


@pytest.mark.parametrize(("field", "first", "later", "expected"), [
    ("title", "VP Engineering", "vp engineering", "VP Engineering"),
    ("title", "VP ENGINEERING", "VP Engineering", "VP Engineering"),
    ("title", "VP Engineering", "CTO", "CTO"),  # a new job is news
    ("company", "Acme Robotics Inc.", "ACME ROBOTICS", "Acme Robotics Inc."),
    ("company", "Acme Robotics Inc.", "Acme Robo", "Acme Robotics Inc."),
    ("company", "Acme Robotics", "Acme Robotics Inc.", "Acme Robotics Inc."),
    ("company", "Acme Robotics Inc.", "Globex", "Globex"),
    ("city", "San Francisco", "SAN FRANCISCO", "San Francisco"),
    ("first_name", "Jane", "", "Jane"),
])
def test_later_submission_does_not_bring_a_worse_copy(field: str, first: str, later: str, expected: str) -> None:
    merged = merge_leads([lead(0, **{field: first}), lead(5, **{field: later})])
    assert getattr(merged, field) == expected


def test_an_extension_goes_with_its_number() -> None:
    merged = merge_leads([lead(0, phone="415 555 0134 x 22"), lead(5, phone="415 555 0199")])
    assert (merged.phone, merged.phone_extension) == ("+14155550199", None)
    merged = merge_leads([lead(0, phone="415 555 0134 x 22"), lead(5, company="Acme")])
    assert (merged.phone, merged.phone_extension) == ("+14155550134", "22")


def test_a_number_read_later_clears_its_old_flag() -> None:
    merged = merge_leads([lead(0, phone="3.12457E+10"), lead(5, company="Acme")])
    assert merged.phone_flags == ["phone:spreadsheet_mangled"]
    merged = merge_leads([lead(0, phone="3.12457E+10"), lead(5, phone="+1 415 555 0134")])
    assert (merged.phone, merged.phone_flags, "phone_as_written" in merged.custom) == ("+14155550134", [], False)


def test_a_reply_does_not_replace_the_original_inquiry() -> None:
    merged = merge_leads([lead(9, source="imap:sales", inquiry="Thanks, Tuesday works."),
                          lead(0, inquiry="We need routing for 40 reps.\nCan we see a demo?")])
    assert merged.inquiry == ("We need routing for 40 reps.\nCan we see a demo?\n\n"
                              "--- 2026-03-10 10:09 UTC, imap:sales ---\nThanks, Tuesday works.")


@pytest.mark.parametrize(("first", "later", "expected"), [
    ("Wants a demo", "wants a demo", "Wants a demo"),
    ("Wants a demo", "Wants a demo. Budget approved.", "Wants a demo. Budget approved."),
    (None, "Call me", "Call me"),
    ("Call me", None, "Call me"),
])
def test_inquiries_are_not_repeated(first: str | None, later: str | None, expected: str) -> None:
    assert merge_leads([lead(0, inquiry=first), lead(5, inquiry=later)]).inquiry == expected


@pytest.mark.parametrize("none", [0, "0", "", "null", "undefined", "(not set)", "{gclid}", "{{ad.id}}", None])
def test_attribution_ids_meaning_none(none: Any) -> None:
    organic = lead(0, attribution={"ad_id": none, "gclid": none, "form_id": "912"})
    assert (organic.attribution.ad_id, organic.attribution.gclid, organic.attribution.form_id) == (None, None, "912")
    merged = merge_leads([lead(0, attribution={"ad_id": "1202"}), organic])
    assert merged.attribution.ad_id == "1202"


def test_a_web_forms_posted_form_id_is_its_attribution() -> None:
    raw = RawSubmission(source="web_form:demo", source_record_id="1", received_at=T0, payload={
        "fields": {"email": "a@b.example", "form_id": "demo-request-v3"}, "form_id": "demo",
        "submitted_at": None})
    got = WebhookSource(WebFormConfig(name="demo")).to_lead(raw)
    assert got.attribution.form_id == "demo-request-v3" and "form_id" not in got.custom


@pytest.mark.parametrize(("text", "locale", "expected"), [
    ("3,75", None, 3.75), ("1.234,5", None, 1234.5), ("1 234", None, 1234), ("1,234.5", None, 1234.5),
    ("1\u202f234,5", None, 1234.5), ("1'234.50", None, 1234.5), ("€ 3,75", None, 3.75), ("0.125", None, 0.125),
    ("1,234", "de", 1.234), ("1,234", "en", 1234), ("1.234,5", "de_DE", 1234.5), ("1 234,5", "fr", 1234.5),
    ("12", None, 12), ("about ten", None, None), ("1.2.3,4,5", None, None),
])
def test_parse_number(text: str, locale: str | None, expected: float | None) -> None:
    assert parse_number(text, locale) == expected


def test_numeric_custom_fields_from_a_form(tmp_path: Path) -> None:
    path = tmp_path / "forms.jsonl"
    path.write_text('{"id": "1", "fields": {"email": "a@b.example", "hours": "3,75", "budget": "1.234,5", '
                    '"seats": "1 234", "note": "3,75"}}\n{"id": "2", "fields": {"email": "c@d.example", '
                    '"hours": "lots"}}\n', encoding="utf-8")
    source = FormFilesSource(FormFilesConfig(name="f", path=str(path), field_map={
        "hours": "custom.hours:number", "budget": "custom.budget:number:de", "seats": "custom.seats:integer"}))
    first, second = (source.to_lead(raw) for raw in next(iter(source.read({}))).records)
    assert (first.custom["hours"], first.custom["budget"], first.custom["seats"], first.custom["note"]) == (
        3.75, 1234.5, 1234, "3,75")
    assert (second.custom["hours"], second.custom["hours_as_written"]) == (None, "lots")


def test_numeric_custom_fields_from_json() -> None:
    config = JsonHookConfig(name="j", field_map={"/lead/email": "email", "/lead/budget": "custom.budget:number:fr"})
    fields = json_hook_fields({"lead": {"email": "a@b.example", "budget": "12 500,50"}}, config.field_map)
    assert build_lead(RawSubmission(source="json:j", source_record_id="1", received_at=T0, payload={}),
                      fields).custom["budget"] == 12500.5


@pytest.mark.parametrize(("target", "message"), [
    ("custom.budget:numbr", "unknown type 'numbr'"),
    ("custom.budget:number:xx_QQ", "unknown locale 'xx_QQ'"),
    ("employees:number", "a type can only be given to a custom field"),
    ("budget", "maps to unknown lead field 'budget'"),
])
def test_typed_mappings_are_validated(target: str, message: str) -> None:
    for make in (lambda: FormFilesConfig(name="f", path="x", field_map={"b": target}),
                 lambda: WebFormConfig(name="w", field_map={"b": target}),
                 lambda: JsonHookConfig(name="j", field_map={"/b": target})):
        with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
            make()
    if target.startswith("custom."):
        with pytest.raises(ValidationError, match=message):
            CsvImportConfig(name="c", path="x", columns={target: ["Budget"]})
