"""Agenda use cases: appointments and personal reminders (CRUD), the person's prevention calendar. Every change
recomputes the item's next due day and moves its entry in the due index in the same transaction. The citizen
functions take the space acted on (`space`, an INS), which the edge resolves from the caller
(`functions.identity.spaces.space_of`): nothing here assumes it is the caller's own."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from functions.accounts.models import Space
from functions.accounts.ports import SpaceDirectory
from functions.agenda import calendar
from functions.agenda.calendar import PreventionItem, PreventionRecord, PreventionStatus
from functions.agenda.models import (
    PREVENTION_ID,
    Appointment,
    AppointmentChange,
    DueEntry,
    ItemKind,
    NewAppointment,
    NewReminder,
    Prevention,
    PreventionChange,
    Reminder,
    ReminderChange,
    check_lead_days,
    first_open_day,
)
from functions.agenda.ports import AgendaStore
from functions.shared import cursor
from functions.shared.clock import PARIS, Clock, paris_day
from functions.shared.errors import Conflict, NotFound, Unprocessable
from functions.shared.ids import new_id
from functions.shared.observability import logger

_ONE_DAY = timedelta(days=1)
_APPOINTMENT_ID = re.compile(r"^appt_[0-9a-f]{24}$")
_REMINDER_ID = re.compile(r"^rem_[0-9a-f]{24}$")
APPOINTMENT_WHAT = "Rendez-vous"


@dataclass(frozen=True)
class AgendaDeps:
    agenda: AgendaStore
    spaces: SpaceDirectory
    clock: Clock


def _changed() -> Conflict:
    return Conflict("the item changed while it was being saved; try again", code="concurrent_change")


# ---- appointments --------------------------------------------------------------------------------------------


def appointment_due(a: Appointment, today: date, earliest: date | None = None) -> DueEntry | None:
    """`earliest`: the first day whose dispatch is still to come (tomorrow once today's 07:00 has run)."""
    day = a.due_day(today, earliest)
    if day is None:
        return None
    return DueEntry(day=day, owner_ins=a.owner_ins, item_id=a.appointment_id, kind=ItemKind.APPOINTMENT,
                    what=APPOINTMENT_WHAT, when=a.start.astimezone(PARIS).isoformat(),
                    professional=a.professional, place=a.place)


def create_appointment(deps: AgendaDeps, space: str, body: NewAppointment) -> Appointment:
    check_lead_days(body.reminder_lead_days)
    now = deps.clock.now()
    appt = Appointment(owner_ins=space, appointment_id=new_id("appt"), start=body.start,
                       professional=body.professional, place=body.place, note=body.note,
                       reminder_lead_days=body.reminder_lead_days, created_at=now, updated_at=now, version=1)
    due = appointment_due(appt, paris_day(now), first_open_day(now))
    appt = appt.model_copy(update={"next_due": due.day if due else None})
    if not deps.agenda.save_appointment(appt, None, None, due):
        raise _changed()
    logger.info("appointment created", extra={"appointment_id": appt.appointment_id})
    return appt


T = TypeVar("T")


def _find(get: Callable[[str, str], T | None], pattern: re.Pattern[str], what: str, space: str, item_id: str) -> T:
    """An id of the wrong shape is not looked up, and answers like a missing one (or someone else's)."""
    found = get(space, item_id) if pattern.match(item_id) else None
    if found is None:
        raise NotFound(what)
    return found


def _page(lister: Callable[[str, str | None, int], tuple[list[T], str | None]], space: str,
          raw_cursor: str | None, limit: int) -> tuple[list[T], str | None]:
    items, last = lister(space, cursor.decode(raw_cursor), limit)
    return items, cursor.encode(last)


def _find_appointment(deps: AgendaDeps, space: str, appointment_id: str) -> Appointment:
    return _find(deps.agenda.get_appointment, _APPOINTMENT_ID, "appointment", space, appointment_id)


def read_appointment(deps: AgendaDeps, space: str, appointment_id: str) -> Appointment:
    return _find_appointment(deps, space, appointment_id)


def list_appointments(deps: AgendaDeps, space: str, raw_cursor: str | None,
                      limit: int) -> tuple[list[Appointment], str | None]:
    return _page(deps.agenda.list_appointments, space, raw_cursor, limit)


def update_appointment(deps: AgendaDeps, space: str, appointment_id: str, patch: AppointmentChange) -> Appointment:
    current = _find_appointment(deps, space, appointment_id)
    changes = patch.model_dump(exclude_unset=True)
    if "reminder_lead_days" in changes:
        if changes["reminder_lead_days"] is None:
            raise Unprocessable("reminder_lead_days cannot be null", code="invalid_lead_time")
        check_lead_days(changes["reminder_lead_days"])
    for required in ("start", "professional"):
        if required in changes and changes[required] is None:
            raise Unprocessable(f"{required} cannot be null", code="validation_failed")
    now = deps.clock.now()
    updated = current.model_copy(update={**changes, "updated_at": now, "version": current.version + 1})
    due = appointment_due(updated, paris_day(now), first_open_day(now))
    updated = updated.model_copy(update={"next_due": due.day if due else None})
    if not deps.agenda.save_appointment(updated, current.version, current.next_due, due):
        raise _changed()
    return updated


def delete_appointment(deps: AgendaDeps, space: str, appointment_id: str) -> None:
    current = _find_appointment(deps, space, appointment_id)
    if not deps.agenda.delete_appointment(current):
        raise _changed()


# ---- personal reminders --------------------------------------------------------------------------------------


def reminder_due(r: Reminder, earliest: date) -> DueEntry | None:
    """The entry of the first occurrence notified on `earliest` or later (the first day not yet dispatched)."""
    found = r.first_due(earliest)
    if found is None:
        return None
    day, occurrence = found
    return DueEntry(day=day, owner_ins=r.owner_ins, item_id=r.reminder_id, kind=ItemKind.REMINDER, what=r.label,
                    when=r.when_text(occurrence), repeat=r.repeat, first_date=r.first_date, until=r.until, time=r.time,
                    time_zone=r.time_zone)


def create_reminder(deps: AgendaDeps, space: str, body: NewReminder) -> Reminder:
    now = deps.clock.now()
    rem = Reminder(owner_ins=space, reminder_id=new_id("rem"), label=body.label, first_date=body.date,
                   time=body.time, time_zone=body.time_zone, repeat=body.repeat, until=body.until, created_at=now,
                   updated_at=now, version=1)
    today = paris_day(now)
    rem.check_fires(today)
    due = reminder_due(rem, first_open_day(now))
    rem = rem.model_copy(update={"next_due": due.day if due else None})
    if not deps.agenda.save_reminder(rem, None, None, due):
        raise _changed()
    return rem


def _find_reminder(deps: AgendaDeps, space: str, reminder_id: str) -> Reminder:
    return _find(deps.agenda.get_reminder, _REMINDER_ID, "reminder", space, reminder_id)


def read_reminder(deps: AgendaDeps, space: str, reminder_id: str) -> Reminder:
    return _find_reminder(deps, space, reminder_id)


def list_reminders(deps: AgendaDeps, space: str, raw_cursor: str | None,
                   limit: int) -> tuple[list[Reminder], str | None]:
    return _page(deps.agenda.list_reminders, space, raw_cursor, limit)


def update_reminder(deps: AgendaDeps, space: str, reminder_id: str, patch: ReminderChange) -> Reminder:
    current = _find_reminder(deps, space, reminder_id)
    changes = patch.model_dump(exclude_unset=True)
    if "date" in changes:
        changes["first_date"] = changes.pop("date")
    for required in ("label", "first_date", "time_zone", "repeat"):
        if required in changes and changes[required] is None:
            raise Unprocessable(f"{required.replace('first_', '')} cannot be null", code="validation_failed")
    now = deps.clock.now()
    updated = current.model_copy(update={**changes, "updated_at": now, "version": current.version + 1})
    updated = Reminder.model_validate(updated.model_dump())
    today = paris_day(now)
    updated.check_fires(today)
    due = reminder_due(updated, first_open_day(now))
    updated = updated.model_copy(update={"next_due": due.day if due else None})
    if not deps.agenda.save_reminder(updated, current.version, current.next_due, due):
        raise _changed()
    return updated


def delete_reminder(deps: AgendaDeps, space: str, reminder_id: str) -> None:
    current = _find_reminder(deps, space, reminder_id)
    if not deps.agenda.delete_reminder(current):
        raise _changed()


# ---- prevention ----------------------------------------------------------------------------------------------


def prevention_due(p: Prevention, after: date) -> DueEntry | None:
    """The next day (strictly after `after`) an item enters its window; the entry names the items by code."""
    found = calendar.next_entry(p.birth_date, p.sex, after, p.records, opened=p.opened_on)
    if found is None:
        return None
    day, codes = found
    return DueEntry(day=day, owner_ins=p.owner_ins, item_id=PREVENTION_ID, kind=ItemKind.PREVENTION,
                    what=",".join(codes), when=day.isoformat())


def start_prevention(deps: AgendaDeps, space: Space) -> Prevention | None:
    """Schedule the first prevention reminder of a space that has a birth date (on opening; idempotent)."""
    if space.birth_date is None:
        return None
    existing = deps.agenda.get_prevention(space.ins)
    if existing is not None:
        return existing
    now = deps.clock.now()
    base = Prevention(owner_ins=space.ins, birth_date=space.birth_date, sex=space.sex, opened_on=paris_day(now),
                      version=1)
    due = prevention_due(base, first_open_day(now) - _ONE_DAY)
    base = base.model_copy(update={"next_due": due.day if due else None})
    deps.agenda.save_prevention(base, None, None, due)
    return base


def read_prevention(deps: AgendaDeps, space: str) -> tuple[list[PreventionItem], str | None, date | None]:
    """The items that apply today; a person without a birth date gets an empty list and the reason."""
    holder = deps.spaces.get(space)
    if holder is None:
        raise NotFound("space")
    if holder.birth_date is None:
        return [], "birth_date_unknown", None
    stored = deps.agenda.get_prevention(space)
    records = stored.records if stored else {}
    today = paris_day(deps.clock.now())
    return calendar.evaluate(holder.birth_date, holder.sex, today, records), None, stored.next_due if stored else None


def record_prevention(deps: AgendaDeps, space: str, code: str, patch: PreventionChange) -> PreventionItem | None:
    rule = calendar.calendar().rule(code)
    if rule is None:
        raise NotFound("prevention item")
    holder = deps.spaces.get(space)
    if holder is None:
        raise NotFound("space")
    if holder.birth_date is None:
        raise Unprocessable("the space has no birth date: prevention items cannot be placed",
                            code="birth_date_unknown")
    today = paris_day(deps.clock.now())
    if patch.status is PreventionStatus.DONE and patch.date is None:
        raise Unprocessable("a DONE status needs the date it was done", code="date_required")
    if patch.date is not None and (patch.date > today or patch.date < holder.birth_date):
        raise Unprocessable("date must be between the birth date and today", code="invalid_date")
    stored = deps.agenda.get_prevention(space)
    current = stored or Prevention(owner_ins=space, birth_date=holder.birth_date, sex=holder.sex, opened_on=today)
    previous = current.records.get(code)
    base = previous or PreventionRecord(status=PreventionStatus.NOT_SPECIFIED)
    count, counted = base.done_count, base.counted_until
    if patch.status is PreventionStatus.DONE and patch.date is not None:
        count, counted = base.count_done(patch.date)
    record = PreventionRecord(status=patch.status, date=patch.date, done_count=count, counted_until=counted)
    updated = current.model_copy(update={"records": {**current.records, code: record},
                                         "birth_date": holder.birth_date, "sex": holder.sex,
                                         "version": current.version + 1})
    due = prevention_due(updated, first_open_day(deps.clock.now()) - _ONE_DAY)
    updated = updated.model_copy(update={"next_due": due.day if due else None})
    if not deps.agenda.save_prevention(updated, stored.version if stored else None, current.next_due, due):
        raise _changed()
    items = calendar.evaluate(holder.birth_date, holder.sex, today, updated.records)
    return next((i for i in items if i.code == code), None)
