"""Unsafe consumption: every outbound call is bounded in time (security-tests.md), so a slow AWS endpoint or
issuer fails a request with a clear error instead of holding a Lambda to its own timeout. AWS clients, every
DynamoDB item model and the JWKS fetch are checked; a static walk keeps any other HTTP call from slipping in."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest
from pynamodb.models import Model

from functions import deps

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def test_every_aws_client_has_bounded_connect_and_read_timeouts(local_environment: None) -> None:
    """Given the clients the functions build (S3, SQS, KMS, SES, DynamoDB), then each waits at most 3 s to connect
    and 10 s for an answer, with a bounded number of retries."""
    from functions.shared.aws import client

    for service in ("s3", "sqs", "kms", "ses", "sesv2", "dynamodb"):
        config = client(service, "eu-west-3").meta.config
        assert (config.connect_timeout, config.read_timeout) == (3, 10), service
        assert config.retries["total_max_attempts"] <= 5, service  # the first try and 4 retries


def _item_models() -> set[type[Model]]:
    found: set[type[Model]] = set()
    for path in FUNCTIONS.rglob("*.py"):
        module = ".".join(path.relative_to(FUNCTIONS.parent).with_suffix("").parts)
        if "pynamodb" not in path.read_text():
            continue
        for _, value in inspect.getmembers(importlib.import_module(module), inspect.isclass):
            if issubclass(value, Model) and value.__module__ == module:
                found.add(value)
    return found


def test_every_dynamodb_item_model_is_bound_with_bounded_timeouts(local_environment: None) -> None:
    """Given every pynamodb item model in functions/, then the composition root binds each one (TABLES), and once
    bound each waits at most 3 s to connect and 10 s for an answer. A model missing from TABLES would keep
    pynamodb's defaults (and no table)."""
    models = _item_models()
    bound = {getattr(importlib.import_module(m), name) for m, pairs in deps.TABLES.items() for name, _ in pairs}
    assert models and models <= bound, sorted(m.__name__ for m in models - bound)
    deps.bind_tables()
    for model in models:
        meta: Any = model.Meta
        assert (meta.connect_timeout_seconds, meta.read_timeout_seconds) == (3, 10), model.__name__
        assert meta.max_retry_attempts <= 3, model.__name__
    from functions.shared.dynamo import connection

    raw: Any = connection()  # the transactions' own connection, too
    assert (raw._connect_timeout_seconds, raw._read_timeout_seconds) == (3, 10)


def test_the_jwks_fetch_gives_up_after_five_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given an issuer's JWKS URI, when its keys are fetched, then the HTTP client is built with a 5 s timeout
    (PyJWT's own default is 30 s, as long as the API's whole budget)."""
    import jwt

    from functions.identity.tokens import JwksKeys
    from functions.shared.settings import IssuerSettings

    built: list[dict[str, Any]] = []

    class Recording:
        def __init__(self, uri: str, **kwargs: Any) -> None:
            built.append({"uri": uri, **kwargs})

        def get_signing_key(self, kid: str) -> Any:
            return type("Key", (), {"key": f"key-{kid}"})()

    monkeypatch.setattr(jwt, "PyJWKClient", Recording)
    issuer = IssuerSettings(issuer="https://issuer.example", audience="mes", jwks_uri="https://issuer.example/jwks")
    assert JwksKeys()(issuer, "k1") == "key-k1"
    assert built == [{"uri": "https://issuer.example/jwks", "cache_keys": True, "lifespan": 300, "timeout": 5}]


# Calls that open a connection by themselves; each must name its timeout.
NETWORK_CALLS = {"urlopen", "PyJWKClient", "SMTP", "SMTP_SSL", "create_connection", "HTTPConnection",
                 "HTTPSConnection", "request", "get", "post"}
HTTP_MODULES = {"urllib.request", "http.client", "smtplib", "socket", "requests", "httpx", "urllib3"}


def test_no_other_network_call_in_the_functions_goes_without_a_timeout() -> None:
    """Given the deployed code (functions/), then boto3 clients are built only by functions/shared/aws.py (with its
    bounded config), and any call that opens a connection by itself names a timeout."""
    unbounded: list[str] = []
    for path in FUNCTIONS.rglob("*.py"):
        tree = ast.parse(path.read_text())
        imports_http = any(
            (isinstance(node, ast.Import) and any(a.name.split(".")[0] in {m.split(".")[0] for m in HTTP_MODULES}
                                                   for a in node.names))
            or (isinstance(node, ast.ImportFrom) and (node.module or "") in HTTP_MODULES)
            for node in ast.walk(tree))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            where = f"{path.relative_to(FUNCTIONS.parent)}:{node.lineno}"
            built_on = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else ""
            if name in {"client", "resource"} and ("boto3" in built_on or "Session" in built_on) \
                    and path.name != "aws.py":
                unbounded.append(f"{where} builds a boto3 client outside functions/shared/aws.py")
            bounded = any(k.arg == "timeout" for k in node.keywords)
            if (name == "PyJWKClient" or (imports_http and name in NETWORK_CALLS)) and not bounded:
                unbounded.append(f"{where} {name}() without timeout=")
    assert unbounded == []
