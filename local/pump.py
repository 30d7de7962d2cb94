"""Plays Lambda's SQS event source against moto: receive a batch, hand the handler a real-shaped event, delete
what succeeded, leave the failed ones for redelivery (and, past maxReceiveCount, moto's redrive to the DLQ)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from functions.shared.observability import logger
from local.config import ACCOUNT, REGION

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    function_name: str = "local"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    } for m in messages]}


class QueuePump:
    def __init__(self, sqs: Any, queue_name: str, handler: Handler, retry_delay_seconds: int = 0) -> None:
        self._sqs = sqs
        self._url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        self._arn = sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"]
        self._handler = handler
        self._retry_delay = retry_delay_seconds

    def poll_once(self, wait_seconds: int = 0) -> int:
        """One batch; returns how many messages were received."""
        messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds,
                                             AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return 0
        try:
            result = self._handler(sqs_event(messages, self._arn), LambdaContext()) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:  # the whole batch failed: Lambda would retry every record
            logger.exception("batch failed")
            failed = {m["MessageId"] for m in messages}
        for m in messages:
            if m["MessageId"] in failed:
                self._sqs.change_message_visibility(QueueUrl=self._url, ReceiptHandle=m["ReceiptHandle"],
                                                    VisibilityTimeout=self._retry_delay)
            else:
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages)

    def drain(self, max_batches: int = 50) -> None:
        """Until the queue is empty (tests call this to make asynchronous steps deterministic)."""
        for _ in range(max_batches):
            if self.poll_once() == 0:
                return

    def run_forever(self) -> None:
        while True:
            try:
                self.poll_once(wait_seconds=1)
            except Exception:
                logger.exception("queue pump error")
                time.sleep(1)


def erasure_consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The erasures queue's consumer: the deployed handler (app.on_erasure_request), as the bench runs it."""
    import app as api

    answer: dict[str, Any] = api.on_erasure_request(event, context)
    return answer


def on_date_change(run: Callable[[Any], Any], what: str, poll_seconds: float) -> None:
    """A thread of `make run` standing in for a daily schedule: `run(today)` at start, then each time the Paris
    date changes; a failed run is logged and tried again at the next poll."""
    from functions import deps
    from functions.shared.clock import paris_day

    last = None
    while True:
        today = paris_day(deps.clock().now())
        if today != last:
            try:
                run(today)
                last = today
            except Exception:
                logger.exception(f"{what} failed")
        time.sleep(poll_seconds)
