"""The export of "toutes les données" (mes-rules-next.md B.5): one request at a time, built asynchronously into
three archives — the medical record, the messaging and the rest of the space — each downloadable for a few days."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from functions.shared.privacy import digest


class ExportPart(StrEnum):
    """The three archives (`dossierMedicalFragment`, `messagerieFragment`, `ensFragment`)."""

    RECORD = "record"
    MESSAGING = "messaging"
    SPACE = "space"


class ExportState(StrEnum):
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class PartArchive(BaseModel):
    model_config = ConfigDict(frozen=True)

    part: ExportPart
    size: int  # bytes of the ZIP
    files: int


class ExportJob(BaseModel):
    """A person's export; `export_id` names its archives, so a redelivered build overwrites its own objects."""

    model_config = ConfigDict(frozen=True)

    ins: str
    export_id: str
    state: ExportState
    requested_at: datetime
    ready_at: datetime | None = None
    expires_at: datetime | None = None  # links and archives live until then
    parts: tuple[PartArchive, ...] = ()
    version: int = 0

    def in_progress(self, now: datetime) -> bool:
        """One request at a time (`hasDemandInProgress`): a running build, or a ready one still downloadable
        does not block a new request — a new request replaces it."""
        return self.state is ExportState.RUNNING

    def available(self, now: datetime) -> bool:
        return self.state is ExportState.READY and self.expires_at is not None and now < self.expires_at

    def archive_key(self, part: ExportPart) -> str:
        return f"{archive_prefix(self.ins)}{self.export_id}/{part.value}.zip"


def archive_prefix(ins: str) -> str:
    """A person's archives sit under their pseudonym, never the INS (keys reach CloudTrail and access logs)."""
    return f"{digest('ins', ins)}/"


def human_size(size: int) -> str:
    """`poids` as the holder reads it: "12,3 Mo" (French decimal comma, powers of 1024 shown as Ko/Mo/Go)."""
    value = float(size)
    for unit in ("o", "Ko", "Mo", "Go"):
        if value < 1024 or unit == "Go":
            text = f"{value:.0f}" if unit == "o" else f"{value:.1f}".replace(".", ",")
            return f"{text} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
