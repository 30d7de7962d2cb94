"""The inbound mail as an SQS consumer: one S3 notification per record (ObjectCreated under `incoming/` of the
inbound-mail bucket), partial batch responses, so a failing mail is retried alone and ends in the dead-letter
queue while the rest of its batch lands. A mail that landed (in at least one mailbox, or had already landed) is
deleted from the bucket; one refused everywhere is moved under `rejected/<reason>/` for 30 days."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.messaging.inbound import InboundDeps, receive_mail
from functions.messaging.ports import InboundMailObjects
from functions.shared.names import INBOUND_MAIL_PREFIX
from functions.shared.observability import correlate, logger
from functions.shared.s3events import created_objects


def handle_inbound_mail(deps: InboundDeps, objects: InboundMailObjects, bucket_name: str, event: dict[str, Any],
                        context: Any) -> dict[str, Any]:
    def receive(record: SQSRecord) -> None:
        correlate(record.message_id)
        for bucket, key in created_objects(record.body):
            if bucket != bucket_name or not key.startswith(INBOUND_MAIL_PREFIX):
                logger.warning("ignored notification from an unexpected bucket or prefix")
                continue
            fetched = objects.fetch(key, deps.limits.max_message_bytes + 1)
            if fetched is None:
                logger.info("inbound mail already handled", extra={"message_id": record.message_id})
                continue
            report = receive_mail(deps, *fetched)
            if report.refused and not (report.delivered or report.duplicates):
                objects.rejected(key, report.refused[0].value)
            else:
                objects.processed(key)
            logger.info("inbound mail handled", extra={
                "delivered": report.delivered, "duplicates": report.duplicates,
                "refused": [r.value for r in report.refused], "message_id": record.message_id})

    response = process_partial_response(event=event, record_handler=receive,
                                        processor=BatchProcessor(event_type=EventType.SQS), context=context)
    return dict(response)
