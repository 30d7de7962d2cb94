"""Agenda items and their schedule. Everything here is pure: which day an item is due, which shard a person's
reminders live in, and whether a scheduler tick is the 07:00 Europe/Paris one."""

from __future__ import annotations

import calendar as months
import hashlib
from datetime import UTC, date, datetime, timedelta
from datetime import time as TimeOfDay
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from functions.agenda.calendar import PreventionRecord, PreventionStatus
from functions.notifications.models import reminder_id
from functions.shared.clock import PARIS
from functions.shared.errors import Unprocessable
from functions.shared.temporal import IsoDay, IsoInstant

DISPATCH_HOUR = 7  # local time in Europe/Paris
MAX_LEAD_DAYS = 30
PREVENTION_ID = "prevention"
# The dates an appointment or a reminder may fall on. Any real agenda entry fits, and it keeps every time-zone
# conversion and day or month step far from datetime's year 1 and year 9999 (which raise OverflowError).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)


class ItemKind(StrEnum):
    APPOINTMENT = "appointment"
    REMINDER = "reminder"
    PREVENTION = "prevention"


class Repeat(StrEnum):
    NONE = "none"
    MONTHLY = "monthly"
    YEARLY = "yearly"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Unprocessable("time_zone is not a known IANA time zone", code="unknown_time_zone") from exc


def check_lead_days(value: int) -> int:
    if not 0 <= value <= MAX_LEAD_DAYS:
        raise Unprocessable(f"reminder_lead_days must be from 0 to {MAX_LEAD_DAYS}", code="invalid_lead_time")
    return value


def _date_in_window(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"must be from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}")
    return value


def _start_in_window(value: datetime) -> datetime:
    """The date as written (its own offset): 2200-12-31T23:00-12:00 is in, 0001-01-01T00:00+14:00 is out."""
    _date_in_window(value.date())
    return value


def _wall_clock(value: TimeOfDay) -> TimeOfDay:
    """A reminder's time is read on the clock of its `time_zone`; a time with its own offset ("08:00Z") would say
    two things at once (the fuzz found one stored and answered as "00:00:00Z")."""
    if value.tzinfo is not None:
        raise ValueError("must be a time of day without an offset (the time zone is `time_zone`)")
    return value


AgendaDate = Annotated[IsoDay, AfterValidator(_date_in_window)]
AgendaStart = Annotated[IsoInstant, AfterValidator(_start_in_window)]
WallClock = Annotated[TimeOfDay, AfterValidator(_wall_clock)]


class Appointment(BaseModel):
    model_config = ConfigDict(frozen=True)

    owner_ins: str
    appointment_id: str
    start: datetime  # aware
    professional: str
    place: str | None = None
    note: str | None = None
    reminder_lead_days: int = 1
    created_at: datetime
    updated_at: datetime
    next_due: date | None = None
    version: int = 0

    def due_day(self, today: date, earliest: date | None = None) -> date | None:
        """The reminder goes out on the Paris calendar day `lead` days before the appointment's Paris day;
        none if that day has passed (an appointment entered late still shows, without a reminder). `earliest` is
        the first day whose 07:00 dispatch is still to come: a day due today whose dispatch already ran moves to
        tomorrow while that is on or before the appointment's day (the rule allows the day itself), else none."""
        own = self.start.astimezone(PARIS).date()
        day = own - timedelta(days=self.reminder_lead_days)
        if day < today:
            return None
        first = earliest or today
        if day < first:
            return first if first <= own else None
        return day


def add_months(day: date, count: int, anchor_day: int) -> date:
    """Same day of month as the first occurrence, clamped to the month's last day (31 Jan -> 28/29 Feb -> 31 Mar)."""
    month_index = day.year * 12 + day.month - 1 + count
    year, month = divmod(month_index, 12)
    last = months.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(anchor_day, last))


class Reminder(BaseModel):
    """A personal reminder: one date (in its own time zone), once or repeating monthly/yearly until an end."""

    model_config = ConfigDict(frozen=True)

    owner_ins: str
    reminder_id: str
    label: str
    first_date: date
    time: TimeOfDay | None = None
    time_zone: str = "Europe/Paris"
    repeat: Repeat = Repeat.NONE
    until: date | None = None
    created_at: datetime
    updated_at: datetime
    next_due: date | None = None
    version: int = 0

    def next_on_or_after(self, day: date) -> date | None:
        if self.repeat is Repeat.NONE:
            candidate: date | None = self.first_date if self.first_date >= day else None
        else:
            candidate = self.first_date
            step = 0
            while candidate is not None and candidate < day:
                step += 1
                if self.repeat is Repeat.MONTHLY:
                    candidate = add_months(self.first_date, step, self.first_date.day)
                else:
                    candidate = add_months(self.first_date, 12 * step, self.first_date.day)
        if candidate is not None and self.until is not None and candidate > self.until:
            return None
        return candidate

    def due_of(self, occurrence: date) -> date:
        """The Paris day the notification of an occurrence goes out on. Dispatch is 07:00 Paris, so with a time
        it is the Paris date of the occurrence, or the Paris day before when that day's 07:00 comes after it
        (the person hears before it happens, whatever the reminder's own zone)."""
        if self.time is None:
            return occurrence
        at = datetime.combine(occurrence, self.time, tzinfo=zone(self.time_zone)).astimezone(PARIS)
        day = at.date()
        return day if notified_at(day) <= at else day - timedelta(days=1)

    def first_due(self, earliest: date) -> tuple[date, date] | None:
        """(due day, occurrence) of the first occurrence notified on `earliest` or later: one whose day was
        already dispatched is skipped for the next (it would never be sent)."""
        occurrence = self.next_on_or_after(earliest - timedelta(days=2))  # a due day is never 2 days off its date
        while occurrence is not None and self.due_of(occurrence) < earliest:
            occurrence = self.next_on_or_after(occurrence + timedelta(days=1))
        return (self.due_of(occurrence), occurrence) if occurrence is not None else None

    def check_fires(self, today: date) -> None:
        zone(self.time_zone)
        if self.until is not None and self.until < self.first_date:
            raise Unprocessable("until is before the first date: the reminder would never fire",
                                code="reminder_never_fires")
        if self.next_on_or_after(today) is None:
            raise Unprocessable("no occurrence of this reminder is today or later: it would never fire",
                                code="reminder_never_fires")

    def when_text(self, day: date) -> str:
        """The occurrence in Europe/Paris time (a time given in another zone is converted)."""
        if self.time is None:
            return day.isoformat()
        local = datetime.combine(day, self.time, tzinfo=zone(self.time_zone))
        return local.astimezone(PARIS).isoformat()


class Prevention(BaseModel):
    """A person's prevention records and birth data, kept on one item so one read gives the whole schedule."""

    model_config = ConfigDict(frozen=True)

    owner_ins: str
    birth_date: date
    sex: int
    records: dict[str, PreventionRecord] = {}
    opened_on: date | None = None  # the day the schedule started: items due then get one catch-up reminder
    next_due: date | None = None
    version: int = 0


class DueEntry(BaseModel):
    """One reminder due on one day: what the notification needs and nothing more (no note, no statuses)."""

    model_config = ConfigDict(frozen=True)

    day: date
    owner_ins: str
    item_id: str
    kind: ItemKind
    what: str
    when: str | None = None
    professional: str | None = None
    place: str | None = None
    # the repeating rule of a personal reminder, so the worker can chain the next occurrence without a read
    repeat: Repeat = Repeat.NONE
    first_date: date | None = None
    until: date | None = None
    time: TimeOfDay | None = None
    time_zone: str | None = None
    version: int = 0  # of the agenda item when the entry was written: a later change makes the entry stale

    @property
    def notification_id(self) -> str:
        """Deterministic per (reminder, day): the once-only marker (built by notifications, as every id is)."""
        return reminder_id(self.item_id, self.day)


def shard_of(ins: str, shards: int) -> int:
    """Stable across processes and deploys (not Python's salted hash)."""
    return int.from_bytes(hashlib.sha256(f"mes:shard:{ins}".encode()).digest()[:8], "big") % shards


def dispatch_day(at: datetime) -> date | None:
    """The schedule fires at 05:00 and 06:00 UTC; exactly one of them is 07:00 in Paris (CEST in summer, CET in
    winter, DST days included). Returns the Paris day to fan out, or None for the other tick."""
    local = at.astimezone(PARIS)
    return local.date() if local.hour == DISPATCH_HOUR else None


def notified_at(day: date) -> datetime:
    """Reminders of a day carry the dispatch time of that day (deterministic: it is part of the notification key)."""
    return datetime.combine(day, TimeOfDay(DISPATCH_HOUR), tzinfo=PARIS).astimezone(UTC)


def first_open_day(now: datetime) -> date:
    """The first Paris day whose 07:00 dispatch has not run yet: an entry written for a day already dispatched
    would never be sent."""
    local = now.astimezone(PARIS)
    return local.date() if local.hour < DISPATCH_HOUR else local.date() + timedelta(days=1)


# ---- what a holder asks for (the services' inputs; the HTTP bodies in api.py are these) ---------------------

TEXT = 200


class NewAppointment(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    start: AgendaStart  # ISO 8601 with an offset (a time without one is ambiguous), 1900-01-01..2200-12-31
    professional: str = Field(min_length=1, max_length=TEXT)
    place: str | None = Field(default=None, max_length=TEXT)
    note: str | None = Field(default=None, max_length=1000)
    reminder_lead_days: int = Field(default=1, strict=True)  # a JSON integer: true is not 1


class AppointmentChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    start: AgendaStart | None = None
    professional: str | None = Field(default=None, min_length=1, max_length=TEXT)
    place: str | None = Field(default=None, max_length=TEXT)
    note: str | None = Field(default=None, max_length=1000)
    reminder_lead_days: int | None = Field(default=None, strict=True)


class NewReminder(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str = Field(min_length=1, max_length=TEXT)
    date: AgendaDate
    time: WallClock | None = None
    time_zone: str = Field(default=PARIS.key, max_length=64)
    repeat: Repeat = Repeat.NONE
    until: AgendaDate | None = None


class ReminderChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str | None = Field(default=None, min_length=1, max_length=TEXT)
    date: AgendaDate | None = None
    time: WallClock | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    repeat: Repeat | None = None
    until: AgendaDate | None = None


class PreventionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: PreventionStatus
    date: IsoDay | None = None
