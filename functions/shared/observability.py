"""The one Logger of the service. Capabilities log through it and never log identifiers or health data."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="mon-espace-sante")
