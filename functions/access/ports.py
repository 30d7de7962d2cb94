"""Ports of the access capability (storage-free): the patient's access profile and one atomic change of it."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict

from functions.access.changes import AccessChange
from functions.access.models import AccessProfile
from functions.journal.models import ChainHead, Trace
from functions.notifications.models import Notification


class ControlWrite(BaseModel):
    """One atomic change of a patient's access facts, with its traces and notifications. With `needs_open_space`
    it commits only while the patient's space is open (the condition of a declaration), else NotFound("patient")
    and nothing is written: a professional's action leaves nothing on an INS with no space. `withheld`: the
    documents whose traces go to their withheld chain instead (see journal/storage.py), with that chain's head as
    read; such a change is written with `retry=False` (a moved head means deciding again)."""

    model_config = ConfigDict(frozen=True)

    traces: list[Trace] = []
    changes: list[AccessChange] = []
    notifications: list[Notification] = []
    needs_open_space: bool = False
    withheld: dict[str, ChainHead] = {}


class ControlStore(Protocol):
    def profile(self, patient_ins: str) -> AccessProfile: ...
    def head(self, patient_ins: str) -> ChainHead: ...
    def write(self, patient_ins: str, change: ControlWrite, head: ChainHead | None = None,
              retry: bool = True) -> None:
        """`retry=False`: one attempt on `head`, ChainMoved if another action got there first (callers whose
        change depends on what they read must decide again rather than replay a stale decision)."""
        ...
