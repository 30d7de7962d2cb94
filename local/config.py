"""The environment the app sees locally: same variable names as a deployed stage, values pointing at moto."""

from __future__ import annotations

import os
from pathlib import Path

from functions.shared import names as n

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".local"
REGION = "eu-west-3"
ACCOUNT = "123456789012"
# What a mistyped setting says (`python -m local` reports the first one and stops) instead of a traceback at import.
INVALID_SETTINGS: list[str] = []


def _port(variable: str, default: int) -> int:
    """A TCP port from the environment; a value that is not one is reported, and the default kept meanwhile."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    if raw.isascii() and raw.isdigit() and 0 < int(raw) < 65536:
        return int(raw)
    INVALID_SETTINGS.append(f"{variable}={raw!r} is not a port number (1-65535)")
    return default


AWS_PORT = _port("MES_LOCAL_AWS_PORT", 4566)
API_PORT = _port("MES_LOCAL_API_PORT", 8000)
CITIZEN_ISSUER = "https://dev-issuer.localhost/citizen"
PRO_ISSUER = "https://dev-issuer.localhost/pro"
AUDIENCE = "mon-espace-sante-api"
KMS_ALIAS = "alias/mes-local-records"
SIGNING_ALIAS = "alias/mes-local-trace-signing"
SERVICE_TOKEN_ALIAS = "alias/mes-local-service-tokens"
UPLOAD_EVENTS_QUEUE = n.UPLOAD_EVENTS_QUEUE
UPLOAD_EVENTS_DLQ = n.dead_letters(n.UPLOAD_EVENTS_QUEUE)
MAX_RECEIVES = 3
AGENDA_SHARD_QUEUE = n.AGENDA_SHARD_QUEUE
AGENDA_DELIVERY_QUEUE = n.AGENDA_DELIVERY_QUEUE
AGENDA_SHARD_DLQ = n.dead_letters(n.AGENDA_SHARD_QUEUE)
AGENDA_DELIVERY_DLQ = n.dead_letters(n.AGENDA_DELIVERY_QUEUE)
EXPORT_QUEUE = n.EXPORT_QUEUE
EXPORT_DLQ = n.dead_letters(n.EXPORT_QUEUE)
INBOUND_MAIL_QUEUE = n.INBOUND_MAIL_QUEUE
INBOUND_MAIL_DLQ = n.dead_letters(n.INBOUND_MAIL_QUEUE)
SMTP_PORT = _port("MES_LOCAL_SMTP_PORT", 2525)  # `python -m local smtp` (and `make run`) listen here
ERASURE_QUEUE = n.ERASURE_QUEUE
ERASURE_DLQ = n.dead_letters(n.ERASURE_QUEUE)
EMAIL_SOURCE = "ne-pas-repondre@monespacesante.localhost"
WEB_ORIGIN = "http://localhost:3000"  # the local web front end: the one origin CORS allows locally
EMAIL_TEMPLATE = "mes-reminder"
ENROLMENT_EMAIL_TEMPLATE = "mes-enrolment"  # provisional codes and opposition notices (functions/accounts)
ACCOUNTS_TASK_QUEUE = n.ACCOUNTS_TASK_QUEUE
ACCOUNTS_TASK_DLQ = n.dead_letters(n.ACCOUNTS_TASK_QUEUE)
INFORMATION_TEMPLATE = "mes-information"


def local_env(aws_port: int = AWS_PORT, api_port: int = API_PORT, prefix: str = "mes-local") -> dict[str, str]:
    jwks = f"http://127.0.0.1:{api_port}/dev-issuer/jwks.json"  # served by local.gateway
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        n.ENV_SPACES_TABLE: f"{prefix}-spaces",
        n.ENV_DOCUMENTS_TABLE: f"{prefix}-documents",
        n.ENV_TRACES_TABLE: f"{prefix}-traces",
        n.ENV_NOTIFICATIONS_TABLE: f"{prefix}-notifications",
        n.ENV_ACCESS_TABLE: f"{prefix}-access",
        n.ENV_QUARANTINE_BUCKET: f"{prefix}-quarantine",
        n.ENV_RECORDS_BUCKET: f"{prefix}-records",
        n.ENV_KMS_KEY_ID: f"arn:aws:kms:{REGION}:{ACCOUNT}:{KMS_ALIAS}",
        n.ENV_TRACE_SIGNING_KEY_ID: f"arn:aws:kms:{REGION}:{ACCOUNT}:{SIGNING_ALIAS}",
        n.ENV_AGENDA_TABLE: f"{prefix}-agenda",
        n.ENV_AGENDA_DUE_TABLE: f"{prefix}-agenda-due",
        n.ENV_IDEMPOTENCY_TABLE: f"{prefix}-idempotency",
        n.ENV_MESSAGES_TABLE: f"{prefix}-messages",
        n.ENV_EXPORTS_TABLE: f"{prefix}-exports",
        n.ENV_EXPORTS_BUCKET: f"{prefix}-exports",
        n.ENV_EXPORT_QUEUE_URL: f"http://127.0.0.1:{aws_port}/{ACCOUNT}/{EXPORT_QUEUE}",
        n.ENV_ATTACHMENTS_BUCKET: f"{prefix}-attachments",
        n.ENV_ATTACHMENTS_BUCKET: f"{prefix}-attachments",
        n.ENV_INBOUND_MAIL_BUCKET: f"{prefix}-inbound-mail",
        n.ENV_CATALOGUE_TABLE: f"{prefix}-catalogue",
        n.SERVICE_TOKEN_KEY: SERVICE_TOKEN_ALIAS,
        n.ENV_MEASURES_TABLE: f"{prefix}-measures",
        n.ENV_AGENDA_SHARD_QUEUE_URL: f"http://127.0.0.1:{aws_port}/{ACCOUNT}/{AGENDA_SHARD_QUEUE}",
        n.ENV_AGENDA_DELIVERY_QUEUE_URL: f"http://127.0.0.1:{aws_port}/{ACCOUNT}/{AGENDA_DELIVERY_QUEUE}",
        n.ENV_ENVELOPE_ENCRYPTION: "1",
        n.ENV_ERASURE_QUEUE_URL: f"http://127.0.0.1:{aws_port}/{ACCOUNT}/{ERASURE_QUEUE}",
        n.ENV_AGENDA_EMAIL_SOURCE: EMAIL_SOURCE,
        n.ENV_AGENDA_EMAIL_TEMPLATE: EMAIL_TEMPLATE,
        n.ENV_AGENDA_SHARDS: "8",
        n.ENV_CORS_ALLOWED_ORIGINS: WEB_ORIGIN,
        n.ENV_OUTBOX_BUCKET: f"{prefix}-outbox",
        n.ISSUER_ENV["citizen_issuer"]: CITIZEN_ISSUER,
        n.ISSUER_ENV["citizen_audience"]: AUDIENCE,
        n.ISSUER_ENV["citizen_jwks_uri"]: jwks,
        n.ISSUER_ENV["pro_issuer"]: PRO_ISSUER,
        n.ISSUER_ENV["pro_audience"]: AUDIENCE,
        n.ISSUER_ENV["pro_jwks_uri"]: jwks,
        "POWERTOOLS_SERVICE_NAME": "mon-espace-sante",
        n.ENV_PSEUDONYM_KEY: "local-development-pseudonym-key-not-a-secret",
        n.ENV_PROOFS_BUCKET: f"{prefix}-proofs",
        n.ENV_ENROLMENT_EMAIL_TEMPLATE: ENROLMENT_EMAIL_TEMPLATE,
        n.ENV_INTAKE_BUCKET: f"{prefix}-intake",
        n.ENV_PRINT_BUCKET: f"{prefix}-print",
        n.ENV_ACCOUNTS_TASK_QUEUE_URL: f"http://127.0.0.1:{aws_port}/{ACCOUNT}/{ACCOUNTS_TASK_QUEUE}",
        n.ENV_INFORMATION_EMAIL_TEMPLATE: INFORMATION_TEMPLATE,
    }


def apply(env: dict[str, str]) -> None:
    """Install the environment and forget anything cached from a previous one."""
    os.environ.update(env)
    from functions import deps

    deps.reset()
