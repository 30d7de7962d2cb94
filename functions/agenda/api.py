"""Request and response shapes of the agenda routes. Unknown fields are refused; responses are built field by
field from the domain."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from datetime import time as TimeOfDay
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.agenda.calendar import PreventionItem, PreventionStatus
from functions.agenda.models import AgendaDate, AgendaStart, Appointment, Reminder, Repeat

TEXT = 200


class AppointmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    start: AgendaStart  # ISO 8601 with an offset (a time without one is ambiguous), 1900-01-01..2200-12-31
    professional: str = Field(min_length=1, max_length=TEXT)
    place: str | None = Field(default=None, max_length=TEXT)
    note: str | None = Field(default=None, max_length=1000)
    reminder_lead_days: int = Field(default=1, strict=True)  # a JSON integer: true is not 1


class AppointmentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    start: AgendaStart | None = None
    professional: str | None = Field(default=None, min_length=1, max_length=TEXT)
    place: str | None = Field(default=None, max_length=TEXT)
    note: str | None = Field(default=None, max_length=1000)
    reminder_lead_days: int | None = Field(default=None, strict=True)


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


class ReminderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str = Field(min_length=1, max_length=TEXT)
    date: AgendaDate
    time: TimeOfDay | None = None
    time_zone: str = Field(default="Europe/Paris", max_length=64)
    repeat: Repeat = Repeat.NONE
    until: AgendaDate | None = None


class ReminderPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str | None = Field(default=None, min_length=1, max_length=TEXT)
    date: AgendaDate | None = None
    time: TimeOfDay | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    repeat: Repeat | None = None
    until: AgendaDate | None = None


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


class PreventionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: PreventionStatus
    date: Date | None = None


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
