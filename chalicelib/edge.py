"""What every route shares: the bearer authorizer, the request helpers and `route`, the one way to declare a
route. A declaration records its RouteSpec (chalicelib/registry.py) and registers a Chalice view that checks the
caller's kind, resolves the space a citizen acts on, parses the query, the page and the body, runs the view and
renders its response model, mapping every domain or validation error through the one table. A route declared
`idempotent=True` runs once per Idempotency-Key (`_once`): the first response is kept and replayed."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import AuthRequest, AuthResponse, Blueprint, Request, Response
from pydantic import BaseModel, ValidationError

from chalicelib import registry
from chalicelib.registry import Role, RouteSpec
from functions.shared import idempotency
from functions.shared.cursor import page_request
from functions.shared.errors import (
    Answered,
    DomainError,
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    ReauthenticationRequired,
    Unprocessable,
)
from functions.shared.http import render_domain_error, render_validation_error, www_authenticate_step_up
from functions.shared.oauth import OAuthError
from functions.shared.observability import logger
from functions.shared.quota import OverQuota

if TYPE_CHECKING:
    from functions.identity.principal import Citizen

V = TypeVar("V", bound=Callable[..., BaseModel])
# The one cap on JSON bodies (resource consumption). Every body of this API is a few hundred bytes to a few KiB
# (a declaration, an appointment with a 1 000-character note, the notification preferences); 256 KiB leaves two
# orders of magnitude of room, and a route that ever needs more passes its own `max_bytes` to json_object.
JSON_BODY_MAX_BYTES = 256 * 1024

# The authorizer lives on a blueprint named "app" so that its deployed handler stays `app.bearer` (app.py
# re-exports it) while every route module can pass the same object to its routes without importing app.py.
auth = Blueprint("app")


@auth.authorizer(ttl_seconds=300)
def bearer(auth_request: AuthRequest) -> AuthResponse | dict[str, Any]:
    """Verifies the bearer token and hands the principal to the routes. API Gateway caches the answer per token,
    a refusal included. A refused token gets an explicit Deny carrying why (see `refusal`); the log records the
    reason code, never the token."""
    from functions import deps
    from functions.identity.principal import Citizen, to_context
    from functions.identity.service import authenticate
    from functions.shared.errors import Unauthenticated
    from functions.shared.observability import logger

    try:
        who = authenticate(deps.token_verifier(), deps.citizen_issuer(), deps.spaces(), auth_request.token,
                           deps.service_tokens())
    except Unauthenticated as refused:
        logger.info("bearer token refused", extra={"reason": refused.code})
        return refusal(auth_request.method_arn, refused.code, refused.message)
    if isinstance(who, Citizen):  # one GetItem per token and 5 minutes (the authorizer's cache), not per request
        from functions.accounts.service import space_status

        who = who.model_copy(update={"space_status": space_status(deps.spaces(), who.ins)})
    return AuthResponse(routes=["*"], principal_id=who.pseudonym, context=to_context(who))


def refusal(method_arn: str, code: str, message: str) -> dict[str, Any]:
    """An explicit Deny on the whole API with the reason in the authorizer context: API Gateway answers it with the
    ACCESS_DENIED gateway response, which the stack renders as a 401 whose JSON body names `code` (raising
    "Unauthorized" instead gives the static UNAUTHORIZED answer, with no reason). The gateway response's template
    substitutes the values without escaping them, so only plain characters are kept."""
    api = "/".join(method_arn.split("/", 2)[:2])  # arn:aws:execute-api:<region>:<account>:<api id>/<stage>
    plain = "".join(ch for ch in message if ch.isascii() and (ch.isalnum() or ch in " .,:;()'-_"))
    return {
        "principalId": "refused",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{api}/*"]}]},
        "context": {"code": code, "description": plain[:200]},
    }


def request() -> Request:
    current: Request = auth.current_request
    return current


def json_response(status: int, body: Any, media_type: str = "application/json") -> Response:
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": media_type})


def json_object(max_bytes: int = JSON_BODY_MAX_BYTES) -> dict[str, Any]:
    """The body as a JSON object. Over the cap: 413; not JSON, or nested deeper than the parser recurses: 400."""
    raw = request().raw_body
    if not raw:
        raise InvalidRequest("a JSON body is required", code="malformed_json")
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body must be at most {max_bytes} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest("the body is not valid JSON", code="malformed_json") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object", code="malformed_json")
    return data


def form_object(max_bytes: int = JSON_BODY_MAX_BYTES) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (RFC 6749 appendix B) as a dict. A parameter sent twice, or bytes
    that are not UTF-8, are an OAuth invalid_request (RFC 6749 3.1, 3.2)."""
    from urllib.parse import parse_qsl

    raw = request().raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body must be at most {max_bytes} bytes")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError("invalid_request", "the body is not a UTF-8 form") from exc
    found = {k: v for k, v in pairs if v != ""}
    if len({k for k, _ in pairs}) != len(pairs):
        raise OAuthError("invalid_request", "a parameter is repeated")
    return found


def query() -> dict[str, str]:
    return dict(request().query_params or {})


def header(name: str) -> str | None:
    value = request().headers.get(name)
    return str(value) if value is not None else None


def space_of(who: Citizen) -> str:
    """The space a citizen acts on (functions/identity/spaces.py), imported with the first citizen request."""
    from functions.identity.spaces import space_of as resolve

    return resolve(who)


def _inputs(spec: RouteSpec, params: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The view's arguments: path parameters, `who` and, for citizens, `space`; `page`, `query`, `body` as
    declared. Parsed in this order, so a bad page or query is refused before a body is read. Also the body as
    parsed JSON (None without a request model), which an Idempotency-Key claim is bound to."""
    inputs: dict[str, Any] = dict(params)
    data: dict[str, Any] | None = None
    if not spec.public:
        from functions.identity.principal import Citizen, from_context

        who = from_context(request().context.get("authorizer"))
        if who.kind not in spec.roles:
            raise Forbidden(f"this route is for {' and '.join(r + 's' for r in spec.roles)}", code="wrong_principal")
        inputs["who"] = who
        if isinstance(who, Citizen):
            if who.space_status in ("closed", "erased") and not spec.closed_space:
                raise Forbidden("this space is closed: reopen it to use it again", code="space_closed")
            inputs["space"] = space_of(who)
    params_in = query()
    if spec.paginated:
        inputs["page"] = page_request(params_in)
        params_in.pop("cursor", None)
        params_in.pop("limit", None)
    if spec.query is not None:
        inputs["query"] = spec.query.model_validate(params_in)
    elif params_in and not spec.oauth:
        taken = "cursor, limit" if spec.paginated else "none"
        raise Unprocessable(f"unknown query parameter (this route takes: {taken})", code="unknown_query_parameter")
    if spec.request is not None and spec.form:
        try:
            inputs["body"] = spec.request.model_validate(form_object())
        except ValidationError as exc:
            raise OAuthError("invalid_request", render_validation_error(exc)[1]["error"]["message"]) from exc
    elif spec.request is not None:
        data = json_object()
        inputs["body"] = spec.request.model_validate(data)
    return inputs, data


def _claim(spec: RouteSpec, inputs: dict[str, Any], params: dict[str, str],
           body: dict[str, Any] | None) -> idempotency.Claim | None:
    """The Idempotency-Key claim of this request, if the route replays and a key was sent (400 if malformed):
    scoped to the caller, the method and the path as called, bound to the body's hash."""
    key = idempotency.checked_key(header("idempotency-key"), required=spec.idempotency_key_required)
    if key is None or spec.idempotency_key_required:
        return None  # the service derives the created id from the key (document declarations)
    caller = inputs["who"].pseudonym if "who" in inputs else "anonymous"
    space = inputs.get("space") or params.get("ins")  # a citizen's space, or the patient a professional names
    return idempotency.Claim.of(caller, spec.method, spec.path.format(**params), key, body,
                                owner=idempotency.owner_of(space) if space else None)


def _error(exc: DomainError | ValidationError) -> tuple[int, Any]:
    return render_domain_error(exc) if isinstance(exc, DomainError) else render_validation_error(exc)


def _error_response(exc: DomainError | ValidationError) -> Response:
    """The error's JSON body, with the header its status calls for: the step-up hint on a 401 asking for a fresh
    authentication, `Retry-After` on a rate limit's 429."""
    response = json_response(*_error(exc))
    if isinstance(exc, ReauthenticationRequired):
        response.headers["WWW-Authenticate"] = www_authenticate_step_up(exc.max_age)
    if isinstance(exc, OverQuota):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _replayed(first: idempotency.FirstResponse | None) -> Response:
    """The first response again (header `Idempotent-Replayed: true`). None: the key is taken but its record is
    not readable (it expired under us): as for a first request still running, 409."""
    if first is None:
        raise idempotency.KeyInProgress()
    response = json_response(first.status or 200, first.body)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _once(claim: idempotency.Claim, produce: Callable[[], tuple[int, Any]]) -> Response:
    """Run a creating view once per claim. The claim joins the view's creating transaction (no extra call); after
    it the first response is kept (one UpdateItem). A later request with the key gets that response again, or 422
    idempotency_key_reused for another body, or 409 while the first has not answered; it writes nothing, since
    its own transaction fails on the claim's condition (KeyTaken), or its service refused before writing (then
    the record is read: one GetItem). A view that wrote nothing keeps its answer under the claim the same way."""
    from functions import deps

    store = deps.idempotency()
    with idempotency.claimed(store.joining(claim)) as joining:
        try:
            status, body = produce()
        except idempotency.KeyTaken:
            return _replayed(idempotency.replay(store.find(claim), claim))
        except (DomainError, ValidationError) as exc:
            status, body = _error(exc)
            if not joining.committed:  # refused before writing: because of the first request, or on its own
                found = idempotency.replay(store.find(claim), claim)
                return _replayed(found) if found is not None else _error_response(exc)
    if joining.committed:
        try:
            store.complete(claim, status, body)
        except Exception:  # the creation committed: answer it (a retry gets 409 until the record expires)
            logger.warning("idempotency record not completed", exc_info=True)
        return json_response(status, body)
    existing = store.record(claim, status, body)
    return json_response(status, body) if existing is None else _replayed(idempotency.replay(existing, claim))


def route(bp: Blueprint, method: str, path: str, *, role: Role | tuple[Role, ...], response: type[BaseModel],
          status: int = 200, errors: tuple[int, ...] = (), request: type[BaseModel] | None = None,
          query: type[BaseModel] | None = None, paginated: bool = False, idempotent: bool = False,
          idempotency_key_required: bool = False, name: str | None = None,
          closed_space: bool = False, access_reason: bool = False, form: bool = False, oauth: bool = False,
          media_type: str = "application/json",
          outcome: type[BaseModel] | None = None,
          documented_body: type[BaseModel] | None = None) -> Callable[[V], V]:
    """Declare a route in one place: its spec goes to the registry, its view to `bp` (behind the authorizer unless
    `role="none"`; `role` may name several kinds of caller, e.g. `("professional", "organisation")`). The view
    returns its response model; `status` is its success status, `errors` the statuses its service can answer
    (those the machinery adds are in RouteSpec.statuses). `idempotent`: a POST that creates takes Idempotency-Key
    (see RouteSpec). `form`: the body is form-encoded; `oauth`: errors are RFC 6749's (the OAuth endpoints).
    `media_type`, `outcome`, `documented_body`: a route of another JSON media type (FHIR), see
    RouteSpec; its view may raise `Answered` (an OperationOutcome), rendered as is."""

    def declare(view: V) -> V:
        view_name = name or view.__name__
        spec = RouteSpec(method=method, path=path, role=role, response=response, status=status, errors=errors,
                         request=request, query=query, paginated=paginated, view=view_name, idempotent=idempotent,
                         idempotency_key_required=idempotency_key_required, closed_space=closed_space,
                         access_reason=access_reason,
                         form=form, oauth=oauth, media_type=media_type, outcome=outcome,
                         documented_body=documented_body)
        registry.record(spec)
        exclude_none = media_type != "application/json"  # FHIR has no nulls

        @functools.wraps(view)
        def run(**params: str) -> Response:
            try:
                inputs, body = _inputs(spec, params)
                claim = _claim(spec, inputs, params, body) if spec.idempotent else None
                if claim is None:
                    return json_response(spec.status, view(**inputs).model_dump(mode="json",
                                                                                exclude_none=exclude_none),
                                         spec.media_type)
                return _once(claim, lambda: (spec.status, view(**inputs).model_dump(mode="json")))
            except OAuthError as exc:
                return json_response(exc.status, exc.body())
            except Answered as exc:
                return json_response(exc.status, exc.body, exc.media_type)
            except (DomainError, ValidationError) as exc:
                return _error_response(exc)

        run.__name__ = view_name
        content_types = (["application/x-www-form-urlencoded"] if form else
                         ["application/json"] + ([media_type] if media_type != "application/json" else []))
        bp.route(path, methods=[method], authorizer=None if spec.public else bearer,
                 content_types=content_types)(run)
        return view

    return declare
