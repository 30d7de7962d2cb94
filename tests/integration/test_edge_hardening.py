"""Issue 9, the edge: what an adversarial run sent to `make run` and must now get a clear JSON 4xx for (forged
token algorithms, nested or huge bodies, dates at the calendar's ends, non-ASCII digits, malformed HTTP), plus the
headers that keep health data out of caches and downloads out of the browser's renderer."""

from __future__ import annotations

import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from local import config
from tests.integration.conftest import Stack

# ---- 9.3: a token whose header names an algorithm its key cannot verify ----------------------------------------


def test_an_es256_token_under_the_rsa_kid_is_a_json_401(stack: Stack) -> None:
    now = int(time.time())
    forged = jwt.encode({"iss": config.PRO_ISSUER, "aud": config.AUDIENCE, "sub": "psc-x", "iat": now, "nbf": now,
                         "exp": now + 600, "rpps": "10000000001", "profession": "10", "finess": "750000001"},
                        ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                        headers={"kid": stack.issuer.kid})
    for method, path in [("GET", "/v1/me/documents"), ("GET", "/v1/me/appointments")]:
        response = stack.call(method, path, {"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
