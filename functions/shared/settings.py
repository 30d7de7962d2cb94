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

    # Health data stay in France (hébergement HDS, Paris): a function configured for any other region refuses to start.
    region: Literal["eu-west-3"] = "eu-west-3"
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
    exports_table: str
    exports_bucket: str
    export_queue_url: str
    attachments_bucket: str
    agenda_shard_queue_url: str
    agenda_delivery_queue_url: str
    agenda_email_source: str
    agenda_email_template: str
    agenda_shards: int = Field(default=64, ge=1, le=100_000)
    agenda_batch_size: int = Field(default=100, ge=1, le=500)
    pseudonym_key: str | None = Field(default=None, min_length=32)
    pseudonym_secret_arn: str | None = None
    catalogue_table: str
    service_token_key: str
    service_token_issuer: str = Field(default="https://mes.local/oauth", min_length=1)
    upload_url_ttl_seconds: int = Field(default=600, ge=60, le=900)
    download_url_ttl_seconds: int = Field(default=300, ge=30, le=300)
    # What one message's attachments may weigh together (mes-rules-next.md A.6: about 20 MB, configuration).
    attachment_budget_bytes: int = Field(default=20 * 1024 * 1024, ge=1, le=25 * 1024 * 1024)
    outbox_bucket: str | None = None  # set: outbound mail is captured there (local); unset: SES
    # Enrolment (functions/accounts/service.py): unset bucket or template: the enrolment routes answer 503.
    proofs_bucket: str | None = None
    enrolment_email_template: str | None = None
    terms_version: str = Field(default="2026-12", min_length=1, max_length=40)
    code_ttl_mail_hours: int = Field(default=72, ge=1, le=24 * 30)
    code_ttl_letter_days: int = Field(default=90, ge=1, le=366)
    inbound_mail_bucket: str
    max_mime_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=40 * 1024 * 1024)
    # MSSanté's trust space: its operators' domains (a deployed stage may narrow or extend the list).
    mail_trusted_domains: tuple[str, ...] = ("*.mssante.fr", "mssante.fr")
    mail_trusted_relays: tuple[str, ...] = ()
    # opening by default (functions/accounts/opening.py); deps.opening() says which is missing
    intake_bucket: str | None = None
    print_bucket: str | None = None
    accounts_task_queue_url: str | None = None
    information_email_template: str | None = None
    objection_weeks: int = Field(default=6, ge=1, le=52)
    code_days: dict[str, int] = Field(default_factory=dict)  # channel -> days; missing channels keep the default
    intake_chunk_lines: int = Field(default=2_000, ge=10, le=20_000)
    fresh_auth_seconds: int = Field(default=300, ge=30, le=3600)
    deletion_delay_days: int = Field(default=0, ge=0, le=92)
    erasure_queue_url: str | None = None
    erasure_email_template: str = n.ERASURE_EMAIL_TEMPLATE  # a stage names its own (mes-<stage>-erasure-done)
    envelope_encryption: bool = False
    measures_table: str

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

        raw: dict[str, object] = {
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
            "exports_table": env.get(n.ENV_EXPORTS_TABLE),
            "exports_bucket": env.get(n.ENV_EXPORTS_BUCKET),
            "export_queue_url": env.get(n.ENV_EXPORT_QUEUE_URL),
            "attachments_bucket": env.get(n.ENV_ATTACHMENTS_BUCKET),
            "agenda_shard_queue_url": env.get(n.ENV_AGENDA_SHARD_QUEUE_URL),
            "agenda_delivery_queue_url": env.get(n.ENV_AGENDA_DELIVERY_QUEUE_URL),
            "agenda_email_source": env.get(n.ENV_AGENDA_EMAIL_SOURCE),
            "agenda_email_template": env.get(n.ENV_AGENDA_EMAIL_TEMPLATE),
            "intake_bucket": env.get(n.ENV_INTAKE_BUCKET) or None,
            "print_bucket": env.get(n.ENV_PRINT_BUCKET) or None,
            "accounts_task_queue_url": env.get(n.ENV_ACCOUNTS_TASK_QUEUE_URL) or None,
            "information_email_template": env.get(n.ENV_INFORMATION_EMAIL_TEMPLATE) or None,
            "code_days": dict(part.strip().split("=", 1) for part in env.get(n.ENV_CODE_DAYS, "").split(",")
                              if "=" in part),
            "pseudonym_key": env.get(n.ENV_PSEUDONYM_KEY) or None,
            "pseudonym_secret_arn": env.get(n.ENV_PSEUDONYM_SECRET_ARN) or None,
            "outbox_bucket": env.get(n.ENV_OUTBOX_BUCKET) or None,
            "proofs_bucket": env.get(n.ENV_PROOFS_BUCKET) or None,
            "enrolment_email_template": env.get(n.ENV_ENROLMENT_EMAIL_TEMPLATE) or None,
            "inbound_mail_bucket": env.get(n.ENV_INBOUND_MAIL_BUCKET),
            "erasure_queue_url": env.get(n.ENV_ERASURE_QUEUE_URL) or None,
            "erasure_email_template": env.get(n.ENV_ERASURE_EMAIL_TEMPLATE) or n.ERASURE_EMAIL_TEMPLATE,
            "envelope_encryption": env.get(n.ENV_ENVELOPE_ENCRYPTION) == "1",
            "catalogue_table": env.get(n.ENV_CATALOGUE_TABLE),
            "service_token_key": env.get(n.SERVICE_TOKEN_KEY),
            "citizen_issuer": issuer("CITIZEN"),
            "professional_issuer": issuer("PRO"),
            "measures_table": env.get(n.ENV_MEASURES_TABLE),
        }
        for name, value in (
            ("upload_url_ttl_seconds", env.get(n.ENV_UPLOAD_URL_TTL_SECONDS)),
            ("download_url_ttl_seconds", env.get(n.ENV_DOWNLOAD_URL_TTL_SECONDS)),
            ("agenda_shards", env.get(n.ENV_AGENDA_SHARDS)),
            ("agenda_batch_size", env.get(n.ENV_AGENDA_BATCH_SIZE)),
            ("attachment_budget_bytes", env.get(n.ENV_ATTACHMENT_BUDGET_BYTES)),
            ("terms_version", env.get(n.ENV_TERMS_VERSION)),
            ("code_ttl_mail_hours", env.get(n.ENV_CODE_TTL_MAIL_HOURS)),
            ("code_ttl_letter_days", env.get(n.ENV_CODE_TTL_LETTER_DAYS)),
            ("max_mime_bytes", env.get(n.ENV_MAX_MIME_BYTES)),
            ("objection_weeks", env.get(n.ENV_OBJECTION_WEEKS)),
            ("intake_chunk_lines", env.get(n.ENV_INTAKE_CHUNK_LINES)),
            ("fresh_auth_seconds", env.get(n.ENV_FRESH_AUTH_SECONDS)),
            ("deletion_delay_days", env.get(n.ENV_DELETION_DELAY_DAYS)),
            ("service_token_issuer", env.get(n.ENV_SERVICE_TOKEN_ISSUER)),
        ):
            if value:
                raw[name] = value
        for name, value in (("mail_trusted_domains", env.get(n.ENV_MAIL_TRUSTED_DOMAINS)),
                            ("mail_trusted_relays", env.get(n.ENV_MAIL_TRUSTED_RELAYS))):
            if value is not None and value.strip():
                raw[name] = tuple(p.strip() for p in value.split(",") if p.strip())
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            missing = ", ".join(".".join(str(p) for p in e["loc"]) or e["msg"] for e in exc.errors())
            raise RuntimeError(f"configuration incomplete or invalid: {missing}") from exc


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings, read on first call."""
    return Settings.from_env(os.environ)
