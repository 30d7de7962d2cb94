"""Names shared by the app, the local runner and the infrastructure, defined once: the queues and the
environment variables the functions read (functions/shared/settings.py)."""

from __future__ import annotations

PREFIX = "mes"

# ---- SQS: a queue's short name; each stage's queue is mes-<stage>-<name> (infra), its dead letters <name>-dlq.
UPLOAD_EVENTS = "upload-events"
AGENDA_SHARDS = "agenda-shards"
AGENDA_DELIVERIES = "agenda-deliveries"


def app_queue(name: str) -> str:
    """The queue name the app's consumers declare (the local runner's queues; infra points each stage's event
    source at its own queue instead)."""
    return f"{PREFIX}-{name}"


def dead_letters(queue: str) -> str:
    return f"{queue}-dlq"


UPLOAD_EVENTS_QUEUE = app_queue(UPLOAD_EVENTS)
AGENDA_SHARD_QUEUE = app_queue(AGENDA_SHARDS)
AGENDA_DELIVERY_QUEUE = app_queue(AGENDA_DELIVERIES)

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
# Web origins a browser may call the API from (comma-separated; empty: none). A stage parameter in infra.
ENV_CORS_ALLOWED_ORIGINS = "MES_CORS_ALLOWED_ORIGINS"


def issuer_env(who: str, what: str) -> str:
    """MES_<CITIZEN|PRO>_<ISSUER|AUDIENCE|JWKS_URI|ALGORITHMS>."""
    return f"{PREFIX.upper()}_{who}_{what}"


ISSUERS = {"citizen": "CITIZEN", "pro": "PRO"}
ISSUER_FIELDS = {"issuer": "ISSUER", "audience": "AUDIENCE", "jwks_uri": "JWKS_URI"}
# settings field -> variable, e.g. "citizen_issuer" -> "MES_CITIZEN_ISSUER" (infra sets these per stage)
ISSUER_ENV = {f"{who}_{field}": issuer_env(upper, var) for who, upper in ISSUERS.items()
              for field, var in ISSUER_FIELDS.items()}

# ---- Referenced apps: service access tokens (KMS RS256 key alias, issuer) and the measures table -----------------
SERVICE_TOKEN_KEY = "MES_SERVICE_TOKEN_KEY"  # noqa: S105 (a variable name: the KMS alias signing service tokens)
SERVICE_TOKEN_ISSUER = "MES_SERVICE_TOKEN_ISSUER"  # noqa: S105 (a variable name: their `iss`)
ENV_MEASURES_TABLE = "MES_MEASURES_TABLE"  # health measures (functions/measures/storage.py)
