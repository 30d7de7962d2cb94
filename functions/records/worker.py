"""The upload verifier as an SQS consumer: one S3 notification per message, partial batch responses, so a poison
message is retried alone and ends in the dead-letter queue while the rest of its batch succeeds."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.records.events import created_objects
from functions.records.ports import HeldUploads
from functions.records.service import RecordDeps, verify_upload
from functions.shared.observability import correlate, logger


def handle_upload_events(deps: RecordDeps, quarantine_bucket: str, event: dict[str, Any],
                         context: Any, held: HeldUploads[Any] | None = None) -> dict[str, Any]:
    """`held`: the uploads another capability declared under its prefix (message attachments)."""

    def verify(record: SQSRecord) -> None:
        correlate(record.message_id)
        for bucket, key in created_objects(record.body):
            if bucket != quarantine_bucket:
                logger.warning("ignored notification from an unexpected bucket")
                continue
            outcome = verify_upload(deps, key, held)
            logger.info("upload event handled", extra={"outcome": outcome.value, "message_id": record.message_id})

    response = process_partial_response(event=event, record_handler=verify,
                                        processor=BatchProcessor(event_type=EventType.SQS), context=context)
    return dict(response)
