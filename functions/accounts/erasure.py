"""Erasure of a closed space (issue 12 point 5): crypto-shredding first (the space's data key is destroyed, so no
copy of its objects, old versions and backups included, can be decrypted again), then every item and every object
version each capability keeps of the person (their `SpaceEraser`), then the tombstone the law asks to keep
("space erased on <date>, reference", no health data), then the holder is e-mailed that it is done. Run for a
deletion due at once (a queue message) and by the daily job (deletions due, archives ending after 10 years).
Safe to run again: a crash leaves the deletion `running` and the space in the day's index, the next run finishes."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel

from functions.accounts import lifecycle
from functions.accounts.models import SpaceStatus
from functions.accounts.ports import SpaceDirectory, SpaceEraser, SpaceKeys, SpaceLifecycle
from functions.notifications.models import Email
from functions.notifications.ports import Mailer
from functions.shared.clock import PARIS, Clock, paris_day
from functions.shared.observability import logger

CATCH_UP_DAYS = 7  # the daily job looks back this far (a missed run, a crash mid-erasure)


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
    for back in range(CATCH_UP_DAYS, -1, -1):
        for ins in list(deps.lifecycle.due_for_erasure((day - timedelta(days=back)).isoformat())):
            one = erase_space(deps, ins)
            total = ErasureReport(erased=total.erased + one.erased, skipped=total.skipped + one.skipped,
                                  removed=total.removed + one.removed)
    return total


def handle_erasure_requests(deps: ErasureDeps, event: dict[str, Any]) -> dict[str, int]:
    """The erasure queue's consumer: one erasure per message (`{"space": <ins>}`, see queue.py). Locally the runner
    and the tests pump it; deployed, it becomes app.py's `@app.on_sqs_message(queue=ERASURE_QUEUE)` handler once
    infra wires the function (README, "Not done"), as `erase_due_spaces` becomes the `erasure-daily` schedule."""
    from functions.accounts.queue import requested_spaces

    done = [erase_space(deps, ins) for ins in requested_spaces(event)]
    return {"erased": sum(r.erased for r in done), "skipped": sum(r.skipped for r in done)}
