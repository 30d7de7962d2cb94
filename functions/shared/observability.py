"""The one Logger of the service. Capabilities log through it and never log identifiers or health data."""

from __future__ import annotations

import uuid

from aws_lambda_powertools import Logger

logger = Logger(service="mon-espace-sante")


def correlate(correlation_id: str | None) -> str:
    """Tag every following log line of this invocation with one id (a fresh one when the caller gave none)."""
    value = correlation_id or str(uuid.uuid4())
    logger.set_correlation_id(value)
    return value
