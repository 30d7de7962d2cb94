"""What the export needs (storage-free): its job item, the archives bucket, its queue, and one source per part.
Sources belong to the capability that owns the data (records, messaging) or read other capabilities' ports (the
space part); each yields (path inside the ZIP, bytes). The job's writes are `Staged` for the journal's transaction,
so a request and its trace land together."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import IO, Protocol

from functions.exports.models import ExportJob
from functions.shared.staging import Staged


class ExportJobs(Protocol):
    def get(self, ins: str) -> ExportJob | None: ...

    def staged(self, job: ExportJob, previous: ExportJob | None) -> Staged:
        """`job` (version + 1) if the stored one is still `previous` (None: there is none); label `export`."""
        ...


class Archives(Protocol):
    def put(self, key: str, body: IO[bytes]) -> None: ...
    def presign(self, key: str, ttl_seconds: int, filename: str) -> str: ...


class ExportQueue(Protocol):
    def send(self, ins: str, export_id: str) -> None: ...


class PartSource(Protocol):
    def files(self, ins: str, at: datetime) -> Iterable[tuple[str, bytes]]: ...
