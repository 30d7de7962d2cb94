"""The erasure locally: the `erasure-daily` schedule as `make run` and `python -m local erasure-daily` run it (the
day's due spaces sent onto the erasures queue through the deployed handler), then the queue pumped through the
deployed consumer (`app.on_erasure_request`). `make run` runs the day once at start and again when the Paris
date changes; its pump erases what the closure queues at once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from local import config
from local.pump import LambdaContext, QueuePump, on_date_change


def pump(retry_delay_seconds: int = 0) -> QueuePump:
    import app as api
    from functions.shared.aws import client

    return QueuePump(client("sqs", config.REGION), config.ERASURE_QUEUE, api.on_erasure_request, retry_delay_seconds)


def daily(day: date | None = None, drain: bool = True) -> dict[str, Any]:
    """Run the schedule's handler for `day` (default: today in Paris) at 02:30 UTC, as EventBridge would."""
    import app as api
    from functions import deps
    from functions.shared.clock import paris_day

    day = day or paris_day(deps.clock().now())
    at = datetime(day.year, day.month, day.day, 2, 30, tzinfo=UTC)
    event = {"version": "0", "id": "local", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": config.ACCOUNT, "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": config.REGION,
             "resources": [f"arn:aws:events:{config.REGION}:{config.ACCOUNT}:rule/erasure-daily"], "detail": {}}
    answer: dict[str, Any] = api.erasure_daily(event, LambdaContext())
    if drain:
        pump().drain(max_batches=answer["requested"] + 5)
    return answer


def daily_on_date_change(poll_seconds: float = 60.0) -> None:
    """A thread of `make run`: today's run at start, then one each time the Paris date changes (the running pump
    erases)."""
    on_date_change(lambda today: daily(today, drain=False), "daily erasure run", poll_seconds)
