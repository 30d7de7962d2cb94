"""OIDC bearer-token verification. Decoding is not verifying: signature (issuer JWKS), iss, aud, exp and nbf are
all required. The accepted algorithms come from the signing key's type and the issuer's configuration, never from
the token header alone (an RSA key never verifies an EC algorithm), so `alg: none`, HS256-with-the-public-key or
ES256-under-an-RSA-kid fail; and any failure inside verification is a 401, never a crashed authorizer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import BaseModel, ConfigDict, ValidationError

from functions.identity.principal import FINESS, PROFESSION, RPPS, Organisation, Professional, display_name
from functions.shared.errors import Unauthenticated
from functions.shared.observability import logger
from functions.shared.settings import ALLOWED_ALGORITHMS, IssuerSettings

LEEWAY_SECONDS = 30
_REQUIRED = ["exp", "iat", "iss", "aud", "sub"]


class VerifiedToken(BaseModel):
    model_config = ConfigDict(frozen=True)

    issuer: str
    subject: str
    claims: dict[str, Any]


class ProfessionalClaims(BaseModel):
    """Pro Santé Connect claims we rely on; anything else in the token is ignored."""

    rpps: RPPS
    profession: PROFESSION
    finess: FINESS
    specialty: str | None = None

    def principal(self, name: str | None = None) -> Professional:
        return Professional(rpps=self.rpps, profession=self.profession, finess=self.finess, specialty=self.specialty,
                            name=name)


KeyLookup = Callable[[IssuerSettings, str], Any]


class JwksKeys:
    """Signing keys from each issuer's JWKS URI (HTTPS in a deployed stage), cached per issuer for 5 minutes."""

    def __init__(self) -> None:
        self._clients: dict[str, jwt.PyJWKClient] = {}

    def __call__(self, issuer: IssuerSettings, kid: str) -> Any:
        if issuer.issuer not in self._clients:
            self._clients[issuer.issuer] = jwt.PyJWKClient(issuer.jwks_uri, cache_keys=True, lifespan=300,
                                                           timeout=5)
        return self._clients[issuer.issuer].get_signing_key(kid).key


def algorithms_for(key: Any, issuer: IssuerSettings) -> list[str]:
    """What this key may verify, as the issuer allows it: RSA -> RS256/PS256, EC P-256 -> ES256, else nothing."""
    if isinstance(key, rsa.RSAPublicKey):
        by_key: tuple[str, ...] = ("RS256", "PS256")
    elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        by_key = ("ES256",)
    else:
        by_key = ()
    return [alg for alg in by_key if alg in issuer.algorithms and alg in ALLOWED_ALGORITHMS]


class TokenVerifier:
    """Verifies tokens from a fixed allow-list of issuers."""

    def __init__(self, issuers: list[IssuerSettings], keys: KeyLookup | None = None) -> None:
        self._issuers = {i.issuer: i for i in issuers}
        self._keys = keys or JwksKeys()

    def verify(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            if header.get("alg") not in ALLOWED_ALGORITHMS:
                raise Unauthenticated("token algorithm not accepted", code="unsupported_algorithm")
            if not isinstance(kid, str) or not kid:
                raise Unauthenticated("token has no key id", code="unknown_key")
            # The issuer is read unverified only to pick which JWKS to check against; it is verified below.
            unverified = jwt.decode(token, options={"verify_signature": False})
            issuer = self._issuers.get(str(unverified.get("iss")))
            if issuer is None:
                raise Unauthenticated("token issuer not trusted", code="unknown_issuer")
            try:
                key = self._keys(issuer, kid)
            except jwt.PyJWKClientError as exc:
                raise Unauthenticated("token signed with a key the issuer does not publish",
                                      code="unknown_key") from exc
            algorithms = algorithms_for(key, issuer)
            if header["alg"] not in algorithms:
                raise Unauthenticated("token algorithm not accepted for this key", code="unsupported_algorithm")
            claims = jwt.decode(
                token,
                key=key,
                algorithms=algorithms,
                audience=issuer.audience,
                issuer=issuer.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": _REQUIRED, "verify_nbf": True},
            )
        except Unauthenticated:
            raise
        except jwt.PyJWTError as exc:
            code, message = reason(exc)
            raise Unauthenticated(message, code=code) from exc
        except (ValueError, KeyError) as exc:
            raise Unauthenticated("token is not a well-formed JWT", code="malformed_token") from exc
        except Exception as exc:  # whatever breaks inside verification, the caller is not verified
            logger.warning("token verification failed unexpectedly", extra={"error_type": type(exc).__name__})
            raise Unauthenticated("token could not be verified", code="invalid_token") from exc
        return VerifiedToken(issuer=issuer.issuer, subject=str(claims["sub"]), claims=claims)


# Why a token was refused, as the RFC 6750 `error_description` and a stable JSON code (never the token itself).
# Order matters: the more specific PyJWT errors subclass the general ones.
_REASONS: tuple[tuple[type[jwt.PyJWTError], str, str], ...] = (
    (jwt.ExpiredSignatureError, "token_expired", "token has expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "token is not valid yet"),
    (jwt.InvalidAudienceError, "wrong_audience", "token is not meant for this API"),
    (jwt.InvalidIssuerError, "unknown_issuer", "token issuer not trusted"),
    (jwt.MissingRequiredClaimError, "missing_claim", "token lacks a required claim"),
    (jwt.InvalidSignatureError, "bad_signature", "token signature does not verify"),
    (jwt.InvalidAlgorithmError, "unsupported_algorithm", "token algorithm not accepted for this key"),
    (jwt.DecodeError, "malformed_token", "token is not a well-formed JWT"),
)


def reason(exc: jwt.PyJWTError) -> tuple[str, str]:
    for cls, code, message in _REASONS:
        if isinstance(exc, cls):
            return code, message
    return "invalid_token", "token could not be verified"


class OrganisationClaims(BaseModel):
    finess: FINESS


def _person_name(claims: dict[str, Any]) -> str | None:
    """OIDC's `given_name` + `family_name` (Pro Santé Connect's), else `name`."""
    return display_name(claims.get("given_name"), claims.get("family_name")) or display_name(claims.get("name"))


def professional_from(token: VerifiedToken) -> Professional | Organisation:
    """Pro Santé Connect: a named professional (RPPS), or an organisation acting as itself (FINESS only, a
    client-credentials token). Display names come from the claims (`given_name`/`family_name` or `name`;
    `organisation_name` or `name` for an organisation)."""
    claims = token.claims
    try:
        if "rpps" not in claims:
            finess = OrganisationClaims.model_validate(claims).finess
            name = display_name(claims.get("organisation_name")) or display_name(claims.get("name"))
            return Organisation(finess=finess, name=name)
        return ProfessionalClaims.model_validate(claims).principal(_person_name(claims))
    except ValidationError as exc:
        raise Unauthenticated("professional token lacks rpps, profession or finess", code="missing_claim") from exc
