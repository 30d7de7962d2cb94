"""The erasure's order and its refusals (functions/accounts/erasure.py) over in-memory stores: the data key is
destroyed before anything else, every capability's eraser runs, then the tombstone and the holder's e-mail; a space
reopened meanwhile, not yet due, or already erased is left alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from functions.accounts.erasure import (
    ErasureDeps,
    dispatch_due_erasures,
    erase_due_spaces,
    erase_space,
    handle_erasure_requests,
)
from functions.accounts.models import DeletionState, Space, SpaceStatus
from functions.notifications.models import Email
from functions.shared.clock import FixedClock

INS = "284067512345688"
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@dataclass
class Log:
    steps: list[str] = field(default_factory=list)


@dataclass
class Spaces:
    log: Log
    spaces: dict[str, Space]
    reopen_on_start: bool = False

    def get(self, ins: str) -> Space | None:
        return self.spaces.get(ins)

    def start_erasure(self, space: Space) -> Space | None:
        if self.reopen_on_start:
            return None
        self.log.steps.append("running")
        running = space.model_copy(update={"deletion": DeletionState.RUNNING})
        self.spaces[space.ins] = running
        return running

    def due_for_erasure(self, day: str) -> Iterator[str]:
        return iter([INS] if day == "2026-12-01" else [])

    def tombstone(self, space: Space, at: datetime, reference: str) -> None:
        self.log.steps.append("tombstone")
        self.spaces[space.ins] = Space(ins=space.ins, status=SpaceStatus.ERASED, created_at=at, erased_at=at,
                                       erasure_reference=reference)


@dataclass
class Keys:
    log: Log

    def data_key(self, ins: str) -> bytes:
        return b"k" * 32

    def destroy(self, ins: str) -> None:
        self.log.steps.append("key destroyed")


@dataclass
class Eraser:
    log: Log
    name: str

    def erase_space(self, ins: str) -> int:
        self.log.steps.append(self.name)
        return 3


@dataclass
class Mailer:
    log: Log
    sent: list[Email] = field(default_factory=list)

    def send(self, emails: list[Email]) -> int:
        self.log.steps.append("e-mail")
        self.sent.extend(emails)
        return 0


def setup(space: Space, reopen_on_start: bool = False) -> tuple[ErasureDeps, Log, Spaces, Mailer]:
    log = Log()
    spaces = Spaces(log, {space.ins: space}, reopen_on_start)
    mailer = Mailer(log)
    deps = ErasureDeps(directory=spaces, lifecycle=spaces, keys=Keys(log),  # type: ignore[arg-type]
                       erasers=[Eraser(log, "records"), Eraser(log, "journal")], clock=FixedClock(NOW), mailer=mailer)
    return deps, log, spaces, mailer


def closed(**over: object) -> Space:
    fields: dict[str, object] = {"ins": INS, "status": SpaceStatus.CLOSED, "created_at": NOW, "closed_at": NOW,
                                 "archive_until": date(2036, 12, 1), "deletion": DeletionState.REQUESTED,
                                 "deletion_due": date(2026, 12, 1), "email": "a.effacer@example.org"}
    fields.update(over)
    return Space.model_validate(fields)


def test_the_key_goes_first_then_every_eraser_then_the_tombstone_then_the_holder_is_told() -> None:
    deps, log, spaces, mailer = setup(closed())
    report = erase_space(deps, INS)
    assert log.steps == ["running", "key destroyed", "records", "journal", "tombstone", "e-mail"]
    assert (report.erased, report.removed) == (1, 6)
    tomb = spaces.spaces[INS]
    assert tomb.status is SpaceStatus.ERASED and tomb.email is None and tomb.erasure_reference
    assert [e.address for e in mailer.sent] == ["a.effacer@example.org"]
    assert mailer.sent[0].data == {"day": "01/12/2026", "reference": tomb.erasure_reference}


def test_an_erased_a_reopened_or_a_not_yet_due_space_is_left_alone() -> None:
    for space, reopening in ((closed(deletion_due=date(2026, 12, 2)), False),
                             (closed(status=SpaceStatus.OPEN, deletion=None, deletion_due=None, closed_at=None,
                                     archive_until=None), False),
                             (closed(), True)):
        deps, log, _, _ = setup(space, reopen_on_start=reopening)
        assert erase_space(deps, INS).skipped == 1
        assert "key destroyed" not in log.steps
    deps, log, _, _ = setup(closed())
    erase_space(deps, INS)
    assert erase_space(deps, INS).skipped == 1  # the tombstone: once only


def test_a_closed_space_without_deletion_is_erased_when_its_archive_ends() -> None:
    deps, log, _, _ = setup(closed(deletion=None, deletion_due=None, archive_until=date(2026, 12, 1)))
    assert erase_due_spaces(deps, date(2026, 12, 1)).erased == 1
    assert log.steps[:2] == ["running", "key destroyed"]


def test_the_queue_consumer_erases_each_named_space_and_drops_malformed_messages() -> None:
    deps, _, spaces, _ = setup(closed())
    event = {"Records": [{"body": json.dumps({"space": INS})}, {"body": "not json"}, {"body": '{"other": 1}'}]}
    assert handle_erasure_requests(deps, event) == {"erased": 1, "skipped": 0}
    assert spaces.spaces[INS].status is SpaceStatus.ERASED


@dataclass
class Queue:
    batches: list[list[str]] = field(default_factory=list)

    def request_erasures(self, spaces: list[str]) -> None:
        self.batches.append(list(spaces))


@dataclass
class DueIndex:
    days: dict[str, list[str]]

    def due_for_erasure(self, day: str) -> Iterator[str]:
        return iter(self.days.get(day, []))


def test_the_daily_dispatch_queues_every_space_due_that_day_or_the_week_before_in_batches_of_ten() -> None:
    index = DueIndex({"2026-12-01": [f"today-{n}" for n in range(12)], "2026-11-24": ["a-week-ago"],
                      "2026-11-23": ["eight-days-ago"], "2026-12-02": ["tomorrow"]})
    queue = Queue()
    sent = dispatch_due_erasures(index, queue, date(2026, 12, 1))  # type: ignore[arg-type]
    assert sent == 13 and [len(b) for b in queue.batches] == [10, 3]
    assert queue.batches[0][0] == "a-week-ago"  # the oldest first
    assert {s for b in queue.batches for s in b} == {"a-week-ago", *(f"today-{n}" for n in range(12))}
    assert dispatch_due_erasures(DueIndex({}), queue, date(2026, 12, 1)) == 0  # type: ignore[arg-type]


def test_the_deployed_consumer_reports_a_failed_erasure_alone_and_the_retry_finishes_it() -> None:
    from dataclasses import replace

    from functions.accounts.worker import handle_erasure_events
    from local.pump import LambdaContext

    deps, _, spaces, _ = setup(closed())

    class Failing:
        def erase_space(self, ins: str) -> int:
            raise RuntimeError("throttled")

    def record(message_id: str, body: str) -> dict[str, object]:
        return {"messageId": message_id, "body": body, "receiptHandle": "r", "attributes": {},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "eu-west-3",
                "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:mes-erasures"}

    event = {"Records": [record("m-1", json.dumps({"space": INS})), record("m-2", "not json: dropped")]}
    failed = handle_erasure_events(replace(deps, erasers=[Failing()]), event, LambdaContext())
    assert failed == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}  # retried alone; m-2 is done with
    assert spaces.spaces[INS].deletion is DeletionState.RUNNING  # left running: reopening refuses, a retry resumes
    assert handle_erasure_events(deps, event, LambdaContext()) == {"batchItemFailures": []}
    assert spaces.spaces[INS].status is SpaceStatus.ERASED
