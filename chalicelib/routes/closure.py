"""The holder closes their space, asks for its deletion, reopens it. These three serve a closed space (every
other citizen route answers its holder `403 space_closed`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib.edge import route
from chalicelib.registry import Models
from functions import deps

if TYPE_CHECKING:
    from functions.accounts import closure_api as api
    from functions.identity.principal import Citizen
else:
    api = Models("functions.accounts.closure_api")

bp = Blueprint(__name__)


@route(bp, "POST", "/v1/me/closure", role="citizen", request=api.ClosureIn, response=api.SpaceStateOut,
       errors=(404, 409, 429), closed_space=True)
def close_my_space(who: Citizen, space: str, body: api.ClosureIn) -> api.SpaceStateOut:
    from functions.accounts import closure

    return api.SpaceStateOut.from_domain(closure.close_space(deps.closure(), who, space, body.delete_data))


@route(bp, "POST", "/v1/me/closure/deletion", role="citizen", response=api.SpaceStateOut, errors=(404, 409, 429),
       closed_space=True)
def delete_my_data(who: Citizen, space: str) -> api.SpaceStateOut:
    from functions.accounts import closure

    return api.SpaceStateOut.from_domain(closure.ask_deletion(deps.closure(), who, space))


@route(bp, "POST", "/v1/me/reopening", role="citizen", response=api.SpaceStateOut, errors=(404, 409, 429),
       closed_space=True)
def reopen_my_space(who: Citizen, space: str) -> api.SpaceStateOut:
    from functions.accounts import closure

    return api.SpaceStateOut.from_domain(closure.reopen_space(deps.closure(), who, space))
