"""The prevention calendar (vaccinations and organised screenings) as data, and the pure functions that read it:
which items apply to a person on a day, their status, their due window, and the next day one enters its window.

Ages are completed years. Someone born on 29 February reaches an age on 1 March in common years (the full years
have elapsed only once 28 February is over)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from datetime import date as Date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DATA = Path(__file__).resolve().parent / "data" / "prevention_calendar.json"
MAX_AGE = 120


class Requirement(StrEnum):
    RECOMMENDED = "recommended"
    CATCH_UP = "catch_up"
    AT_RISK = "at_risk"


class PreventionStatus(StrEnum):
    TO_PLAN = "TO_PLAN"
    NOT_SPECIFIED = "NOT_SPECIFIED"
    DONE = "DONE"
    NOT_DONE = "NOT_DONE"


class Band(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    start: int = Field(alias="from", ge=0)
    end: int | None = Field(alias="to", default=None)
    requirement: Requirement


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    label: str
    category: str
    sex: int | None = None
    bands: list[Band] = Field(min_length=1)
    ages: list[int] = []
    then_every_years: int | None = None
    intervals_years: list[int] = []

    @property
    def start_age(self) -> int:
        return self.bands[0].start

    @property
    def end_age(self) -> int | None:
        return self.bands[-1].end

    @property
    def notify_age(self) -> int:
        """Reminders start with the first band that concerns everyone (not only people at risk)."""
        return next((b.start for b in self.bands if b.requirement is not Requirement.AT_RISK), self.start_age)

    def band_at(self, age: int) -> Band | None:
        return next((b for b in self.bands if b.start <= age and (b.end is None or age < b.end)), None)

    def scheduled_ages(self) -> Iterator[int]:
        yield from self.ages
        if self.ages and self.then_every_years:
            age = self.ages[-1] + self.then_every_years
            while age <= MAX_AGE:
                yield age
                age += self.then_every_years


class Calendar(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    items: list[Rule]

    def rule(self, code: str) -> Rule | None:
        return next((r for r in self.items if r.code == code), None)


class PreventionRecord(BaseModel):
    """What the person recorded for one item: a status, the date it was done, how many times done so far."""

    model_config = ConfigDict(frozen=True)

    status: PreventionStatus
    date: Date | None = None
    done_count: int = 0
    counted_until: Date | None = None  # the latest DONE date counted: a correction or a re-entry is not a new one

    def count_done(self, on: Date) -> tuple[int, Date]:
        """(done_count, counted_until) once this record is marked DONE on `on`: one more only for a later date."""
        last = self.counted_until or (self.date if self.status is PreventionStatus.DONE else None)
        if last is not None and on <= last:
            return self.done_count, last
        return self.done_count + 1, on


class PreventionItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    label: str
    category: str
    requirement: Requirement
    status: PreventionStatus
    due_from: date | None
    due_until: date | None
    last_done: date | None


@lru_cache(maxsize=1)
def calendar() -> Calendar:
    return Calendar.model_validate(json.loads(DATA.read_text(encoding="utf-8")))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return date(day.year + years, 3, 1)


def birthday(birth: date, age: int) -> date:
    return add_years(birth, age)


def age_on(birth: date, day: date) -> int:
    age = day.year - birth.year
    return age if birthday(birth, age) <= day else age - 1


def _applies_to(rule: Rule, sex: int) -> bool:
    return rule.sex is None or rule.sex == sex


def _span_end(rule: Rule, birth: date) -> date | None:
    return birthday(birth, rule.end_age) if rule.end_age is not None else None


def _in_span(rule: Rule, birth: date, day: date) -> bool:
    end = _span_end(rule, birth)
    return birthday(birth, rule.start_age) <= day and (end is None or day < end)


def _due_after_done(rule: Rule, birth: date, record: PreventionRecord) -> date | None:
    """The next occurrence once an item is done (None: nothing more is due)."""
    assert record.date is not None
    done = record.date
    if rule.ages:
        return next((birthday(birth, a) for a in rule.scheduled_ages() if birthday(birth, a) > done), None)
    if rule.intervals_years:
        index = min(max(record.done_count, 1), len(rule.intervals_years)) - 1
        return add_years(done, rule.intervals_years[index])
    return None


def _first_due(rule: Rule, birth: date, today: date) -> date:
    """Without a completed occurrence: the latest scheduled one reached by today, else the first to come."""
    if rule.ages:
        reached = [birthday(birth, a) for a in rule.scheduled_ages() if birthday(birth, a) <= today]
        return reached[-1] if reached else birthday(birth, rule.ages[0])
    return birthday(birth, rule.notify_age)


def _window_end(rule: Rule, birth: date, due: date) -> date | None:
    if rule.ages:
        later = (birthday(birth, a) for a in rule.scheduled_ages() if birthday(birth, a) > due)
        return next(later, None)
    return _span_end(rule, birth)


def _done(record: PreventionRecord | None) -> bool:
    return record is not None and record.status is PreventionStatus.DONE and record.date is not None


def evaluate(birth: date, sex: int, today: date,
             records: Mapping[str, PreventionRecord], cal: Calendar | None = None) -> list[PreventionItem]:
    """The items that apply to this person today, with requirement, status and due window."""
    items = []
    for rule in (cal or calendar()).items:
        if not _applies_to(rule, sex) or not _in_span(rule, birth, today):
            continue
        band = rule.band_at(age_on(birth, today))
        assert band is not None
        record = records.get(rule.code)
        due = _due_after_done(rule, birth, record) if record and _done(record) else _first_due(rule, birth, today)
        end = _span_end(rule, birth)
        if due is not None and end is not None and due >= end:
            due = None
        if record and _done(record):
            status = PreventionStatus.DONE if due is None or today < due else PreventionStatus.TO_PLAN
        elif record is not None:
            status = record.status
        elif band.requirement is not Requirement.AT_RISK and due is not None and due <= today:
            status = PreventionStatus.TO_PLAN
        else:
            status = PreventionStatus.NOT_SPECIFIED
        items.append(PreventionItem(
            code=rule.code, label=rule.label, category=rule.category, requirement=band.requirement,
            status=status, due_from=due, due_until=_window_end(rule, birth, due) if due else None,
            last_done=record.date if record and _done(record) else None))
    return items


def next_entry(birth: date, sex: int, after: date, records: Mapping[str, PreventionRecord],
               cal: Calendar | None = None, opened: date | None = None) -> tuple[date, list[str]] | None:
    """The first day strictly after `after` on which some item enters its due window, and those items' codes.
    That day gets one reminder; the next one is computed when it is delivered. Items already due when the space
    was `opened` (never done) entered their window before it: they get one reminder the day after the opening,
    which the chain passes once delivered (it only looks after the day it delivered)."""
    found: dict[date, list[str]] = {}
    catch_up = opened + timedelta(days=1) if opened is not None else None
    if catch_up is not None and catch_up > after:
        due_then = [i.code for i in evaluate(birth, sex, opened or catch_up, records, cal)
                    if i.status is PreventionStatus.TO_PLAN and i.requirement is not Requirement.AT_RISK
                    and not _done(records.get(i.code))]
        if due_then:
            found[catch_up] = due_then
    for rule in (cal or calendar()).items:
        if not _applies_to(rule, sex):
            continue
        record = records.get(rule.code)
        if record and _done(record):
            candidates = [d for d in [_due_after_done(rule, birth, record)] if d is not None]
        elif rule.ages:
            candidates = [birthday(birth, a) for a in rule.scheduled_ages()]
        else:
            candidates = [birthday(birth, rule.notify_age)]
        for day in candidates:
            if day <= after:
                continue
            band = rule.band_at(age_on(birth, day))
            if band is not None and band.requirement is not Requirement.AT_RISK and _in_span(rule, birth, day):
                codes = found.setdefault(day, [])
                if rule.code not in codes:
                    codes.append(rule.code)
            break
    if not found:
        return None
    first = min(found)
    return first, sorted(found[first])

