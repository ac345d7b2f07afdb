"""Working-time SLA arithmetic: pure functions of a start time, a duration and a rep's availability.

A rep's working time is their `working_hours` on their `working_days` in their own time zone,
minus `out_of_office` days. No availability (or no working hours) means the clock runs all day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rules.models import WEEKDAYS, Availability

MAX_DAYS_AHEAD = 400  # a rep with no working day at all must not loop forever


def _hours(availability: Availability) -> tuple[time, time] | None:
    if not availability.working_hours:
        return None
    start, end = availability.working_hours.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def _working_day(availability: Availability, day: date) -> bool:
    if WEEKDAYS[day.weekday()] not in availability.working_days:
        return False
    return not any(first <= day <= last for first, last in availability.out_of_office)


def _windows(availability: Availability, start_local: datetime) -> list[tuple[datetime, datetime]]:
    """Working windows (local, aware) from the day of `start_local` on, for as far as the caller reads."""
    zone = ZoneInfo(availability.timezone)
    hours = _hours(availability)
    windows: list[tuple[datetime, datetime]] = []
    for offset in range(-1, MAX_DAYS_AHEAD):  # -1: an overnight shift that began yesterday
        day = start_local.date() + timedelta(days=offset)
        if not _working_day(availability, day):
            continue
        if hours is None:
            opens = datetime.combine(day, time(0), zone)
            closes = datetime.combine(day + timedelta(days=1), time(0), zone)
        else:
            opens = datetime.combine(day, hours[0], zone)
            end_day = day if hours[1] > hours[0] else day + timedelta(days=1)  # 22:00-06:00 ends next day
            closes = datetime.combine(end_day, hours[1], zone)
        if closes > start_local:
            windows.append((opens, closes))
    return windows


def add_working_time(start: datetime, duration: timedelta, availability: Availability | None) -> datetime:
    """The moment `duration` of the rep's working time has passed after `start` (UTC, aware)."""
    if availability is None:
        return (start + duration).astimezone(UTC)
    local = start.astimezone(ZoneInfo(availability.timezone))
    remaining = duration
    for opens, closes in _windows(availability, local):
        begin = max(opens, local)
        # Aware datetimes in one zone subtract as wall time; go through UTC so DST days have their real length.
        span = closes.astimezone(UTC) - begin.astimezone(UTC)
        if remaining <= span:
            return begin.astimezone(UTC) + remaining
        remaining -= span
    raise ValueError(f"no working time within {MAX_DAYS_AHEAD} days (check working_days and out_of_office)")


def next_working_moment(moment: datetime, availability: Availability | None) -> datetime:
    """`moment` itself when the rep is working then, else when their next working window opens (UTC)."""
    if availability is None:
        return moment.astimezone(UTC)
    local = moment.astimezone(ZoneInfo(availability.timezone))
    for opens, _closes in _windows(availability, local):
        return max(opens, local).astimezone(UTC)
    raise ValueError(f"no working time within {MAX_DAYS_AHEAD} days (check working_days and out_of_office)")


def sla_due(start: datetime, minutes: int, working_hours: bool, availability: Availability | None) -> datetime:
    """Deadline of an SLA of `minutes` started at `start`: wall-clock or the owner's working time."""
    duration = timedelta(minutes=minutes)
    if not working_hours:
        return (start + duration).astimezone(UTC)
    return add_working_time(start, duration, availability)
