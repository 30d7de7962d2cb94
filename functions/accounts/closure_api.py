"""Request and response shapes of the closure, deletion and reopening routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool

from functions.accounts.models import Space


class ClosureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delete_data: StrictBool = False  # also erase the data (at once by default, within 3 months at most)


class SpaceStateOut(BaseModel):
    """Where the space stands after the change: `closed` until `archive_until` (then purged), or being erased
    from `deletion_due` when `deletion` is set; `open` again after a reopening."""

    status: Literal["informed", "opposed", "open", "closed", "erased"]
    closed_at: datetime | None = None
    archive_until: date | None = None
    deletion: Literal["requested", "running"] | None = None
    deletion_due: date | None = None

    @classmethod
    def from_domain(cls, space: Space) -> SpaceStateOut:
        return cls(status=space.status.value, closed_at=space.closed_at, archive_until=space.archive_until,
                   deletion=space.deletion.value if space.deletion else None, deletion_due=space.deletion_due)
