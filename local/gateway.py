"""Chalice's local server, with API Gateway's behaviour as the stack configures it: an authorizer that raises
"Unauthorized" is a 401, and gateway errors (no token, unknown route, denied) carry our JSON error body, like
the Gateway Responses set in infra."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGatewayException,
)

from functions.shared.http import RESPONSE_HEADERS, error_body

_INS_IN_PATH = re.compile(r"(?<=/patients/)[^/?\s]+")
JWKS_PATH = "/dev-issuer/jwks.json"
_GATEWAY_ERRORS = {401: ("unauthorized", "missing or invalid credentials"),
                   403: ("not_found", "resource not found"),
                   404: ("not_found", "resource not found")}


class _Unauthorized(LocalGatewayException):
    CODE = 401


class GatewayHandler(ChaliceRequestHandler):
    jwks_path: Path | None = None

    def _generic_handle(self) -> None:
        if self.command == "GET" and self.path == JWKS_PATH and self.jwks_path is not None:
            # The development issuer's public keys (a real issuer publishes these itself).
            self._send_http_response(200, {"Content-Type": "application/json"}, self.jwks_path.read_bytes())
            return
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
        super()._generic_handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Access log without identifiers: INS in paths are masked, like the stage's access log format."""
        super().log_message(format, *(_INS_IN_PATH.sub("<ins>", str(a)) for a in args))

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _send_error_response(self, error: LocalGatewayException) -> None:
        status = error.CODE
        # API Gateway answers 403 "Missing Authentication Token" for unknown routes; the stack maps it to 404.
        if status == 403 and error.headers.get("x-amzn-ErrorType") == "UnauthorizedException":
            status = 404
        code, message = _GATEWAY_ERRORS.get(status, ("error", "request refused"))
        body = json.dumps(error_body(code, message)).encode()
        self._send_http_response(status, {"Content-Type": "application/json", **RESPONSE_HEADERS}, body)


def serve(app_obj: Any, host: str, port: int, jwks_path: Path | None = None) -> LocalDevServer:
    config = Config.create(chalice_stage="local", app_name="mon-espace-sante", lambda_timeout=60)
    if not isinstance(app_obj, LocalChalice):  # thread-local current_request, as `chalice local` does
        CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
        app_obj.__class__ = CustomLocalChalice
    handler = type("Handler", (GatewayHandler,), {"jwks_path": jwks_path})
    return LocalDevServer(app_obj, config, host, port, handler_cls=handler)


def serve_in_thread(app_obj: Any, host: str, port: int, jwks_path: Path | None = None) -> LocalDevServer:
    server = serve(app_obj, host, port, jwks_path)
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    return server
