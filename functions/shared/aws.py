"""boto3 clients, created on first use and reused across invocations of a warm Lambda."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config

# Bounded timeouts and standard retries on every outbound call (unsafe consumption: never hang a request).
_CONFIG = Config(
    connect_timeout=3, read_timeout=10, retries={"max_attempts": 4, "mode": "standard"}, signature_version="s3v4"
)


@cache
def client(service: str, region: str) -> Any:
    """AWS_ENDPOINT_URL (set by the local runner and the tests) points every client at the moto server."""
    import boto3  # deferred: keeps the cold import of the edge close to bare boto3

    return boto3.session.Session().client(service, region_name=region, config=_CONFIG)
