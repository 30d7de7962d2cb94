"""Every HTTP route, declared once: what the edge serves and, from the same record, what an OpenAPI document will
say (method, path and its parameters, role and security scheme, query, body and response models, statuses)."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

    from functions.shared.cursor import Page

M = TypeVar("M", bound="BaseModel")

Role = Literal["citizen", "professional", "organisation", "service", "none"]
# The bearer scheme each role authenticates with (the issuer that signs its tokens); "none": no token. An
# organisation's token comes from the professional issuer too, but without an RPPS (a client-credentials token).
SECURITY: dict[Role, str | None] = {"citizen": "citizen_bearer", "professional": "professional_bearer",
                                    "organisation": "organisation_bearer", "none": None,
                                    "service": "service_bearer"}  # a referenced app's service access token
_PATH_PARAM = re.compile(r"{([a-z_]+)}")


class ModelRef:
    """A model a declaration names without importing it: Chalice needs every route when app.py is imported, a
    route's models only when it runs (or when the OpenAPI document is built), so importing app builds none of the
    capabilities' pydantic models (the cold start). It stands for its model: an attribute or a call goes to the
    model, imported on first use (`api.DocumentOut.from_domain(...)` in a view body)."""

    __slots__ = ("_model", "module", "name", "paged")

    def __init__(self, module: str, name: str, paged: bool = False) -> None:
        self.module, self.name, self.paged = module, name, paged
        self._model: type[BaseModel] | None = None

    def resolve(self) -> type[BaseModel]:
        if self._model is None:
            model: type[BaseModel] = getattr(importlib.import_module(self.module), self.name)
            if self.paged:
                from functions.shared.cursor import Page

                model = Page[model]  # type: ignore[valid-type]
            self._model = model
        return self._model

    def __getattr__(self, attr: str) -> Any:
        if attr in ModelRef.__slots__:  # not set yet (a copy being built): not the model's to answer
            raise AttributeError(attr)
        return getattr(self.resolve(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"ModelRef({self.module}:{self.name}{'[paged]' if self.paged else ''})"


class Models:
    """A module's models as route declarations name them (`api.DocumentOut`), the module imported only when one is
    used. A route module binds it under the module's own name, with the real import for the type checker:
    `if TYPE_CHECKING: from functions.records import api` / `else: api = Models("functions.records.api")`."""

    def __init__(self, module: str) -> None:
        self._module = module
        self._refs: dict[str, ModelRef] = {}

    def __getattr__(self, name: str) -> ModelRef:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._refs.setdefault(name, ModelRef(self._module, name))


def paged(model: type[M]) -> type[Page[M]]:
    """`Page[model]` for a declaration, built when first used if `model` is a ModelRef."""
    if isinstance(model, ModelRef):
        return ModelRef(model.module, model.name, paged=True)
    from functions.shared.cursor import Page

    return Page[model]  # type: ignore[valid-type]


def model_of(model: Any) -> Any:
    """The model class itself, for what needs the class (the OpenAPI schemas, identity)."""
    return model.resolve() if isinstance(model, ModelRef) else model


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    role: Role | tuple[Role, ...]
    response: type[BaseModel]
    status: int
    errors: tuple[int, ...]
    request: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    paginated: bool = False
    view: str = ""
    # `idempotent`: the route takes an `Idempotency-Key` header (a POST that creates). Optional, and the edge
    # keeps the first response and replays it (chalicelib/edge.py) -- unless `idempotency_key_required`: then the
    # header must be sent and the service derives the created id from it (document declarations), the edge only
    # checks its format.
    idempotent: bool = False
    idempotency_key_required: bool = False
    # `closed_space`: the route also serves the holder of a closed space (closure, deletion, reopening); every
    # other citizen route answers them `403 space_closed` (chalicelib/edge.py).
    closed_space: bool = False
    # `access_reason`: the route reads `X-Access-Reason` (a professional's read of a patient's record, where the
    # patient's consent may be presented), documented there only; any value but `consent` is a 400.
    access_reason: bool = False
    # `form`: the body is application/x-www-form-urlencoded (the OAuth token endpoint, RFC 6749), not JSON.
    # `oauth`: the route's own errors are RFC 6749's `{error, error_description}` (functions/shared/oauth.py).
    form: bool = False
    oauth: bool = False
    # A route speaking another JSON media type (FHIR: application/fhir+json): its success body, and `outcome` (the
    # error body its standard dictates, beside our own) in that type; `documented_body`: a body the view parses
    # itself (its own size cap and rules), documented in both types.
    media_type: str = "application/json"
    outcome: type[BaseModel] | None = None
    documented_body: type[BaseModel] | None = None

    def resolved(self) -> RouteSpec:
        """The same declaration with its models imported (the OpenAPI document reads their schemas)."""
        return replace(self, response=model_of(self.response), request=model_of(self.request),
                       query=model_of(self.query), outcome=model_of(self.outcome),
                       documented_body=model_of(self.documented_body))

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def roles(self) -> tuple[Role, ...]:
        """The kinds of caller the route serves (one role, or several: a hospital's system and its professionals
        declare documents on the same route)."""
        return self.role if isinstance(self.role, tuple) else (self.role,)

    @property
    def public(self) -> bool:
        """No token at all (`role="none"`)."""
        return self.roles == ("none",)

    @property
    def security(self) -> tuple[str, ...]:
        """The bearer schemes a caller may present, one per role (empty for "none")."""
        return tuple(scheme for role in self.roles if (scheme := SECURITY[role]) is not None)

    @property
    def statuses(self) -> tuple[int, ...]:
        """Every status the route can answer: its own, plus those the declaration machinery adds (a token that
        fails: 401; another kind of caller: 403; a body too large, not JSON or invalid: 413, 400, 422; a bad cursor
        or limit: 400; a query parameter outside its model, or any on a route without one: 422; an
        Idempotency-Key malformed: 400, reused with another body: 422, whose first request has not answered yet:
        409; a Content-Type other than JSON, on any route, body or not: Chalice's 415)."""
        implied: set[int] = {415}
        if not self.public:
            implied |= {401, 403}
        if self.request is not None:
            implied |= {400, 413, 422}
        if self.paginated or self.access_reason:
            implied.add(400)
        if self.query is not None or not self.oauth:
            implied.add(422)  # a query parameter outside its model, or unknown (chalicelib/edge.py)
        if self.idempotent:
            implied |= {400, 409, 422}
        return tuple(sorted({self.status, *self.errors, *implied}))


ROUTES: list[RouteSpec] = []


def record(spec: RouteSpec) -> None:
    """Keep a declaration; a second one for the same method and path is a programming error."""
    if any((s.method, s.path) == (spec.method, spec.path) for s in ROUTES):
        raise ValueError(f"route declared twice: {spec.method} {spec.path}")
    ROUTES.append(spec)
