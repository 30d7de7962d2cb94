"""SQS adapter of `functions.accounts.closure.ErasureRequests`: a deletion due at once is one message to the
erasure queue (app.py's consumer runs `functions.accounts.erasure.erase_space`); the daily job catches up."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


class SqsErasureRequests:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def request_erasure(self, ins: str) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps({"space": ins}))

    def request_erasures(self, spaces: Sequence[str]) -> None:
        """Up to 10 requests in one SendMessageBatch (the daily dispatch); a refused entry fails the run, which
        Lambda retries (a space sent twice is erased once)."""
        answer = self._sqs.send_message_batch(QueueUrl=self._url, Entries=[
            {"Id": str(n), "MessageBody": json.dumps({"space": ins})} for n, ins in enumerate(spaces)])
        if answer.get("Failed"):
            raise RuntimeError(f"{len(answer['Failed'])} erasure requests were not queued")


def requested_spaces(event: dict[str, Any]) -> list[str]:
    """The spaces named by an SQS batch of erasure requests (malformed bodies are dropped)."""
    found = []
    for record in event.get("Records", []):
        try:
            space = json.loads(record["body"]).get("space")
        except (ValueError, KeyError, AttributeError):
            continue
        if isinstance(space, str):
            found.append(space)
    return found
