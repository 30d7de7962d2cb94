"""Service access tokens (a referenced app acting for one person through one pairing): JWTs signed RS256 by a KMS
asymmetric key. The edge recognises them by their issuer and verifies them without any DynamoDB call: the signature
with the key's public half (KMS GetPublicKey, once per process), `aud`, `exp`, and revocation against a small
snapshot of revoked pairings and services (`RevokedPairings`), cached at most `REVOCATION_TTL_SECONDS` per process.
The pairing's consent state travels in the token (`scope`); the INS never does (`sub` is the pairwise idPe)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from pydantic import ValidationError

from functions.identity.ports import PairingDirectory, RevokedPairings
from functions.identity.principal import Service
from functions.identity.tokens import LEEWAY_SECONDS, reason
from functions.shared.errors import Unauthenticated
from functions.shared.observability import logger

AUDIENCE = "mes-fhir"
DEFAULT_ISSUER = "https://mes.local/oauth"
# How stale a revocation may be: a pairing revoked (or a service suspended) is refused by every warm function
# within this many seconds, plus API Gateway's authorizer cache for a token already accepted (see README).
REVOCATION_TTL_SECONDS = 60
_REQUIRED = ["exp", "iat", "iss", "aud", "sub", "jti", "oid", "pid", "pv"]


class KmsPublicKey:
    """The public half of the KMS signing key, read once (GetPublicKey) and kept for the process's life. `kms` is a
    boto3 KMS client given by the composition root."""

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id
        self._key: rsa.RSAPublicKey | None = None

    def __call__(self) -> rsa.RSAPublicKey:
        if self._key is None:
            der = self._kms.get_public_key(KeyId=self._key_id)["PublicKey"]
            key = load_der_public_key(der)
            if not isinstance(key, rsa.RSAPublicKey):
                raise TypeError("the service-token key must be an RSA key")
            self._key = key
        return self._key


class CachedRevocations:
    """The revocation snapshot, read again at most every `ttl` seconds (monotonic clock)."""

    def __init__(self, source: RevokedPairings, ttl: float = REVOCATION_TTL_SECONDS,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._ttl = ttl
        self._now = now
        self._snapshot: dict[str, int] = {}
        self._read_at: float | None = None

    def snapshot(self) -> dict[str, int]:
        at = self._now()
        if self._read_at is None or at - self._read_at >= self._ttl:
            self._snapshot = dict(self._source.snapshot())
            self._read_at = at
        return self._snapshot


class CachedDirectory:
    """The pairing directory (idPe -> INS), each answer kept at most `ttl` seconds: an app syncing a batch of
    measures resolves its idPe once, not once per write. Only found entries are kept (a pairing made a moment ago
    resolves at once). Safe because an idPe never names someone else: a pairwise id is a keyed hash of (INS, OID),
    and an ended pairing's tokens are refused by the revocation snapshot, whose staleness bound is the same."""

    def __init__(self, source: PairingDirectory, ttl: float = REVOCATION_TTL_SECONDS, size: int = 4096,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._ttl = ttl
        self._size = size
        self._now = now
        self._found: dict[tuple[str, str], tuple[str, float]] = {}

    def resolve(self, oid: str, id_pe: str) -> str | None:
        at = self._now()
        kept = self._found.get((oid, id_pe))
        if kept is not None and at - kept[1] < self._ttl:
            return kept[0]
        ins = self._source.resolve(oid, id_pe)
        if ins is None:
            self._found.pop((oid, id_pe), None)
            return None
        if len(self._found) >= self._size:
            self._found.clear()  # bounded memory; the next writes of each app resolve again
        self._found[(oid, id_pe)] = (ins, at)
        return ins


class ServiceTokenVerifier:
    """Verifies service access tokens from one issuer (ours: the pairing's authorization server)."""

    def __init__(self, issuer: str, public_key: Callable[[], rsa.RSAPublicKey], revoked: RevokedPairings) -> None:
        self.issuer = issuer
        self._public_key = public_key
        self._revoked = revoked

    def recognises(self, token: str) -> bool:
        """Whether the token claims our issuer (unverified: it only picks the verifier)."""
        try:
            return bool(jwt.decode(token, options={"verify_signature": False}).get("iss") == self.issuer)
        except jwt.PyJWTError:
            return False

    def verify(self, token: str) -> Service:
        try:
            if jwt.get_unverified_header(token).get("alg") != "RS256":
                raise Unauthenticated("token algorithm not accepted", code="unsupported_algorithm")
            claims = jwt.decode(token, key=self._public_key(), algorithms=["RS256"], audience=AUDIENCE,
                                issuer=self.issuer, leeway=LEEWAY_SECONDS, options={"require": _REQUIRED})
            who = Service(oid=claims["oid"], id_pe=claims["sub"], pairing=claims["pid"], pv=claims["pv"],
                          scope=str(claims.get("scope") or ""))
            iat = int(claims["iat"])
        except Unauthenticated:
            raise
        except jwt.PyJWTError as exc:
            code, message = reason(exc)
            raise Unauthenticated(message, code=code) from exc
        except (ValidationError, ValueError, KeyError, TypeError) as exc:
            raise Unauthenticated("service token claims are not valid", code="missing_claim") from exc
        except Exception as exc:  # whatever breaks inside verification, the caller is not verified
            logger.warning("service token verification failed unexpectedly", extra={"error_type": type(exc).__name__})
            raise Unauthenticated("token could not be verified", code="invalid_token") from exc
        self._check_not_revoked(who, iat)
        return who

    def _check_not_revoked(self, who: Service, iat: int) -> None:
        revoked = self._revoked.snapshot()
        minimum = revoked.get(who.pairing, 0)
        if minimum < 0 or who.pv < minimum:  # negative: the pairing ended, every version of its tokens is dead
            raise Unauthenticated("this pairing was revoked or changed", code="pairing_revoked")
        if iat < revoked.get(f"svc:{who.oid}", 0):
            raise Unauthenticated("this service is suspended or no longer referenced", code="service_suspended")
