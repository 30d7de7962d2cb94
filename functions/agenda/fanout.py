"""The daily fan-out. The schedule dispatches one task per shard (SendMessageBatch, 10 a call); each shard task
reads its `DUE#<day>#<shard>` partition with Query pages and packs the entries into delivery messages of about
`batch_size` reminders (never splitting one person's), sent 10 messages a call. Re-running a day or a shard only
re-sends work the workers recognise as done (the notification key is the once-only marker)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from functions.agenda.models import DueEntry, dispatch_day

# SqsQueue lives in functions/shared/queues.py (the intake's tasks use it too); re-exported for the agenda's callers
from functions.shared.queues import SQS_BATCH as SQS_BATCH
from functions.shared.queues import SqsQueue as SqsQueue


class ShardTask(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    shard: int = Field(ge=0)


MAX_ENTRIES = 500


class DeliveryBatch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    entries: list[DueEntry] = Field(min_length=1, max_length=MAX_ENTRIES)


class Queue(Protocol):
    def send_all(self, bodies: list[str]) -> None: ...


class DueIndex(Protocol):
    def shard(self, day: date, shard: int) -> Iterator[list[DueEntry]]: ...


def dispatch(queue: Queue, day: date, shards: int) -> int:
    """One task per shard of the day."""
    queue.send_all([ShardTask(day=day, shard=s).model_dump_json() for s in range(shards)])
    return shards


def _compact(entry: DueEntry) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(entry.model_dump_json(exclude_defaults=True, exclude={"day"}))
    return data


def run_shard(index: DueIndex, queue: Queue, task: ShardTask, batch_size: int) -> int:
    """Returns how many reminders were queued for delivery."""
    bodies: list[str] = []
    count = 0
    current: list[dict[str, Any]] = []

    def close() -> None:
        if current:
            bodies.append(json.dumps({"day": task.day.isoformat(), "entries": current}, separators=(",", ":")))

    owner: str | None = None
    for page in index.shard(task.day, task.shard):
        for entry in page:
            # a person's entries are adjacent (sort key `<ins>#<item>`): a message closes between two people, so
            # one delivery holds all of a person's reminders of the day and sends them one e-mail; a message may
            # pass `batch_size` to finish a person, never DeliveryBatch's limit
            if current and (len(current) >= MAX_ENTRIES or (len(current) >= batch_size and entry.owner_ins != owner)):
                close()
                current = []
            current.append({**_compact(entry), "day": task.day.isoformat()})
            owner = entry.owner_ins
            count += 1
        if len(bodies) >= SQS_BATCH:
            queue.send_all(bodies)
            bodies = []
    close()
    if bodies:
        queue.send_all(bodies)
    return count


def dispatch_scheduled(queue: Queue, at: datetime, shards: int) -> date | None:
    """The schedule fires at 05:00 and 06:00 UTC; only the tick that is 07:00 in Paris dispatches (see models)."""
    day = dispatch_day(at)
    if day is not None:
        dispatch(queue, day, shards)
    return day
