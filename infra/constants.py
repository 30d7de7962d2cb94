"""Every name, limit and fixed value of the stack, in one place. Stage-dependent values live in infra/stages/."""

from __future__ import annotations

from pathlib import Path

from functions.shared import http, names, observability

REPO_ROOT = Path(__file__).resolve().parent.parent
STAGES_DIR = Path(__file__).resolve().parent / "stages"

SERVICE = "mon-espace-sante"
PREFIX = names.PREFIX
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
CHALICE_AGENDA_DISPATCH = "AgendaDailyDispatch"  # @app.schedule(..., name="agenda-daily-dispatch")
CHALICE_AGENDA_SHARD_CONSUMER = "OnAgendaShard"  # @app.on_sqs_message(queue=AGENDA_SHARD_QUEUE, batch_size=1)
CHALICE_AGENDA_DELIVERY_CONSUMER = "OnAgendaDelivery"  # @app.on_sqs_message(queue=AGENDA_DELIVERY_QUEUE, ...)
CHALICE_EXPORT_CONSUMER = "OnExport"  # @app.on_sqs_message(queue=EXPORT_QUEUE, batch_size=1)
CHALICE_OUTBOX_RETRY = "MessagingOutboxRetry"  # @app.schedule(Rate(5, MINUTES), name="messaging-outbox-retry")
CHALICE_INBOUND_MAIL_CONSUMER = "OnInboundMail"  # @app.on_sqs_message(queue=INBOUND_MAIL_QUEUE, batch_size=10)
CHALICE_CATALOGUE_SUMMARIES = "CatalogueSummaries"  # @app.schedule(..., name="catalogue-summaries")
CHALICE_REST_API = "RestAPI"
# SQS consumers: Chalice names the event source `<Function>SqsEventSource`.
SQS_CONSUMERS: tuple[str, ...]  # grows at the end of this file (opening by default)
SQS_CONSUMERS = (CHALICE_UPLOAD_CONSUMER, CHALICE_AGENDA_SHARD_CONSUMER, CHALICE_AGENDA_DELIVERY_CONSUMER,
                 CHALICE_EXPORT_CONSUMER, CHALICE_INBOUND_MAIL_CONSUMER)
API_STAGE_NAME = "api"  # .chalice/config.json api_gateway_stage
HEALTH_PATH = "/v1/health"
AUTHORIZER_NAME = "bearer"
LAMBDA_RUNTIME = "python3.11"

# Per function: timeout (s) and memory (MB). A consumer's queue visibility is 6x its timeout.
# Shard task: Query pages of one DUE#<day>#<shard> partition + SendMessageBatch (seconds). Delivery: per message of
# up to 100 reminders, BatchGetItem, 1-3 TransactWriteItems and SES bulk calls of 50 (10 messages a batch).
FUNCTION_TIMEOUTS = {CHALICE_API_HANDLER: 29, CHALICE_AUTHORIZER: 10, CHALICE_UPLOAD_CONSUMER: 60,
                     CHALICE_INVISIBLE_JOB: 300, CHALICE_AGENDA_DISPATCH: 60, CHALICE_AGENDA_SHARD_CONSUMER: 120,
                     CHALICE_AGENDA_DELIVERY_CONSUMER: 180, CHALICE_INBOUND_MAIL_CONSUMER: 60,
                     CHALICE_EXPORT_CONSUMER: 900}  # an export reads every document of a space into 3 ZIPs
FUNCTION_MEMORY = {CHALICE_API_HANDLER: 512, CHALICE_AUTHORIZER: 256, CHALICE_UPLOAD_CONSUMER: 512,
                   CHALICE_INVISIBLE_JOB: 512, CHALICE_AGENDA_DISPATCH: 256, CHALICE_AGENDA_SHARD_CONSUMER: 512,
                   CHALICE_AGENDA_DELIVERY_CONSUMER: 512, CHALICE_EXPORT_CONSUMER: 1024,
                   # a 25 MB mail, its decoded parts and their copies for each recipient's attachments
                   CHALICE_INBOUND_MAIL_CONSUMER: 1024}
FUNCTION_TIMEOUTS[CHALICE_CATALOGUE_SUMMARIES] = 900
FUNCTION_MEMORY[CHALICE_CATALOGUE_SUMMARIES] = 512
VISIBILITY_TIMEOUT_FACTOR = 6
# Reserved concurrency fixed by design, not a stage parameter: the daily jobs run one at a time (a retry that
# overlaps a run still going is throttled and retried later by Lambda's asynchronous invocation).
FIXED_CONCURRENCY = {CHALICE_INVISIBLE_JOB: 1, CHALICE_AGENDA_DISPATCH: 1, CHALICE_CATALOGUE_SUMMARIES: 1}
# Functions invoked asynchronously (EventBridge schedule): their failed events go to a dead-letter queue.
SCHEDULED_FUNCTIONS = {CHALICE_INVISIBLE_JOB: "invisible-patient-daily",
                       CHALICE_AGENDA_DISPATCH: "agenda-daily-dispatch",
                       CHALICE_CATALOGUE_SUMMARIES: "catalogue-summaries"}
# The schedules as app.py declares them (Chalice generates the rules; tests/infra checks them). The dispatch fires at
# 05:00 and 06:00 UTC and acts only on the tick that is 07:00 in Paris (CEST then CET): DST needs no redeploy.
SCHEDULES = {CHALICE_INVISIBLE_JOB: "cron(0 5 * * ? *)", CHALICE_AGENDA_DISPATCH: "cron(0 5,6 * * ? *)",
             CHALICE_CATALOGUE_SUMMARIES: "cron(0 7 * * ? *)"}

# ---- Environment variables read by functions/shared/settings.py (named once, in functions/shared/names.py) ---
ENV_SPACES_TABLE = names.ENV_SPACES_TABLE
ENV_DOCUMENTS_TABLE = names.ENV_DOCUMENTS_TABLE
ENV_TRACES_TABLE = names.ENV_TRACES_TABLE
ENV_NOTIFICATIONS_TABLE = names.ENV_NOTIFICATIONS_TABLE
ENV_ACCESS_TABLE = names.ENV_ACCESS_TABLE
ENV_QUARANTINE_BUCKET = names.ENV_QUARANTINE_BUCKET
ENV_RECORDS_BUCKET = names.ENV_RECORDS_BUCKET
ENV_KMS_KEY_ID = names.ENV_KMS_KEY_ID
ENV_TRACE_SIGNING_KEY_ID = names.ENV_TRACE_SIGNING_KEY_ID
ENV_AGENDA_TABLE = names.ENV_AGENDA_TABLE
ENV_AGENDA_DUE_TABLE = names.ENV_AGENDA_DUE_TABLE
ENV_IDEMPOTENCY_TABLE = names.ENV_IDEMPOTENCY_TABLE
ENV_MESSAGES_TABLE = names.ENV_MESSAGES_TABLE
ENV_ATTACHMENTS_BUCKET = names.ENV_ATTACHMENTS_BUCKET
ENV_ATTACHMENT_BUDGET_BYTES = names.ENV_ATTACHMENT_BUDGET_BYTES
ENV_MEASURES_TABLE = names.ENV_MEASURES_TABLE
ENV_AGENDA_SHARD_QUEUE_URL = names.ENV_AGENDA_SHARD_QUEUE_URL
ENV_AGENDA_DELIVERY_QUEUE_URL = names.ENV_AGENDA_DELIVERY_QUEUE_URL
ENV_AGENDA_EMAIL_SOURCE = names.ENV_AGENDA_EMAIL_SOURCE
ENV_AGENDA_EMAIL_TEMPLATE = names.ENV_AGENDA_EMAIL_TEMPLATE
ENV_AGENDA_SHARDS = names.ENV_AGENDA_SHARDS
ENV_AGENDA_BATCH_SIZE = names.ENV_AGENDA_BATCH_SIZE
ENV_PSEUDONYM_SECRET_ARN = names.ENV_PSEUDONYM_SECRET_ARN
ENV_ATTACHMENTS_BUCKET = names.ENV_ATTACHMENTS_BUCKET
ENV_INBOUND_MAIL_BUCKET = names.ENV_INBOUND_MAIL_BUCKET
ENV_MAX_MIME_BYTES = names.ENV_MAX_MIME_BYTES
ENV_MAIL_TRUSTED_DOMAINS = names.ENV_MAIL_TRUSTED_DOMAINS
ENV_MAIL_TRUSTED_RELAYS = names.ENV_MAIL_TRUSTED_RELAYS
ISSUER_ENV = names.ISSUER_ENV
ENV_CORS_ALLOWED_ORIGINS = names.ENV_CORS_ALLOWED_ORIGINS
ENV_EXPORTS_TABLE = names.ENV_EXPORTS_TABLE
ENV_EXPORTS_BUCKET = names.ENV_EXPORTS_BUCKET
ENV_EXPORT_QUEUE_URL = names.ENV_EXPORT_QUEUE_URL
ENV_PROOFS_BUCKET = names.ENV_PROOFS_BUCKET
ENV_ENROLMENT_EMAIL_TEMPLATE = names.ENV_ENROLMENT_EMAIL_TEMPLATE
ENV_TERMS_VERSION = names.ENV_TERMS_VERSION
ENV_CODE_TTL_MAIL_HOURS = names.ENV_CODE_TTL_MAIL_HOURS
ENV_CODE_TTL_LETTER_DAYS = names.ENV_CODE_TTL_LETTER_DAYS
ENV_FRESH_AUTH_SECONDS = names.ENV_FRESH_AUTH_SECONDS
ENV_DELETION_DELAY_DAYS = names.ENV_DELETION_DELAY_DAYS
ENV_ENVELOPE_ENCRYPTION = names.ENV_ENVELOPE_ENCRYPTION
# Closure (functions/accounts/closure.py): a sign-in at most 5 minutes old to close or delete; a requested deletion
# due at once.
FRESH_AUTH_SECONDS = 300
DELETION_DELAY_DAYS = 0
ENV_CATALOGUE_TABLE = names.ENV_CATALOGUE_TABLE
ENV_SERVICE_TOKEN_KEY = names.SERVICE_TOKEN_KEY

# ---- DynamoDB (keys and indexes as the pynamodb models in functions/*/storage.py declare them) ---------------
SPACES = "spaces"
# functions/accounts/storage.py: the sparse `erase-due` GSI (closed spaces by the day their erasure is due, keys only)
SPACES_GLOBAL_INDEXES = {"erase-due": ("erase_due", "key")}
DOCUMENTS = "documents"
TRACES = "traces"
NOTIFICATIONS = "notifications"
ACCESS = "access"  # the patient's control partition (functions/access/table.py)
# Local indexes (partition `patient`, range below, ALL projection), then the global one (hash, range; ALL).
DOCUMENTS_INDEXES = {"patient-by-date": "patient_date", "patient-by-type": "patient_type",
                     "available-by-date": "pro_date"}
DOCUMENTS_GLOBAL_INDEXES = {"invisible-due": ("invisible_due", "document_id")}
DOCUMENTS_TTL_ATTRIBUTE = "expires_at_epoch"  # pending uploads expire; the attribute is optional on items
# functions/agenda/storage.py: AgendaItem (owner, item_id; LSI agenda-by-time on when_key) and DueItem (bucket =
# DUE#<day>#<shard>, entry = <ins>#<item id>; TTL expires_at_epoch, a month after the day).
AGENDA = "agenda"
AGENDA_DUE = "agenda-due"
AGENDA_KEYS = ("owner", "item_id")
AGENDA_INDEXES = {"agenda-by-time": "when_key"}
AGENDA_DUE_KEYS = ("bucket", "entry")
AGENDA_DUE_TTL_ATTRIBUTE = "expires_at_epoch"
# functions/shared/idempotency_store.py: IdempotencyItem (scope: a hash of caller + method + path + key), kept a
# day (TTL expires_at_epoch).
IDEMPOTENCY = "idempotency"
IDEMPOTENCY_KEY = "scope"
IDEMPOTENCY_TTL_ATTRIBUTE = "expires_at_epoch"
# functions/messaging/storage.py: MessageItem (holder, sk; sparse LSI holder-by-recent on `recent`).
MESSAGES = "messages"
MESSAGES_KEYS = ("holder", "sk")
MESSAGES_INDEXES = {"holder-by-recent": "recent"}
# functions/exports/storage.py: ExportItem (ins), the holder's current export, gone a day after its archives (TTL).
EXPORTS = "exports"
EXPORTS_KEY = "ins"
EXPORTS_TTL_ATTRIBUTE = "expires"
# functions/catalogue/storage.py: CatalogueItem (pk, sk; sparse GSIs by-service (svc, pk), by-cycle (cycle, pk); TTL on
# codes, refresh tokens, assertion ids and revocation entries).
CATALOGUE = "catalogue"
CATALOGUE_KEYS = ("pk", "sk")
CATALOGUE_GLOBAL_INDEXES = {"by-service": ("svc", "pk"), "by-cycle": ("cycle", "pk")}
CATALOGUE_TTL_ATTRIBUTE = "expires_at_epoch"
MEASURES = "measures"
MEASURES_KEYS = ("holder", "sk")
# Reminders per delivery message (MES_AGENDA_BATCH_SIZE; the app accepts 1-500, one TransactWriteItems holds 100).
AGENDA_BATCH_SIZE = 100
ATTACHMENT_BUDGET_BYTES = 20 * 1024 * 1024  # one message's attachments together (mes-rules-next.md A.6)

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
EXPORT_ARCHIVE_DAYS = 8  # the exports bucket keeps an archive a day past its links' 7 days, then deletes it
# Messaging (issue 11): raw inbound mail under incoming/ (notified), refused mail under rejected/ for 30 days; a
# mail never handled (its event in the dead-letter queue) expires with the DLQ's retention.
INBOUND_MAIL_PREFIX = names.INBOUND_MAIL_PREFIX
INBOUND_REJECTED_PREFIX = names.INBOUND_REJECTED_PREFIX
REJECTED_MAIL_DAYS = 30
MAIL_DEFAULTS = {names.ENV_MAX_MIME_BYTES: str(25 * 1024 * 1024),
                 names.ENV_MAIL_TRUSTED_DOMAINS: "*.mssante.fr,mssante.fr", names.ENV_MAIL_TRUSTED_RELAYS: ""}
BOUNCE_SENDER = "MAILER-DAEMON@patient.mssante.fr"  # functions/messaging/inbound.py
BOUNCE_IDENTITY = "patient.mssante.fr"

# ---- SQS ------------------------------------------------------------------------------------------------------
# Short names from functions/shared/names.py: the app's consumers declare mes-<name>, each stage's queue is
# mes-<stage>-<name>.
UPLOAD_EVENTS = names.UPLOAD_EVENTS
AGENDA_SHARDS_QUEUE = names.AGENDA_SHARDS
AGENDA_DELIVERIES_QUEUE = names.AGENDA_DELIVERIES
EXPORTS_QUEUE = names.EXPORTS
INBOUND_MAIL_QUEUE = names.INBOUND_MAIL
MAX_RECEIVES = 3
DLQ_RETENTION_DAYS = 14
QUEUE_DEPTH_ALARM = 500
QUEUE_AGE_ALARM_SECONDS = 15 * 60
# Deliveries are paced by the delivery consumers' maximum concurrency and SES's sending rate: on a heavy day the
# queue legitimately holds thousands of messages for a while after 07:00.
DELIVERY_DEPTH_ALARM = 10_000
DELIVERY_AGE_ALARM_SECONDS = 60 * 60

# ---- SES (reminder e-mails, functions/agenda/mailer.py: SendBulkTemplatedEmail) -----------------------------------
EMAIL_TEMPLATE = "reminder"  # mes-<stage>-reminder
# Same text as local/resources.py (tests/infra checks it): the kind of reminder and its day, no health detail.
EMAIL_SUBJECT = "Mon espace santé : un {{kind}}"
EMAIL_BODY = ("Bonjour,\n\nUn {{kind}} vous attend dans Mon espace santé pour le {{day}}.\n"
              "Connectez-vous pour le consulter.\n")

# ---- Secrets Manager ----------------------------------------------------------------------------------------------
PSEUDONYM_SECRET = "pseudonym-key"  # noqa: S105 (the secret's name: mes/<stage>/pseudonym-key)
PSEUDONYM_KEY_LENGTH = 64  # characters from [A-Za-z0-9]: ~381 bits, and <= 64 bytes (HMAC-SHA-256 block size)

# ---- API Gateway ----------------------------------------------------------------------------------------------
# The JSON error bodies the gateway itself returns (local/gateway.py emulates the same ones). UNAUTHORIZED: no
# bearer token (the authorizer is not invoked); ACCESS_DENIED: the authorizer's explicit Deny, whose context names
# the reason (chalicelib/edge.py `refusal`): the body template substitutes it. Header values can only be static.
GATEWAY_RESPONSES = {
    "UNAUTHORIZED": (401, "missing_token", "a bearer token is required"),
    "ACCESS_DENIED": (401, "$context.authorizer.code", "$context.authorizer.description"),
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found", "resource not found"),
    "THROTTLED": (429, "throttled", "too many requests"),
    "DEFAULT_5XX": (None, "internal_error", "internal error"),
}
GATEWAY_RESPONSE_HEADERS = {"UNAUTHORIZED": {"WWW-Authenticate": http.WWW_AUTHENTICATE_MISSING},
                            "ACCESS_DENIED": {"WWW-Authenticate": http.WWW_AUTHENTICATE_REFUSED}}
# The token authorizer runs only for a header of this form (anything else is UNAUTHORIZED, without an invocation).
BEARER_VALIDATION_EXPRESSION = http.BEARER_PATTERN
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
    "authorizerCode": "$context.authorizer.code",  # why a token was refused (token_expired...), never the token
    "errorType": "$context.error.responseType",
}

# ---- Monitoring -----------------------------------------------------------------------------------------------
API_5XX_RATE_THRESHOLD = 0.01  # 1 % of requests over 5 minutes
# Business events (functions/shared/observability.py, embedded metric format, dimension `service`).
METRICS_NAMESPACE = observability.METRICS_NAMESPACE
DOCUMENTS_REJECTED_METRIC = observability.DOCUMENTS_REJECTED
ACCESS_REFUSED_METRIC = observability.ACCESS_REFUSED
# Their dimension values, closed sets (tests/unit checks them against RejectionReason and access's refusals): an
# alarm cannot SEARCH, so it sums one metric per value.
REJECTION_REASONS = ("size_mismatch", "checksum_mismatch", "content_type_mismatch", "content_not_of_declared_type",
                     "upload_expired")
REFUSAL_REASONS = ("not_found", "consent_required", "emergency_refused")
# Spikes, per 5 minutes, two periods in a row: a broken uploader (or someone probing the verifier), and someone
# enumerating records or a misconfigured hospital system.
REJECTED_UPLOADS_ALARM = 20
ACCESS_REFUSALS_ALARM = 100

# ---- KMS ------------------------------------------------------------------------------------------------------
DOCUMENTS_KEY_ALIAS = "documents"
DATA_KEY_ALIAS = "data"
SIGNING_KEY_ALIAS = "trace-signing"
# What functions/audit/export.py asks KMS for (the key policy allows kms:Sign with these values only).
TRACE_SIGNING_ALGORITHM = "ECDSA_SHA_256"
TRACE_SIGNING_MESSAGE_TYPE = "RAW"

# The patients' mailboxes' domain (functions/messaging/models.MAILBOX_DOMAIN): the SES identity their outbound
# mail is sent from (SES v2 raw sends, From `<INS>@patient.mssante.fr`).
MAILBOX_DOMAIN = "patient.mssante.fr"

# The messaging outbox's retry pass (app.messaging_outbox_retry): one Query per outbox shard, a few sends.
FUNCTION_TIMEOUTS[CHALICE_OUTBOX_RETRY] = 60
FUNCTION_MEMORY[CHALICE_OUTBOX_RETRY] = 256
FIXED_CONCURRENCY[CHALICE_OUTBOX_RETRY] = 1
SCHEDULED_FUNCTIONS[CHALICE_OUTBOX_RETRY] = "messaging-outbox-retry"
SCHEDULES[CHALICE_OUTBOX_RETRY] = "rate(5 minutes)"

# ---- Enrolment (functions/accounts: issue 12 points 2 and 3) ---------------------------------------------------
# The proofs bucket: proofs of opposition (kept) and letters' print records (read by the print provider, then
# expired). E-mails of codes and notices use one template whose subject and text are the app's (no health data).
PROOFS_PREFIX = "opposition/"
LETTERS_PREFIX = "letters/"
LETTERS_EXPIRY_DAYS = 30
ENROLMENT_EMAIL_TEMPLATE = "enrolment"  # mes-<stage>-enrolment
ENROLMENT_EMAIL_SUBJECT = "Mon espace santé : {{subject}}"
ENROLMENT_EMAIL_BODY = "{{text}}\n"
CODE_TTL_MAIL_HOURS = 72  # MES_CODE_TTL_MAIL_HOURS: a provisional code sent by e-mail
CODE_TTL_LETTER_DAYS = 90  # MES_CODE_TTL_LETTER_DAYS: one sent by letter (B.2: the real values are not public)
TERMS_VERSION = "2026-12"  # MES_TERMS_VERSION: a new version of the CGU asks every holder again (advisory)
# The enrolment routes are public (no linked login yet: the identity check and the code are the proof), so API
# Gateway throttles each of them far below the stage's default: a person needs a handful of calls.
ENROLMENT_ROUTES = (("POST", "/v1/enrolment/code"), ("POST", "/v1/enrolment/activation"),
                    ("POST", "/v1/enrolment/opposition"), ("GET", "/v1/enrolment/opposition/{reference}"))
ENROLMENT_RATE_LIMIT = 10  # requests per second, per route, for the whole stage
ENROLMENT_BURST_LIMIT = 20
# ---- Opening by default (functions/accounts/opening.py; appended as one block) --------------------------------
CHALICE_SPACE_CREATION = "SpaceCreationDaily"  # @app.schedule(..., name="space-creation-daily")
CHALICE_ACCOUNTS_CONSUMER = "OnAccountsTask"  # @app.on_sqs_message(queue=ACCOUNTS_TASK_QUEUE, batch_size=1)
SQS_CONSUMERS = (*SQS_CONSUMERS, CHALICE_ACCOUNTS_CONSUMER)
# A task: the split of a file (one streamed read, ~100 000 lines/s) or 2 000 lines (about 100 DynamoDB calls and
# 30 SES bulk sends), or 1 000 spaces to open. The split keeps every INS of the file in memory (800 000: ~100 MB).
FUNCTION_TIMEOUTS[CHALICE_SPACE_CREATION] = 60
FUNCTION_TIMEOUTS[CHALICE_ACCOUNTS_CONSUMER] = 300
FUNCTION_MEMORY[CHALICE_SPACE_CREATION] = 256
FUNCTION_MEMORY[CHALICE_ACCOUNTS_CONSUMER] = 1024
# Fixed by design: the import's pace is SES's sending rate (a chunk sends ~1 400 e-mails); raise both with the SES
# quota (README "Opening by default at national scale").
FIXED_CONCURRENCY[CHALICE_SPACE_CREATION] = 1
FIXED_CONCURRENCY[CHALICE_ACCOUNTS_CONSUMER] = 4
FIXED_MAX_CONCURRENCY = {CHALICE_ACCOUNTS_CONSUMER: 4}
SCHEDULED_FUNCTIONS[CHALICE_SPACE_CREATION] = "space-creation-daily"
SCHEDULES[CHALICE_SPACE_CREATION] = "cron(0 3 * * ? *)"
ACCOUNTS_TASKS_QUEUE = names.ACCOUNTS_TASKS
SPACES_GLOBAL_INDEXES["creation-due"] = ("creation_shard", "ins")  # sparse, keys only
INTAKE_PREFIX = "intake/"
REPORTS_PREFIX = "reports/"
PRINT_PREFIXES = ("letters/", "sms/")
# Beneficiaries files name every person they list and an erasure cannot rewrite them: kept only as long as a
# chunk task may still read them (the accounts-tasks queue keeps a task 4 days, its DLQ 14 for a redrive), then
# deleted; well inside the 3 months an erasure has. The whole bucket (their reports, a file dropped elsewhere).
INTAKE_RETENTION_DAYS = 30
PRINT_RETENTION_DAYS = 30  # print batches: collected by the printer / SMS operator within days
INFORMATION_TEMPLATE = "information"  # mes-<stage>-information
ENV_INTAKE_BUCKET = names.ENV_INTAKE_BUCKET
ENV_PRINT_BUCKET = names.ENV_PRINT_BUCKET
ENV_ACCOUNTS_TASK_QUEUE_URL = names.ENV_ACCOUNTS_TASK_QUEUE_URL
ENV_INFORMATION_EMAIL_TEMPLATE = names.ENV_INFORMATION_EMAIL_TEMPLATE
ENV_OBJECTION_WEEKS = names.ENV_OBJECTION_WEEKS
ENV_CODE_DAYS = names.ENV_CODE_DAYS
ENV_INTAKE_CHUNK_LINES = names.ENV_INTAKE_CHUNK_LINES
OPENING_ENVIRONMENT = {ENV_OBJECTION_WEEKS: "6", ENV_CODE_DAYS: "mail=60,sms=60,letter=90",
                       ENV_INTAKE_CHUNK_LINES: "2000"}
# The key that signs the tokens issued to paired services (functions/catalogue/signer.py: RS256).
SERVICE_TOKEN_KEY_ALIAS = "service-tokens"  # noqa: S105 (an alias name)
SERVICE_TOKEN_SIGNING_ALGORITHM = "RSASSA_PKCS1_V1_5_SHA_256"  # noqa: S105 (an algorithm)

# The per-space envelope (functions/shared/sealing.py): on in every stage. The data keys' KMS encryption context
# key (functions/accounts/storage.py `KmsSpaceKeys.context`), the spaces-table items that hold the wrapped keys
# (`KEY#<ins>`), and the quarantine prefix of the short-lived plaintext download copies.
ENVELOPE_ENCRYPTION = "1"
SPACE_KEY_CONTEXT = names.SPACE_KEY_CONTEXT
SPACE_KEY_ITEMS = "KEY#*"
CREATION_MARK = "JOB#space-creation"  # the creation job's last day (functions/accounts/storage.py)
# ---- Erasure (functions/accounts/erasure.py, issue 12 point 5; appended as one block) -----------------------------
CHALICE_ERASURE_DAILY = "ErasureDaily"  # @app.schedule(Cron(30, 2, ...), name="erasure-daily")
CHALICE_ERASURE_CONSUMER = "OnErasureRequest"  # @app.on_sqs_message(queue=ERASURE_QUEUE, batch_size=1)
SQS_CONSUMERS = (*SQS_CONSUMERS, CHALICE_ERASURE_CONSUMER)
# The daily dispatch reads the erase-due index (8 days x 8 shards, keys only) and sends batches of 10; one erasure
# is tens to hundreds of deletes (a typical space: 36 calls, bench), a space with thousands of documents minutes.
FUNCTION_TIMEOUTS[CHALICE_ERASURE_DAILY] = 300
FUNCTION_TIMEOUTS[CHALICE_ERASURE_CONSUMER] = 900
FUNCTION_MEMORY[CHALICE_ERASURE_DAILY] = 256
FUNCTION_MEMORY[CHALICE_ERASURE_CONSUMER] = 512
# Fixed by design: erasures are never urgent to the minute (the law gives 3 months) and must not compete with the
# API for the tables' throughput; 4 at a time erase a few thousand spaces an hour.
FIXED_CONCURRENCY[CHALICE_ERASURE_DAILY] = 1
FIXED_CONCURRENCY[CHALICE_ERASURE_CONSUMER] = 4
FIXED_MAX_CONCURRENCY[CHALICE_ERASURE_CONSUMER] = 4
SCHEDULED_FUNCTIONS[CHALICE_ERASURE_DAILY] = "erasure-daily"
SCHEDULES[CHALICE_ERASURE_DAILY] = "cron(30 2 * * ? *)"
ERASURES_QUEUE = names.ERASURES
ENV_ERASURE_QUEUE_URL = names.ENV_ERASURE_QUEUE_URL
ENV_ERASURE_EMAIL_TEMPLATE = names.ENV_ERASURE_EMAIL_TEMPLATE
ERASURE_TEMPLATE = "erasure-done"  # mes-<stage>-erasure-done
DOWNLOADS_PREFIX = "downloads/"  # the quarantine's plaintext download copies (functions/records/blobs.py)
# functions/catalogue/storage.py: the sparse keys-only GSI of a holder's codes and refresh tokens (erasure only).
CATALOGUE_HOLDER_INDEX = ("by-holder", "holder", "pk")
# functions/shared/idempotency_store.py: the sparse keys-only GSI of a space's Idempotency-Key records (erasure only).
IDEMPOTENCY_OWNER_INDEX = ("by-owner", "owner", "scope")
