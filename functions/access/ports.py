"""Ports of the access capability (storage-free): the patient's access profile and one atomic change of it, and
what access reads of the record through the documents' owner.

Access imports no other capability: the documents a professional asks for are `DocumentFacts` (models.py), a
structural view that records' `Document` satisfies, reached through `PatientDocuments` (records' document store
fits it) and `DownloadLinks` (records' blob store fits it); the composition root (functions/deps.py) hands them
over."""

from __future__ import annotations

from typing import Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from functions.access.changes import AccessChange
from functions.access.models import AccessProfile, DocumentFacts
from functions.journal.models import ChainHead, Trace
from functions.notifications.models import Notification
from functions.shared.quota import Quota

D = TypeVar("D", bound=DocumentFacts)


class PatientDocuments(Protocol[D]):
    """The patient's documents as their owner keeps them (the owner's type comes back to the caller unchanged)."""

    def get(self, patient_ins: str, document_id: str) -> D | None: ...
    def list_available(self, patient_ins: str, after: str | None, limit: int) -> tuple[list[D], str | None]:
        """Available documents, newest first; `after` is the previous page's last position."""
        ...


class DownloadLinks(Protocol):
    def presign_download(self, record_key: str, ttl_seconds: int, content_type: str, name: str,
                         patient_ins: str | None = None) -> str: ...


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
    quota: Quota | None = None  # the rate limit this change counts against (OverQuota, nothing written, when full)


class ControlStore(Protocol):
    def profile(self, patient_ins: str) -> AccessProfile: ...
    def head(self, patient_ins: str) -> ChainHead: ...
    def write(self, patient_ins: str, change: ControlWrite, head: ChainHead | None = None,
              retry: bool = True) -> None:
        """`retry=False`: one attempt on `head`, ChainMoved if another action got there first (callers whose
        change depends on what they read must decide again rather than replay a stale decision)."""
        ...
