"""Stage parameters: infra/stages/<stage>.json, each key overridable with CDK context (`-c key=value`).

Validation runs before anything is built, and every error names the parameter, so a bad stage, region or missing
issuer stops synth with a message an operator can act on. Nothing is read from the developer's machine (no AWS
profile, no default account or region)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from infra import constants as c


class ConfigError(ValueError):
    """A stage parameter is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Issuer:
    issuer: str
    audience: str
    jwks_uri: str


@dataclass(frozen=True)
class StageConfig:
    stage: str
    region: str
    citizen: Issuer
    professional: Issuer
    alarm_email: str | None
    api_rate_limit: int
    api_burst_limit: int
    reserved_concurrency: dict[str, int]
    max_concurrency: dict[str, int]  # per SQS consumer function: its event source's maximum concurrency
    log_retention_days: int
    backup_retention_days: int
    termination_protection: bool
    agenda_email_source: str  # the From address of reminder e-mails
    agenda_email_identity: str  # the SES identity that address sends as: itself, or its domain
    agenda_shards: int
    cors_allowed_origins: tuple[str, ...] = ()  # web origins a browser may call the API from (none: no CORS)

    @property
    def is_production(self) -> bool:
        return self.stage == "prod"

    def issuer_environment(self) -> dict[str, str]:
        values = {
            "citizen_issuer": self.citizen.issuer, "citizen_audience": self.citizen.audience,
            "citizen_jwks_uri": self.citizen.jwks_uri, "pro_issuer": self.professional.issuer,
            "pro_audience": self.professional.audience, "pro_jwks_uri": self.professional.jwks_uri,
        }
        return {c.ISSUER_ENV[k]: v for k, v in values.items()}


# Values CloudWatch Logs accepts for a retention period.
_LOG_RETENTIONS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                   3288, 3653)


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"missing stage parameter '{name}' (set it in infra/stages/<stage>.json or -c {name}=...)")
    return value.strip()


def _https_url(values: Mapping[str, Any], name: str) -> str:
    value = _text(values, name)
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.netloc:
        raise ConfigError(f"stage parameter '{name}' must be an https URL, got {value!r}")
    return value


def _int(values: Mapping[str, Any], name: str, low: int, high: int) -> int:
    raw = values.get(name)
    try:
        value = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"stage parameter '{name}' must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"stage parameter '{name}' must be between {low} and {high}, got {value}")
    return value


def _bool(values: Mapping[str, Any], name: str) -> bool:
    raw = values.get(name)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    raise ConfigError(f"stage parameter '{name}' must be true or false, got {raw!r}")


_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z0-9-]{2,}$")
_DOMAIN = re.compile(r"^([A-Za-z0-9-]+\.)+[A-Za-z0-9-]{2,}$")


def _email_source(values: Mapping[str, Any]) -> tuple[str, str]:
    """(From address, SES identity): the identity is the address itself unless `agenda_email_identity` names its
    domain (DKIM records to publish, stack outputs)."""
    source = _text(values, "agenda_email_source")
    if not _EMAIL.match(source):
        raise ConfigError(f"stage parameter 'agenda_email_source' must be a bare e-mail address, got {source!r}")
    identity = str(values.get("agenda_email_identity") or "").strip() or source
    if identity != source:
        if not _DOMAIN.match(identity):
            raise ConfigError(f"stage parameter 'agenda_email_identity' must be empty (the address is the identity) "
                              f"or a domain, got {identity!r}")
        if source.rsplit("@", 1)[1].lower() != identity.lower():
            raise ConfigError(f"stage parameter 'agenda_email_identity' ({identity}) is not the domain of "
                              f"'agenda_email_source' ({source})")
    return source, identity


_ORIGIN = re.compile(r"^(https://[A-Za-z0-9.-]+|http://(localhost|127\.0\.0\.1))(:[0-9]{1,5})?$")


def _origins(values: Mapping[str, Any], production: bool) -> tuple[str, ...]:
    """`cors_allowed_origins`: a JSON list (stage file) or a comma-separated string (-c). Each is an exact origin,
    scheme://host[:port] without path or wildcard; https, or plain http on the developer's own machine outside
    prod."""
    raw = values.get("cors_allowed_origins", [])
    if isinstance(raw, str):
        raw = json.loads(raw) if raw.strip().startswith("[") else [o for o in raw.split(",") if o.strip()]
    if not isinstance(raw, list) or not all(isinstance(o, str) for o in raw):
        raise ConfigError(f"stage parameter 'cors_allowed_origins' must be a list of origins, got {raw!r}")
    origins = tuple(o.strip() for o in raw)
    for origin in origins:
        if not _ORIGIN.match(origin) or (production and not origin.startswith("https://")):
            raise ConfigError(f"stage parameter 'cors_allowed_origins': {origin!r} is not an exact "
                              f"{'https ' if production else ''}origin (scheme://host[:port], no path, no wildcard)")
    return origins


def _issuer(values: Mapping[str, Any], who: str) -> Issuer:
    return Issuer(issuer=_https_url(values, f"{who}_issuer"), audience=_text(values, f"{who}_audience"),
                  jwks_uri=_https_url(values, f"{who}_jwks_uri"))


def load(context: Mapping[str, Any]) -> StageConfig:
    """Builds the stage configuration from CDK context (`stage`, `region` and any override of the stage file)."""
    stage = context.get("stage")
    if not stage:
        raise ConfigError(f"missing parameter 'stage': pass STAGE=<{'|'.join(c.STAGES)}> (cdk: -c stage=...)")
    if stage not in c.STAGES:
        raise ConfigError(f"unknown stage '{stage}' (parameter 'stage'): expected one of {', '.join(c.STAGES)}")
    region = context.get("region") or c.REGION
    if region != c.REGION:
        raise ConfigError(f"parameter 'region' is '{region}': this stack holds health data (HDS) and may only be "
                          f"synthesized and deployed in {c.REGION}")
    values: dict[str, Any] = json.loads((c.STAGES_DIR / f"{stage}.json").read_text())
    values.update({k: v for k, v in context.items() if k in values or k in _KNOWN})
    unknown = sorted(set(values) - _KNOWN)
    if unknown:
        raise ConfigError(f"unknown stage parameter(s) in infra/stages/{stage}.json: {', '.join(unknown)}")
    alarm_email = values.get("alarm_email") or None
    if alarm_email is not None and "@" not in str(alarm_email):
        raise ConfigError(f"stage parameter 'alarm_email' is not an e-mail address: {alarm_email!r}")
    reserved = values.get("reserved_concurrency")
    if isinstance(reserved, str):
        reserved = json.loads(reserved)
    tunable = sorted(set(c.FUNCTION_TIMEOUTS) - set(c.FIXED_CONCURRENCY))
    if not isinstance(reserved, dict) or set(reserved) != set(tunable):
        raise ConfigError(f"stage parameter 'reserved_concurrency' must give a number for each of "
                          f"{', '.join(tunable)} (and only those: {', '.join(sorted(c.FIXED_CONCURRENCY))} "
                          f"is fixed in infra/constants.py)")
    reserved_ints = {name: _int(reserved, name, 1, 1000) for name in tunable} | c.FIXED_CONCURRENCY
    max_concurrency: dict[str, int] = {}
    for function, parameter in MAX_CONCURRENCY_PARAMETERS.items():
        # SQS event sources accept a maximum concurrency from 2.
        max_concurrency[function] = _int(values, parameter, 2, 1000)
        if reserved_ints[function] < max_concurrency[function]:
            raise ConfigError(f"stage parameter '{parameter}' exceeds {function}'s reserved concurrency: messages "
                              "would be throttled into the dead-letter queue")
    max_concurrency |= c.FIXED_MAX_CONCURRENCY  # consumers paced by design (infra/constants.py)
    retention = _int(values, "log_retention_days", 1, 3653)
    if retention not in _LOG_RETENTIONS:
        raise ConfigError(f"stage parameter 'log_retention_days' must be one of {_LOG_RETENTIONS}")
    citizen, professional = _issuer(values, "citizen"), _issuer(values, "pro")
    email_source, email_identity = _email_source(values)
    return StageConfig(
        stage=stage,
        region=region,
        citizen=citizen,
        professional=professional,
        alarm_email=alarm_email,
        api_rate_limit=_int(values, "api_rate_limit", 1, 10000),
        api_burst_limit=_int(values, "api_burst_limit", 1, 5000),
        reserved_concurrency=reserved_ints,
        max_concurrency=max_concurrency,
        log_retention_days=retention,
        backup_retention_days=_int(values, "backup_retention_days", 7, 3653),
        termination_protection=_bool(values, "termination_protection"),
        # After the issuers: a prod synth without any parameter names the issuers first.
        agenda_email_source=email_source,
        agenda_email_identity=email_identity,
        # Never lower it on a deployed stage: entries already in shards >= the new count would never be read.
        agenda_shards=_int(values, "agenda_shards", 1, 100_000),
        cors_allowed_origins=_origins(values, stage == "prod"),
    )


# SQS consumer -> the stage parameter bounding its event source's concurrency (so queues cannot starve the API).
MAX_CONCURRENCY_PARAMETERS = {c.CHALICE_UPLOAD_CONSUMER: "upload_consumer_max_concurrency",
                              c.CHALICE_AGENDA_SHARD_CONSUMER: "agenda_shard_max_concurrency",
                              c.CHALICE_AGENDA_DELIVERY_CONSUMER: "agenda_delivery_max_concurrency",
                              c.CHALICE_EXPORT_CONSUMER: "export_max_concurrency",
                              c.CHALICE_INBOUND_MAIL_CONSUMER: "inbound_mail_max_concurrency"}
# Every stage parameter (infra/stages/<stage>.json keys; cdk_app.py reads these from the CDK context).
PARAMETERS = (*c.ISSUER_ENV, "alarm_email", "api_rate_limit", "api_burst_limit", "reserved_concurrency",
              *MAX_CONCURRENCY_PARAMETERS.values(), "log_retention_days", "backup_retention_days",
              "termination_protection", "agenda_email_source", "agenda_email_identity", "agenda_shards",
              "cors_allowed_origins")
_KNOWN = set(PARAMETERS)
