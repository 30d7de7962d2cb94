"""Closure, deletion request and reopening of a space (mes-rules.md "Account lifecycle", mes-rules-next.md B.1,
B.4): pure transitions on `Space`, no I/O. A closed space is archived 10 years then erased; with a deletion
request it is erased at `deletion_due` (at once by default, 3 months at most); reopening within the archive
restores it and cancels a requested deletion, never a running one."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from functions.accounts.models import DeletionState, Space, SpaceStatus
from functions.shared.clock import paris_day
from functions.shared.errors import Conflict

ARCHIVE_YEARS = 10
MAX_DELETION_DELAY = timedelta(days=92)  # "within 3 months"
# What the holder reads when a running erasure refuses the reopening (mes-rules-next.md B.1, the app's words).
DELETION_RUNNING_MESSAGE = ("La suppression des données de ce profil est en cours. Lorsque la suppression des "
                            "données sera terminée, une notification vous sera envoyée. Vous pourrez alors de "
                            "nouveau activer ce profil.")


def archive_end(day: date) -> date:
    """Ten years after `day` (29 February -> 28 February when the year has none)."""
    try:
        return day.replace(year=day.year + ARCHIVE_YEARS)
    except ValueError:
        return day.replace(year=day.year + ARCHIVE_YEARS, day=28)


def close(space: Space, at: datetime, delete_data: bool, deletion_delay: timedelta) -> Space:
    """Close an open space: archived until +10 years; with `delete_data`, erased at `deletion_due`."""
    if space.status is SpaceStatus.CLOSED:
        raise Conflict("this space is already closed", code="already_closed")
    if space.status is not SpaceStatus.OPEN:
        raise Conflict("only an open space can be closed", code="space_not_open")
    day = paris_day(at)
    closed = space.model_copy(update={"status": SpaceStatus.CLOSED, "closed_at": at, "archive_until": archive_end(day),
                                      "deletion": None, "deletion_due": None})
    return ask_deletion(closed, at, deletion_delay) if delete_data else closed


def ask_deletion(space: Space, at: datetime, deletion_delay: timedelta) -> Space:
    """A closed space's deletion request. Asked again while pending or running: unchanged (nothing to write)."""
    if space.status is not SpaceStatus.CLOSED:
        raise Conflict("a deletion is asked for a closed space: close it first", code="space_not_closed")
    if space.deletion is not None:
        return space
    delay = min(max(deletion_delay, timedelta(0)), MAX_DELETION_DELAY)
    return space.model_copy(update={"deletion": DeletionState.REQUESTED, "deletion_due": paris_day(at) + delay})


def reopen(space: Space, at: datetime) -> Space:
    """Back to open within the archive period; a requested deletion is cancelled, a running one refuses."""
    if space.status is not SpaceStatus.CLOSED:
        raise Conflict("this space is not closed", code="space_not_closed")
    if space.deletion is DeletionState.RUNNING:
        raise Conflict(DELETION_RUNNING_MESSAGE, code="deletion_running")
    if space.archive_until is not None and paris_day(at) >= space.archive_until:
        raise Conflict("the archive period of this space is over: its data are being purged", code="archive_expired")
    return space.model_copy(update={"status": SpaceStatus.OPEN, "closed_at": None, "archive_until": None,
                                    "deletion": None, "deletion_due": None})


def erase_due(space: Space) -> date | None:
    """The day the erasure job must erase this space: its deletion's due day, else the archive's end."""
    if space.status is not SpaceStatus.CLOSED:
        return None
    return space.deletion_due if space.deletion is not None else space.archive_until


def erasable(space: Space, day: date) -> bool:
    """Whether the job may erase it on `day` (a space reopened since it was queued is not)."""
    due = erase_due(space)
    return due is not None and due <= day
