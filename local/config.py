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
UPLOAD_EVENTS_QUEUE = n.UPLOAD_EVENTS_QUEUE
UPLOAD_EVENTS_DLQ = n.dead_letters(n.UPLOAD_EVENTS_QUEUE)
MAX_RECEIVES = 3
AGENDA_SHARD_QUEUE = n.AGENDA_SHARD_QUEUE
AGENDA_DELIVERY_QUEUE = n.AGENDA_DELIVERY_QUEUE
AGENDA_SHARD_DLQ = n.dead_letters(n.AGENDA_SHARD_QUEUE)
AGENDA_DELIVERY_DLQ = n.dead_letters(n.AGENDA_DELIVERY_QUEUE)
EMAIL_SOURCE = "ne-pas-repondre@monespacesante.localhost"
WEB_ORIGIN = "http://localhost:3000"  # the local web front end: the one origin CORS allows locally
EMAIL_TEMPLATE = "mes-reminder"


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
        n.ENV_MEASURES_TABLE: f"{prefix}-measures",
        n.ENV_AGENDA_SHARD_QUEUE_URL: f"http://127.0.0.1:{aws_port}/{ACCOUNT}/{AGENDA_SHARD_QUEUE}",
        n.ENV_AGENDA_DELIVERY_QUEUE_URL: f"http://127.0.0.1:{aws_port}/{ACCOUNT}/{AGENDA_DELIVERY_QUEUE}",
        n.ENV_AGENDA_EMAIL_SOURCE: EMAIL_SOURCE,
        n.ENV_AGENDA_EMAIL_TEMPLATE: EMAIL_TEMPLATE,
        n.ENV_AGENDA_SHARDS: "8",
        n.ENV_CORS_ALLOWED_ORIGINS: WEB_ORIGIN,
        n.ISSUER_ENV["citizen_issuer"]: CITIZEN_ISSUER,
        n.ISSUER_ENV["citizen_audience"]: AUDIENCE,
        n.ISSUER_ENV["citizen_jwks_uri"]: jwks,
        n.ISSUER_ENV["pro_issuer"]: PRO_ISSUER,
        n.ISSUER_ENV["pro_audience"]: AUDIENCE,
        n.ISSUER_ENV["pro_jwks_uri"]: jwks,
        "POWERTOOLS_SERVICE_NAME": "mon-espace-sante",
        n.ENV_PSEUDONYM_KEY: "local-development-pseudonym-key-not-a-secret",
    }


def apply(env: dict[str, str]) -> None:
    """Install the environment and forget anything cached from a previous one."""
    os.environ.update(env)
    from functions import deps

    deps.reset()
