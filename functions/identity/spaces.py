"""Whose space a citizen route acts on. The acting principal (who is calling, who is traced) and the space acted
on are two things: today a citizen acts only on their own space; family and caregiver access will change this
function and a rights table, not each route."""

from __future__ import annotations

from functions.identity.principal import Citizen


def space_of(who: Citizen) -> str:
    """The INS of the space `who` acts on (the edge calls it once per citizen request)."""
    return who.ins
