"""Daily dispatch and due days across DST changes (last Sunday of March and October), repeating rules, shards."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from functions.agenda.models import (
    Appointment,
    Reminder,
    Repeat,
    dispatch_day,
    notified_at,
    shard_of,
)
from functions.identity.ins import with_key
from functions.shared.errors import Unprocessable

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]


@pytest.mark.parametrize("around", [date(2027, 3, 28), date(2027, 10, 31), date(2026, 3, 29), date(2026, 10, 25)])
def test_exactly_one_of_the_two_utc_ticks_dispatches_each_paris_day_across_dst(around: date) -> None:
    dispatched = []
    for day in days(around - timedelta(days=2), 5):
        for hour in (5, 6):
            found = dispatch_day(datetime(day.year, day.month, day.day, hour, tzinfo=UTC))
            if found is not None:
                dispatched.append(found)
    assert dispatched == days(around - timedelta(days=2), 5)


def test_the_dispatch_of_a_dst_day_is_stamped_07_00_paris() -> None:
    assert notified_at(date(2027, 3, 28)) == datetime(2027, 3, 28, 5, tzinfo=UTC)
    assert notified_at(date(2027, 3, 27)) == datetime(2027, 3, 27, 6, tzinfo=UTC)


def appointment(start: str, lead: int) -> Appointment:
    return Appointment(owner_ins="x", appointment_id="appt_1", start=datetime.fromisoformat(start),
                       professional="Dr Martin", reminder_lead_days=lead, created_at=NOW, updated_at=NOW)


@pytest.mark.parametrize(("start", "lead", "due"), [
    ("2027-03-29T09:00:00+02:00", 1, date(2027, 3, 28)),   # the day after spring forward
    ("2027-03-28T02:30:00+01:00", 0, date(2027, 3, 28)),   # a time that does not exist locally still has a day
    ("2027-10-31T02:30:00+02:00", 0, date(2027, 10, 31)),  # the hour that happens twice
    ("2027-10-30T23:30:00+00:00", 0, date(2027, 10, 31)),  # 01:30 Paris the next day
    ("2027-04-10T08:00:00-04:00", 30, date(2027, 3, 11)),  # given in another zone: Paris day, 30 days before
])
def test_an_appointment_reminder_falls_on_the_paris_day_minus_the_lead(start: str, lead: int, due: date) -> None:
    assert appointment(start, lead).due_day(date(2027, 1, 1)) == due


def reminder(first: date, repeat: Repeat, until: date | None = None, tz: str = "Europe/Paris") -> Reminder:
    return Reminder(owner_ins="x", reminder_id="rem_1", label="Renouveler l'ordonnance", first_date=first,
                    repeat=repeat, until=until, time_zone=tz, created_at=NOW, updated_at=NOW)


def test_a_monthly_reminder_on_the_31st_fires_on_the_last_day_of_short_months() -> None:
    r = reminder(date(2027, 1, 31), Repeat.MONTHLY)
    seen = []
    day = date(2027, 1, 1)
    for _ in range(4):
        nxt = r.next_on_or_after(day)
        assert nxt is not None
        seen.append(nxt)
        day = nxt + timedelta(days=1)
    assert seen == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_a_yearly_reminder_on_29_february_fires_every_year() -> None:
    r = reminder(date(2028, 2, 29), Repeat.YEARLY)
    assert r.next_on_or_after(date(2028, 3, 1)) == date(2029, 2, 28)
    assert r.next_on_or_after(date(2031, 3, 1)) == date(2032, 2, 29)


@pytest.mark.parametrize(("first", "repeat", "until"), [
    (date(2026, 12, 1), Repeat.NONE, None),               # one-off in the past
    (date(2027, 5, 1), Repeat.MONTHLY, date(2027, 4, 1)),  # ends before it starts
    (date(2026, 5, 1), Repeat.YEARLY, date(2026, 12, 31)),  # every occurrence already passed
])
def test_a_reminder_that_would_never_fire_is_refused(first: date, repeat: Repeat, until: date | None) -> None:
    with pytest.raises(Unprocessable) as caught:
        reminder(first, repeat, until).check_fires(date(2027, 1, 1))
    assert caught.value.code == "reminder_never_fires"


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(Unprocessable) as caught:
        reminder(date(2027, 5, 1), Repeat.NONE, tz="Europe/Atlantis").check_fires(date(2027, 1, 1))
    assert caught.value.code == "unknown_time_zone"


def test_shards_are_stable_and_even() -> None:
    people = [with_key(f"1{y:02d}0175{n:06d}") for y in range(40, 90) for n in range(400)]
    assert shard_of(people[0], 16) == shard_of(people[0], 16)
    sizes = Counter(shard_of(p, 16) for p in people)
    mean = len(people) / 16
    assert len(sizes) == 16 and max(sizes.values()) <= 1.2 * mean


@pytest.mark.parametrize("start", ["9999-12-31T23:00:00-12:00", "0001-01-01T00:00:00+14:00", "1899-12-31T12:00:00Z"])
def test_an_appointment_start_outside_the_window_is_a_validation_error(start: str) -> None:
    """Issue 9.7: OverflowError in astimezone at the calendar's ends; bounded to 1900-01-01..2200-12-31."""
    from pydantic import ValidationError

    from functions.agenda.api import AppointmentIn, AppointmentPatch

    with pytest.raises(ValidationError):
        AppointmentIn.model_validate({"start": start, "professional": "Dr Martin"})
    with pytest.raises(ValidationError):
        AppointmentPatch.model_validate({"start": start})


@pytest.mark.parametrize("field", ["date", "until"])
@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01"])
def test_a_reminder_date_outside_the_window_is_a_validation_error(field: str, value: str) -> None:
    from pydantic import ValidationError

    from functions.agenda.api import ReminderIn, ReminderPatch

    with pytest.raises(ValidationError):
        ReminderIn.model_validate({"label": "x", "date": "2031-01-01", field: value})
    with pytest.raises(ValidationError):
        ReminderPatch.model_validate({field: value})
