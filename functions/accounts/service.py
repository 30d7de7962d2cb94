"""Opening and activating spaces. Opt-out: a space is opened by default; activation links a login to it."""

from __future__ import annotations

from datetime import date

from functions.accounts.models import Space, SpaceStatus
from functions.accounts.ports import SpaceDirectory
from functions.identity.ins import parse_ins
from functions.shared.clock import Clock


def open_space(store: SpaceDirectory, clock: Clock, ins: str, birth_date: date | None = None,
               email: str | None = None) -> Space:
    checked = parse_ins(ins)
    return store.open(Space(ins=checked.value, status=SpaceStatus.OPEN, created_at=clock.now(), birth_date=birth_date,
                            email=email))


def activate(store: SpaceDirectory, clock: Clock, ins: str, issuer: str, subject: str) -> Space:
    """Link a citizen login (pairwise `sub` of one issuer) to the space of one INS."""
    space = store.get(parse_ins(ins).value)
    if space is None:
        raise LookupError("no space for this INS")
    store.link_login(issuer, subject, space.ins, clock.now())
    refreshed = store.get(space.ins)
    assert refreshed is not None
    return refreshed


def space_status(store: SpaceDirectory, ins: str) -> str | None:
    """The status the authorizer hands the edge with a citizen (a closed space answers only its lifecycle
    routes); None for a login whose space is gone."""
    space = store.get(ins)
    return space.status.value if space is not None else None
