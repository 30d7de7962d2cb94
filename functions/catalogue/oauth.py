"""The OAuth 2.0 pieces the pairing uses, on PyJWT: PKCE (RFC 7636, S256 only), the client's private_key_jwt
assertion (RFC 7523 / OIDC Core 9) checked against the keys the catalogue registers for it, and the claims of the
tokens MES issues. Errors are RFC 6749's (`OAuthError`), which the edge renders as `{error, error_description}`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.catalogue.models import Service
from functions.shared.oauth import OAuthError

if TYPE_CHECKING:
    import jwt

# PyJWT is imported where it is used: importing the app (the CDK synth does, in an environment without it) loads
# these routes but verifies nothing.

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACCESS_TOKEN_AUDIENCE = "mes-fhir"  # noqa: S105 (an audience, not a secret)
ACCESS_TOKEN_SECONDS = 600
CODE_SECONDS = 60
ASSERTION_MAX_SECONDS = 300
LEEWAY_SECONDS = 30
# RFC 7636 4.1: 43 to 128 characters of the unreserved set.
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of a SHA-256, unpadded


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def challenge_of(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode()).digest())


def valid_challenge(challenge: str, method: str) -> bool:
    return method == "S256" and bool(_CHALLENGE.fullmatch(challenge))


def pkce_matches(verifier: str | None, challenge: str) -> bool:
    """Whether the token request's `code_verifier` is the one whose S256 challenge the authorization carried."""
    if verifier is None or not _VERIFIER.fullmatch(verifier):
        return False
    return hmac.compare_digest(challenge_of(verifier), challenge)


def new_secret() -> str:
    """An authorization code or a refresh token: 256 random bits, stored only as its hash."""
    return secrets.token_urlsafe(32)


def hashed(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _keys(service: Service) -> list[jwt.PyJWK]:
    import jwt

    if service.jwks is None:  # a jwks_uri service: its keys are fetched by operations into the file (not built)
        raise OAuthError("invalid_client", "no key is registered for this client", status=401)
    try:
        return list(jwt.PyJWKSet.from_dict(service.jwks).keys)
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_client", "the client's registered keys are unusable", status=401) from exc


def _algorithms(key: jwt.PyJWK) -> list[str]:
    """The algorithm follows the registered key's type, never the assertion's header alone."""
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    if isinstance(key.Algorithm, RSAAlgorithm):
        return ["RS256", "PS256"]
    if isinstance(key.Algorithm, ECAlgorithm):
        return ["ES256"]
    return []


def verify_assertion(service: Service, assertion: str | None, assertion_type: str | None, audience: str,
                     now: datetime) -> dict[str, Any]:
    """The client assertion's claims once it is signed by one of the service's registered keys, with iss = sub =
    its OID, aud = the token endpoint, an exp at most 5 minutes away and a jti (its single use is the caller's).
    Time is `now` (the service's clock), not PyJWT's own."""
    import jwt

    if assertion_type != ASSERTION_TYPE or not assertion:
        raise OAuthError("invalid_client", f"client_assertion_type must be {ASSERTION_TYPE}", status=401)
    try:
        header = jwt.get_unverified_header(assertion)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise OAuthError("invalid_client", "the client assertion is not a JWT", status=401) from exc
    keys = _keys(service)
    kid = header.get("kid")
    candidates = [k for k in keys if kid is None or k.key_id == kid]
    if not candidates:
        raise OAuthError("invalid_client", "the client assertion is signed by an unknown key", status=401)
    last: Exception | None = None
    for key in candidates:
        algorithms = _algorithms(key)
        if header.get("alg") not in algorithms:
            last = OAuthError("invalid_client", "the assertion's algorithm does not fit the key", status=401)
            continue
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion, key.key, algorithms=algorithms, audience=audience, issuer=service.oid,
                options={"require": ["iss", "sub", "aud", "exp", "jti"], "verify_exp": False,
                         "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidAudienceError as exc:
            raise OAuthError("invalid_client", "the client assertion's aud is not the token endpoint",
                             status=401) from exc
        except jwt.ExpiredSignatureError as exc:
            raise OAuthError("invalid_client", "the client assertion has expired", status=401) from exc
        except jwt.InvalidSignatureError as exc:
            last = exc
            continue
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            raise OAuthError("invalid_client", "the client assertion is invalid", status=401) from exc
        if not isinstance(claims["exp"], int | float) or float(claims["exp"]) + LEEWAY_SECONDS < now.timestamp():
            raise OAuthError("invalid_client", "the client assertion has expired", status=401)
        if claims["sub"] != service.oid:
            raise OAuthError("invalid_client", "the client assertion's sub must be the client id", status=401)
        if float(claims["exp"]) > now.timestamp() + ASSERTION_MAX_SECONDS + LEEWAY_SECONDS:
            raise OAuthError("invalid_client", "the client assertion may live 5 minutes at most", status=401)
        if not isinstance(claims["jti"], str) or not 8 <= len(claims["jti"]) <= 128:
            raise OAuthError("invalid_client", "the client assertion's jti is missing or malformed", status=401)
        return claims
    if isinstance(last, OAuthError):
        raise last
    raise OAuthError("invalid_client", "the client assertion's signature does not verify", status=401)


def access_claims(issuer: str, id_pe: str, oid: str, pairing_id: str, version: int, scope: tuple[str, ...],
                  now: datetime) -> dict[str, Any]:
    """The service access token (the contract with the measures flow): consent state travels in it."""
    iat = int(now.timestamp())
    return {"iss": issuer, "aud": ACCESS_TOKEN_AUDIENCE, "sub": id_pe, "oid": oid, "pid": pairing_id,
            "pv": version, "scope": " ".join(scope), "iat": iat, "exp": iat + ACCESS_TOKEN_SECONDS,
            "jti": secrets.token_hex(16)}


def id_claims(issuer: str, id_pe: str, oid: str, now: datetime) -> dict[str, Any]:
    iat = int(now.timestamp())
    return {"iss": issuer, "aud": oid, "sub": id_pe, "oid": oid, "iat": iat, "exp": iat + ACCESS_TOKEN_SECONDS}
