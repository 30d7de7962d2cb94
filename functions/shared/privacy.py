"""Pseudonyms for identifiers that must not appear in clear in logs, S3 keys, API Gateway principals or KMS
encryption contexts (which CloudTrail records). Keyed (HMAC-SHA-256): without the key, nobody can find the INS
behind a pseudonym by hashing every possible INS. The key comes from Secrets Manager in a deployed stage
(`MES_PSEUDONYM_SECRET_ARN`, read once per cold start) or from `MES_PSEUDONYM_KEY` locally. It is never rotated:
existing S3 keys and encryption contexts are derived from it."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache


@lru_cache(maxsize=1)
def _key() -> bytes:
    from functions.shared.settings import settings

    s = settings()
    if s.pseudonym_secret_arn:
        from functions.shared.aws import client

        secret: str = client("secretsmanager", s.region).get_secret_value(SecretId=s.pseudonym_secret_arn)[
            "SecretString"]
        return secret.encode()
    assert s.pseudonym_key is not None
    return s.pseudonym_key.encode()


_pinned: dict[str, bytes] = {}


def use_key(key: bytes | None) -> None:
    """Pin the key (tests, tools), or forget it so the next call reads the configuration again (None)."""
    _key.cache_clear()
    _pinned.clear()
    if key is not None:
        _pinned["key"] = key


def digest(kind: str, value: str) -> str:
    """A stable, namespaced pseudonym (32 hex chars): same person -> same value, not reversible without the key."""
    key = _pinned.get("key") or _key()
    return hmac.new(key, f"mes:{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
