"""The due day the agenda use cases give an item, seen from the person's side: an entry is only useful on a day
whose 07:00 Europe/Paris dispatch is still to come, and on the due date or the day before."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from functions.accounts.models import Space, SpaceStatus
from functions.agenda.api import AppointmentIn, PreventionPatch, ReminderIn
from functions.agenda.calendar import PreventionStatus
from functions.agenda.models import Appointment, DueEntry, Prevention, Reminder, notified_at
from functions.agenda.service import (
    AgendaDeps,
    create_appointment,
    create_reminder,
    record_prevention,
    reminder_due,
    start_prevention,
)
from functions.agenda.worker import _next
from functions.shared.clock import FixedClock

PARIS = ZoneInfo("Europe/Paris")
ME = "284067512345688"  # the space acted on


class MemoryAgenda:
    """Only what the create use cases touch: items by id and the due entries by (day, item)."""

    def __init__(self) -> None:
        self.items: dict[str, Appointment | Reminder | Prevention] = {}
        self.due: dict[str, DueEntry] = {}

    def _save(self, item_id: str, item: Appointment | Reminder | Prevention, due: DueEntry | None) -> bool:
        self.items[item_id] = item
        self.due.pop(item_id, None)
        if due is not None:
            self.due[item_id] = due
        return True

    def save_appointment(self, a: Appointment, expected_version: int | None, old_due: date | None,
                         due: DueEntry | None) -> bool:
        return self._save(a.appointment_id, a, due)

    def save_reminder(self, r: Reminder, expected_version: int | None, old_due: date | None,
                      due: DueEntry | None) -> bool:
        return self._save(r.reminder_id, r, due)

    def save_prevention(self, p: Prevention, expected_version: int | None, old_due: date | None,
                        due: DueEntry | None) -> bool:
        return self._save("prevention", p, due)

    def get_prevention(self, ins: str) -> Prevention | None:
        found = self.items.get("prevention")
        return found if isinstance(found, Prevention) else None


def deps(at: datetime, store: MemoryAgenda | None = None) -> AgendaDeps:
    return AgendaDeps(agenda=store or MemoryAgenda(), spaces=None, clock=FixedClock(at.astimezone(UTC)))  # type: ignore[arg-type]


def paris(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=PARIS)


def test_an_appointment_booked_after_todays_dispatch_is_reminded_tomorrow_not_never() -> None:
    store = MemoryAgenda()
    appt = create_appointment(deps(paris(2026, 3, 10, 10), store), ME,
                              AppointmentIn(start=paris(2026, 3, 11, 9), professional="Dr Martin"))
    assert appt.next_due == date(2026, 3, 11)  # the appointment's own day: today's 07:00 already ran
    assert store.due[appt.appointment_id].day == date(2026, 3, 11)


def test_an_appointment_booked_before_todays_dispatch_keeps_today() -> None:
    appt = create_appointment(deps(paris(2026, 3, 10, 6, 30)), ME,
                              AppointmentIn(start=paris(2026, 3, 11, 9), professional="Dr Martin"))
    assert appt.next_due == date(2026, 3, 10)


def test_an_appointment_later_today_booked_after_the_dispatch_says_no_reminder() -> None:
    store = MemoryAgenda()
    appt = create_appointment(deps(paris(2026, 3, 10, 10), store), ME,
                              AppointmentIn(start=paris(2026, 3, 10, 16), professional="Dr Martin",
                                            reminder_lead_days=0))
    assert appt.next_due is None and appt.appointment_id not in store.due


def test_a_personal_reminder_due_today_after_the_dispatch_moves_to_its_next_occurrence() -> None:
    store = MemoryAgenda()
    rem = create_reminder(deps(paris(2026, 3, 10, 10), store), ME,
                          ReminderIn(label="pilule", date=date(2026, 2, 10), time=None, repeat="monthly"))
    assert rem.next_due == date(2026, 4, 10) and store.due[rem.reminder_id].day == date(2026, 4, 10)
    once = create_reminder(deps(paris(2026, 3, 10, 10), store), ME,
                           ReminderIn(label="pharmacie", date=date(2026, 3, 10)))
    assert once.next_due is None and once.reminder_id not in store.due
    early = create_reminder(deps(paris(2026, 3, 10, 6), store), ME,
                            ReminderIn(label="pharmacie", date=date(2026, 3, 10)))
    assert early.next_due == date(2026, 3, 10)


def timed(first: date, at: str, tz: str, repeat: str = "none") -> Reminder:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Reminder(owner_ins=ME, reminder_id="rem_" + "0" * 24, label="prise de sang", first_date=first,
                    time=time.fromisoformat(at), time_zone=tz, repeat=repeat, created_at=now, updated_at=now)


@pytest.mark.parametrize(("first", "at", "tz", "due", "when"), [
    # Noumea is UTC+11 (10 hours ahead of Paris in winter, 9 in summer): 08:00 there is 22:00 the day before in Paris
    (date(2026, 3, 10), "08:00", "Pacific/Noumea", date(2026, 3, 9), "2026-03-09T22:00:00+01:00"),
    # the night Paris springs forward (29 March 2026): 21:00 UTC on the 28th is still CET
    (date(2026, 3, 29), "08:00", "Pacific/Noumea", date(2026, 3, 28), "2026-03-28T22:00:00+01:00"),
    (date(2026, 3, 30), "08:00", "Pacific/Noumea", date(2026, 3, 29), "2026-03-29T23:00:00+02:00"),
    # Reunion is UTC+4: 10:00 there is 07:00 Paris in winter (dispatch time: that day), 09:00 is before it
    (date(2026, 3, 10), "10:00", "Indian/Reunion", date(2026, 3, 10), "2026-03-10T07:00:00+01:00"),
    (date(2026, 3, 10), "09:00", "Indian/Reunion", date(2026, 3, 9), "2026-03-10T06:00:00+01:00"),
    # across the change: 09:30 Reunion is 06:30 Paris on the 28th (CET), 07:30 on the 29th (CEST)
    (date(2026, 3, 28), "09:30", "Indian/Reunion", date(2026, 3, 27), "2026-03-28T06:30:00+01:00"),
    (date(2026, 3, 29), "09:30", "Indian/Reunion", date(2026, 3, 29), "2026-03-29T07:30:00+02:00"),
    (date(2026, 10, 25), "09:30", "Indian/Reunion", date(2026, 10, 24), "2026-10-25T06:30:00+01:00"),
])
def test_a_reminder_set_in_another_zone_is_sent_on_a_paris_day_before_it_happens(
        first: date, at: str, tz: str, due: date, when: str) -> None:
    entry = reminder_due(timed(first, at, tz), date(2026, 1, 1))
    assert entry is not None and (entry.day, entry.when) == (due, when)
    assert notified_at(entry.day) <= datetime.fromisoformat(when)


def test_a_monthly_reminder_in_noumea_chains_to_the_next_month_not_the_same_occurrence() -> None:
    entry = reminder_due(timed(date(2026, 3, 10), "08:00", "Pacific/Noumea", "monthly"), date(2026, 3, 1))
    assert entry is not None and entry.day == date(2026, 3, 9)
    nxt = _next(entry.model_copy(update={"version": 1}), None)
    assert nxt is not None and (nxt.day, nxt.when) == (date(2026, 4, 9), "2026-04-09T23:00:00+02:00")


def test_screenings_already_due_when_the_space_opens_are_reminded_once_the_next_day() -> None:
    store = MemoryAgenda()
    opened = paris(2026, 6, 2, 10)
    space = Space(ins=ME, status=SpaceStatus.OPEN, created_at=opened, birth_date=date(1971, 6, 1))  # 55
    prevention = start_prevention(deps(opened, store), space)
    assert prevention is not None and prevention.next_due == date(2026, 6, 3)
    entry = store.due["prevention"]
    assert entry.day == date(2026, 6, 3) and {"SCREEN_BREAST", "SCREEN_COLORECTAL"} <= set(entry.what.split(","))
    # once delivered, the chain goes on with the windows to come: no reminder of the same items every day
    nxt = _next(entry.model_copy(update={"version": 1}), prevention)
    assert nxt is not None and nxt.day.year == 2036 and "SCREEN_BREAST" not in nxt.what.split(",")


class Spaces:
    def __init__(self, space: Space) -> None:
        self.space = space

    def get(self, ins: str) -> Space | None:
        return self.space


def test_correcting_the_date_of_a_cytology_or_reentering_it_is_not_a_second_test() -> None:
    store = MemoryAgenda()
    at = paris(2026, 6, 2, 10)
    space = Space(ins=ME, status=SpaceStatus.OPEN, created_at=at, birth_date=date(2001, 1, 1))  # 25
    d = AgendaDeps(agenda=store, spaces=Spaces(space), clock=FixedClock(at.astimezone(UTC)))  # type: ignore[arg-type]
    code = "SCREEN_CERVICAL_CYTOLOGY"
    record_prevention(d, ME, code, PreventionPatch(status=PreventionStatus.DONE, date=date(2026, 1, 12)))
    fixed = record_prevention(d, ME, code, PreventionPatch(status=PreventionStatus.DONE, date=date(2026, 1, 10)))
    assert fixed is not None and fixed.due_from == date(2027, 1, 10)  # still the first test: the second a year on
    record_prevention(d, ME, code, PreventionPatch(status=PreventionStatus.NOT_DONE))
    again = record_prevention(d, ME, code, PreventionPatch(status=PreventionStatus.DONE, date=date(2026, 1, 10)))
    assert again is not None and again.due_from == date(2027, 1, 10)
    # a real second test a year later counts: the next one is 3 years on
    later = AgendaDeps(agenda=store, spaces=Spaces(space),  # type: ignore[arg-type]
                       clock=FixedClock(paris(2027, 2, 1, 10).astimezone(UTC)))
    second = record_prevention(later, ME, code, PreventionPatch(status=PreventionStatus.DONE,
                                                                date=date(2027, 1, 20)))
    assert second is not None and second.due_from == date(2030, 1, 20)
