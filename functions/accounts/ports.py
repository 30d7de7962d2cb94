"""Ports of the accounts capability (storage-free)."""

from __future__ import annotations

from typing import Protocol

from functions.shared.staging import Staged


class SpaceDirectory(Protocol):
    def open_condition(self, ins: str) -> Staged:
        """A condition check (label `space`) that the patient's space is open, to join another owner's
        transaction: a professional's action commits nothing on an INS with no open space."""
        ...
