"""What every SQS consumer shares: a failed record logged by its exception's type and AWS error code before
powertools turns it into a batchItemFailures entry (powertools logs nothing of it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pynamodb.exceptions import PynamoDBException

from functions.shared.dynamo import error_code
from functions.shared.observability import logger


@contextmanager
def failure_logged(message: str, message_id: str) -> Iterator[None]:
    """Say which exception it was (its type and, for AWS errors, the error code; never its text, which may quote
    identifiers or data), then let it propagate so the record is retried."""
    try:
        yield
    except Exception as exc:
        cause = getattr(exc, "cause", None) or exc.__cause__
        code = error_code(exc) if isinstance(exc, PynamoDBException) else None
        logger.error(message, extra={"message_id": message_id, "error_type": type(exc).__name__,
                                     "cause_type": type(cause).__name__ if cause is not None else None,
                                     "aws_error_code": code})
        raise
