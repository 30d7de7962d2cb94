"""Chalice's local server, with API Gateway's behaviour as the stack configures it: no bearer token (or one that does
not look like one) is a 401 without invoking the authorizer; a token the authorizer refuses (an explicit Deny) is a
401 whose JSON body names the authorizer's reason; gateway errors (unknown route, throttled...) carry our JSON error
body, like the Gateway Responses set in infra, and their static headers only (API Gateway cannot put a per-request
value in a gateway response header); every answer carries the request id in `x-amzn-RequestId`, as API Gateway's do,
and the app's in X-Correlation-Id too. CORS preflights (OPTIONS) are answered here, as the stack's MOCK integration
answers them, without a token and without invoking a route. Malformed HTTP (unknown method, garbage request line,
HTTP/2.0 over plain HTTP/1, a URL or header over 64 KiB, a bad Content-Length) gets a JSON 4xx too, never a dropped
connection; the access log names the route template as the stage's does, never the path with its INS or RPPS."""

from __future__ import annotations

import importlib.util
import json
import re
import threading
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGatewayAuthorizer,
    LocalGatewayException,
    NotAuthorizedError,
    RouteMatcher,
    ThreadedHTTPServer,
)

from functions.shared import cors
from functions.shared.http import (
    BEARER_PATTERN,
    RESPONSE_HEADERS,
    WWW_AUTHENTICATE_MISSING,
    WWW_AUTHENTICATE_REFUSED,
    error_body,
)

JWKS_PATH = "/dev-issuer/jwks.json"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload quota
LISTEN_BACKLOG = 128
_LINGER_SECONDS = 0.5  # after an error, read what the client still sends, so closing does not reset the answer
_LINGER_BYTES = 1024 * 1024
_GATEWAY_ERRORS = {401: ("missing_token", "a bearer token is required"),
                   403: ("not_found", "resource not found"),
                   404: ("not_found", "resource not found")}
# What http.server refuses while reading a request -> what API Gateway answers (4xx JSON). An unknown method is an
# unknown route for API Gateway (403 Missing Authentication Token, which the stack answers as 404).
_HTTP_ERRORS: dict[int, tuple[int, str, str]] = {
    HTTPStatus.BAD_REQUEST: (400, "invalid_request", "malformed HTTP request"),
    HTTPStatus.NOT_IMPLEMENTED: (404, "not_found", "resource not found"),
    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED: (400, "invalid_request", "unsupported HTTP version"),
    HTTPStatus.REQUEST_URI_TOO_LONG: (414, "uri_too_long", "the URL is too long"),
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: (431, "headers_too_large", "request headers too large"),
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: (413, "payload_too_large", "the body is too large"),
    HTTPStatus.INTERNAL_SERVER_ERROR: (500, "internal_error", "internal error"),
}
_LOGGED_METHODS = frozenset({"GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS"})


# The contract's interactive page, local only (never deployed): Swagger UI 5.24 (reads OpenAPI 3.1) from the
# swagger-ui-py package's static files, so the page loads nothing from a CDN.
DOCS_PATH = "/docs"
_DOCS_FILES = {"swagger-ui.css": "text/css; charset=utf-8", "index.css": "text/css; charset=utf-8",
               "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
               "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
               "favicon-32x32.png": "image/png", "favicon-16x16.png": "image/png"}
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Mon espace santé API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="stylesheet" href="/docs/index.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""
DOCS_INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};
"""


def _swagger_ui_static() -> Path | None:
    """swagger_ui/static, found without importing the package (it imports web frameworks)."""
    found = importlib.util.find_spec("swagger_ui")
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations))) / "static"


class _Unauthorized(LocalGatewayException):
    CODE = 401


class _Denied(LocalGatewayException):
    """The authorizer's explicit Deny, with its context (the reason), rendered like ACCESS_DENIED in infra."""

    CODE = 401

    def __init__(self, context: dict[str, Any]) -> None:
        super().__init__({}, b"")
        self.context = context


class _Authorizer(LocalGatewayAuthorizer):
    """Chalice's local authorizer, plus what API Gateway does around it: the identityValidationExpression (a header
    that is not a bearer token is a 401 before the authorizer runs) and a Deny that keeps its context."""

    def _prepare_authorizer_event(self, arn: str, lambda_event: Any, lambda_context: Any) -> Any:
        token = (lambda_event.get("headers") or {}).get("authorization")
        if token is None or not re.fullmatch(BEARER_PATTERN, token):
            raise NotAuthorizedError({}, b"")
        return super()._prepare_authorizer_event(arn, lambda_event, lambda_context)

    def _check_can_invoke_view_function(self, arn: str, auth_result: Any) -> bool:
        if super()._check_can_invoke_view_function(arn, auth_result):
            return True
        raise _Denied(dict(auth_result.get("context") or {}))


class _Server(ThreadedHTTPServer):
    """http.server listens with a backlog of 5: a burst of 20 connections was reset."""

    request_queue_size = LISTEN_BACKLOG


class GatewayHandler(ChaliceRequestHandler):
    jwks_path: Path | None = None
    routes: RouteMatcher | None = None
    _route: str | None = None
    _responded = False
    _request_id = ""

    def _generic_handle(self) -> None:
        self._route = self._route_of(self.path)
        if self.command == "GET" and self.path == JWKS_PATH and self.jwks_path is not None:
            # The development issuer's public keys (a real issuer publishes these itself).
            self._send_http_response(200, {"Content-Type": "application/json"}, self.jwks_path.read_bytes())
            return
        if self.command == "GET" and self._route == DOCS_PATH:
            self._send_docs()
            return
        if self._route is None and self.routes is not None:
            # Answered here: Chalice's own answer echoes the Authorization header as ASCII and fails on any other.
            self._send_gateway_error(404)
            return
        if self.command == "OPTIONS" and self._route is not None and self._route != JWKS_PATH:
            self._preflight(self._route)
            return
        self._emulate_gateway()
        original = self.local_gateway.handle_request

        def handle(*args: Any, **kwargs: Any) -> Any:
            try:
                return original(*args, **kwargs)
            except LocalGatewayException:
                raise
            except Exception as exc:
                if str(exc) == "Unauthorized":
                    raise _Unauthorized({}, b"") from None
                raise

        self.local_gateway.handle_request = handle  # type: ignore[method-assign]
        try:
            super()._generic_handle()
        except _BadRequest as exc:
            self.send_error(exc.status)
        except Exception as exc:
            # An authorizer or gateway failure is API Gateway's 500 (DEFAULT_5XX), not a closed connection.
            self.log_message("gateway error: %s", type(exc).__name__)
            if self._responded:
                raise
            self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _emulate_gateway(self) -> None:
        """Once per connection (its requests share one LocalGateway): API Gateway's authorizer behaviour, and the
        request id in the event, which the app takes as its correlation id."""
        gateway = self.local_gateway
        if isinstance(gateway._authorizer, _Authorizer):
            return
        gateway._authorizer = _Authorizer(gateway._app_object)
        make_event = gateway._generate_lambda_event

        def with_request_id(*args: Any, **kwargs: Any) -> Any:
            event = make_event(*args, **kwargs)
            event["requestContext"]["requestId"] = self._request_id
            return event

        gateway._generate_lambda_event = with_request_id  # type: ignore[method-assign]

    def _send_docs(self) -> None:
        """The interactive page of the contract (Swagger UI), from the files of the installed swagger-ui-py."""
        name = self.path.split("?", 1)[0].removeprefix(DOCS_PATH).strip("/") or "index.html"
        static = _swagger_ui_static()
        if name == "index.html":
            body, kind = DOCS_PAGE.encode(), "text/html; charset=utf-8"
        elif name == "init.js":
            body, kind = DOCS_INIT.encode(), "text/javascript; charset=utf-8"
        elif name in _DOCS_FILES and static is not None:
            body, kind = (static / name).read_bytes(), _DOCS_FILES[name]
        else:
            self._send_gateway_error(404)
            return
        self._send_http_response(200, {"Content-Type": kind, **RESPONSE_HEADERS}, body)

    def _route_of(self, path: str) -> str | None:
        if path == JWKS_PATH:
            return JWKS_PATH
        if path.split("?", 1)[0].rstrip("/") == DOCS_PATH or path.startswith(DOCS_PATH + "/"):
            return DOCS_PATH
        if self.routes is None:
            return None
        try:
            return str(self.routes.match_route(path).route)
        except ValueError:
            return None

    def _parse_payload(self) -> tuple[dict[str, Any], bytes | None]:
        """The body by its Content-Length, refused (400, or 413 past API Gateway's quota) rather than crashing."""
        raw = self.headers.get("content-length", "0").strip()
        if not (raw.isascii() and raw.isdigit()):
            raise _BadRequest(HTTPStatus.BAD_REQUEST)
        length = int(raw) if len(raw) < 12 else MAX_BODY_BYTES + 1
        if length > MAX_BODY_BYTES:
            raise _BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        body = self.rfile.read(length) if length else None
        return dict(self.headers), body

    def handle_one_request(self) -> None:
        self._route, self._responded = None, False  # one handler serves every request of a kept-alive connection
        self._request_id = str(uuid.uuid4())
        super().handle_one_request()

    def _preflight(self, route: str) -> None:
        """The stack's MOCK integration on OPTIONS: an allowed origin gets the path's methods and our headers, any
        other (or none) a 403 without CORS headers. No token, no route invoked."""
        origin = self.headers.get("origin")
        if origin is None or origin not in cors.allowed_origins():
            # the MOCK integration's own answer, not a gateway response: no CORS header at all
            body = json.dumps(error_body("origin_not_allowed", "this origin may not call the API")).encode()
            self._send_http_response(403, {"Content-Type": "application/json", **RESPONSE_HEADERS}, body)
            return
        methods = sorted({*self.local_gateway._app_object.routes[route], "OPTIONS"})
        self._send_http_response(200, {"Content-Type": "application/json", **RESPONSE_HEADERS,
                                       **cors.preflight_headers(origin, methods)}, b"")

    def parse_request(self) -> bool:
        """http.server's parsing, without its silent cases: an empty request line and HTTP/0.9 get a 400 too."""
        parsed = bool(super().parse_request())
        if parsed and self.request_version == "HTTP/0.9":
            self.send_error(HTTPStatus.BAD_REQUEST)
            return False
        if not parsed and not self._responded:
            self.send_error(HTTPStatus.BAD_REQUEST)
        return parsed

    def send_response(self, code: int, message: str | None = None) -> None:
        self._responded = True
        super().send_response(code, message)
        if self._request_id:
            self.send_header("x-amzn-RequestId", self._request_id)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """API Gateway's JSON error instead of http.server's HTML page, always with a status line and headers."""
        status, error_code, text = _HTTP_ERRORS.get(code, _HTTP_ERRORS[HTTPStatus.BAD_REQUEST])
        version: str | None = getattr(self, "request_version", None)
        if not (version or "").startswith("HTTP/1."):
            self.request_version = "HTTP/1.1"  # a status line and headers, whatever the request line said
        body = json.dumps(error_body(error_code, text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in RESPONSE_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        self._linger()

    def _linger(self) -> None:
        """Read (and drop) what the client is still sending, for a moment: closing a socket with unread bytes
        resets the connection, and the client may then lose the answer it was sent."""
        try:
            self.connection.settimeout(_LINGER_SECONDS)
            drained = 0
            while drained < _LINGER_BYTES and (chunk := self.connection.recv(65536)):
                drained += len(chunk)
        except (TimeoutError, OSError):
            pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The stage's access log fields: method, route template, status. Never the raw path or request line."""
        method = self.command if self.command in _LOGGED_METHODS else "-"
        status = int(code) if isinstance(code, int) else code
        self.log_message('"%s %s" %s', method, self._route or "-", status)

    def log_error(self, format: str, *args: Any) -> None:
        """http.server's error lines quote the request line (identifiers): the access line says enough."""

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, _Denied):  # ACCESS_DENIED: the authorizer context fills the body template
            code, description = str(error.context.get("code", "")), str(error.context.get("description", ""))
            self._send_gateway_error(401, error_body(code, description), WWW_AUTHENTICATE_REFUSED)
            return
        if isinstance(error, NotAuthorizedError | _Unauthorized):  # UNAUTHORIZED: no bearer token
            self._send_gateway_error(401, None, WWW_AUTHENTICATE_MISSING)
            return
        status = error.CODE
        # API Gateway answers 403 "Missing Authentication Token" for unknown routes; the stack maps it to 404.
        if status == 403 and error.headers.get("x-amzn-ErrorType") == "UnauthorizedException":
            status = 404
        self._send_gateway_error(status)

    def _send_gateway_error(self, status: int, body: dict[str, Any] | None = None,
                            authenticate: str | None = None) -> None:
        """A gateway response: its JSON body and static headers. With exactly one allowed web origin the stack can
        name it statically (its browser may then read the error); with several it cannot choose one per request."""
        if body is None:
            body = error_body(*_GATEWAY_ERRORS.get(status, ("error", "request refused")))
        headers = {"Content-Type": "application/json", **RESPONSE_HEADERS}
        if authenticate is not None:
            headers["WWW-Authenticate"] = authenticate
        origins = cors.allowed_origins()
        if len(origins) == 1:
            headers.update({"Access-Control-Allow-Origin": origins[0], "Vary": "Origin"})
        self._send_http_response(status, headers, json.dumps(body).encode())


class _BadRequest(Exception):
    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


def serve(app_obj: Any, host: str, port: int, jwks_path: Path | None = None) -> LocalDevServer:
    config = Config.create(chalice_stage="local", app_name="mon-espace-sante", lambda_timeout=60)
    if not isinstance(app_obj, LocalChalice):  # thread-local current_request, as `chalice local` does
        CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
        app_obj.__class__ = CustomLocalChalice
    handler = type("Handler", (GatewayHandler,), {"jwks_path": jwks_path, "routes": RouteMatcher(list(app_obj.routes))})
    return LocalDevServer(app_obj, config, host, port, handler_cls=handler, server_cls=_Server)


def serve_in_thread(app_obj: Any, host: str, port: int, jwks_path: Path | None = None) -> LocalDevServer:
    server = serve(app_obj, host, port, jwks_path)
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    return server

