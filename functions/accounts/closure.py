"""The holder closes their space, asks for its deletion, reopens it (issue 12 points 4 and 6). Each change
commits with its trace in one journal transaction, on the condition that the space is still as read. Only the
holder acting on their own space may do it (a caregiver may not close, delete or download: B.7), and closing or
deleting needs a fresh sign-in (B.4: "the password must be typed again"). The holder is told of each change by
e-mail at the space's address (point 8: a closed space shows nothing in-app), in the enrolment notices' template
(subject + text, never health content); the erasure's own "done" e-mail follows when it is done."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from functions.accounts import lifecycle
from functions.accounts.models import Space
from functions.accounts.ports import SpaceDirectory, SpaceLifecycle
from functions.identity.principal import Citizen
from functions.journal.models import Actor, Trace, TraceAction
from functions.journal.ports import Entry, PatientJournal, Refused
from functions.notifications.models import Email
from functions.notifications.ports import Mailer
from functions.shared import quota
from functions.shared.clock import PARIS, Clock, paris_day
from functions.shared.errors import Conflict, Forbidden, NotFound, ReauthenticationRequired
from functions.shared.observability import logger
from functions.shared.quota import QuotaLedger


class ErasureRequests(Protocol):
    """Where an erasure due at once is asked for (a queue the erasure worker reads); the daily job catches up
    whatever this misses."""

    def request_erasure(self, ins: str) -> None: ...


@dataclass(frozen=True)
class ClosureDeps:
    directory: SpaceDirectory
    lifecycle: SpaceLifecycle
    journal: PatientJournal
    clock: Clock
    fresh_auth_seconds: int = 300
    deletion_delay: timedelta = timedelta(0)
    erasures: ErasureRequests | None = None
    mailer: Mailer | None = None  # the holder's notice of each change (the enrolment notices' template)
    quotas: QuotaLedger | None = None  # closing, deletion and reopening a day together (functions/shared/quota.py)


def _holder(who: Citizen, space: str) -> None:
    if who.ins != space:
        raise Forbidden("only the holder of a space may close it, delete it or reopen it", code="holder_only")


def _fresh(deps: ClosureDeps, who: Citizen) -> None:
    now = int(deps.clock.now().timestamp())
    if who.auth_time is None or not 0 <= now - who.auth_time <= deps.fresh_auth_seconds:
        raise ReauthenticationRequired(deps.fresh_auth_seconds)


def _current(deps: ClosureDeps, space: str) -> Space:
    found = deps.directory.get(space)
    if found is None:
        raise NotFound("space")
    return found


def _commit(deps: ClosureDeps, who: Citizen, previous: Space, changed: Space, actions: Sequence[TraceAction],
            reason: str | None = None) -> Space:
    if changed == previous:
        return changed  # asked again: nothing to write
    now = deps.clock.now()
    traces = [Trace.new(changed.ins, now, Actor.acting_on(who, changed.ins), a, reason=reason) for a in actions]
    limit = quota.lifecycle_changes(changed.ins)
    staged = [deps.lifecycle.lifecycle_write(changed, previous), *quota.counted(deps.quotas, limit, now)]
    try:
        deps.journal.record(Entry(changed.ins, traces=traces, staged=staged))
    except Refused as exc:
        quota.over_quota(exc.failed, limit, now)
        raise Conflict("the space changed meanwhile: read it again", code="space_changed") from exc
    due = lifecycle.erase_due(changed) if changed.deletion is not None else None
    if due is not None and due <= paris_day(now) and deps.erasures is not None:
        deps.erasures.request_erasure(changed.ins)
    _tell_holder(deps, changed, actions, reason)
    return changed


def notice(space: Space, actions: Sequence[TraceAction], reason: str | None, day: str) -> dict[str, str]:
    """The e-mail's subject and text for a change (the official app's wording where it has one, B.1)."""
    if TraceAction.SPACE_REOPENED in actions:
        cancelled = " La demande de suppression des données est annulée." if reason == "deletion_cancelled" else ""
        return {"subject": "votre profil a été réactivé",
                "text": f"Votre profil Mon espace santé a été réactivé le {day}, avec ses données.{cancelled}"}
    if TraceAction.SPACE_DELETION_REQUESTED in actions:
        return {"subject": "votre profil a été clôturé avec une demande de suppression des données",
                "text": f"Votre profil Mon espace santé a été clôturé le {day} avec une demande de suppression des "
                        "données. Lorsque la suppression des données sera terminée, une notification vous sera "
                        "envoyée à cette adresse. Vous pourrez alors de nouveau activer votre profil."}
    until = space.archive_until.strftime("%d/%m/%Y") if space.archive_until else ""
    return {"subject": "votre profil a été clôturé",
            "text": f"Votre profil Mon espace santé a été clôturé le {day}. Ses données sont archivées jusqu'au "
                    f"{until} ; vous pouvez le réactiver d'ici là, avec ses données."}


def _tell_holder(deps: ClosureDeps, space: Space, actions: Sequence[TraceAction], reason: str | None) -> None:
    """After the commit: the change is made whether or not the e-mail leaves (a refused or failed send is logged,
    never turned into an error for a change already done)."""
    if deps.mailer is None or not space.email:
        return
    day = deps.clock.now().astimezone(PARIS).strftime("%d/%m/%Y")
    try:
        deps.mailer.send([Email(address=space.email, data=notice(space, actions, reason, day))])
    except Exception:  # the change is committed; the notice is best effort, and logged
        logger.warning("space change notice not sent", extra={"change": actions[-1].value})


def close_space(deps: ClosureDeps, who: Citizen, space: str, delete_data: bool) -> Space:
    """Closed and archived 10 years; with `delete_data`, erased at `deletion_due` (at once by default)."""
    _holder(who, space)
    _fresh(deps, who)
    current = _current(deps, space)
    closed = lifecycle.close(current, deps.clock.now(), delete_data, deps.deletion_delay)
    actions = [TraceAction.SPACE_CLOSED] + ([TraceAction.SPACE_DELETION_REQUESTED] if delete_data else [])
    return _commit(deps, who, current, closed, actions)


def ask_deletion(deps: ClosureDeps, who: Citizen, space: str) -> Space:
    """A closed space's deletion, asked after its closure."""
    _holder(who, space)
    _fresh(deps, who)
    current = _current(deps, space)
    changed = lifecycle.ask_deletion(current, deps.clock.now(), deps.deletion_delay)
    return _commit(deps, who, current, changed, [TraceAction.SPACE_DELETION_REQUESTED])


def reopen_space(deps: ClosureDeps, who: Citizen, space: str) -> Space:
    """Open again, with its data; a requested deletion is cancelled (the trace says so)."""
    _holder(who, space)
    current = _current(deps, space)
    reopened = lifecycle.reopen(current, deps.clock.now())
    cancelled = "deletion_cancelled" if current.deletion is not None else None
    return _commit(deps, who, current, reopened, [TraceAction.SPACE_REOPENED], reason=cancelled)
