"""Request and response shapes of the agenda routes. Unknown fields are refused; responses are built field by
field from the domain."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from datetime import time as TimeOfDay
from typing import Literal

from pydantic import BaseModel

from functions.agenda.calendar import PreventionItem
from functions.agenda.models import (
    Appointment,
    AppointmentChange,
    NewAppointment,
    NewReminder,
    PreventionChange,
    Reminder,
    ReminderChange,
)

TEXT = 200


class AppointmentIn(NewAppointment):
    """The body of POST /v1/me/appointments. The domain's command, as the HTTP body spells it."""


class AppointmentPatch(AppointmentChange):
    """The body of PATCH /v1/me/appointments/{id}. The domain's command, as the HTTP body spells it."""


class AppointmentOut(BaseModel):
    appointment_id: str
    start: datetime
    professional: str
    place: str | None
    note: str | None
    reminder_lead_days: int
    reminder_on: Date | None

    @classmethod
    def from_domain(cls, a: Appointment) -> AppointmentOut:
        return cls(appointment_id=a.appointment_id, start=a.start, professional=a.professional, place=a.place,
                   note=a.note, reminder_lead_days=a.reminder_lead_days, reminder_on=a.next_due)


class ReminderIn(NewReminder):
    """The body of POST /v1/me/reminders. The domain's command, as the HTTP body spells it."""


class ReminderPatch(ReminderChange):
    """The body of PATCH /v1/me/reminders/{id}. The domain's command, as the HTTP body spells it."""


class ReminderOut(BaseModel):
    reminder_id: str
    label: str
    date: Date
    time: TimeOfDay | None
    time_zone: str
    repeat: str
    until: Date | None
    next_on: Date | None

    @classmethod
    def from_domain(cls, r: Reminder) -> ReminderOut:
        return cls(reminder_id=r.reminder_id, label=r.label, date=r.first_date, time=r.time, time_zone=r.time_zone,
                   repeat=r.repeat.value, until=r.until, next_on=r.next_due)


class PreventionPatch(PreventionChange):
    """The body of PATCH /v1/me/prevention/{code}. The domain's command, as the HTTP body spells it."""


class PreventionItemOut(BaseModel):
    code: str
    label: str
    category: str
    requirement: str
    status: str
    due_from: Date | None
    due_until: Date | None
    last_done: Date | None

    @classmethod
    def from_domain(cls, item: PreventionItem) -> PreventionItemOut:
        return cls(code=item.code, label=item.label, category=item.category, requirement=item.requirement.value,
                   status=item.status.value, due_from=item.due_from, due_until=item.due_until,
                   last_done=item.last_done)


class PreventionOut(BaseModel):
    calendar_version: str
    items: list[PreventionItemOut]
    reason: str | None = None
    next_reminder_on: Date | None = None


class AppointmentDeletedOut(BaseModel):
    appointment_id: str
    status: Literal["deleted"] = "deleted"


class ReminderDeletedOut(BaseModel):
    reminder_id: str
    status: Literal["deleted"] = "deleted"


class PreventionRecordOut(BaseModel):
    """The item as recorded; null when the status recorded takes it out of the holder's calendar."""

    code: str
    item: PreventionItemOut | None

    @classmethod
    def from_domain(cls, code: str, item: PreventionItem | None) -> PreventionRecordOut:
        return cls(code=code, item=PreventionItemOut.from_domain(item) if item else None)
