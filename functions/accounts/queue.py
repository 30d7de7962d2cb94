"""SQS adapter of `functions.accounts.closure.ErasureRequests`: a deletion due at once is one message to the
erasure queue (app.py's consumer runs `functions.accounts.erasure.erase_space`); the daily job catches up."""

from __future__ import annotations

import json
from typing import Any


class SqsErasureRequests:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def request_erasure(self, ins: str) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps({"space": ins}))


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
