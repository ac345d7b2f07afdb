"""Working-time SLA arithmetic and the `followup:` YAML section, table-driven."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from connectors.errors import ConfigError
from rules.models import Availability
from rules.sla import add_working_time, next_working_moment, sla_due
from tests.rules.builders import ruleset

STOCKHOLM = Availability(timezone="Europe/Stockholm", working_hours="09:00-17:00",
                         working_days=["mon", "tue", "wed", "thu", "fri"])
NEW_YORK = Availability(timezone="America/New_York", working_hours="09:00-17:30",
                        working_days=["mon", "tue", "wed", "thu", "fri"])
NIGHT = Availability(timezone="UTC", working_hours="22:00-06:00")
AWAY = Availability(timezone="Europe/Stockholm", working_hours="09:00-17:00",
                    working_days=["mon", "tue", "wed", "thu", "fri"],
                    out_of_office=[(date(2026, 3, 3), date(2026, 3, 4))])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# 2026-03-02 is a Monday; Stockholm is UTC+1 in March (before the 29th); New York is UTC-5 until 8 March, then -4.
CASES: list[tuple[str, datetime, int, Availability | None, datetime]] = [
    ("no availability: wall clock", utc(2026, 3, 2, 10), 120, None, utc(2026, 3, 2, 12)),
    ("inside hours", utc(2026, 3, 2, 9), 120, STOCKHOLM, utc(2026, 3, 2, 11)),
    ("runs over the evening into the next morning", utc(2026, 3, 2, 15), 120, STOCKHOLM, utc(2026, 3, 3, 9)),
    ("before opening starts at opening", utc(2026, 3, 2, 5), 30, STOCKHOLM, utc(2026, 3, 2, 8, 30)),
    ("friday afternoon to monday", utc(2026, 3, 6, 15, 30), 60, STOCKHOLM, utc(2026, 3, 9, 8, 30)),
    ("saturday waits for monday", utc(2026, 3, 7, 12), 15, STOCKHOLM, utc(2026, 3, 9, 8, 15)),
    ("out of office tuesday and wednesday", utc(2026, 3, 2, 15, 30), 60, AWAY, utc(2026, 3, 5, 8, 30)),
    ("new york across the DST weekend", utc(2026, 3, 6, 23), 30, NEW_YORK, utc(2026, 3, 9, 13, 30)),
    ("overnight shift started yesterday", utc(2026, 3, 3, 3), 120, NIGHT, utc(2026, 3, 3, 5)),
    ("overnight shift across its close", utc(2026, 3, 3, 5), 120, NIGHT, utc(2026, 3, 3, 23)),
    ("a full working day and a bit", utc(2026, 3, 2, 8), 8 * 60 + 10, STOCKHOLM, utc(2026, 3, 3, 8, 10)),
]


@pytest.mark.parametrize(("name", "start", "minutes", "availability", "expected"), CASES, ids=[c[0] for c in CASES])
def test_add_working_time(name: str, start: datetime, minutes: int, availability: Availability | None,
                          expected: datetime) -> None:
    assert add_working_time(start, timedelta(minutes=minutes), availability) == expected


def test_dst_change_counts_real_minutes() -> None:
    # 2026-03-29: Stockholm moves from UTC+1 to UTC+2 at 02:00 local; 24 h reps see a 23-hour day.
    always = Availability(timezone="Europe/Stockholm")
    start = utc(2026, 3, 28, 23)
    assert add_working_time(start, timedelta(hours=3), always) == utc(2026, 3, 29, 2)


@pytest.mark.parametrize(("moment", "availability", "expected"), [
    (utc(2026, 3, 2, 10), STOCKHOLM, utc(2026, 3, 2, 10)),
    (utc(2026, 3, 2, 18), STOCKHOLM, utc(2026, 3, 3, 8)),
    (utc(2026, 3, 7, 10), STOCKHOLM, utc(2026, 3, 9, 8)),
    (utc(2026, 3, 2, 18), None, utc(2026, 3, 2, 18)),
])
def test_next_working_moment(moment: datetime, availability: Availability | None, expected: datetime) -> None:
    assert next_working_moment(moment, availability) == expected


def test_sla_due_wall_clock_ignores_hours() -> None:
    assert sla_due(utc(2026, 3, 7, 12), 15, False, STOCKHOLM) == utc(2026, 3, 7, 12, 15)
    assert sla_due(utc(2026, 3, 7, 12), 15, True, STOCKHOLM) == utc(2026, 3, 9, 8, 15)


def test_no_working_day_at_all_is_an_error() -> None:
    nobody = Availability(working_days=[])
    with pytest.raises(ValueError, match="no working time"):
        add_working_time(utc(2026, 3, 2), timedelta(minutes=1), nobody)


def followup(**section: Any) -> Any:
    return ruleset(followup=section).spec.followup


def test_followup_section_first_matching_sla_by_kind_and_source() -> None:
    spec = followup(sla=[
        {"id": "demo", "kinds": ["routed"], "sources": ["forms:demo*"], "within_minutes": 15},
        {"id": "mql", "kinds": ["mql"], "within_minutes": 120, "working_hours": True},
        {"id": "rest", "within_minutes": 240},
    ])
    assert spec.sla_for("routed", "forms:demo-request").id == "demo"
    assert spec.sla_for("routed", "csv:fair").id == "rest"
    assert spec.sla_for("mql", "forms:demo-request").id == "mql"
    assert spec.sla_for("nurture_followup", "x") is None
    assert spec.sla[1].label() == "2h working time"


@pytest.mark.parametrize(("section", "message"), [
    ({"sla": [{"id": "a", "within_minutes": 0}]}, "followup.sla[0].within_minutes"),
    ({"sla": [{"id": "a", "kinds": ["lunch"], "within_minutes": 5}]}, "followup.sla[0].kinds[0]"),
    ({"escalation": {"escalate_after_minutes": 60, "reroute_after_minutes": 30}}, "followup.escalation"),
    ({"nurture": {"every_days": 0}}, "followup.nurture.every_days"),
    ({"tasks": {"routed": {"subject": "x", "colour": "red"}}}, "followup.tasks.routed.colour"),
])
def test_bad_followup_section_names_path_and_line(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        followup(**section)
    text = str(caught.value)
    assert message in text and "rules.yaml:" in text


def test_team_lead_of_an_unknown_team_is_reported_with_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        followup(escalation={"team_leads": {"nobody": "lead@ourco.example"}})
    assert "followup.escalation.team_leads.nobody: unknown team 'nobody'" in str(caught.value)
