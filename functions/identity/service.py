"""From a bearer token to a principal: citizens through their login link, professionals through their claims."""

from __future__ import annotations

from typing import Protocol

from functions.identity.principal import Citizen, Organisation, Professional, Service
from functions.identity.service_tokens import ServiceTokenVerifier
from functions.identity.tokens import TokenVerifier, professional_from
from functions.shared.errors import Unauthenticated


class LoginDirectory(Protocol):
    def resolve_login(self, issuer: str, subject: str) -> str | None: ...


def authenticate(verifier: TokenVerifier, citizen_issuer: str, logins: LoginDirectory,
                 authorization: str | None, services: ServiceTokenVerifier | None = None,
                 ) -> Citizen | Professional | Organisation | Service:
    """`services`: the verifier of our own service access tokens (referenced apps), recognised by their issuer;
    None where no service-token key is configured (such tokens are then from an unknown issuer)."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthenticated("a bearer token is required", code="missing_token")
    raw = authorization.removeprefix("Bearer ").strip()
    if services is not None and services.recognises(raw):
        return services.verify(raw)
    token = verifier.verify(raw)
    if token.issuer != citizen_issuer:
        return professional_from(token)
    ins = logins.resolve_login(token.issuer, token.subject)
    if ins is None:
        raise Unauthenticated("this login is not linked to an activated space", code="login_not_linked")
    auth_time = token.claims.get("auth_time")
    return Citizen(ins=ins, auth_time=auth_time if isinstance(auth_time, int) and not isinstance(auth_time, bool)
                   else None)


def bearer_login(verifier: TokenVerifier, citizen_issuer: str, authorization: str | None) -> tuple[str, str]:
    """The citizen login (issuer, subject) of a verified token, linked or not: what activation links to an INS.
    No token is 401 `missing_token`; a professional's is 403 `wrong_principal`."""
    from functions.shared.errors import Forbidden

    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthenticated("a citizen bearer token is required to activate", code="missing_token")
    token = verifier.verify(authorization.removeprefix("Bearer ").strip())
    if token.issuer != citizen_issuer:
        raise Forbidden("activation is for citizens", code="wrong_principal")
    return token.issuer, token.subject
