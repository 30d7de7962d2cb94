"""Integration harness: a moto server, the stage's resources created as `make run` creates them, the API served
over real HTTP by the local gateway, and the queue pump the tests drive to make asynchronous steps deterministic."""

from __future__ import annotations

import hashlib
import io
import logging
import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from functions.identity.ins import with_key
from local import config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Stack:
    base: str
    aws: str
    issuer: Any
    pump: Any
    env: dict[str, str]

    def citizen(self, ins: str | None = None) -> tuple[str, dict[str, str]]:
        """A new person with an activated space, and their auth header."""
        from local.seed import citizen_subject, ensure_citizen

        ins = ins or new_ins()
        ensure_citizen(ins)
        token = self.issuer.mint(config.CITIZEN_ISSUER, citizen_subject(ins))
        return ins, {"Authorization": f"Bearer {token}"}

    def professional(self, rpps: str = "10000000001", profession: str = "10",
                     finess: str = "750000001") -> dict[str, str]:
        token = self.issuer.mint(config.PRO_ISSUER, f"psc-{rpps}",
                                 {"rpps": rpps, "profession": profession, "finess": finess})
        return {"Authorization": f"Bearer {token}"}

    def organisation(self, finess: str = "750000002", name: str | None = "Hôpital Nord") -> dict[str, str]:
        """A hospital's information system calling as itself: a client-credentials token (FINESS, no RPPS)."""
        claims = {"finess": finess, **({"organisation_name": name} if name else {})}
        token = self.issuer.mint(config.PRO_ISSUER, f"client-{finess}", claims)
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, timeout: float = 10,
             **kw: Any) -> requests.Response:
        return requests.request(method, self.base + path, headers=headers, timeout=timeout, **kw)


# Every citizen's chain opens with their own activation since enrolment (a provisional code sent, then used):
# tests that look for "nothing written" leave these out.
ACTIVATION_TRACES = frozenset({"space.activated", "enrolment.code_sent"})


# Its own generator: Hypothesis seeds the global `random` for each example, so a test under @given or a state
# machine would otherwise get the same "new" person in every example.
_PEOPLE = random.SystemRandom()


def new_ins() -> str:
    sex = _PEOPLE.choice("12")
    return with_key(f"{sex}{_PEOPLE.randint(40, 99)}{_PEOPLE.randint(1, 12):02d}75{_PEOPLE.randint(0, 999999):06d}")


def declaration(data: bytes, content_type: str = "application/pdf", **over: Any) -> dict[str, Any]:
    body = {"type_code": "11502-2", "title": "Bilan sanguin du 20 novembre", "service_date": "2026-11-20",
            "content_type": content_type, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    body.update(over)
    return body


def post_file(upload: dict[str, Any], data: bytes) -> requests.Response:
    """What a hospital's software does with the presigned POST: a plain multipart form, no AWS SDK."""
    return requests.post(upload["url"], data=upload["fields"], files={"file": ("document", data)}, timeout=10)


def message_with_attachment(stack: Stack, ins: str, headers: dict[str, str], data: bytes,
                            name: str = "cr.pdf") -> dict[str, Any]:
    """A professional's message with one PDF attachment, uploaded and verified."""
    sent = stack.call("POST", f"/v1/patients/{ins}/messages", headers,
                      json={"subject": "Compte rendu", "text": "Ci-joint.", "attachments": [{
                          "name": name, "content_type": "application/pdf", "size": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()}]})
    assert sent.status_code == 201, sent.text
    post_file(sent.json()["uploads"][0], data)
    stack.pump.drain()
    body: dict[str, Any] = sent.json()
    return body


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    aws_port, api_port = free_port(), free_port()
    from local.moto_fidelity import every_fix

    every_fix()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=aws_port, verbose=False)
    server.start()
    env = config.local_env(aws_port=aws_port, api_port=api_port, prefix="mes-test")
    config.apply(env)

    import app as api
    from functions.shared.aws import client
    from local import gateway, resources
    from local.issuer import DevIssuer
    from local.pump import QueuePump

    issuer = DevIssuer(state_dir=Path(tmp_path_factory.mktemp("issuer")))
    resources.create_all()
    http = gateway.serve_in_thread(api.app, "127.0.0.1", api_port, issuer.jwks_path)
    pump = QueuePump(client("sqs", config.REGION), config.UPLOAD_EVENTS_QUEUE, api.on_upload_event,
                     retry_delay_seconds=0)
    yield Stack(base=f"http://127.0.0.1:{api_port}", aws=env["AWS_ENDPOINT_URL"], issuer=issuer, pump=pump,
                env=env)
    http.shutdown()
    server.stop()


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The service's JSON log lines, formatted exactly as in Lambda (powertools' formatter)."""
    from functions.shared.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    underlying = logging.getLogger(logger.service)
    underlying.addHandler(handler)
    yield buffer
    underlying.removeHandler(handler)
