"""Enrolment (issue 12 points 2 and 3): a provisional code, activation, opposition and its proof, and the holder's
profile and terms. The enrolment routes are public at the gateway (`role="none"`, throttled per route in infra):
the proof is the identity check and the code; activation also takes the citizen's bearer token, verified here,
whose login it links (the authorizer refuses a login not linked yet, and caches that refusal)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib.edge import header, route
from chalicelib.registry import Models
from functions import deps

if TYPE_CHECKING:
    from functions.accounts import api
    from functions.identity.principal import Citizen
else:
    api = Models("functions.accounts.api")

bp = Blueprint(__name__)
IDENTITY_ERRORS = (400, 403, 404, 409, 503)  # 400: an INS whose shape or key is wrong


def _login() -> tuple[str, str]:
    """The citizen login (issuer, subject) of the bearer token sent with the activation (401 without one)."""
    from functions.identity.service import bearer_login

    return bearer_login(deps.token_verifier(), deps.citizen_issuer(), header("authorization"))


@route(bp, "POST", "/v1/enrolment/code", role="none", request=api.CodeRequestIn, response=api.CodeSentOut,
       status=202, errors=(*IDENTITY_ERRORS, 429))
def request_code(body: api.CodeRequestIn) -> api.CodeSentOut:
    from functions.accounts import service

    return api.CodeSentOut.from_domain(service.request_code(deps.enrolment(), body.to_domain(), body.to_channel()))


@route(bp, "POST", "/v1/enrolment/activation", role="none", request=api.ActivationIn, response=api.MeOut,
       errors=(401, *IDENTITY_ERRORS))
def activate(body: api.ActivationIn) -> api.MeOut:
    from functions.accounts import service

    login = _login()
    space = service.activate_with_code(deps.enrolment(), body.to_domain(), body.code, body.terms_version, login)
    return api.MeOut.from_domain(space, deps.terms_version())


@route(bp, "POST", "/v1/enrolment/opposition", role="none", request=api.OppositionIn, response=api.OppositionOut,
       errors=IDENTITY_ERRORS)
def oppose(body: api.OppositionIn) -> api.OppositionOut:
    from functions.accounts import service

    return api.OppositionOut.from_domain(service.oppose(deps.enrolment(), body.to_domain(), body.code))


@route(bp, "GET", "/v1/enrolment/opposition/{reference}", role="none", query=api.ProofQuery,
       response=api.OppositionOut, errors=IDENTITY_ERRORS)
def proof_of_opposition(reference: str, query: api.ProofQuery) -> api.OppositionOut:
    from functions.accounts import service

    return api.OppositionOut.from_domain(
        service.proof_of_opposition(deps.enrolment(), query.to_domain(), query.code, reference))


@route(bp, "GET", "/v1/me", role="citizen", response=api.MeOut, errors=(404,))
def me(who: Citizen, space: str) -> api.MeOut:
    from functions.shared.errors import NotFound

    found = deps.spaces().get(space)
    if found is None:
        raise NotFound("space")
    return api.MeOut.from_domain(found, deps.terms_version())


@route(bp, "POST", "/v1/me/terms", role="citizen", request=api.TermsIn, response=api.MeOut, errors=(404, 503))
def accept_terms(who: Citizen, space: str, body: api.TermsIn) -> api.MeOut:
    from functions.accounts import service

    return api.MeOut.from_domain(service.accept_terms(deps.enrolment(), space, body.terms_version),
                                 deps.terms_version())
