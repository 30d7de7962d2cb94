"""Opening by default, without AWS: the line model and its refusals, minors and their representative, duplicates,
the code's channel and the dates; then the import and the creation job over in-memory fakes (chunks, redelivery,
an opposed space, the once-only send)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from functions.accounts import codes
from functions.accounts.intake import Channel, IntakePolicy, Reason, parse_line, screen, shard_of
from functions.accounts.models import Enrolment, SpaceStatus, Standing
from functions.accounts.opening import (
    CATCH_UP_DAYS,
    ChunkTask,
    CreationTask,
    OpeningDeps,
    Task,
    dispatch_creation,
    import_chunk,
    run_creation,
    split_file,
)
from functions.identity.ins import with_key
from functions.journal.ports import Entry
from functions.notifications.models import Email
from functions.shared.clock import FixedClock

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ADULT = with_key("1800675123456")
OTHER = with_key("2810675123457")
CHILD = with_key("1160575123458")


def line(ins: str = ADULT, **over: Any) -> bytes:
    body: dict[str, Any] = {"ins": ins, "last_name": "Martin", "first_name": "Paul", "birth_date": "1980-06-01",
                            "sex": int(ins[0]), "email": "paul@example.org"}
    body.update(over)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


def numbered(*raw: bytes) -> list[tuple[int, bytes]]:
    return list(enumerate(raw, start=1))


def test_a_good_line_is_a_beneficiary_and_each_defect_has_its_reason() -> None:
    parsed = parse_line(line())
    assert not isinstance(parsed, Reason) and parsed.ins == ADULT and parsed.channel is Channel.MAIL
    wrong_key = ADULT[:13] + f"{(int(ADULT[13:]) % 97) + 1:02d}"
    assert parse_line(line(wrong_key)) is Reason.INVALID_INS
    assert parse_line(line(sex=2)) is Reason.INVALID_INS  # the INS's first digit says 1
    assert parse_line(b"{nope") is Reason.NOT_JSON
    assert parse_line(b"[1, 2]") is Reason.NOT_JSON
    assert parse_line(line(birth_date="1er juin")) is Reason.INVALID_FIELDS
    assert parse_line(line(unexpected="x")) is Reason.INVALID_FIELDS
    assert parse_line(line(email="not-an-address")) is Reason.INVALID_FIELDS
    assert parse_line(b"{" + b" " * 5000 + b"}") is Reason.TOO_LONG
    assert parse_line(line(email=None)) is Reason.NO_CONTACT
    assert parse_line(line(legal_representative_ins="123")) is Reason.INVALID_REPRESENTATIVE_INS
    assert parse_line(line(legal_representative_ins=ADULT)) is Reason.INVALID_REPRESENTATIVE_INS


def test_the_code_goes_by_email_else_sms_else_letter() -> None:
    address = {"lines": ["3 rue des Lilas"], "postal_code": "69003", "city": "Lyon"}
    by_mail = parse_line(line(mobile="+33612345678", postal_address=address))
    by_sms = parse_line(line(email=None, mobile="+33612345678", postal_address=address))
    by_letter = parse_line(line(email=None, postal_address=address))
    assert [getattr(p, "channel", None) for p in (by_mail, by_sms, by_letter)] == \
        [Channel.MAIL, Channel.SMS, Channel.LETTER]


def test_creation_is_six_weeks_after_and_codes_expire_per_channel_as_configured() -> None:
    policy = IntakePolicy()
    assert policy.creation_due(TODAY) == date(2027, 1, 12)
    assert policy.code_expires(NOW, Channel.LETTER) - policy.code_expires(NOW, Channel.MAIL) == timedelta(days=30)
    custom = IntakePolicy(objection_weeks=8, code_days={Channel.MAIL: 10, Channel.SMS: 5, Channel.LETTER: 40})
    assert custom.creation_due(TODAY) == date(2027, 1, 26)
    assert custom.code_expires(NOW, Channel.SMS) == NOW + timedelta(days=5)


def test_a_duplicate_ins_is_refused_on_its_second_line_only() -> None:
    refused = screen(numbered(line(), line(OTHER), line(email="second@example.org")), TODAY)
    assert [(r.line, r.reason) for r in refused] == [(3, Reason.DUPLICATE_INS)]


def test_a_minor_needs_a_representative_in_the_file_or_already_known() -> None:
    minor = line(CHILD, birth_date="2016-05-01", legal_representative_ins=ADULT)
    alone = line(CHILD, birth_date="2016-05-01")
    assert screen(numbered(minor, line()), TODAY) == []  # the representative is a line of the same file
    assert [r.reason for r in screen(numbered(minor), TODAY)] == [Reason.UNKNOWN_REPRESENTATIVE]
    assert screen(numbered(minor), TODAY, known={ADULT}) == []  # already has a space
    assert [r.reason for r in screen(numbered(alone), TODAY)] == [Reason.MINOR_WITHOUT_REPRESENTATIVE]
    # A representative whose own line is refused is not in the file.
    wrong = line(ADULT, sex=2)
    assert [r.reason for r in screen(numbered(minor, wrong), TODAY)] == [Reason.UNKNOWN_REPRESENTATIVE,
                                                                         Reason.INVALID_INS]
    # 18 on the day of the import: an adult, no representative needed.
    assert screen(numbered(line(CHILD, birth_date="2008-12-01")), TODAY) == []
    assert [r.reason for r in screen(numbered(line(CHILD, birth_date="2008-12-02")), TODAY)] == \
        [Reason.MINOR_WITHOUT_REPRESENTATIVE]


def test_shards_stay_within_the_job_partitions() -> None:
    assert {shard_of(with_key(f"18006751{n:05d}")) for n in range(200)} == set(range(32))


# ---- the import and the job over fakes -------------------------------------------------------------------------


class FakeStore:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.creation_mark: date | None = None

    def known(self, ins: list[str]) -> set[str]:
        return {i for i in ins if i in self.items}

    def informed(self, enrolment: Enrolment, code_digest: str, code_expires_at: datetime, channel: str,
                 shard: int) -> Any:
        return ("informed", enrolment, code_digest, channel, shard)

    def standing(self, ins: list[str]) -> Standing:
        return Standing(
            unsent={i for i in ins if self.items[i]["status"] == "informed" and self.items[i]["sent"] is None},
            erased={i for i in ins if self.items[i]["status"] == "erased" and "enrolment" not in self.items[i]})

    def refreshed(self, enrolment: Enrolment) -> Any:
        return ("refreshed", enrolment)

    def reissued(self, ins: str, code_digest: str, code_expires_at: datetime, channel: str, informed_at: datetime,
                 creation_due: date, shard: int) -> Any:
        return ("reissued", ins, code_digest, creation_due)

    def created(self, ins: str, at: datetime) -> Any:
        return ("created", ins)

    def mark_sent(self, ins: list[str], at: datetime) -> None:
        for i in ins:
            self.items[i]["sent"] = at

    def last_creation_day(self) -> date | None:
        return self.creation_mark

    def creation_dispatched(self, day: date) -> None:
        if self.creation_mark is None or self.creation_mark < day:
            self.creation_mark = day

    def due(self, day: date, shard: int, after: str | None, limit: int) -> tuple[list[str], str | None]:
        found = sorted(i for i, v in self.items.items() if v["status"] == "informed" and v["due"] == day
                       and v["shard"] == shard and (after is None or i > after))
        return found[:limit], (found[limit - 1] if len(found) > limit else None)


class FakeJournal:
    """Applies the staged tuples to the fake store, with the real store's conditions."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.traces: list[tuple[str, str]] = []

    def record_all(self, entries: Sequence[Entry]) -> dict[str, set[str]]:
        refused: dict[str, set[str]] = {}
        for entry in entries:
            staged: tuple[Any, ...] = entry.staged[0]  # type: ignore[assignment]  # FakeStore's tuples
            kind, rest = staged[0], staged[1:]
            if kind == "reissued":
                ins, digest, due = rest
                item = self.store.items[ins]
                if item["status"] != "informed" or item["sent"] is not None:
                    refused[ins] = {"space"}
                    continue
                item.update(digest=digest, due=due)
            elif kind == "refreshed":
                (enrolment,) = rest
                item = self.store.items[enrolment.ins]
                if item["status"] != "erased" or "enrolment" in item:
                    refused[enrolment.ins] = {"space"}
                    continue
                item["enrolment"] = enrolment
            elif kind == "informed":
                enrolment, digest, channel, shard = rest
                space = enrolment.space
                if space.ins in self.store.items:
                    refused[space.ins] = {"space"}
                    continue
                self.store.items[space.ins] = {"status": "informed", "due": space.creation_due, "shard": shard,
                                               "digest": digest, "channel": channel, "sent": None,
                                               "enrolment": enrolment}
            else:
                item = self.store.items[rest[0]]
                if item["status"] != "informed" or item["sent"] is None:
                    refused[rest[0]] = {"space"}
                    continue
                item["status"] = "open"
            self.traces.extend((entry.patient_ins, t.action.value) for t in entry.traces)
        return refused


class FakeFiles:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.reports: dict[str, str] = {}
        self.printed: dict[str, str] = {}

    def lines(self, key: str) -> tuple[str, Iterator[tuple[int, int, bytes]]]:
        data = self.files[key]

        def numbered() -> Iterator[tuple[int, int, bytes]]:
            offset = 0
            for n, raw in enumerate(data.split(b"\n")[:-1], start=1):
                yield n, offset, raw
                offset += len(raw) + 1

        return "v1", numbered()

    def read(self, key: str, version: str, start: int, end: int) -> bytes | None:
        return self.files[key][start:end] if version == "v1" else None

    def put_report(self, key: str, body: str) -> None:
        self.reports[key] = body

    def put_print(self, key: str, body: str) -> None:
        self.printed[key] = body


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, emails: list[Email]) -> int:
        self.sent.extend(emails)
        return 0


class FakeQueue:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send_all(self, bodies: list[str]) -> None:
        self.bodies.extend(bodies)

    def take(self) -> list[ChunkTask | CreationTask]:
        tasks = [Task.model_validate_json(b).task for b in self.bodies]
        self.bodies = []
        return tasks


def deps(chunk_lines: int = 2, creation_limit: int = 1000) -> tuple[OpeningDeps, FakeStore, FakeJournal, FakeFiles,
                                                                     FakeMailer, FakeQueue]:
    store = FakeStore()
    journal = FakeJournal(store)
    files, mailer, queue = FakeFiles(), FakeMailer(), FakeQueue()
    return (OpeningDeps(store=store, journal=journal, files=files, mailer=mailer, tasks=queue, clock=FixedClock(NOW),
                        chunk_lines=chunk_lines, creation_limit=creation_limit), store, journal, files, mailer, queue)


def run_all(d: OpeningDeps, queue: FakeQueue) -> None:
    while queue.bodies:
        for task in queue.take():
            if isinstance(task, ChunkTask):
                import_chunk(d, task)
            else:
                run_creation(d, task)


def test_a_file_is_split_into_chunks_that_inform_each_person_once_even_when_redelivered() -> None:
    d, store, journal, files, mailer, queue = deps(chunk_lines=2)
    people = [with_key(f"1800675{n:06d}") for n in range(5)]
    files.files["intake/lot.ndjson"] = b"\n".join([line(people[0]), b"oops", line(people[1]), line(people[2]),
                                                    line(people[3]), line(people[4]), line(people[0])]) + b"\n"
    report = split_file(d, "intake/lot.ndjson")
    assert report is not None and report.chunks == 4 and report.accepted == 5
    assert [(r.line, r.reason) for r in report.refused] == [(2, Reason.NOT_JSON), (7, Reason.DUPLICATE_INS)]
    assert json.loads(files.reports["reports/lot.json"])["reasons"] == {"not_json": 1, "duplicate_ins": 1}
    tasks = queue.take()
    assert [t.skip for t in tasks if isinstance(t, ChunkTask)] == [[2], [], [], [7]]
    for task in tasks + tasks:  # every chunk delivered twice
        assert isinstance(task, ChunkTask)
        import_chunk(d, task)
    assert sorted(store.items) == sorted(people)
    assert len(mailer.sent) == 5 and len({e.address for e in mailer.sent}) == 1
    assert journal.traces.count((people[0], "space.informed")) == 1
    code_in_mail = mailer.sent[0].data["code"]
    owner = next(i for i in people if store.items[i]["digest"] == codes.code_digest(i, code_in_mail))
    assert owner in people  # the e-mailed code matches the stored hash of its own person
    assert mailer.sent[0].data["creation_day"] == "12 janvier 2027"
    assert split_file(d, "elsewhere/lot.ndjson") is None


def test_the_job_opens_due_spaces_in_bounded_steps_and_leaves_opposed_ones() -> None:
    d, store, journal, files, _, queue = deps(chunk_lines=100, creation_limit=2)
    # five in one shard, two a task: the shard's task queues its own continuation
    people = [p for p in (with_key(f"1800675{n:06d}") for n in range(400)) if shard_of(p) == 0][:5]
    files.files["intake/lot.ndjson"] = b"\n".join(line(p) for p in people) + b"\n"
    split_file(d, "intake/lot.ndjson")
    run_all(d, queue)
    store.items[people[1]]["status"] = "opposed"
    due = IntakePolicy().creation_due(TODAY)
    assert dispatch_creation(d, due) == [due] and len(queue.bodies) == 32
    run_all(d, queue)
    assert [store.items[p]["status"] for p in people] == ["open", "opposed", "open", "open", "open"]
    dispatch_creation(d, due)
    run_all(d, queue)
    assert sum(1 for _, action in journal.traces if action == "space.created") == 4
    dispatch_creation(d, due - timedelta(days=1))  # another day: nothing of theirs
    run_all(d, queue)
    assert sum(1 for _, action in journal.traces if action == "space.created") == 4


def test_days_the_schedule_missed_are_dispatched_by_the_next_run_at_most_a_week_back() -> None:
    d, store, journal, files, _, queue = deps()
    people = [with_key(f"1800675{n:06d}") for n in range(3)]
    files.files["intake/lot.ndjson"] = b"\n".join(line(p) for p in people) + b"\n"
    split_file(d, "intake/lot.ndjson")
    run_all(d, queue)
    due = IntakePolicy().creation_due(TODAY)
    assert dispatch_creation(d, due - timedelta(days=1)) == [due - timedelta(days=1)]  # the last run before
    queue.take()
    # no run on the day they were due, nor the day after: the next run opens them
    days = dispatch_creation(d, due + timedelta(days=1))
    assert days == [due, due + timedelta(days=1)] and len(queue.bodies) == 64
    run_all(d, queue)
    assert [store.items[p]["status"] for p in people] == ["open"] * 3
    assert sum(1 for _, action in journal.traces if action == "space.created") == 3
    # an operator re-running an older day sends that day only and leaves the mark where it is
    assert dispatch_creation(d, due) == [due] and len(queue.bodies) == 32
    queue.take()
    assert store.creation_mark == due + timedelta(days=1)
    # a month without a run: the next one goes back a week (CATCH_UP_DAYS), older days are an operator's re-run
    later = due + timedelta(days=31)
    assert dispatch_creation(d, later) == [later - timedelta(days=n) for n in range(CATCH_UP_DAYS, -1, -1)]
    assert len(queue.bodies) == 32 * (CATCH_UP_DAYS + 1) and store.creation_mark == later


def test_a_space_whose_information_never_left_is_not_created_until_a_redelivery_sends_a_new_code() -> None:
    d, store, _, files, mailer, queue = deps()
    files.files["intake/lot.ndjson"] = line() + b"\n" + line(OTHER) + b"\n"
    split_file(d, "intake/lot.ndjson")
    (task,) = queue.take()
    assert isinstance(task, ChunkTask)
    import_chunk(d, task)
    store.items[ADULT]["sent"] = None  # a crash between the commit and the send
    due = IntakePolicy().creation_due(TODAY)
    report = run_creation(d, CreationTask(day=due, shard=shard_of(ADULT)))
    assert (report.opened, report.refused) == (0, 1) and store.items[ADULT]["status"] == SpaceStatus.INFORMED.value
    # The task is redelivered: the unsent person gets a new code (the old one was never seen), the other nothing.
    mailer.sent.clear()
    again = import_chunk(d, task)
    assert (again.informed, again.reissued, again.already) == (1, 1, 1)
    (email,) = mailer.sent
    assert store.items[ADULT]["digest"] == codes.code_digest(ADULT, email.data["code"])
    assert store.items[ADULT]["sent"] is not None
    assert run_creation(d, CreationTask(day=due, shard=shard_of(ADULT))).opened == 1


def test_an_imported_space_keeps_what_enrolment_checks_later() -> None:
    """The names (the proof of opposition names the person), the address (a new code by letter) and a minor's
    representative (who alone may activate or oppose for the child) go into the space the import creates."""
    d, store, _, files, _, queue = deps(chunk_lines=100)
    address = {"lines": ["3 rue des Lilas", "Bâtiment B"], "postal_code": "69003", "city": "Lyon"}
    files.files["intake/lot.ndjson"] = b"\n".join([
        line(ADULT, email=None, postal_address=address),
        line(CHILD, first_name="Léa", birth_date="2016-05-01", legal_representative_ins=ADULT)]) + b"\n"
    split_file(d, "intake/lot.ndjson")
    run_all(d, queue)
    adult: Enrolment = store.items[ADULT]["enrolment"]
    child: Enrolment = store.items[CHILD]["enrolment"]
    assert adult.display_name == "Paul Martin" and adult.representative_ins is None
    assert adult.postal_address == "3 rue des Lilas\nBâtiment B\n69003 Lyon"
    assert child.display_name == "Léa Martin" and child.representative_ins == ADULT and child.postal_address is None


def test_an_erased_persons_line_gives_the_tombstone_their_identity_once_and_neither_informs_nor_creates() -> None:
    """B.1: once the deletion is done the holder may activate again; the insurer's next file is where their
    identity comes from. Nothing is sent and nothing is scheduled: they closed their space."""
    d, store, journal, files, mailer, queue = deps(chunk_lines=100)
    store.items[ADULT] = {"status": "erased", "due": None, "shard": 0, "digest": None, "channel": None, "sent": None}
    files.files["intake/lot.ndjson"] = line(ADULT) + b"\n" + line(OTHER, email="other@example.org") + b"\n"
    for _ in range(2):  # the same file twice
        split_file(d, "intake/lot.ndjson")
        run_all(d, queue)
    refreshed: Enrolment = store.items[ADULT]["enrolment"]
    assert refreshed.space.status is SpaceStatus.ERASED and refreshed.space.birth_date == date(1980, 6, 1)
    assert refreshed.display_name == "Paul Martin" and refreshed.space.email == "paul@example.org"
    assert journal.traces.count((ADULT, "space.identity_received")) == 1
    assert [e.address for e in mailer.sent] == ["other@example.org"]  # OTHER's information only
    assert (ADULT, "space.informed") not in journal.traces
    dispatch_creation(d, IntakePolicy().creation_due(TODAY))
    run_all(d, queue)
    assert store.items[ADULT]["status"] == "erased" and store.items[OTHER]["status"] == "open"


def test_the_creation_job_role_is_limited_to_the_mark_the_store_writes() -> None:
    """infra grants the daily dispatch its one spaces item by key (dynamodb:LeadingKeys): the same key."""
    from functions.accounts.storage import CREATION_MARK
    from infra import constants as c

    assert c.CREATION_MARK == CREATION_MARK
