"""What a cold start loads, checked in a fresh interpreter's sys.modules (a behaviour, not a timing): `import app`
declares every route but builds no capability's models and loads no AWS SDK; a citizen's first document list loads
the records capability and what it stands on, never another capability's API models nor the heavy libraries that
only some routes or workers use (FHIR, PDF, HTML sanitising, X-Ray). The moto server runs in its own process so
that the probe's sys.modules holds only what the function itself imported."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import config

ROOT = Path(__file__).resolve().parents[2]
INS = "284067512345688"

# Libraries no first citizen request needs: the FHIR models (measures), the PDF proof (enrolment), the HTML
# sanitiser and MIME mail (messaging), JWT verification and AES (the authorizer, sealed blobs), X-Ray.
HEAVY = ("fhir", "fhir_core", "fpdf", "PIL", "fontTools", "nh3", "defusedxml", "jwt", "aws_xray_sdk", "authlib",
         "email.mime", "functions.messaging.mime")
# Capabilities a citizen's document list does not use: their API models stay unbuilt.
OTHER_APIS = (*(f"functions.{cap}.api" for cap in ("access", "agenda", "audit", "catalogue", "exports", "measures",
                                                    "messaging", "notifications", "reference", "accounts")),
              "functions.accounts.closure_api")

IMPORT_ONLY = "import json, sys; import app; print(json.dumps(sorted(sys.modules)))"

DOCUMENT_LIST = """
import json, sys
import app

class Context:
    function_name = "api"
    memory_limit_in_mb = 512
    aws_request_id = "cold-probe"
    invoked_function_arn = "arn:aws:lambda:eu-west-3:000000000000:function:api"

    def get_remaining_time_in_millis(self):
        return 60_000

event = {"resource": "/v1/me/documents", "path": "/v1/me/documents", "httpMethod": "GET",
         "headers": {"content-type": "application/json"},
         "multiValueHeaders": {"content-type": ["application/json"]}, "queryStringParameters": None,
         "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
         "requestContext": {"resourcePath": "/v1/me/documents", "httpMethod": "GET", "requestId": "cold-probe",
                            "stage": "api", "identity": {"sourceIp": "127.0.0.1"},
                            "authorizer": {"kind": "citizen", "ins": sys.argv[1], "principalId": "probe"}},
         "body": None, "isBase64Encoded": False}
response = app.app(event, Context())
print(json.dumps({"status": response["statusCode"], "body": json.loads(response["body"]),
                  "modules": sorted(sys.modules)}))
"""

SEED = """
import sys
from local import resources, seed
resources.create_all()
seed.ensure_citizen(sys.argv[1])
"""


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def _run(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env=env, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def local_aws() -> Iterator[dict[str, str]]:
    """A moto server of its own with the stage's resources and one citizen's active space: the environment a
    function of the local stack runs with."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "local.moto_server", "-H", "127.0.0.1", "-p", str(port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(150):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        env = {**os.environ, **config.local_env(aws_port=port, api_port=_free_port(), prefix="mes-cold")}
        _run(SEED, INS, env=env)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_importing_the_app_builds_no_capability_and_loads_no_aws_sdk() -> None:
    modules = json.loads(_run(IMPORT_ONLY))
    assert _loaded(modules, ("boto3", "botocore", "pynamodb", "cryptography", *HEAVY)) == []
    assert [m for m in modules if m.startswith("functions.") and m.split(".")[1] not in ("shared", "deps")] == []
    assert "chalicelib.openapi" not in modules  # the contract is built when someone asks for it


def test_a_citizens_first_document_list_loads_the_records_capability_only(local_aws: dict[str, str]) -> None:
    answer = json.loads(_run(DOCUMENT_LIST, INS, env=local_aws))
    assert answer["status"] == 200 and answer["body"]["items"] == []
    modules = answer["modules"]
    assert "functions.records.service" in modules and "functions.records.api" in modules  # the probe is real
    assert _loaded(modules, (*HEAVY, "cryptography")) == []  # AES only to seal or open a blob
    assert _loaded(modules, OTHER_APIS) == []
