"""Provisional codes (*codes provisoires*, mes-rules-next.md B.2): single use, with an expiry, stored only as a
keyed hash bound to the INS, so a leaked table reveals no usable code."""

from __future__ import annotations

import secrets

from functions.shared import privacy

# No 0/O, 1/I/L: the code is read from a letter or an SMS and typed by hand.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalised(code: str) -> str:
    """What the person typed, as issued: case and spaces or dashes do not matter."""
    return "".join(c for c in code.upper() if c.isalnum())


def code_digest(ins: str, code: str) -> str:
    """The keyed hash stored in place of the code; the INS is in it so one person's code is useless for another."""
    return privacy.digest("enrolment-code", f"{ins}:{normalised(code)}")
