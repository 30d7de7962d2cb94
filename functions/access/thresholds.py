"""The legal thresholds of access (emergency grant length, unusual reads per day, night hours), loaded once per cold
start from a data file beside the matrix, so a change of the rules is a data change, not a code change."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.datafile import read_json


class Night(BaseModel):
    """[start_hour, end_hour) in `time_zone`, wrapping past midnight."""

    model_config = ConfigDict(frozen=True)

    start_hour: int = Field(ge=0, le=23)
    end_hour: int = Field(ge=0, le=23)
    time_zone: str

    def contains(self, at: datetime) -> bool:
        hour = at.astimezone(ZoneInfo(self.time_zone)).hour
        return hour >= self.start_hour or hour < self.end_hour


class Thresholds(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    emergency_grant_minutes: int = Field(gt=0)
    unusual_reads_per_day: int = Field(gt=0)
    night: Night

    @property
    def emergency_grant(self) -> timedelta:
        return timedelta(minutes=self.emergency_grant_minutes)


@lru_cache(maxsize=1)
def thresholds() -> Thresholds:
    """`MES_ACCESS_THRESHOLDS_FILE` replaces the shipped default without a code change."""
    return Thresholds.model_validate(read_json("functions.access", "thresholds.json", "MES_ACCESS_THRESHOLDS_FILE"))
