"""Sending many messages to one SQS queue: SendMessageBatch, 10 a call (the agenda's fan-out, the intake's tasks)."""

from __future__ import annotations

from typing import Any

SQS_BATCH = 10


class SqsQueue:
    """SendMessageBatch, 10 messages a call; entries SQS reports as failed are sent again once, then it raises
    (the caller's record is retried: duplicates downstream are harmless, losses are not)."""

    def __init__(self, sqs: Any, url: str) -> None:
        self._sqs = sqs
        self._url = url

    def send_all(self, bodies: list[str]) -> None:
        for start in range(0, len(bodies), SQS_BATCH):
            batch = {str(i): body for i, body in enumerate(bodies[start:start + SQS_BATCH])}
            for _attempt in range(2):
                entries = [{"Id": k, "MessageBody": v} for k, v in batch.items()]
                failed = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries).get("Failed", [])
                batch = {f["Id"]: batch[f["Id"]] for f in failed}
                if not batch:
                    break
            if batch:
                raise RuntimeError(f"{len(batch)} messages could not be queued")
