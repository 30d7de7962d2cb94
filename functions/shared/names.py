"""Names shared by the app, the local runner and the infrastructure, defined once: the queues and the
environment variables the functions read (functions/shared/settings.py)."""

from __future__ import annotations

PREFIX = "mes"

# ---- SQS: a queue's short name; each stage's queue is mes-<stage>-<name> (infra), its dead letters <name>-dlq.
UPLOAD_EVENTS = "upload-events"
AGENDA_SHARDS = "agenda-shards"
AGENDA_DELIVERIES = "agenda-deliveries"
EXPORTS = "exports"  # one message per holder export to build


def app_queue(name: str) -> str:
    """The queue name the app's consumers declare (the local runner's queues; infra points each stage's event
    source at its own queue instead)."""
    return f"{PREFIX}-{name}"


def dead_letters(queue: str) -> str:
    return f"{queue}-dlq"


UPLOAD_EVENTS_QUEUE = app_queue(UPLOAD_EVENTS)
AGENDA_SHARD_QUEUE = app_queue(AGENDA_SHARDS)
AGENDA_DELIVERY_QUEUE = app_queue(AGENDA_DELIVERIES)
EXPORT_QUEUE = app_queue(EXPORTS)
# Inbound mail (issue 11): ObjectCreated under INBOUND_MAIL_PREFIX of the inbound-mail bucket -> this queue.
INBOUND_MAIL = "inbound-mail"
INBOUND_MAIL_QUEUE = app_queue(INBOUND_MAIL)
INBOUND_MAIL_PREFIX = "incoming/"  # what SES / a relay / `python -m local smtp` writes; notified
INBOUND_REJECTED_PREFIX = "rejected/"  # refused mails, kept 30 days (lifecycle), not notified
# opening by default: the intake bucket's S3 notifications and the intake/creation tasks (functions/accounts/opening.py)
ACCOUNTS_TASKS = "accounts-tasks"
ACCOUNTS_TASK_QUEUE = app_queue(ACCOUNTS_TASKS)
ERASURES = "erasures"  # a closed space to erase at once (functions/accounts/erasure.py)
ERASURE_QUEUE = app_queue(ERASURES)
ERASURE_EMAIL_TEMPLATE = "mes-erasure-done"  # SES template of the "your data are erased" e-mail: {{day}}, {{reference}}

# ---- Environment variables read by functions/shared/settings.py -------------------------------------------
ENV_SPACES_TABLE = "MES_SPACES_TABLE"
ENV_DOCUMENTS_TABLE = "MES_DOCUMENTS_TABLE"
ENV_TRACES_TABLE = "MES_TRACES_TABLE"
ENV_NOTIFICATIONS_TABLE = "MES_NOTIFICATIONS_TABLE"
ENV_ACCESS_TABLE = "MES_ACCESS_TABLE"
ENV_QUARANTINE_BUCKET = "MES_QUARANTINE_BUCKET"
ENV_RECORDS_BUCKET = "MES_RECORDS_BUCKET"
ENV_KMS_KEY_ID = "MES_KMS_KEY_ID"
ENV_TRACE_SIGNING_KEY_ID = "MES_TRACE_SIGNING_KEY_ID"
ENV_AGENDA_TABLE = "MES_AGENDA_TABLE"
ENV_AGENDA_DUE_TABLE = "MES_AGENDA_DUE_TABLE"
ENV_IDEMPOTENCY_TABLE = "MES_IDEMPOTENCY_TABLE"  # Idempotency-Key records, a day each (TTL)
ENV_MESSAGES_TABLE = "MES_MESSAGES_TABLE"  # the patients' mailboxes (functions/messaging/storage.py)
ENV_ATTACHMENTS_BUCKET = "MES_ATTACHMENTS_BUCKET"  # verified message attachments (functions/messaging/blobs.py)
ENV_ATTACHMENT_BUDGET_BYTES = "MES_ATTACHMENT_BUDGET_BYTES"  # attachments of one message, at most (20 MB)
ENV_AGENDA_SHARD_QUEUE_URL = "MES_AGENDA_SHARD_QUEUE_URL"
ENV_AGENDA_DELIVERY_QUEUE_URL = "MES_AGENDA_DELIVERY_QUEUE_URL"
ENV_AGENDA_EMAIL_SOURCE = "MES_AGENDA_EMAIL_SOURCE"
ENV_AGENDA_EMAIL_TEMPLATE = "MES_AGENDA_EMAIL_TEMPLATE"
ENV_AGENDA_SHARDS = "MES_AGENDA_SHARDS"
ENV_AGENDA_BATCH_SIZE = "MES_AGENDA_BATCH_SIZE"
ENV_PSEUDONYM_KEY = "MES_PSEUDONYM_KEY"  # local only: deployed stages read the secret below
ENV_PSEUDONYM_SECRET_ARN = "MES_PSEUDONYM_SECRET_ARN"  # noqa: S105 (a variable name, not a secret)
ENV_UPLOAD_URL_TTL_SECONDS = "MES_UPLOAD_URL_TTL_SECONDS"
ENV_DOWNLOAD_URL_TTL_SECONDS = "MES_DOWNLOAD_URL_TTL_SECONDS"
ENV_EXPORTS_TABLE = "MES_EXPORTS_TABLE"  # each holder's current export (functions/exports/storage.py)
ENV_EXPORTS_BUCKET = "MES_EXPORTS_BUCKET"  # the export archives, a few days each (lifecycle)
ENV_EXPORT_QUEUE_URL = "MES_EXPORT_QUEUE_URL"
# Local only: the bucket that captures the patients' outbound mail (functions/messaging/outbound.BucketOutbox);
# unset, mail leaves through SES (a stage).
ENV_OUTBOX_BUCKET = "MES_OUTBOX_BUCKET"
# Messaging's mail path (functions/messaging/inbound.py): buckets, limits (A.6) and the MSSanté trust list.
ENV_ATTACHMENTS_BUCKET = "MES_ATTACHMENTS_BUCKET"
ENV_INBOUND_MAIL_BUCKET = "MES_INBOUND_MAIL_BUCKET"
ENV_MAX_MIME_BYTES = "MES_MAX_MIME_BYTES"  # a whole inbound MIME message (25 MB by default)
ENV_MAIL_TRUSTED_DOMAINS = "MES_MAIL_TRUSTED_DOMAINS"  # comma-separated globs, e.g. *.mssante.fr
ENV_MAIL_TRUSTED_RELAYS = "MES_MAIL_TRUSTED_RELAYS"  # comma-separated globs of relay names; empty: any relay
ENV_INTAKE_BUCKET = "MES_INTAKE_BUCKET"  # beneficiaries files in (intake/), their reports out (reports/)
ENV_PRINT_BUCKET = "MES_PRINT_BUCKET"  # letters/<date>/... and sms/<date>/... print batches
ENV_ACCOUNTS_TASK_QUEUE_URL = "MES_ACCOUNTS_TASK_QUEUE_URL"
ENV_INFORMATION_EMAIL_TEMPLATE = "MES_INFORMATION_EMAIL_TEMPLATE"  # the information e-mail (SES template)
ENV_OBJECTION_WEEKS = "MES_OBJECTION_WEEKS"  # creation this many weeks after the information (6)
ENV_CODE_DAYS = "MES_CODE_DAYS"  # provisional code lifetime per channel, e.g. "mail=60,sms=60,letter=90"
ENV_INTAKE_CHUNK_LINES = "MES_INTAKE_CHUNK_LINES"  # lines per import task (2000)
ENV_FRESH_AUTH_SECONDS = "MES_FRESH_AUTH_SECONDS"  # how recent a sign-in closing or deleting a space needs (300)
ENV_DELETION_DELAY_DAYS = "MES_DELETION_DELAY_DAYS"  # a requested deletion runs this many days later (0, at most 92)
# "1": records sealed under each space's data key (crypto-shredding). Off until a stage's roles may call KMS for the
# data keys and write the download copies (infra, not done yet); on locally and in the tests.
ENV_ENVELOPE_ENCRYPTION = "MES_ENVELOPE_ENCRYPTION"
ENV_ERASURE_QUEUE_URL = "MES_ERASURE_QUEUE_URL"  # the erasures queue (closure, daily dispatch -> consumer)
ENV_CATALOGUE_TABLE = "MES_CATALOGUE_TABLE"  # pairings, OAuth codes and refresh tokens, revocations (catalogue)
# The KMS asymmetric key (alias or ARN; RSA_2048, SIGN_VERIFY) that signs the tokens issued to paired services,
# and their `iss` (the token endpoint is `<issuer>/token`).
SERVICE_TOKEN_KEY = "MES_SERVICE_TOKEN_KEY"  # noqa: S105 (a variable name, not a secret)
ENV_SERVICE_TOKEN_ISSUER = "MES_SERVICE_TOKEN_ISSUER"  # noqa: S105 (a variable name)
# Web origins a browser may call the API from (comma-separated; empty: none). A stage parameter in infra.
ENV_CORS_ALLOWED_ORIGINS = "MES_CORS_ALLOWED_ORIGINS"
# Enrolment (functions/accounts): proofs of opposition and letters' print records, the e-mail template of codes
# and notices, the version of the terms in force, how long a provisional code lives by e-mail and by letter.
ENV_PROOFS_BUCKET = "MES_PROOFS_BUCKET"
ENV_ENROLMENT_EMAIL_TEMPLATE = "MES_ENROLMENT_EMAIL_TEMPLATE"
ENV_TERMS_VERSION = "MES_TERMS_VERSION"
ENV_CODE_TTL_MAIL_HOURS = "MES_CODE_TTL_MAIL_HOURS"
ENV_CODE_TTL_LETTER_DAYS = "MES_CODE_TTL_LETTER_DAYS"


def issuer_env(who: str, what: str) -> str:
    """MES_<CITIZEN|PRO>_<ISSUER|AUDIENCE|JWKS_URI|ALGORITHMS>."""
    return f"{PREFIX.upper()}_{who}_{what}"


ISSUERS = {"citizen": "CITIZEN", "pro": "PRO"}
ISSUER_FIELDS = {"issuer": "ISSUER", "audience": "AUDIENCE", "jwks_uri": "JWKS_URI"}
# settings field -> variable, e.g. "citizen_issuer" -> "MES_CITIZEN_ISSUER" (infra sets these per stage)
ISSUER_ENV = {f"{who}_{field}": issuer_env(upper, var) for who, upper in ISSUERS.items()
              for field, var in ISSUER_FIELDS.items()}

# ---- Referenced apps: service access tokens (KMS RS256 key alias, issuer) and the measures table -----------------
ENV_MEASURES_TABLE = "MES_MEASURES_TABLE"  # health measures (functions/measures/storage.py)

# ---- The per-space envelope (functions/shared/sealing.py): the KMS encryption context key of a space's data key
# (its value: the space's pseudonym), which the stages' key policy requires (infra/components/keys.py).
SPACE_KEY_CONTEXT = "space"
ENV_ERASURE_EMAIL_TEMPLATE = "MES_ERASURE_EMAIL_TEMPLATE"  # the erasure's "done" e-mail (SES template)
