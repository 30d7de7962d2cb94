"""Service access tokens for the integration tests, signed for real with the stack's own key (the RSA_2048
SIGN_VERIFY key local/resources.py creates, MES_SERVICE_TOKEN_KEY, the one the catalogue's token endpoint signs
with), each token signed with kms.sign, so the authorizer's verification (GetPublicKey, RS256) is the deployed one.
The catalogue's pairing mints them in the product; these tests mint their own to reach the measures' rules."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from typing import Any

from functions.shared.names import SERVICE_TOKEN_KEY
from local.config import SERVICE_TOKEN_ALIAS

ALIAS = SERVICE_TOKEN_ALIAS  # the stack's key: one signing key, so tokens of both origins verify alike
ISSUER = "https://mes.local/oauth"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def kms() -> Any:
    from functions.shared.aws import client
    from local import config

    return client("kms", config.REGION)


def ensure_key() -> str:
    """The signing key (created once per stack) and the stack told to accept its tokens."""
    from functions import deps

    aliases = {a["AliasName"] for a in kms().list_aliases()["Aliases"]}
    if ALIAS not in aliases:
        key_id = kms().create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048",
                                  Description="service access tokens (tests)")["KeyMetadata"]["KeyId"]
        kms().create_alias(AliasName=ALIAS, TargetKeyId=key_id)
    if os.environ.get(SERVICE_TOKEN_KEY) != ALIAS:
        os.environ[SERVICE_TOKEN_KEY] = ALIAS
        deps.reset()
    return ALIAS


def mint(sub: str, oid: str, pid: str, pv: int = 1, scope: str = "22 11", ttl: int = 300, **over: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "aud": "mes-fhir", "sub": sub, "oid": oid, "pid": pid, "pv": pv,
                              "scope": scope, "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex}
    claims.update(over)
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = kms().sign(KeyId=ensure_key(), Message=signing_input, MessageType="RAW",
                           SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
    return f"{header}.{payload}.{_b64(signature)}"
