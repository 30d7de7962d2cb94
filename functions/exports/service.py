"""Export use cases: the holder asks (one export at a time), an asynchronous job builds the three ZIPs into the
exports bucket and notifies the holder, the holder reads the status and takes each part's short-lived link. The
request, the completion and each link handed out are traced in the holder's chain. A caregiver may not export
(mes-rules-next.md B.7): exporting is the holder's own act."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from functions.exports.models import ExportJob, ExportPart, ExportState, PartArchive
from functions.exports.ports import Archives, ExportJobs, ExportQueue, PartSource
from functions.identity.principal import Citizen
from functions.journal.models import Actor, Trace, TraceAction
from functions.journal.ports import Entry, PatientJournal, Refused
from functions.notifications.models import Notification
from functions.notifications.ports import InAppNotifications
from functions.shared import quota
from functions.shared.clock import Clock
from functions.shared.errors import Conflict, Forbidden, NotFound
from functions.shared.ids import new_id
from functions.shared.quota import QuotaLedger

EXPORT_JOB = Actor.system("export-job")
SPOOL_BYTES = 32 * 1024 * 1024  # a ZIP is built in memory up to this, then in the function's /tmp


@dataclass(frozen=True)
class ExportDeps:
    jobs: ExportJobs
    archives: Archives
    queue: ExportQueue
    journal: PatientJournal
    notifications: InAppNotifications
    clock: Clock
    sources: Mapping[ExportPart, PartSource]
    link_ttl_seconds: int = 300
    keep_days: int = 7
    quotas: QuotaLedger | None = None  # the holder's exports a day (functions/shared/quota.py)


def _holder_only(who: Citizen, space: str) -> None:
    if who.ins != space:
        raise Forbidden("Seul le titulaire du profil peut télécharger ses données.", code="holder_only")


def request_export(deps: ExportDeps, who: Citizen, space: str) -> ExportJob:
    """Start an export unless one is being built (409 `export_in_progress`); a ready one is replaced."""
    _holder_only(who, space)
    now = deps.clock.now()
    previous = deps.jobs.get(space)
    if previous is not None and previous.in_progress(now):
        raise Conflict("Une demande de téléchargement est déjà en cours.", code="export_in_progress")
    job = ExportJob(ins=space, export_id=new_id("exp"), state=ExportState.RUNNING, requested_at=now,
                    version=previous.version if previous else 0)
    trace = Trace.new(space, now, Actor.of(who), TraceAction.EXPORT_REQUESTED, reason=f"export:{job.export_id}")
    limit = quota.export_requests(space)
    staged = [deps.jobs.staged(job, previous), *quota.counted(deps.quotas, limit, now)]
    try:
        deps.journal.record(Entry(space, traces=[trace], staged=staged))
    except Refused as exc:
        quota.over_quota(exc.failed, limit, now)
        raise Conflict("Une demande de téléchargement est déjà en cours.", code="export_in_progress") from exc
    deps.queue.send(space, job.export_id)
    return job.model_copy(update={"version": job.version + 1})


def _archive(deps: ExportDeps, job: ExportJob, part: ExportPart) -> PartArchive:
    """One part as a ZIP, spooled (memory, then /tmp) and streamed to the bucket."""
    count = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path, data in deps.sources[part].files(job.ins, job.requested_at):
                archive.writestr(path, data)
                count += 1
        size = spool.tell()
        spool.seek(0)
        deps.archives.put(job.archive_key(part), spool)
    return PartArchive(part=part, size=size, files=count)


def build_export(deps: ExportDeps, ins: str, export_id: str) -> ExportJob | None:
    """The queue's job. A redelivered message for a finished or replaced export does nothing; a crash mid-way
    leaves the job running and the redelivery rebuilds the same keys (objects overwritten, nothing doubled)."""
    job = deps.jobs.get(ins)
    if job is None or job.export_id != export_id or job.state is not ExportState.RUNNING:
        return None
    parts = tuple(_archive(deps, job, part) for part in ExportPart)
    now = deps.clock.now()
    ready = job.model_copy(update={"state": ExportState.READY, "ready_at": now, "parts": parts,
                                   "expires_at": now + timedelta(days=deps.keep_days)})
    notice = Notification.for_export(ins, export_id, now)
    trace = Trace.new(ins, now, EXPORT_JOB, TraceAction.EXPORT_READY, reason=f"export:{export_id}")
    try:
        deps.journal.record(Entry(ins, traces=[trace], staged=[deps.jobs.staged(ready, job),
                                                                *deps.notifications.staged([notice])]))
    except Refused:
        return None  # a concurrent delivery finished it first
    return ready.model_copy(update={"version": ready.version + 1})


def export_status(deps: ExportDeps, who: Citizen, space: str) -> ExportJob | None:
    _holder_only(who, space)
    return deps.jobs.get(space)


def download_link(deps: ExportDeps, who: Citizen, space: str, part: ExportPart) -> str:
    """A short-lived link to one archive of a ready export, traced (the holder sees each download asked)."""
    _holder_only(who, space)
    now = deps.clock.now()
    job = deps.jobs.get(space)
    if job is None or not job.available(now):
        raise NotFound("export")
    trace = Trace.new(space, now, Actor.of(who), TraceAction.EXPORT_DOWNLOADED, reason=f"export:{part.value}")
    deps.journal.record(Entry(space, traces=[trace]))
    day = job.requested_at.date().isoformat()
    return deps.archives.presign(job.archive_key(part), deps.link_ttl_seconds,
                                 f"MonEspaceSante_{day}_{part.value}.zip")
