"""The Chalice app: the middleware, the SQS consumers and the schedules (their deployed names are pinned in
infra/constants.py), and one blueprint of routes per capability (chalicelib/routes/). The bearer authorizer is
declared in chalicelib/edge.py, where the route modules share it; it is re-exported here, its deployed handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Cron, Rate, Request, Response, SQSEvent

from chalicelib.edge import auth, bearer, json_response
from chalicelib.routes import BLUEPRINTS
from functions.shared import cors
from functions.shared.clock import instant
from functions.shared.http import RESPONSE_HEADERS, error_body
from functions.shared.names import (
    ACCOUNTS_TASK_QUEUE,
    AGENDA_DELIVERY_QUEUE,
    AGENDA_SHARD_QUEUE,
    ERASURE_QUEUE,
    EXPORT_QUEUE,
    INBOUND_MAIL_QUEUE,
    UPLOAD_EVENTS_QUEUE,
)

__all__ = ["app", "bearer"]

app = Chalice(app_name="mon-espace-sante", configure_logs=False)  # logs go through the JSON Logger
app.api.binary_types = []
app.register_blueprint(auth)
for blueprint in BLUEPRINTS:
    app.register_blueprint(blueprint)

_CHALICE_CODES = {"BadRequestError": "invalid_request", "NotFoundError": "not_found",
                  "MethodNotAllowedError": "method_not_allowed", "UnsupportedMediaType": "unsupported_media_type",
                  "InternalServerError": "internal_error"}


@app.middleware("http")
def correlate_and_normalise(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """One correlation id per request (API Gateway's request id) in every log line and the response headers;
    Chalice's own errors (unknown method, unsupported media type) rewritten to our {"error": ...} body; and every
    answer marked as never to be stored by a cache (health data) nor content-sniffed (RESPONSE_HEADERS); and the
    CORS headers for an allowed web origin (functions/shared/cors.py; preflights never reach the app)."""
    from functions.shared.observability import correlate

    correlation_id = correlate(event.context.get("requestId"))
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = _CHALICE_CODES.get(str(body["Code"]), "error")
        response = json_response(response.status_code, error_body(code, str(body.get("Message", ""))))
    response.headers["X-Correlation-Id"] = correlation_id
    response.headers.update(RESPONSE_HEADERS)
    response.headers.update(cors.response_headers(event.headers.get("origin"), cors.allowed_origins()))
    return response


# ---- records -------------------------------------------------------------------------------------------------


@app.schedule(Cron(0, 5, "*", "*", "?", "*"), name="invisible-patient-daily")
def invisible_patient_daily(event: CloudWatchEvent) -> dict[str, int]:
    """INVISIBLE_PATIENT documents: announcement reminders at 2 weeks, release at 1 month (06:00/07:00 Paris)."""
    from functions import deps
    from functions.records.service import run_invisible_patient_job
    from functions.shared.clock import paris_day

    return run_invisible_patient_job(deps.records(), paris_day(instant(event.time)))


@app.on_sqs_message(queue=UPLOAD_EVENTS_QUEUE, batch_size=10)
def on_upload_event(event: SQSEvent) -> dict[str, Any]:
    from functions import deps
    from functions.records.worker import handle_upload_events

    return handle_upload_events(deps.records(), deps.quarantine_bucket(), event.to_dict(), event.context,
                                deps.attachment_uploads())


# ---- daily reminders -----------------------------------------------------------------------------------------


@app.schedule(Cron(0, "5,6", "*", "*", "?", "*"), name="agenda-daily-dispatch")
def agenda_daily_dispatch(event: CloudWatchEvent) -> dict[str, Any]:
    """07:00 Europe/Paris every day, DST included: fires at 05:00 and 06:00 UTC, acts on the one that is 07:00."""
    from functions import deps
    from functions.agenda.fanout import dispatch_scheduled

    day = dispatch_scheduled(deps.agenda_shard_queue(), instant(event.time), deps.agenda_shards())
    return {"dispatched": day.isoformat() if day else None}


# ---- catalogue ------------------------------------------------------------------------------------------------


@app.schedule(Cron(0, 7, "*", "*", "?", "*"), name="catalogue-summaries")
def catalogue_summaries(event: CloudWatchEvent) -> dict[str, int]:
    """The day's every-90-days summaries of paired services (08:00 or 09:00 Paris), all shards in one run."""
    from functions import deps
    from functions.catalogue.summary import send_summaries
    from functions.shared.clock import paris_day

    return send_summaries(deps.catalogue_summaries(), paris_day(instant(event.time))).model_dump()


@app.on_sqs_message(queue=AGENDA_SHARD_QUEUE, batch_size=1)
def on_agenda_shard(event: SQSEvent) -> dict[str, Any]:
    from functions import deps
    from functions.agenda.worker import handle_shard_tasks

    return handle_shard_tasks(deps.due_index(), deps.agenda_delivery_queue(), deps.agenda_batch_size(),
                              event.to_dict(), event.context)


@app.on_sqs_message(queue=AGENDA_DELIVERY_QUEUE, batch_size=10)
def on_agenda_delivery(event: SQSEvent) -> dict[str, Any]:
    from functions import deps
    from functions.agenda.worker import handle_deliveries

    return handle_deliveries(deps.agenda_delivery(), event.to_dict(), event.context)


# ---- exports --------------------------------------------------------------------------------------------------


@app.on_sqs_message(queue=EXPORT_QUEUE, batch_size=1)
def on_export(event: SQSEvent) -> dict[str, Any]:
    """One holder's export a message: three ZIPs can take minutes, so one at a time per invocation."""
    from functions import deps
    from functions.exports.worker import handle_exports

    return handle_exports(deps.exports(), event.to_dict(), event.context)


# ---- messaging: mail that failed to leave --------------------------------------------------------------------


@app.schedule(Rate(5, unit=Rate.MINUTES), name="messaging-outbox-retry")
def messaging_outbox_retry(event: CloudWatchEvent) -> dict[str, int]:
    """Every 5 minutes: hand over again the patients' mail still in the outbox (a send that failed after its
    commit), and release the mail held for uploads whose deadline passed (those that never came are rejected);
    each mail's once-only key keeps one that did leave from leaving twice."""
    from functions import deps
    from functions.messaging.service import deliver_outbox

    return {"sent": deliver_outbox(deps.messaging())}


# ---- messaging: inbound mail ---------------------------------------------------------------------------------


@app.on_sqs_message(queue=INBOUND_MAIL_QUEUE, batch_size=10)
def on_inbound_mail(event: SQSEvent) -> dict[str, Any]:
    """A raw mail written under incoming/ of the inbound-mail bucket (SES, an MSSanté relay, the local SMTP)."""
    from functions import deps
    from functions.messaging.worker import handle_inbound_mail

    return handle_inbound_mail(deps.inbound_mail(), deps.inbound_mail_objects(), deps.inbound_mail_bucket(),
                               event.to_dict(), event.context)


# ---- opening by default --------------------------------------------------------------------------------------


@app.schedule(Cron(0, 3, "*", "*", "?", "*"), name="space-creation-daily")
def space_creation_daily(event: CloudWatchEvent) -> dict[str, Any]:
    """03:00 UTC (04:00 or 05:00 in Paris, the same Paris day either way): one creation task per shard of the day,
    and of the days a missed run left."""
    from functions import deps
    from functions.accounts.opening import dispatch_creation
    from functions.shared.clock import paris_day

    days = dispatch_creation(deps.opening(), paris_day(instant(event.time)))
    return {"days": [d.isoformat() for d in days]}


@app.on_sqs_message(queue=ACCOUNTS_TASK_QUEUE, batch_size=1)
def on_accounts_task(event: SQSEvent) -> dict[str, Any]:
    """A new beneficiaries file (S3 notification), an import chunk, or a creation shard: one at a time, each
    bounded (2 000 lines, 1 000 spaces)."""
    from functions import deps
    from functions.accounts.worker import handle_tasks

    return handle_tasks(deps.opening(), deps.intake_bucket(), event.to_dict(), event.context)


# ---- closure: erasure ------------------------------------------------------------------------------------------


@app.schedule(Cron(30, 2, "*", "*", "?", "*"), name="erasure-daily")
def erasure_daily(event: CloudWatchEvent) -> dict[str, Any]:
    """02:30 UTC (03:30 or 04:30 in Paris, the same Paris day): one erasure request per space due that day or the
    7 before (requested deletions, archives ending after 10 years) onto the erasures queue; its consumer erases."""
    from functions import deps
    from functions.accounts.erasure import dispatch_due_erasures
    from functions.shared.clock import paris_day

    day = paris_day(instant(event.time))
    return {"day": day.isoformat(), "requested": dispatch_due_erasures(deps.spaces(), deps.erasure_requests(), day)}


@app.on_sqs_message(queue=ERASURE_QUEUE, batch_size=1)
def on_erasure_request(event: SQSEvent) -> dict[str, Any]:
    """A closed space to erase: one at a time (a space is tens to hundreds of deletes), retried alone."""
    from functions import deps
    from functions.accounts.worker import handle_erasure_events

    return handle_erasure_events(deps.erasure(), event.to_dict(), event.context)
