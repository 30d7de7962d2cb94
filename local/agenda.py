"""The daily reminder run, locally: dispatch a day's shard tasks, then drain the shard and delivery queues
through the same handlers Lambda runs. `make run` ticks by itself when the Paris date changes."""

from __future__ import annotations

from datetime import date

from local import config
from local.pump import QueuePump, on_date_change


def pumps(retry_delay_seconds: int = 0) -> tuple[QueuePump, QueuePump]:
    import app as api
    from functions.shared.aws import client

    sqs = client("sqs", config.REGION)
    return (QueuePump(sqs, config.AGENDA_SHARD_QUEUE, api.on_agenda_shard, retry_delay_seconds),
            QueuePump(sqs, config.AGENDA_DELIVERY_QUEUE, api.on_agenda_delivery, retry_delay_seconds))


def tick(day: date | None = None, drain: bool = True) -> str:
    from functions import deps
    from functions.agenda.fanout import dispatch
    from functions.shared.clock import paris_day
    from functions.shared.settings import settings

    day = day or paris_day(deps.clock().now())
    shards = dispatch(deps.agenda_shard_queue(), day, settings().agenda_shards)
    if drain:
        shard_pump, delivery_pump = pumps()
        shard_pump.drain(max_batches=shards + 5)
        delivery_pump.drain(max_batches=10_000)
    return f"reminders of {day.isoformat()} dispatched over {shards} shards"


def tick_on_date_change(poll_seconds: float = 30.0) -> None:
    """A thread of `make run`: the first tick is for today, then one each time the Paris date changes (the running
    pumps deliver)."""
    on_date_change(lambda today: tick(today, drain=False), "daily tick", poll_seconds)
