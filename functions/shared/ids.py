"""Opaque identifiers for what a holder or a professional creates (appointments, reminders, conversations,
messages): a readable prefix and 96 random bits, so ids are unguessable and say what they name."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"
