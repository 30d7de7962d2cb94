"""The environment the app sees locally: same variable names as a deployed stage, values pointing at moto."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".local"
REGION = "eu-west-3"
ACCOUNT = "123456789012"
AWS_PORT = int(os.environ.get("MES_LOCAL_AWS_PORT", "4566"))
API_PORT = int(os.environ.get("MES_LOCAL_API_PORT", "8000"))
CITIZEN_ISSUER = "https://dev-issuer.localhost/citizen"
PRO_ISSUER = "https://dev-issuer.localhost/pro"
AUDIENCE = "mon-espace-sante-api"
KMS_ALIAS = "alias/mes-local-records"
SIGNING_ALIAS = "alias/mes-local-trace-signing"
UPLOAD_EVENTS_QUEUE = "mes-upload-events"
UPLOAD_EVENTS_DLQ = "mes-upload-events-dlq"
MAX_RECEIVES = 3
AGENDA_SHARD_QUEUE = "mes-agenda-shards"
AGENDA_DELIVERY_QUEUE = "mes-agenda-deliveries"
AGENDA_SHARD_DLQ = "mes-agenda-shards-dlq"
AGENDA_DELIVERY_DLQ = "mes-agenda-deliveries-dlq"
EMAIL_SOURCE = "ne-pas-repondre@monespacesante.localhost"
EMAIL_TEMPLATE = "mes-reminder"


def local_env(aws_port: int = AWS_PORT, api_port: int = API_PORT, prefix: str = "mes-local") -> dict[str, str]:
    jwks = f"http://127.0.0.1:{api_port}/dev-issuer/jwks.json"  # served by local.gateway
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "MES_SPACES_TABLE": f"{prefix}-spaces",
        "MES_DOCUMENTS_TABLE": f"{prefix}-documents",
        "MES_TRACES_TABLE": f"{prefix}-traces",
        "MES_NOTIFICATIONS_TABLE": f"{prefix}-notifications",
        "MES_ACCESS_TABLE": f"{prefix}-access",
        "MES_QUARANTINE_BUCKET": f"{prefix}-quarantine",
        "MES_RECORDS_BUCKET": f"{prefix}-records",
        "MES_KMS_KEY_ID": f"arn:aws:kms:{REGION}:{ACCOUNT}:{KMS_ALIAS}",
        "MES_TRACE_SIGNING_KEY_ID": f"arn:aws:kms:{REGION}:{ACCOUNT}:{SIGNING_ALIAS}",
        "MES_AGENDA_TABLE": f"{prefix}-agenda",
        "MES_AGENDA_DUE_TABLE": f"{prefix}-agenda-due",
        "MES_AGENDA_SHARD_QUEUE_URL": f"http://127.0.0.1:{aws_port}/{ACCOUNT}/{AGENDA_SHARD_QUEUE}",
        "MES_AGENDA_DELIVERY_QUEUE_URL": f"http://127.0.0.1:{aws_port}/{ACCOUNT}/{AGENDA_DELIVERY_QUEUE}",
        "MES_AGENDA_EMAIL_SOURCE": EMAIL_SOURCE,
        "MES_AGENDA_EMAIL_TEMPLATE": EMAIL_TEMPLATE,
        "MES_AGENDA_SHARDS": "8",
        "MES_CITIZEN_ISSUER": CITIZEN_ISSUER,
        "MES_CITIZEN_AUDIENCE": AUDIENCE,
        "MES_CITIZEN_JWKS_URI": jwks,
        "MES_PRO_ISSUER": PRO_ISSUER,
        "MES_PRO_AUDIENCE": AUDIENCE,
        "MES_PRO_JWKS_URI": jwks,
        "POWERTOOLS_SERVICE_NAME": "mon-espace-sante",
        "MES_PSEUDONYM_KEY": "local-development-pseudonym-key-not-a-secret",
    }


def apply(env: dict[str, str]) -> None:
    """Install the environment and forget anything cached from a previous one."""
    os.environ.update(env)
    from functions import deps
    from functions.shared import aws, dynamo, privacy, settings

    settings.settings.cache_clear()
    privacy.use_key(None)
    aws.client.cache_clear()
    dynamo._connection.cache_clear()  # a connection built under another environment points at its endpoint
    for factory in (deps.bind_tables, deps.clock, deps.spaces, deps.traces, deps.notifications, deps.records,
                    deps.control, deps.access, deps.trace_signer, deps.token_verifier, deps.agenda,
                    deps.agenda_shard_queue, deps.agenda_delivery_queue, deps.agenda_delivery):
        factory.cache_clear()
