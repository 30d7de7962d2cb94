"""Pseudonyms for identifiers that must not appear in clear in logs, S3 keys or KMS encryption contexts."""

from __future__ import annotations

import hashlib


def digest(kind: str, value: str) -> str:
    """A stable, namespaced SHA-256 pseudonym (first 32 hex chars): same person -> same value, not reversible
    by reading it. Used for log correlation, S3 prefixes and the KMS context that CloudTrail records."""
    return hashlib.sha256(f"mes:{kind}:{value}".encode()).hexdigest()[:32]
