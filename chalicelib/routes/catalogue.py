"""The catalogue of referenced services, the OAuth endpoints that pair one (authorization code + PKCE,
private_key_jwt) and the holder's paired services with their per-purpose consents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib.edge import route
from chalicelib.registry import Models
from functions import deps

if TYPE_CHECKING:
    from functions.catalogue import api
    from functions.identity.principal import Citizen
else:
    api = Models("functions.catalogue.api")

bp = Blueprint(__name__)


@route(bp, "GET", "/v1/catalogue/services", role="citizen", query=api.CatalogueQuery, response=api.CatalogueOut)
def catalogue_services(who: Citizen, space: str, query: api.CatalogueQuery) -> api.CatalogueOut:
    from functions.catalogue import service

    d = deps.catalogue()
    found = service.list_services(d, space, query.thematic, query.region)
    return api.CatalogueOut.from_domain(d.published(), found)


@route(bp, "GET", "/v1/catalogue/services/{oid}", role="citizen", response=api.ServiceOut, errors=(404,))
def catalogue_service(who: Citizen, space: str, oid: str) -> api.ServiceOut:
    from functions.catalogue import service

    return api.ServiceOut.from_domain(*service.service_detail(deps.catalogue(), space, oid))


@route(bp, "GET", "/v1/oauth/authorize", role="citizen", query=api.AuthorizeQuery, response=api.ConsentScreenOut,
       errors=(400,), oauth=True)
def oauth_consent_screen(who: Citizen, space: str, query: api.AuthorizeQuery) -> api.ConsentScreenOut:
    from functions.catalogue import service

    found, purposes = service.check_authorization(deps.catalogue(), query.to_domain())
    return api.ConsentScreenOut.from_domain(found, purposes, query)


@route(bp, "POST", "/v1/oauth/authorize", role="citizen", request=api.AuthorizeIn, response=api.RedirectOut,
       errors=(400, 404, 409), oauth=True)
def oauth_authorize(who: Citizen, space: str, body: api.AuthorizeIn) -> api.RedirectOut:
    from functions.catalogue import service

    return api.RedirectOut(redirect=service.authorize(deps.catalogue(), who, space, body.to_domain(),
                                                      tuple(body.accepted)))


@route(bp, "POST", "/v1/oauth/token", role="none", request=api.TokenIn, response=api.TokenOut,
       errors=(400, 401), form=True, oauth=True)
def oauth_token(body: api.TokenIn) -> api.TokenOut:
    from functions.catalogue import service

    issued = service.issue_tokens(deps.catalogue(), body.to_domain())
    return api.TokenOut(access_token=issued.access_token, expires_in=issued.expires_in,
                        refresh_token=issued.refresh_token, id_token=issued.id_token, scope=issued.scope)


@route(bp, "GET", "/v1/me/services", role="citizen", response=api.MyServicesOut)
def my_services(who: Citizen, space: str) -> api.MyServicesOut:
    from functions.catalogue import service

    return api.MyServicesOut(items=[api.MyServiceOut.from_domain(s, p)
                                    for s, p in service.my_services(deps.catalogue(), space)])


@route(bp, "PUT", "/v1/me/services/{oid}/purposes/{code}", role="citizen", response=api.MyServiceOut,
       errors=(404, 409))
def my_service_purpose_on(who: Citizen, space: str, oid: str, code: str) -> api.MyServiceOut:
    from functions.catalogue import service

    return api.MyServiceOut.from_domain(*service.set_purpose(deps.catalogue(), who, space, oid, code, True))


@route(bp, "DELETE", "/v1/me/services/{oid}/purposes/{code}", role="citizen", response=api.MyServiceOut,
       errors=(404, 409))
def my_service_purpose_off(who: Citizen, space: str, oid: str, code: str) -> api.MyServiceOut:
    from functions.catalogue import service

    return api.MyServiceOut.from_domain(*service.set_purpose(deps.catalogue(), who, space, oid, code, False))


@route(bp, "POST", "/v1/me/services/{oid}/acknowledgement", role="citizen", response=api.MyServiceOut,
       errors=(404, 409))
def my_service_acknowledgement(who: Citizen, space: str, oid: str) -> api.MyServiceOut:
    from functions.catalogue import service

    return api.MyServiceOut.from_domain(*service.acknowledge(deps.catalogue(), who, space, oid))


@route(bp, "DELETE", "/v1/me/services/{oid}", role="citizen", response=api.UnpairedOut, errors=(404,))
def my_service_unpair(who: Citizen, space: str, oid: str) -> api.UnpairedOut:
    from functions.catalogue import service

    service.unpair(deps.catalogue(), who, space, oid)
    return api.UnpairedOut(oid=oid)
