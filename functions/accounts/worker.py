"""The accounts-tasks queue's consumer. One queue carries three kinds of message, told apart by shape: the intake
bucket's S3 notifications (a new beneficiaries file: split it), and the two task kinds of
`functions.accounts.opening.Task` (import a chunk, open a shard of the day's spaces). Partial batch responses: a
failing message is retried alone, then parked in the dead-letter queue; every step is once-only, so a retry
creates and sends nothing twice."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.accounts.opening import ChunkTask, OpeningDeps, Task, import_chunk, run_creation, split_file
from functions.shared.observability import correlate, logger
from functions.shared.s3events import created_objects

if TYPE_CHECKING:
    from functions.accounts.erasure import ErasureDeps


def handle(deps: OpeningDeps, intake_bucket: str, body: str) -> None:
    """One message: an S3 notification (the test event included) or a task."""
    raw = json.loads(body)
    if isinstance(raw, dict) and ("Records" in raw or raw.get("Event") == "s3:TestEvent"):
        for bucket, key in created_objects(body):
            if bucket != intake_bucket:
                logger.warning("ignored notification from an unexpected bucket")
                continue
            report = split_file(deps, key)
            if report is None:
                logger.info("ignored object outside intake/*.ndjson")
        return
    task = Task.model_validate(raw).task
    if isinstance(task, ChunkTask):
        chunk = import_chunk(deps, task)
        logger.info("intake chunk imported", extra={"first_line": task.first_line, **chunk.model_dump()})
    else:
        created = run_creation(deps, task)
        logger.info("creation shard run", extra={"day": task.day.isoformat(), "shard": task.shard,
                                                 **created.model_dump()})


def handle_tasks(deps: OpeningDeps, intake_bucket: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
    def record_handler(record: SQSRecord) -> None:
        correlate(record.message_id)
        handle(deps, intake_bucket, record.body)

    response = process_partial_response(event=event, record_handler=record_handler,
                                        processor=BatchProcessor(event_type=EventType.SQS), context=context)
    return dict(response)


def handle_erasure_events(deps: ErasureDeps, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The erasures queue's consumer (app.py `on_erasure_request`): one space a message (`{"space": <ins>}`, sent
    by the closure for a deletion due at once and by the daily dispatch). A failing erasure is retried alone (it
    resumes: every step is idempotent), then parked in the dead-letter queue; a malformed body is dropped."""
    from functions.accounts.erasure import erase_space
    from functions.accounts.queue import requested_spaces
    from functions.shared.batch import failure_logged

    def record_handler(record: SQSRecord) -> None:
        correlate(record.message_id)
        for ins in requested_spaces({"Records": [{"body": record.body}]}):
            with failure_logged("erasure failed", record.message_id):
                done = erase_space(deps, ins)
            logger.info("erasure request handled", extra={"message_id": record.message_id, **done.model_dump()})

    response = process_partial_response(event=event, record_handler=record_handler,
                                        processor=BatchProcessor(event_type=EventType.SQS), context=context)
    return dict(response)
