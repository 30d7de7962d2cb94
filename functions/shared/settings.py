"""Runtime configuration, read from the environment once, on first use (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from functions.shared import names as n

# Asymmetric signature algorithms a token may use at all; each issuer narrows them (FranceConnect and Pro Santé
# Connect sign with RS256 or ES256), and the signing key's type narrows them again (functions/identity/tokens.py).
Algorithm = Literal["RS256", "PS256", "ES256"]
ALLOWED_ALGORITHMS: tuple[Algorithm, ...] = ("RS256", "PS256", "ES256")


class IssuerSettings(BaseModel):
    """One trusted OIDC issuer: tokens are accepted only with this `iss`, this `aud` and a key from this JWKS."""

    model_config = ConfigDict(frozen=True)

    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    jwks_uri: str = Field(min_length=1)
    algorithms: tuple[Algorithm, ...] = Field(default=ALLOWED_ALGORITHMS, min_length=1)


class Settings(BaseModel):
    """Every name and limit the functions need; a deployed stage sets them through Lambda environment variables."""

    model_config = ConfigDict(frozen=True)

    region: str = "eu-west-3"
    spaces_table: str
    documents_table: str
    traces_table: str
    notifications_table: str
    access_table: str
    quarantine_bucket: str
    records_bucket: str
    kms_key_id: str
    trace_signing_key_id: str
    citizen_issuer: IssuerSettings
    professional_issuer: IssuerSettings
    agenda_table: str
    agenda_due_table: str
    idempotency_table: str
    messages_table: str
    agenda_shard_queue_url: str
    agenda_delivery_queue_url: str
    agenda_email_source: str
    agenda_email_template: str
    agenda_shards: int = Field(default=64, ge=1, le=100_000)
    agenda_batch_size: int = Field(default=100, ge=1, le=500)
    pseudonym_key: str | None = Field(default=None, min_length=32)
    pseudonym_secret_arn: str | None = None
    upload_url_ttl_seconds: int = Field(default=600, ge=60, le=900)
    download_url_ttl_seconds: int = Field(default=300, ge=30, le=300)
    measures_table: str
    service_token_key: str | None = None  # unset: no service access token is accepted
    service_token_issuer: str = "https://mes.local/oauth"  # noqa: S105 (an issuer URL, not a secret)

    @model_validator(mode="after")
    def _pseudonym_key_source(self) -> Settings:
        if not (self.pseudonym_key or self.pseudonym_secret_arn):
            raise ValueError("pseudonym_secret_arn (or pseudonym_key locally) is required")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from `MES_*` variables (functions/shared/names.py); a missing one fails loudly with its
        name."""

        def issuer(prefix: str) -> dict[str, object]:
            found: dict[str, object] = {field: env.get(n.issuer_env(prefix, var))
                                        for field, var in n.ISSUER_FIELDS.items()}
            algorithms = env.get(n.issuer_env(prefix, "ALGORITHMS"))
            if algorithms:  # e.g. "RS256,ES256"
                found["algorithms"] = tuple(a.strip() for a in algorithms.split(","))
            return found

        raw = {
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-3",
            "spaces_table": env.get(n.ENV_SPACES_TABLE),
            "documents_table": env.get(n.ENV_DOCUMENTS_TABLE),
            "traces_table": env.get(n.ENV_TRACES_TABLE),
            "notifications_table": env.get(n.ENV_NOTIFICATIONS_TABLE),
            "access_table": env.get(n.ENV_ACCESS_TABLE),
            "quarantine_bucket": env.get(n.ENV_QUARANTINE_BUCKET),
            "records_bucket": env.get(n.ENV_RECORDS_BUCKET),
            "kms_key_id": env.get(n.ENV_KMS_KEY_ID),
            "trace_signing_key_id": env.get(n.ENV_TRACE_SIGNING_KEY_ID),
            "agenda_table": env.get(n.ENV_AGENDA_TABLE),
            "agenda_due_table": env.get(n.ENV_AGENDA_DUE_TABLE),
            "idempotency_table": env.get(n.ENV_IDEMPOTENCY_TABLE),
            "messages_table": env.get(n.ENV_MESSAGES_TABLE),
            "agenda_shard_queue_url": env.get(n.ENV_AGENDA_SHARD_QUEUE_URL),
            "agenda_delivery_queue_url": env.get(n.ENV_AGENDA_DELIVERY_QUEUE_URL),
            "agenda_email_source": env.get(n.ENV_AGENDA_EMAIL_SOURCE),
            "agenda_email_template": env.get(n.ENV_AGENDA_EMAIL_TEMPLATE),
            "pseudonym_key": env.get(n.ENV_PSEUDONYM_KEY) or None,
            "pseudonym_secret_arn": env.get(n.ENV_PSEUDONYM_SECRET_ARN) or None,
            "citizen_issuer": issuer("CITIZEN"),
            "professional_issuer": issuer("PRO"),
            "measures_table": env.get(n.ENV_MEASURES_TABLE),
            "service_token_key": env.get(n.SERVICE_TOKEN_KEY) or None,
            "service_token_issuer": env.get(n.SERVICE_TOKEN_ISSUER) or "https://mes.local/oauth",
        }
        for name, value in (
            ("upload_url_ttl_seconds", env.get(n.ENV_UPLOAD_URL_TTL_SECONDS)),
            ("download_url_ttl_seconds", env.get(n.ENV_DOWNLOAD_URL_TTL_SECONDS)),
            ("agenda_shards", env.get(n.ENV_AGENDA_SHARDS)),
            ("agenda_batch_size", env.get(n.ENV_AGENDA_BATCH_SIZE)),
        ):
            if value:
                raw[name] = value
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            missing = ", ".join(".".join(str(p) for p in e["loc"]) or e["msg"] for e in exc.errors())
            raise RuntimeError(f"configuration incomplete or invalid: {missing}") from exc


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings, read on first call."""
    return Settings.from_env(os.environ)
