"""HTTP shapes of the export (`DownloadRematInProgressModel`: one fragment per part, with its readable size)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from functions.exports.models import ExportJob, ExportPart, human_size


class ExportPartOut(BaseModel):
    part: ExportPart
    available: bool
    size: int | None = None
    size_label: str | None = None  # `poids`, e.g. "1,2 Mo"
    files: int | None = None


class ExportOut(BaseModel):
    export_id: str
    in_progress: bool
    available: bool
    requested_at: datetime
    ready_at: datetime | None = None
    expires_at: datetime | None = None
    parts: list[ExportPartOut]

    @classmethod
    def from_domain(cls, job: ExportJob, now: datetime) -> ExportOut:
        available = job.available(now)
        built = {p.part: p for p in job.parts}
        parts = [ExportPartOut(part=part, available=available and part in built,
                               size=built[part].size if part in built else None,
                               size_label=human_size(built[part].size) if part in built else None,
                               files=built[part].files if part in built else None) for part in ExportPart]
        return cls(export_id=job.export_id, in_progress=job.in_progress(now), available=available,
                   requested_at=job.requested_at, ready_at=job.ready_at, expires_at=job.expires_at, parts=parts)


class ExportLinkOut(BaseModel):
    part: ExportPart
    url: str
    expires_in: int
