"""Opening spaces by default, in bulk (issue 12 point 1): the import of a beneficiaries file and the daily creation.

Import, in two steps so that no Lambda runs for hours:
1. `split_file` (the S3 event): one streamed read of `intake/<name>.ndjson`, checking every line (pure CPU: about
   100 000 lines a second), the few representatives not in the file looked up in BatchGetItem, the report written
   to `reports/<name>.json`, and one chunk task per `chunk_lines` lines (a byte range pinned to the file's ETag,
   with the line numbers to skip) sent 10 to a SendMessageBatch call.
2. `import_chunk` (each task, bounded: 2 000 lines by default): the byte range read back, who is known already
   (BatchGetItem, 100 keys a call), then for each new person a space `informed` with its provisional code (only a
   keyed hash is stored) and the `space.informed` trace, committed by the journal several people to a transaction
   (space + trace + chain head: 3 items, 33 people a TransactWriteItems, each space on `attribute_not_exists`), the
   information sent (e-mail by SES bulk sends of 50; SMS and letters as one print-batch object per chunk), and
   `code_sent_at` set (100 updates a transaction) once it left.

Once only: the space item is the per-person key. A re-imported or overlapping file, or a redelivered task, finds the
spaces known and creates and sends nothing; two concurrent deliveries of one task cannot both create a person (the
transaction's condition) and each sends only what it created. A crash after the commit and before the send leaves
spaces informed without `code_sent_at`: SES has no idempotency key, so the information is sent at most once, and
the creation job never opens a space whose information did not leave (a new code, sent on request, fixes it).

Creation: `dispatch_creation` (the daily schedule) sends one task per shard of the day, and of each day since its
last run that a missed schedule left (at most `CATCH_UP_DAYS` back; a mark item holds the last day); `run_creation`
reads its shard of the sparse `creation-due` index (Query, never Scan), `limit` spaces at a time, and moves each
informed one to `open` with its `space.created` trace (same bulk commit, on the condition that it is still
informed: an opposed space stays opposed); more than `limit` in a shard: the task queues its own continuation.
Re-running a day finds the opened spaces out of the index (or refused by the condition) and creates nothing twice."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from functions.accounts import codes
from functions.accounts.intake import (
    CREATION_SHARDS,
    Beneficiary,
    Channel,
    Information,
    IntakePolicy,
    Refusal,
    Screening,
    lines,
    parse_line,
    shard_of,
)
from functions.accounts.models import Enrolment, Space, SpaceStatus, Standing
from functions.accounts.ports import IntakeFiles, IntakeStore
from functions.journal.models import Actor, Trace, TraceAction
from functions.journal.ports import BatchJournal, Entry
from functions.notifications.models import Email
from functions.notifications.ports import Mailer
from functions.shared import privacy
from functions.shared.clock import Clock, paris_day
from functions.shared.observability import SPACES_CREATED, SPACES_INFORMED, count, logger

INTAKE_PREFIX = "intake/"
REPORT_PREFIX = "reports/"
SUFFIX = ".ndjson"
ACTOR = Actor.system("opening-by-default")
CATCH_UP_DAYS = 7  # a day the schedule missed (or whose run failed) is dispatched by a later run this far back


class Queue(Protocol):
    def send_all(self, bodies: list[str]) -> None: ...


class ChunkTask(BaseModel):
    """Lines [first_line, ...] of one file version, bytes [start, end): the import of one bounded piece."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["intake-chunk"] = "intake-chunk"
    key: str
    version: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    first_line: int = Field(ge=1)
    skip: list[int] = []  # refused lines of this range (the split reported them)


class CreationTask(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["space-creation"] = "space-creation"
    day: date
    shard: int = Field(ge=0, lt=CREATION_SHARDS)
    after: str | None = None


class Task(BaseModel):
    task: Annotated[ChunkTask | CreationTask, Field(discriminator="kind")]


@dataclass(frozen=True)
class OpeningDeps:
    store: IntakeStore
    journal: BatchJournal
    files: IntakeFiles
    mailer: Mailer  # notifications' SES bulk mailer, on the information template
    tasks: Queue
    clock: Clock
    policy: IntakePolicy = field(default_factory=IntakePolicy)
    objection_url: str = "https://www.monespacesante.fr/opposition"
    chunk_lines: int = 2_000
    creation_limit: int = 1_000


class SplitReport(BaseModel):
    """`reports/<name>.json`: line numbers and reason codes only (no INS, no name)."""

    file: str
    lines: int
    accepted: int
    chunks: int
    refused: list[Refusal]
    reasons: dict[str, int]


class ChunkReport(BaseModel):
    informed: int = 0
    already: int = 0
    reissued: int = 0  # informed before, information never sent: a new code sent now (counted in `informed` too)
    refreshed: int = 0  # erased spaces given the insurer's identity again (activatable, never created by default)
    emails: int = 0
    emails_refused: int = 0
    sms: int = 0
    letters: int = 0


class CreationReport(BaseModel):
    opened: int = 0
    refused: int = 0  # opposed meanwhile, or information never sent
    continued: bool = False


def file_name(key: str) -> str | None:
    """`intake/<name>.ndjson` -> `<name>`; None for any other key (ignored)."""
    if not key.startswith(INTAKE_PREFIX) or not key.endswith(SUFFIX):
        return None
    name = key[len(INTAKE_PREFIX):-len(SUFFIX)]
    return name if name and "/" not in name else None


def report_key(key: str) -> str:
    name = file_name(key)
    assert name is not None
    return f"{REPORT_PREFIX}{name}.json"


@dataclass
class _Cut:
    start: int
    first_line: int
    end: int = 0


def split_file(deps: OpeningDeps, key: str) -> SplitReport | None:
    name = file_name(key)
    if name is None:
        return None
    today = paris_day(deps.clock.now())
    version, numbered = deps.files.lines(key)
    screening = Screening()
    cuts: list[_Cut] = []
    end = 0
    for n, offset, raw in numbered:
        if (n - 1) % deps.chunk_lines == 0:
            if cuts:
                cuts[-1].end = offset
            cuts.append(_Cut(start=offset, first_line=n))
        end = offset + len(raw) + 1
        if raw.strip():
            screening.take(n, raw.strip(), today)
    if cuts:
        cuts[-1].end = end
    refused = screening.settle(deps.store.known(sorted(screening.representatives_to_look_up())))
    reasons: dict[str, int] = {}
    for r in refused:
        reasons[r.reason.value] = reasons.get(r.reason.value, 0) + 1
    report = SplitReport(file=key, lines=screening.lines, accepted=screening.lines - len(refused), chunks=len(cuts),
                         refused=refused, reasons=reasons)
    deps.files.put_report(report_key(key), report.model_dump_json(indent=1))
    skipped = iter(refused)
    pending = next(skipped, None)
    bodies: list[str] = []
    for i, cut in enumerate(cuts):
        last_line = cuts[i + 1].first_line if i + 1 < len(cuts) else sys.maxsize
        skip: list[int] = []
        while pending is not None and pending.line < last_line:
            skip.append(pending.line)
            pending = next(skipped, None)
        task = ChunkTask(key=key, version=version, start=cut.start, end=cut.end, first_line=cut.first_line, skip=skip)
        bodies.append(Task(task=task).model_dump_json())
    deps.tasks.send_all(bodies)
    logger.info("intake file split", extra={"lines": report.lines, "accepted": report.accepted,
                                            "chunks": report.chunks, "reasons": reasons})
    return report


def _people(data: bytes, task: ChunkTask) -> Iterator[Beneficiary]:
    skip = set(task.skip)
    for n, raw in lines(data, task.first_line):
        if n in skip:
            continue
        parsed = parse_line(raw)
        if isinstance(parsed, Beneficiary):  # refusals were reported by the split
            yield parsed


def import_chunk(deps: OpeningDeps, task: ChunkTask) -> ChunkReport:
    report = ChunkReport()
    data = deps.files.read(task.key, task.version, task.start, task.end)
    if data is None:
        logger.warning("intake file replaced since its split: chunk dropped")
        return report
    people = list(_people(data, task))
    known = deps.store.known([p.ins for p in people])
    # known but never informed (a crash between an earlier delivery's commit and its send): a new code, sent now;
    # an erased space's tombstone: the insurer's identity goes onto it, so its holder may activate again (B.1)
    standing = deps.store.standing(sorted(known)) if known else Standing()
    now = deps.clock.now()
    due = deps.policy.creation_due(paris_day(now))
    entries: list[Entry] = []
    info: dict[str, Information] = {}
    for person in people:
        if person.ins in standing.erased:
            erased = Space(ins=person.ins, status=SpaceStatus.ERASED, created_at=now, birth_date=person.birth_date,
                           email=person.email)
            entries.append(Entry(person.ins, traces=[Trace.new(person.ins, now, ACTOR,
                                                               TraceAction.SPACE_IDENTITY_RECEIVED)],
                                 staged=[deps.store.refreshed(_enrolment(erased, person))]))
            report.refreshed += 1
            continue
        if person.ins in known and person.ins not in standing.unsent:
            report.already += 1
            continue
        channel = person.channel
        assert channel is not None  # parse_line refuses a line without any contact
        code = codes.new_code()
        expires = deps.policy.code_expires(now, channel)
        digest = codes.code_digest(person.ins, code)
        if person.ins in standing.unsent:
            staged = deps.store.reissued(person.ins, digest, expires, channel.value, now, due, shard_of(person.ins))
            report.reissued += 1
        else:
            space = Space(ins=person.ins, status=SpaceStatus.INFORMED, created_at=now, birth_date=person.birth_date,
                          email=person.email, informed_at=now, creation_due=due)
            staged = deps.store.informed(_enrolment(space, person), digest, expires, channel.value,
                                         shard_of(person.ins))
        entries.append(Entry(person.ins, traces=[Trace.new(person.ins, now, ACTOR, TraceAction.SPACE_INFORMED)],
                             staged=[staged]))
        info[person.ins] = Information(person=person, channel=channel, code=code, creation_due=due,
                                       code_expires=paris_day(expires))
    refused = deps.journal.record_all(entries) if entries else {}
    report.already += len([i for i in refused if i in info])  # created meanwhile by another delivery or file
    report.refreshed -= len([i for i in refused if i not in info])  # refreshed meanwhile by another delivery
    created = [info[e.patient_ins] for e in entries if e.patient_ins in info and e.patient_ins not in refused]
    report.informed = len(created)
    _send(deps, task, created, now, report)
    deps.store.mark_sent([i.person.ins for i in created], now)
    count(SPACES_INFORMED, report.informed)
    return report


def _enrolment(space: Space, person: Beneficiary) -> Enrolment:
    """The space with what enrolment checks later: the names (the proof of opposition), the address (a new
    code by letter), a minor's representative (who may activate or oppose for the child)."""
    return Enrolment(space=space, first_name=person.first_name, last_name=person.last_name,
                     postal_address=person.postal_address.as_text() if person.postal_address else None,
                     representative_ins=person.legal_representative_ins)


def _send(deps: OpeningDeps, task: ChunkTask, created: list[Information], now: datetime,
          report: ChunkReport) -> None:
    """E-mails in bulk; SMS and letters as one print-batch object each, named by the chunk, the time and a keyed
    digest of who is in it (a concurrent delivery that created others writes its own object)."""
    emails = [Email(address=i.person.email, data=i.template_data(deps.objection_url))
              for i in created if i.channel is Channel.MAIL and i.person.email]
    if emails:
        report.emails_refused = deps.mailer.send(emails)
        report.emails = len(emails) - report.emails_refused
    name = file_name(task.key)
    day = paris_day(now).isoformat()
    for channel, prefix in ((Channel.SMS, "sms"), (Channel.LETTER, "letters")):
        batch = [i for i in created if i.channel is channel]
        if not batch:
            continue
        who = privacy.digest("print-batch", ",".join(sorted(i.person.ins for i in batch)))[:16]
        body = "".join(json.dumps(_print_record(i, deps.objection_url), ensure_ascii=False) + "\n" for i in batch)
        at = now.strftime("%H%M%S%f")  # a new code sent again for the same people is a new batch, not a rewrite
        deps.files.put_print(f"{prefix}/{day}/{name}/{task.first_line:09d}-{at}-{who}.ndjson", body)
        if channel is Channel.SMS:
            report.sms = len(batch)
        else:
            report.letters = len(batch)


def _print_record(info: Information, objection_url: str) -> dict[str, object]:
    """A letter (addressee + text) or an SMS (number + text), as the printer / SMS operator takes them."""
    person = info.person
    record: dict[str, object] = {"reference": privacy.digest("information", person.ins)[:20],
                                 "text": info.text(objection_url)}
    if info.channel is Channel.SMS:
        record["to"] = person.mobile
    else:
        assert person.postal_address is not None
        record["addressee"] = f"{person.first_name} {person.last_name}"
        record["address"] = person.postal_address.model_dump(mode="json")
    return record


# ---- the daily creation --------------------------------------------------------------------------------------


def creation_days(day: date, last: date | None) -> list[date]:
    """The days a run on `day` dispatches: that day, and those since the last run (at most CATCH_UP_DAYS back).
    A day sent twice opens nothing twice, so an operator may re-run any day; that leaves the later days alone."""
    if last is None or last >= day - timedelta(days=1):
        return [day]
    first = max(last + timedelta(days=1), day - timedelta(days=CATCH_UP_DAYS))
    return [first + timedelta(days=n) for n in range((day - first).days + 1)]


def dispatch_creation(deps: OpeningDeps, day: date) -> list[date]:
    """One task per shard of each day of `creation_days`, then the mark (a crash between the two sends them again
    next time, which opens nothing twice). Without it, the spaces due on a day whose run never happened would stay
    informed for good: a loss no one would see."""
    last = deps.store.last_creation_day()
    days = creation_days(day, last)
    if last is not None and day - last > timedelta(days=CATCH_UP_DAYS + 1):
        logger.warning("creation catch-up capped",
                       extra={"last_day": last.isoformat(), "from_day": days[0].isoformat()})
    deps.tasks.send_all([Task(task=CreationTask(day=d, shard=s)).model_dump_json()
                         for d in days for s in range(CREATION_SHARDS)])
    deps.store.creation_dispatched(day)
    return days


def run_creation(deps: OpeningDeps, task: CreationTask) -> CreationReport:
    report = CreationReport()
    due, after = deps.store.due(task.day, task.shard, task.after, deps.creation_limit)
    now = deps.clock.now()
    entries = [Entry(ins, traces=[Trace.new(ins, now, ACTOR, TraceAction.SPACE_CREATED)],
                     staged=[deps.store.created(ins, now)]) for ins in due]
    refused = deps.journal.record_all(entries) if entries else {}
    report.opened = len(entries) - len(refused)
    report.refused = len(refused)
    if after is not None:
        deps.tasks.send_all([Task(task=task.model_copy(update={"after": after})).model_dump_json()])
        report.continued = True
    count(SPACES_CREATED, report.opened)
    return report
