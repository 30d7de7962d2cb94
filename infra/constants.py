"""Every name, limit and fixed value of the stack, in one place. Stage-dependent values live in infra/stages/."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STAGES_DIR = Path(__file__).resolve().parent / "stages"

SERVICE = "mon-espace-sante"
PREFIX = "mes"
# Health data stays in France (HDS): the only region the stack may be synthesized for.
REGION = "eu-west-3"
STAGES = ("dev", "prod")


def stack_name(stage: str) -> str:
    return f"MonEspaceSante-{stage}"


# ---- Chalice (logical ids in the template that `chalice package` generates) -------------------------------
CHALICE_API_HANDLER = "APIHandler"
CHALICE_AUTHORIZER = "Bearer"
CHALICE_UPLOAD_CONSUMER = "OnUploadEvent"
CHALICE_INVISIBLE_JOB = "InvisiblePatientDaily"  # @app.schedule(..., name="invisible-patient-daily")
CHALICE_REST_API = "RestAPI"
CHALICE_UPLOAD_EVENT_SOURCE = "OnUploadEventSqsEventSource"
API_STAGE_NAME = "api"  # .chalice/config.json api_gateway_stage
HEALTH_PATH = "/v1/health"
AUTHORIZER_NAME = "bearer"
LAMBDA_RUNTIME = "python3.11"

# Per function: timeout (s) and memory (MB). The upload consumer's queue visibility is 6x its timeout.
FUNCTION_TIMEOUTS = {CHALICE_API_HANDLER: 29, CHALICE_AUTHORIZER: 10, CHALICE_UPLOAD_CONSUMER: 60,
                     CHALICE_INVISIBLE_JOB: 300}
FUNCTION_MEMORY = {CHALICE_API_HANDLER: 512, CHALICE_AUTHORIZER: 256, CHALICE_UPLOAD_CONSUMER: 512,
                   CHALICE_INVISIBLE_JOB: 512}
VISIBILITY_TIMEOUT_FACTOR = 6
# Reserved concurrency fixed by design, not a stage parameter: the daily job runs one at a time (a retry that
# overlaps a run still going is throttled and retried later by Lambda's asynchronous invocation).
FIXED_CONCURRENCY = {CHALICE_INVISIBLE_JOB: 1}
# Functions invoked asynchronously (EventBridge schedule): their failed events go to a dead-letter queue.
SCHEDULED_FUNCTIONS = {CHALICE_INVISIBLE_JOB: "invisible-patient-daily"}

# ---- Environment variables read by functions/shared/settings.py --------------------------------------------
ENV_SPACES_TABLE = "MES_SPACES_TABLE"
ENV_DOCUMENTS_TABLE = "MES_DOCUMENTS_TABLE"
ENV_TRACES_TABLE = "MES_TRACES_TABLE"
ENV_NOTIFICATIONS_TABLE = "MES_NOTIFICATIONS_TABLE"
ENV_ACCESS_TABLE = "MES_ACCESS_TABLE"
ENV_QUARANTINE_BUCKET = "MES_QUARANTINE_BUCKET"
ENV_RECORDS_BUCKET = "MES_RECORDS_BUCKET"
ENV_KMS_KEY_ID = "MES_KMS_KEY_ID"
ENV_TRACE_SIGNING_KEY_ID = "MES_TRACE_SIGNING_KEY_ID"
ISSUER_ENV = {
    "citizen_issuer": "MES_CITIZEN_ISSUER",
    "citizen_audience": "MES_CITIZEN_AUDIENCE",
    "citizen_jwks_uri": "MES_CITIZEN_JWKS_URI",
    "pro_issuer": "MES_PRO_ISSUER",
    "pro_audience": "MES_PRO_AUDIENCE",
    "pro_jwks_uri": "MES_PRO_JWKS_URI",
}

# ---- DynamoDB (keys and indexes as the pynamodb models in functions/*/storage.py declare them) ---------------
SPACES = "spaces"
DOCUMENTS = "documents"
TRACES = "traces"
NOTIFICATIONS = "notifications"
ACCESS = "access"  # the patient's control partition (functions/access/table.py)
# Local indexes (partition `patient`, range below, ALL projection), then the global one (hash, range; ALL).
DOCUMENTS_INDEXES = {"patient-by-date": "patient_date", "patient-by-type": "patient_type",
                     "available-by-date": "pro_date"}
DOCUMENTS_GLOBAL_INDEXES = {"invisible-due": ("invisible_due", "document_id")}
DOCUMENTS_TTL_ATTRIBUTE = "expires_at_epoch"  # pending uploads expire; the attribute is optional on items

# ---- S3 -------------------------------------------------------------------------------------------------------
QUARANTINE_PREFIX = "uploads/"
RECORDS_PREFIX = "records/"
QUARANTINE_EXPIRY_DAYS = 1
# Tag the app puts on a record's object when its space is closed: the lifecycle moves it to archive storage.
CLOSED_TAG_KEY = "mes-lifecycle"
CLOSED_TAG_VALUE = "closed"
CLOSED_ARCHIVE_AFTER_DAYS = 1
CLOSED_RETENTION_DAYS = 3653  # 10 years after closure, then deleted
NONCURRENT_RECORD_VERSION_DAYS = 30  # deleted/overwritten record versions stay recoverable this long

# ---- SQS ------------------------------------------------------------------------------------------------------
UPLOAD_EVENTS = "upload-events"  # the app's queue "mes-upload-events" (app.UPLOAD_EVENTS_QUEUE) per stage
MAX_RECEIVES = 3
DLQ_RETENTION_DAYS = 14
QUEUE_DEPTH_ALARM = 500
QUEUE_AGE_ALARM_SECONDS = 15 * 60

# ---- API Gateway ----------------------------------------------------------------------------------------------
# The JSON error bodies the gateway itself returns (local/gateway.py emulates the same ones).
GATEWAY_RESPONSES = {
    "UNAUTHORIZED": (401, "unauthorized", "missing or invalid credentials"),
    "ACCESS_DENIED": (403, "not_found", "resource not found"),
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found", "resource not found"),
    "THROTTLED": (429, "throttled", "too many requests"),
    "DEFAULT_5XX": (None, "internal_error", "internal error"),
}
# Access log: nothing that identifies a patient. No path (it carries the INS on professional routes), only the
# route template; no principalId: the authorizer sets it to an unkeyed SHA-256 of the INS/RPPS, which enumerating
# the INS space reverses. The principal's kind (citizen/professional/organisation) comes from the authorizer context.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "time": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "route": "$context.resourcePath",
    "status": "$context.status",
    "length": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "integrationLatencyMs": "$context.integration.latency",
    "principalKind": "$context.authorizer.kind",
    "authorizerError": "$context.authorizer.error",
    "errorType": "$context.error.responseType",
}

# ---- Monitoring -----------------------------------------------------------------------------------------------
API_5XX_RATE_THRESHOLD = 0.01  # 1 % of requests over 5 minutes

# ---- KMS ------------------------------------------------------------------------------------------------------
DOCUMENTS_KEY_ALIAS = "documents"
DATA_KEY_ALIAS = "data"
SIGNING_KEY_ALIAS = "trace-signing"
# What functions/audit/export.py asks KMS for (the key policy allows kms:Sign with these values only).
TRACE_SIGNING_ALGORITHM = "ECDSA_SHA_256"
TRACE_SIGNING_MESSAGE_TYPE = "RAW"
