"""Erasure of a closed space (issue 12 point 5): crypto-shredding first (the space's data key is destroyed, so no
copy of its objects, old versions and backups included, can be decrypted again), then every item and every object
version each capability keeps of the person (their `SpaceEraser`), then the tombstone the law asks to keep
("space erased on <date>, reference", no health data), then the holder is e-mailed that it is done. Run for a
deletion due at once (a queue message) and by the daily job (deletions due, archives ending after 10 years).
Safe to run again: a crash leaves the deletion `running` and the space in the day's index, the next run finishes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from pydantic import BaseModel

from functions.accounts import lifecycle
from functions.accounts.models import SpaceStatus
from functions.accounts.ports import SpaceDirectory, SpaceEraser, SpaceKeys, SpaceLifecycle
from functions.notifications.models import Email
from functions.notifications.ports import Mailer
from functions.shared.clock import PARIS, Clock, paris_day
from functions.shared.observability import logger

CATCH_UP_DAYS = 7  # the daily job looks back this far (a missed run, a crash mid-erasure)
DISPATCH_BATCH = 10  # spaces per SendMessageBatch
# The "erasure done" e-mail (SES template; mes-rules-next.md B.1): the day and the tombstone's reference, no health
# detail. local/resources.py and infra create it from these.
ERASURE_EMAIL_SUBJECT = "Mon espace santé : vos données sont supprimées"
ERASURE_EMAIL_BODY = ("Bonjour,\n\nLa suppression des données de votre profil Mon espace santé est terminée "
                      "(le {{day}}, référence {{reference}}).\nVous pouvez de nouveau activer votre profil.\n")


class ErasureQueue(Protocol):
    """The erasures queue, as the daily dispatch fills it (functions/accounts/queue.py)."""

    def request_erasures(self, spaces: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class ErasureDeps:
    directory: SpaceDirectory
    lifecycle: SpaceLifecycle
    keys: SpaceKeys
    erasers: Sequence[SpaceEraser]
    clock: Clock
    mailer: Mailer | None = None  # the "erasure done" e-mail (its own template: day and reference)


class ErasureReport(BaseModel):
    erased: int = 0
    skipped: int = 0
    removed: int = 0  # items and object versions deleted


def erase_space(deps: ErasureDeps, ins: str) -> ErasureReport:
    """Erase one space if its erasure is due today or earlier (a reopened or already erased one is skipped)."""
    space = deps.directory.get(ins)
    now = deps.clock.now()
    if space is None or space.status is SpaceStatus.ERASED or not lifecycle.erasable(space, paris_day(now)):
        return ErasureReport(skipped=1)
    running = deps.lifecycle.start_erasure(space)
    if running is None:  # reopened meanwhile
        return ErasureReport(skipped=1)
    deps.keys.destroy(ins)
    removed = sum(eraser.erase_space(ins) for eraser in deps.erasers)
    reference = secrets.token_hex(8)
    deps.lifecycle.tombstone(running, now, reference)
    if space.email and deps.mailer is not None:
        day = now.astimezone(PARIS).strftime("%d/%m/%Y")
        deps.mailer.send([Email(address=space.email, data={"day": day, "reference": reference})])
    logger.info("space erased", extra={"removed": removed})
    return ErasureReport(erased=1, removed=removed)


def erase_due_spaces(deps: ErasureDeps, day: date) -> ErasureReport:
    """The daily job: every space whose erasure is due from `CATCH_UP_DAYS` before `day` to `day` (a requested
    deletion, or an archive's 10 years ending), from the sparse day index, never a Scan."""
    total = ErasureReport()
    for ins in list(due_spaces(deps.lifecycle, day)):
        one = erase_space(deps, ins)
        total = ErasureReport(erased=total.erased + one.erased, skipped=total.skipped + one.skipped,
                              removed=total.removed + one.removed)
    return total


def due_spaces(lifecycle: SpaceLifecycle, day: date) -> Iterator[str]:
    """Every space whose erasure is due from `CATCH_UP_DAYS` before `day` to `day`, from the sparse day index."""
    for back in range(CATCH_UP_DAYS, -1, -1):
        yield from lifecycle.due_for_erasure((day - timedelta(days=back)).isoformat())


def dispatch_due_erasures(lifecycle: SpaceLifecycle, queue: ErasureQueue, day: date) -> int:
    """The `erasure-daily` schedule: one erasure request per space due (a requested deletion whose delay ended, an
    archive's 10 years ending, one a crash left `running`), for the erasures queue's consumer to erase; the
    schedule's function only reads the index and sends, the consumer alone may delete. A space sent twice (still
    queued from yesterday) is skipped by `erase_space` once erased. Returns how many were sent."""
    sent, batch = 0, []
    for ins in due_spaces(lifecycle, day):
        batch.append(ins)
        if len(batch) == DISPATCH_BATCH:
            queue.request_erasures(batch)
            sent, batch = sent + len(batch), []
    if batch:
        queue.request_erasures(batch)
    return sent + len(batch)


def handle_erasure_requests(deps: ErasureDeps, event: dict[str, Any]) -> dict[str, int]:
    """Erase the spaces an SQS batch names (`{"space": <ins>}`, see queue.py), all or nothing: deployed, app.py's
    `on_erasure_request` runs functions/accounts/worker.py's partial-batch consumer instead."""
    from functions.accounts.queue import requested_spaces

    done = [erase_space(deps, ins) for ins in requested_spaces(event)]
    return {"erased": sum(r.erased for r in done), "skipped": sum(r.skipped for r in done)}
