"""Development OIDC issuer: one RSA key on disk, its JWKS as a file the API reads through a file:// URI.
Deployed stages point MES_*_JWKS_URI at the real issuers (FranceConnect, Pro Santé Connect) instead."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local.config import AUDIENCE, STATE_DIR


class DevIssuer:
    def __init__(self, state_dir: Path = STATE_DIR) -> None:
        self.dir = state_dir / "issuer"
        self.dir.mkdir(parents=True, exist_ok=True)
        pem = self.dir / "private.pem"
        if not pem.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
            pem.chmod(0o600)
        loaded = serialization.load_pem_private_key(pem.read_bytes(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        self.private_key = loaded
        public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        self.kid = "dev-" + hashlib.sha256(public_jwk["n"].encode()).hexdigest()[:16]
        public_jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        self.jwks = {"keys": [public_jwk]}
        self.jwks_path = self.dir / "jwks.json"
        self.jwks_path.write_text(json.dumps(self.jwks))

    def mint(self, issuer: str, subject: str, claims: dict[str, Any] | None = None, ttl_seconds: int = 3600,
             audience: str = AUDIENCE) -> str:
        now = int(time.time())
        # `auth_time`: the sign-in is now (closing a space asks for a recent one; pass claims to say otherwise)
        payload = {"iss": issuer, "aud": audience, "sub": subject, "iat": now, "nbf": now, "exp": now + ttl_seconds,
                   "auth_time": now, **(claims or {})}
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": self.kid})
