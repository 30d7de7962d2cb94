"""The prevention calendar at the boundary of every rule: birthdays, leap days, 74 -> 75, cervical 29 -> 30,
and the next occurrence derived from a completed one."""

from __future__ import annotations

from datetime import date

import pytest

from functions.agenda.calendar import (
    PreventionRecord,
    PreventionStatus,
    age_on,
    birthday,
    calendar,
    evaluate,
    next_entry,
)

MALE, FEMALE = 1, 2


def codes(birth: date, sex: int, today: date, records: dict[str, PreventionRecord] | None = None) -> set[str]:
    return {i.code for i in evaluate(birth, sex, today, records or {})}


def item(birth: date, sex: int, today: date, code: str, records: dict[str, PreventionRecord] | None = None):
    return next(i for i in evaluate(birth, sex, today, records or {}) if i.code == code)


def test_the_calendar_file_is_versioned_and_every_rule_is_well_formed() -> None:
    cal = calendar()
    assert cal.version
    assert len({r.code for r in cal.items}) == len(cal.items)


@pytest.mark.parametrize(("birth", "day", "age"), [
    (date(1980, 5, 10), date(2030, 5, 9), 49),
    (date(1980, 5, 10), date(2030, 5, 10), 50),
    (date(2000, 2, 29), date(2025, 2, 28), 24),  # common year: the birthday is 1 March
    (date(2000, 2, 29), date(2025, 3, 1), 25),
    (date(2000, 2, 29), date(2028, 2, 29), 28),  # leap year: on the day
])
def test_age_counts_completed_years_and_leap_day_births_reach_it_on_1_march(birth: date, day: date,
                                                                             age: int) -> None:
    assert age_on(birth, day) == age


@pytest.mark.parametrize(("today", "expected"), [
    (date(2030, 5, 9), False),   # 49 the day before the 50th birthday
    (date(2030, 5, 10), True),   # 50
    (date(2055, 5, 9), True),    # still 74
    (date(2055, 5, 10), False),  # 75: out of the programme
])
def test_breast_and_colorectal_screening_run_from_50_to_74(today: date, expected: bool) -> None:
    birth = date(1980, 5, 10)
    assert ("SCREEN_BREAST" in codes(birth, FEMALE, today)) is expected
    assert ("SCREEN_COLORECTAL" in codes(birth, FEMALE, today)) is expected
    assert "SCREEN_BREAST" not in codes(birth, MALE, today)


def test_at_75_rsv_becomes_recommended_and_a_dtp_booster_falls_due() -> None:
    birth = date(1950, 3, 1)
    at_74 = item(birth, MALE, date(2025, 2, 28), "VAC_RSV")
    at_75 = item(birth, MALE, date(2025, 3, 1), "VAC_RSV")
    assert (at_74.requirement.value, at_74.status) == ("at_risk", PreventionStatus.NOT_SPECIFIED)
    assert (at_75.requirement.value, at_75.status) == ("recommended", PreventionStatus.TO_PLAN)
    assert item(birth, MALE, date(2025, 3, 1), "VAC_DTP").due_from == date(2025, 3, 1)


@pytest.mark.parametrize(("today", "cytology", "hpv"), [
    (date(2024, 8, 31), False, False),  # 24
    (date(2024, 9, 1), True, False),    # 25
    (date(2029, 8, 31), True, False),   # 29
    (date(2029, 9, 1), False, True),    # 30: HPV test replaces cytology
    (date(2065, 8, 31), False, True),   # 65
    (date(2065, 9, 1), False, False),   # 66
])
def test_cervical_screening_switches_from_cytology_to_hpv_test_at_30(today: date, cytology: bool,
                                                                       hpv: bool) -> None:
    found = codes(date(1999, 9, 1), FEMALE, today)
    assert ("SCREEN_CERVICAL_CYTOLOGY" in found, "SCREEN_CERVICAL_HPV" in found) == (cytology, hpv)


def test_dtp_done_at_45_is_next_due_at_65() -> None:
    birth = date(1970, 6, 15)
    done = {"VAC_DTP": PreventionRecord(status=PreventionStatus.DONE, date=date(2015, 9, 1), done_count=1)}
    dtp = item(birth, MALE, date(2020, 1, 1), "VAC_DTP", done)
    assert (dtp.status, dtp.due_from, dtp.last_done) == (PreventionStatus.DONE, date(2035, 6, 15), date(2015, 9, 1))


def test_colorectal_test_done_is_due_again_two_years_later() -> None:
    birth = date(1960, 1, 10)
    done = {"SCREEN_COLORECTAL": PreventionRecord(status=PreventionStatus.DONE, date=date(2024, 3, 5),
                                                  done_count=1)}
    assert item(birth, MALE, date(2026, 3, 4), "SCREEN_COLORECTAL", done).status is PreventionStatus.DONE
    again = item(birth, MALE, date(2026, 3, 5), "SCREEN_COLORECTAL", done)
    assert (again.status, again.due_from) == (PreventionStatus.TO_PLAN, date(2026, 3, 5))


def test_cytology_is_repeated_after_one_year_then_every_three() -> None:
    birth = date(1999, 9, 1)
    first = {"SCREEN_CERVICAL_CYTOLOGY": PreventionRecord(status=PreventionStatus.DONE, date=date(2024, 10, 1),
                                                          done_count=1)}
    second = {"SCREEN_CERVICAL_CYTOLOGY": PreventionRecord(status=PreventionStatus.DONE, date=date(2025, 10, 1),
                                                           done_count=2)}
    assert item(birth, FEMALE, date(2025, 1, 1), "SCREEN_CERVICAL_CYTOLOGY", first).due_from == date(2025, 10, 1)
    assert item(birth, FEMALE, date(2026, 1, 1), "SCREEN_CERVICAL_CYTOLOGY", second).due_from == date(2028, 10, 1)


def test_a_leap_day_birth_enters_the_screening_window_on_1_march_of_a_common_year() -> None:
    birth = date(1976, 2, 29)
    assert "SCREEN_COLORECTAL" not in codes(birth, MALE, date(2026, 2, 28))
    assert "SCREEN_COLORECTAL" in codes(birth, MALE, date(2026, 3, 1))
    assert next_entry(birth, MALE, date(2026, 2, 1), {}) == (date(2026, 3, 1), ["SCREEN_COLORECTAL"])


def test_the_next_reminder_is_the_first_window_entry_and_names_every_item_entering_that_day() -> None:
    birth = date(1961, 4, 2)
    assert birthday(birth, 65) == date(2026, 4, 2)
    day, entering = next_entry(birth, MALE, date(2026, 1, 1), {}) or (None, [])
    assert day == date(2026, 4, 2)
    assert entering == ["VAC_DTP", "VAC_INFLUENZA", "VAC_PNEUMOCOCCAL", "VAC_SHINGLES"]


def test_rsv_at_risk_years_send_no_reminder_the_75th_birthday_does() -> None:
    birth = date(1955, 7, 1)
    records = {c: PreventionRecord(status=PreventionStatus.DONE, date=date(2025, 1, 1), done_count=1)
               for c in ("VAC_DTP", "VAC_PNEUMOCOCCAL", "VAC_SHINGLES", "SCREEN_COLORECTAL")}
    records["VAC_INFLUENZA"] = PreventionRecord(status=PreventionStatus.DONE, date=date(2025, 1, 1), done_count=1)
    day, entering = next_entry(birth, MALE, date(2029, 12, 31), records) or (None, [])
    assert "VAC_RSV" not in entering or day == date(2030, 7, 1)
    later = next_entry(birth, MALE, date(2030, 6, 30), {k: v for k, v in records.items() if k != "VAC_INFLUENZA"})
    assert later == (date(2030, 7, 1), ["VAC_DTP", "VAC_RSV"])
