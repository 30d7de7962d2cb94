"""The Chalice edge: routes, the custom authorizer and the SQS consumer. Parse, call one service, map the result
or the error. Capabilities are imported inside the views so a cold start pays only for what it serves."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from chalice.app import AuthRequest, AuthResponse, Chalice, CloudWatchEvent, Cron, Request, Response, SQSEvent
from pydantic import BaseModel, ValidationError

from functions.identity.principal import Citizen, Professional, from_context
from functions.shared.errors import DomainError, Forbidden, InvalidRequest, PayloadTooLarge
from functions.shared.http import RESPONSE_HEADERS, error_body, render_domain_error, render_validation_error

app = Chalice(app_name="mon-espace-sante", configure_logs=False)  # logs go through the JSON Logger
app.api.binary_types = []

UPLOAD_EVENTS_QUEUE = "mes-upload-events"
AGENDA_SHARD_QUEUE = "mes-agenda-shards"
AGENDA_DELIVERY_QUEUE = "mes-agenda-deliveries"
M = TypeVar("M", bound=BaseModel)
# The one cap on JSON bodies (resource consumption). Every body of this API is a few hundred bytes to a few KiB
# (a declaration, an appointment with a 1 000-character note, the notification preferences); 256 KiB leaves two
# orders of magnitude of room, and a route that ever needs more passes its own `max_bytes` to body_as.
JSON_BODY_MAX_BYTES = 256 * 1024


def request() -> Request:
    current = app.current_request
    assert current is not None, "only called inside a route"
    return current


def _json(status: int, body: Any) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers={"Content-Type": "application/json"})


def endpoint(role: Literal["citizen", "professional"]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Check the caller's kind, run the view, and map every domain or validation error through the one table."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def run(**params: str) -> Response:
            try:
                who = from_context(request().context.get("authorizer"))
                if who.kind != role:
                    raise Forbidden(f"this route is for {role}s", code="wrong_principal")
                status, body = view(who, **params)
                return _json(status, body)
            except DomainError as exc:
                return _json(*render_domain_error(exc))
            except ValidationError as exc:
                return _json(*render_validation_error(exc))

        return run

    return wrap


def body_as(model: type[M], max_bytes: int = JSON_BODY_MAX_BYTES) -> M:
    """The body as `model`. Over the cap: 413; not JSON, or nested deeper than the parser recurses: 400."""
    raw = request().raw_body
    if not raw:
        raise InvalidRequest("a JSON body is required", code="malformed_json")
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body must be at most {max_bytes} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest("the body is not valid JSON", code="malformed_json") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object", code="malformed_json")
    return model.model_validate(data)


def query() -> dict[str, str]:
    return dict(request().query_params or {})


def header(name: str) -> str | None:
    value = request().headers.get(name)
    return str(value) if value is not None else None


_CHALICE_CODES = {"BadRequestError": "invalid_request", "NotFoundError": "not_found",
                  "MethodNotAllowedError": "method_not_allowed", "UnsupportedMediaType": "unsupported_media_type",
                  "InternalServerError": "internal_error"}


@app.middleware("http")
def correlate_and_normalise(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """One correlation id per request (API Gateway's request id) in every log line and the response headers;
    Chalice's own errors (unknown method, unsupported media type) rewritten to our {"error": ...} body; and every
    answer marked as never to be stored by a cache (health data) nor content-sniffed (RESPONSE_HEADERS)."""
    from functions.shared.observability import correlate

    correlation_id = correlate(event.context.get("requestId"))
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = _CHALICE_CODES.get(str(body["Code"]), "error")
        response = _json(response.status_code, error_body(code, str(body.get("Message", ""))))
    response.headers["X-Correlation-Id"] = correlation_id
    response.headers.update(RESPONSE_HEADERS)
    return response


@app.authorizer(ttl_seconds=300)
def bearer(auth_request: AuthRequest) -> AuthResponse:
    """Verifies the bearer token and hands the principal to the routes. API Gateway caches the answer per token."""
    from functions import deps
    from functions.identity.principal import to_context
    from functions.identity.service import authenticate
    from functions.shared.errors import Unauthenticated
    from functions.shared.settings import settings

    try:
        who = authenticate(deps.token_verifier(), settings().citizen_issuer.issuer, deps.spaces(),
                           auth_request.token)
    except Unauthenticated:
        raise Exception("Unauthorized") from None
    return AuthResponse(routes=["*"], principal_id=who.pseudonym, context=to_context(who))


@app.route("/v1/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}


# ---- professionals -------------------------------------------------------------------------------------------


def consent_presented() -> bool:
    """The patient's consent, asserted by the professional's software for this access (recorded in the trace)."""
    return (header("x-access-reason") or "").strip().lower() == "consent"


@app.route("/v1/patients/{ins}/documents", methods=["POST"], authorizer=bearer)
@endpoint("professional")
def professional_upload(who: Professional, ins: str) -> tuple[int, Any]:
    from functions import deps
    from functions.records import api, service

    doc, post = service.request_upload(deps.records(), who, ins, body_as(api.UploadIn).to_domain(),
                                       header("idempotency-key"))
    return 201, api.UploadTicketOut.from_domain(doc, post).model_dump(mode="json")


@app.route("/v1/patients/{ins}/documents", methods=["GET"], authorizer=bearer)
@endpoint("professional")
def professional_list(who: Professional, ins: str) -> tuple[int, Any]:
    from functions import deps
    from functions.access import service
    from functions.records import api
    from functions.shared import cursor

    params = query()
    docs, nxt = service.list_patient_documents(deps.access(), who, ins, consent_presented(), params.get("cursor"),
                                               cursor.page_size(params.get("limit")))
    return 200, api.DocumentPageOut(items=[api.DocumentOut.from_domain(d) for d in docs], next=nxt).model_dump(
        mode="json")


@app.route("/v1/patients/{ins}/documents/{document_id}", methods=["GET"], authorizer=bearer)
@endpoint("professional")
def professional_read(who: Professional, ins: str, document_id: str) -> tuple[int, Any]:
    from functions import deps
    from functions.access import service
    from functions.records import api

    doc, url = service.read_patient_document(deps.access(), who, ins, document_id, consent_presented())
    return 200, api.DocumentOut.from_domain(doc, url).model_dump(mode="json")


@app.route("/v1/patients/{ins}/documents/{document_id}/release", methods=["POST"], authorizer=bearer)
@endpoint("professional")
def professional_release(who: Professional, ins: str, document_id: str) -> tuple[int, Any]:
    from functions import deps
    from functions.records import api, service

    doc = service.release_document(deps.records(), who, ins, document_id)
    return 200, api.DocumentOut.from_domain(doc).model_dump(mode="json")


@app.route("/v1/patients/{ins}/emergency-access", methods=["POST"], authorizer=bearer)
@endpoint("professional")
def emergency_access(who: Professional, ins: str) -> tuple[int, Any]:
    from functions import deps
    from functions.access import api, service

    body = body_as(api.EmergencyIn)
    grant = service.request_emergency_access(deps.access(), who, ins, body.purpose, body.reason)
    return 201, api.GrantOut.from_domain(grant).model_dump(mode="json")


# ---- citizens: the record ------------------------------------------------------------------------------------


@app.route("/v1/me/documents", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_documents(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.records import api, service
    from functions.shared import cursor

    params = query()
    limit = cursor.page_size(params.pop("limit", None))
    after = params.pop("cursor", None)
    docs, nxt = service.list_own_documents(deps.records(), who, api.ListFilter.model_validate(params).to_domain(),
                                           after, limit)
    page = api.DocumentPageOut(items=[api.DocumentOut.from_domain(d) for d in docs], next=nxt)
    return 200, page.model_dump(mode="json")


@app.route("/v1/me/documents", methods=["POST"], authorizer=bearer)
@endpoint("citizen")
def my_upload(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.records import api, service

    doc, post = service.request_upload(deps.records(), who, who.ins, body_as(api.UploadIn).to_domain(),
                                       header("idempotency-key"))
    return 201, api.UploadTicketOut.from_domain(doc, post).model_dump(mode="json")


@app.route("/v1/me/documents/{document_id}", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_document(who: Citizen, document_id: str) -> tuple[int, Any]:
    from functions import deps
    from functions.records import api, service

    doc, url = service.read_own_document(deps.records(), who, document_id)
    return 200, api.DocumentOut.from_domain(doc, url).model_dump(mode="json")


@app.route("/v1/me/documents/{document_id}", methods=["PATCH"], authorizer=bearer)
@endpoint("citizen")
def my_document_patch(who: Citizen, document_id: str) -> tuple[int, Any]:
    from functions import deps
    from functions.records import api, service

    body = body_as(api.DocumentPatchIn)
    doc = service.hide_own_document(deps.records(), who, document_id, body.hidden_from_professionals)
    return 200, api.DocumentOut.from_domain(doc).model_dump(mode="json")


@app.route("/v1/me/documents/{document_id}", methods=["DELETE"], authorizer=bearer)
@endpoint("citizen")
def my_document_delete(who: Citizen, document_id: str) -> tuple[int, Any]:
    from functions import deps
    from functions.records import service

    service.delete_own_document(deps.records(), who, document_id)
    return 200, {"document_id": document_id, "status": "deleted"}


@app.route("/v1/me/notifications", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_notifications(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.notifications import api, service
    from functions.shared import cursor

    params = query()
    items, nxt = service.list_notifications(deps.notifications(), who, params.get("cursor"),
                                            cursor.page_size(params.get("limit")))
    return 200, api.NotificationPageOut.from_domain(items, nxt).model_dump(mode="json")


@app.route("/v1/me/traces", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_traces(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.audit import api, service
    from functions.shared import cursor

    params = query()
    items, nxt = service.list_traces(deps.traces(), who, params.get("cursor"), cursor.page_size(params.get("limit")))
    return 200, api.TracePageOut.from_domain(items, nxt).model_dump(mode="json")


@app.route("/v1/me/traces/export", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_traces_export(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.audit import service

    signed = service.export_traces(deps.traces(), deps.journal(), deps.trace_signer(), deps.clock(), who)
    return 200, signed.model_dump(mode="json")


# ---- citizens: who may access --------------------------------------------------------------------------------


def _rpps_list(values: Any) -> dict[str, Any]:
    return {"items": [{"rpps": r} for r in sorted(values)]}


@app.route("/v1/me/care-team", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_care_team(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.access import service

    team = service.profile_of(deps.access(), who).care_team
    return 200, {"items": [{"rpps": m.rpps, "source": m.source, "since": m.since.isoformat()}
                           for m in sorted(team.values(), key=lambda m: m.rpps)]}


@app.route("/v1/me/care-team", methods=["POST"], authorizer=bearer)
@endpoint("citizen")
def my_care_team_add(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.access import api, service

    member = service.add_to_care_team(deps.access(), who, body_as(api.RppsIn).rpps)
    return 201, {"rpps": member.rpps, "source": member.source, "since": member.since.isoformat()}


@app.route("/v1/me/care-team/{rpps}", methods=["DELETE"], authorizer=bearer)
@endpoint("citizen")
def my_care_team_remove(who: Citizen, rpps: str) -> tuple[int, Any]:
    from functions import deps
    from functions.access import service

    service.remove_from_care_team(deps.access(), who, rpps)
    return 200, {"rpps": rpps, "status": "removed"}


@app.route("/v1/me/blocked-professionals", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_blocks(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.access import service

    return 200, _rpps_list(service.profile_of(deps.access(), who).blocked)


@app.route("/v1/me/blocked-professionals", methods=["POST"], authorizer=bearer)
@endpoint("citizen")
def my_blocks_add(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.access import api, service

    rpps = body_as(api.RppsIn).rpps
    service.block(deps.access(), who, rpps)
    return 201, {"rpps": rpps, "status": "blocked"}


@app.route("/v1/me/blocked-professionals/{rpps}", methods=["DELETE"], authorizer=bearer)
@endpoint("citizen")
def my_blocks_remove(who: Citizen, rpps: str) -> tuple[int, Any]:
    from functions import deps
    from functions.access import service

    service.unblock(deps.access(), who, rpps)
    return 200, {"rpps": rpps, "status": "unblocked"}


@app.route("/v1/me/administrator", methods=["PUT"], authorizer=bearer)
@endpoint("citizen")
def my_administrator(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.access import api, service

    rpps = body_as(api.RppsIn).rpps
    service.name_administrator(deps.access(), who, rpps)
    return 200, {"rpps": rpps}


@app.route("/v1/me/administrator", methods=["DELETE"], authorizer=bearer)
@endpoint("citizen")
def my_administrator_remove(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.access import service

    service.remove_administrator(deps.access(), who)
    return 200, {"status": "removed"}


@app.route("/v1/me/settings", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_settings(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.access import api, service

    return 200, api.SettingsOut.from_domain(service.profile_of(deps.access(), who).settings).model_dump(mode="json")


@app.route("/v1/me/settings", methods=["PUT"], authorizer=bearer)
@endpoint("citizen")
def my_settings_put(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.access import api, models, service

    settings = service.change_settings(deps.access(), who, body_as(models.PatientSettings))
    return 200, api.SettingsOut.from_domain(settings).model_dump(mode="json")


@app.route("/v1/me/professionals", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_professionals(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.access import api, service

    return 200, api.ProfessionalsOut.from_domain(service.profile_of(deps.access(), who)).model_dump(mode="json")
# ---- agenda --------------------------------------------------------------------------------------------------


@app.route("/v1/me/appointments", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_appointments(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import api, service
    from functions.shared import cursor

    params = query()
    items, nxt = service.list_appointments(deps.agenda(), who, params.get("cursor"),
                                           cursor.page_size(params.get("limit")))
    page = api.AppointmentPageOut(items=[api.AppointmentOut.from_domain(a) for a in items], next=nxt)
    return 200, page.model_dump(mode="json")


@app.route("/v1/me/appointments", methods=["POST"], authorizer=bearer)
@endpoint("citizen")
def my_appointment_create(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import api, service

    appt = service.create_appointment(deps.agenda(), who, body_as(api.AppointmentIn))
    return 201, api.AppointmentOut.from_domain(appt).model_dump(mode="json")


@app.route("/v1/me/appointments/{appointment_id}", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_appointment(who: Citizen, appointment_id: str) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import api, service

    appt = service.read_appointment(deps.agenda(), who, appointment_id)
    return 200, api.AppointmentOut.from_domain(appt).model_dump(mode="json")


@app.route("/v1/me/appointments/{appointment_id}", methods=["PATCH"], authorizer=bearer)
@endpoint("citizen")
def my_appointment_update(who: Citizen, appointment_id: str) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import api, service

    appt = service.update_appointment(deps.agenda(), who, appointment_id, body_as(api.AppointmentPatch))
    return 200, api.AppointmentOut.from_domain(appt).model_dump(mode="json")


@app.route("/v1/me/appointments/{appointment_id}", methods=["DELETE"], authorizer=bearer)
@endpoint("citizen")
def my_appointment_delete(who: Citizen, appointment_id: str) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import service

    service.delete_appointment(deps.agenda(), who, appointment_id)
    return 200, {"appointment_id": appointment_id, "status": "deleted"}


@app.route("/v1/me/reminders", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_reminders(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import api, service
    from functions.shared import cursor

    params = query()
    items, nxt = service.list_reminders(deps.agenda(), who, params.get("cursor"),
                                        cursor.page_size(params.get("limit")))
    page = api.ReminderPageOut(items=[api.ReminderOut.from_domain(r) for r in items], next=nxt)
    return 200, page.model_dump(mode="json")


@app.route("/v1/me/reminders", methods=["POST"], authorizer=bearer)
@endpoint("citizen")
def my_reminder_create(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import api, service

    rem = service.create_reminder(deps.agenda(), who, body_as(api.ReminderIn))
    return 201, api.ReminderOut.from_domain(rem).model_dump(mode="json")


@app.route("/v1/me/reminders/{reminder_id}", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_reminder(who: Citizen, reminder_id: str) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import api, service

    rem = service.read_reminder(deps.agenda(), who, reminder_id)
    return 200, api.ReminderOut.from_domain(rem).model_dump(mode="json")


@app.route("/v1/me/reminders/{reminder_id}", methods=["PATCH"], authorizer=bearer)
@endpoint("citizen")
def my_reminder_update(who: Citizen, reminder_id: str) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import api, service

    rem = service.update_reminder(deps.agenda(), who, reminder_id, body_as(api.ReminderPatch))
    return 200, api.ReminderOut.from_domain(rem).model_dump(mode="json")


@app.route("/v1/me/reminders/{reminder_id}", methods=["DELETE"], authorizer=bearer)
@endpoint("citizen")
def my_reminder_delete(who: Citizen, reminder_id: str) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import service

    service.delete_reminder(deps.agenda(), who, reminder_id)
    return 200, {"reminder_id": reminder_id, "status": "deleted"}


@app.route("/v1/me/prevention", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_prevention(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import api, calendar, service

    items, reason, next_on = service.read_prevention(deps.agenda(), who)
    out = api.PreventionOut(calendar_version=calendar.calendar().version, reason=reason, next_reminder_on=next_on,
                            items=[api.PreventionItemOut.from_domain(i) for i in items])
    return 200, out.model_dump(mode="json")


@app.route("/v1/me/prevention/{code}", methods=["PATCH"], authorizer=bearer)
@endpoint("citizen")
def my_prevention_record(who: Citizen, code: str) -> tuple[int, Any]:
    from functions import deps
    from functions.agenda import api, service

    item = service.record_prevention(deps.agenda(), who, code, body_as(api.PreventionPatch))
    return 200, {"code": code, "item": api.PreventionItemOut.from_domain(item).model_dump(mode="json")
                 if item else None}


@app.route("/v1/me/notification-preferences", methods=["GET"], authorizer=bearer)
@endpoint("citizen")
def my_notification_preferences(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.notifications import api, service

    prefs = service.read_preferences(deps.notifications(), who)
    return 200, api.PreferencesOut.from_domain(prefs).model_dump(mode="json")


@app.route("/v1/me/notification-preferences", methods=["PUT"], authorizer=bearer)
@endpoint("citizen")
def my_notification_preferences_put(who: Citizen) -> tuple[int, Any]:
    from functions import deps
    from functions.notifications import api, service

    prefs = service.replace_preferences(deps.notifications(), who, body_as(api.PreferencesIn).to_domain())
    return 200, api.PreferencesOut.from_domain(prefs).model_dump(mode="json")


# ---- queues --------------------------------------------------------------------------------------------------


@app.schedule(Cron(0, 5, "*", "*", "?", "*"), name="invisible-patient-daily")
def invisible_patient_daily(event: CloudWatchEvent) -> dict[str, int]:
    """INVISIBLE_PATIENT documents: announcement reminders at 2 weeks, release at 1 month (06:00/07:00 Paris)."""
    from functions import deps
    from functions.records.service import run_invisible_patient_job
    from functions.shared.clock import paris_day

    return run_invisible_patient_job(deps.records(), paris_day(event.time))


@app.on_sqs_message(queue=UPLOAD_EVENTS_QUEUE, batch_size=10)
def on_upload_event(event: SQSEvent) -> dict[str, Any]:
    from functions import deps
    from functions.records.worker import handle_upload_events
    from functions.shared.settings import settings

    return handle_upload_events(deps.records(), settings().quarantine_bucket, event.to_dict(), event.context)



# ---- daily reminders -----------------------------------------------------------------------------------------


@app.schedule(Cron(0, "5,6", "*", "*", "?", "*"), name="agenda-daily-dispatch")
def agenda_daily_dispatch(event: CloudWatchEvent) -> dict[str, Any]:
    """07:00 Europe/Paris every day, DST included: fires at 05:00 and 06:00 UTC, acts on the one that is 07:00."""
    from datetime import datetime

    from functions import deps
    from functions.agenda.fanout import dispatch_scheduled
    from functions.shared.settings import settings

    at = datetime.fromisoformat(event.to_dict()["time"].replace("Z", "+00:00"))
    day = dispatch_scheduled(deps.agenda_shard_queue(), at, settings().agenda_shards)
    return {"dispatched": day.isoformat() if day else None}


@app.on_sqs_message(queue=AGENDA_SHARD_QUEUE, batch_size=1)
def on_agenda_shard(event: SQSEvent) -> dict[str, Any]:
    from functions import deps
    from functions.agenda.storage import DynamoDueIndex
    from functions.agenda.worker import handle_shard_tasks
    from functions.shared.settings import settings

    deps.bind_tables()
    return handle_shard_tasks(DynamoDueIndex(), deps.agenda_delivery_queue(), settings().agenda_batch_size,
                              event.to_dict(), event.context)


@app.on_sqs_message(queue=AGENDA_DELIVERY_QUEUE, batch_size=10)
def on_agenda_delivery(event: SQSEvent) -> dict[str, Any]:
    from functions import deps
    from functions.agenda.worker import handle_deliveries

    return handle_deliveries(deps.agenda_delivery(), event.to_dict(), event.context)
