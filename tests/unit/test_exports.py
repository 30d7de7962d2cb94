"""The export's rules without AWS: one at a time, holder only, a redelivered or stale build does nothing, and the
sizes read as the app shows them."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO

import pytest

from functions.exports.models import ExportJob, ExportPart, ExportState, human_size
from functions.exports.service import ExportDeps, build_export, download_link, request_export
from functions.identity.principal import Citizen
from functions.shared.errors import Conflict, Forbidden, NotFound
from tests.unit.fakes import FakeJournal, FakeNotificationStore

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
INS = "1840612345678"


class FixedClock:
    def now(self) -> datetime:
        return NOW


class Jobs:
    def __init__(self) -> None:
        self.item: ExportJob | None = None

    def get(self, ins: str) -> ExportJob | None:
        return self.item

    def staged(self, job: ExportJob, previous: ExportJob | None) -> object:
        jobs = self

        class Put:
            def stage(self, tx: object) -> None:
                current = jobs.item.version if jobs.item else None
                expected = previous.version if previous else None
                assert current == expected, "the export moved"
                jobs.item = job.model_copy(update={"version": (expected or 0) + 1})

        return Put()


class Archives:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, body: IO[bytes]) -> None:
        self.objects[key] = body.read()

    def presign(self, key: str, ttl_seconds: int, filename: str) -> str:
        return f"https://exports.example/{key}?ttl={ttl_seconds}&name={filename}"


class Queue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, ins: str, export_id: str) -> None:
        self.sent.append((ins, export_id))


class Files:
    def __init__(self, *files: tuple[str, bytes]) -> None:
        self._files = files

    def files(self, ins: str, at: datetime) -> Iterator[tuple[str, bytes]]:
        yield from self._files


@pytest.fixture
def deps() -> ExportDeps:
    return ExportDeps(jobs=Jobs(), archives=Archives(), queue=Queue(), journal=FakeJournal(),  # type: ignore[arg-type]
                      notifications=FakeNotificationStore(), clock=FixedClock(),
                      sources={ExportPart.RECORD: Files(("documents/a.pdf", b"%PDF-1.4")),
                               ExportPart.MESSAGING: Files(),
                               ExportPart.SPACE: Files(("profil.json", b"{}"))})


def holder(ins: str = INS) -> Citizen:
    return Citizen(ins=ins)


def test_one_export_at_a_time_then_the_archives_are_built_once(deps: ExportDeps) -> None:
    job = request_export(deps, holder(), INS)
    with pytest.raises(Conflict) as refused:
        request_export(deps, holder(), INS)
    assert refused.value.code == "export_in_progress"
    built = build_export(deps, INS, job.export_id)
    assert built is not None and built.state is ExportState.READY
    archives: Archives = deps.archives  # type: ignore[assignment]
    assert set(archives.objects) == {job.archive_key(p) for p in ExportPart}
    with zipfile.ZipFile(__import__("io").BytesIO(archives.objects[job.archive_key(ExportPart.RECORD)])) as z:
        assert z.read("documents/a.pdf") == b"%PDF-1.4"
    assert build_export(deps, INS, job.export_id) is None  # a redelivery
    assert build_export(deps, INS, "exp_other") is None  # a stale message
    assert "MonEspaceSante_2026-12-01_record.zip" in download_link(deps, holder(), INS, ExportPart.RECORD)


def test_a_caregiver_cannot_export_nor_download(deps: ExportDeps) -> None:
    with pytest.raises(Forbidden):
        request_export(deps, holder("2840612345678"), INS)
    request_export(deps, holder(), INS)
    with pytest.raises(NotFound):
        download_link(deps, holder(), INS, ExportPart.SPACE)  # not built yet
    with pytest.raises(Forbidden):
        download_link(deps, holder("2840612345678"), INS, ExportPart.SPACE)


def test_sizes_read_as_the_app_shows_them() -> None:
    assert human_size(512) == "512 o"
    assert human_size(1536) == "1,5 Ko"
    assert human_size(12 * 1024 * 1024 + 300 * 1024) == "12,3 Mo"
