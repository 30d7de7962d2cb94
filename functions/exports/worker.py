"""The export queue's consumer: one message per holder export (powertools batch processing: a failed build goes
back to the queue and, after its retries, to the dead letters)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel

from functions.exports.service import ExportDeps, build_export
from functions.shared.batch import failure_logged
from functions.shared.observability import correlate, logger


class ExportTask(BaseModel):
    ins: str
    export_id: str


def handle_exports(deps: ExportDeps, event: dict[str, Any], context: Any) -> dict[str, Any]:
    def record_handler(record: SQSRecord) -> None:
        correlate(record.message_id)
        with failure_logged("export build failed", record.message_id):
            task = ExportTask.model_validate_json(record.body)
            built = build_export(deps, task.ins, task.export_id)
        logger.info("export built" if built else "export already built or replaced",
                    extra={"message_id": record.message_id,
                           "bytes": sum(p.size for p in built.parts) if built else 0})

    response = process_partial_response(event=event, record_handler=record_handler,
                                        processor=BatchProcessor(event_type=EventType.SQS), context=context)
    return dict(response)
