"""Time comes from one place so tests and jobs can pin it (moto never fires TTLs or schedules)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")  # the day of every daily job, reminder and legal count is a French day


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to, for tests and replayed jobs."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def iso(at: datetime) -> str:
    """UTC timestamp with milliseconds: sortable as a string, so usable in sort keys."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def instant(at: str) -> datetime:
    """An ISO 8601 timestamp as AWS writes it ("Z" for UTC, e.g. a schedule event's `time`)."""
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def paris_day(at: datetime | str) -> date:
    """The calendar day in Europe/Paris (daily jobs are French days, whatever UTC says)."""
    return (instant(at) if isinstance(at, str) else at).astimezone(PARIS).date()
