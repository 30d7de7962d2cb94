"""Measures bench (issue 13): seed `pairings` open spaces each paired with one app, then post `writes` FHIR weight
Bundles spread over them (so histories grow to writes/pairings measures each), through the Chalice app as API
Gateway delivers them after the authorizer; count every AWS call per write (first and last writes apart: the cost
does not grow with the history), per read of the latest values, per service-token check (the authorizer, with a
KMS-signed token), and Scans (must be 0). Spaces are seeded with BatchWriteItem straight to the table and the
pairings in the catalogue's table as the OAuth flow leaves them (local.seed.pair_app), both outside the counts. The
writes go round the people one by one: a person's first write pays the idPe directory read (GetItem), a later one
within the directory cache's 60 s does not (an app syncing several measures of one person at once pays it once)."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.__main__ import api_event, counted
from local.seed import GUIDE_APP as OID

BUNDLE = Path(__file__).resolve().parent.parent / "events" / "fhir" / "body-weight-bundle.json"
ALIAS = "alias/mes-bench-service-tokens"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(kms: Any, id_pe: str, pid: str) -> str:
    now = int(time.time())
    claims = {"iss": "https://mes.local/oauth", "aud": "mes-fhir", "sub": id_pe, "oid": OID, "pid": pid,
              "pv": 1, "scope": "22 11", "iat": now, "exp": now + 3600, "jti": id_pe}
    signing = f"{_b64(json.dumps({'alg': 'RS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = kms.sign(KeyId=ALIAS, Message=signing.encode(), MessageType="RAW",
                         SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
    return f"{signing}.{_b64(signature)}"


def _per(counter: Counter[str], n: int) -> dict[str, float]:
    return {k: round(v / n, 3) for k, v in sorted(counter.items())}


def run(port: int, api_port: int, pairings: int = 10_000, writes: int = 100_000) -> dict[str, Any]:
    import os

    import app as api
    from functions import deps
    from functions.accounts.storage import SpaceItem, space_key
    from functions.identity.ins import with_key
    from functions.identity.principal import Citizen, Service, to_context
    from functions.shared.aws import client
    from functions.shared.names import SERVICE_TOKEN_KEY
    from local import config, resources
    from local.pump import LambdaContext

    config.apply({**config.local_env(aws_port=port, api_port=api_port, prefix="mes-bench-measures"),
                  SERVICE_TOKEN_KEY: ALIAS})
    resources.create_all()
    kms = client("kms", config.REGION)
    if ALIAS not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}:
        key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=ALIAS, TargetKeyId=key)
    os.environ[SERVICE_TOKEN_KEY] = ALIAS
    deps.reset()
    people = [with_key(f"1{80 + n % 19:02d}{1 + n % 12:02d}75{n:06d}") for n in range(pairings)]
    created = datetime(2020, 1, 1, tzinfo=UTC)  # measures are dated from then on (never in the future)
    with SpaceItem.batch_write() as batch:
        for ins in people:
            batch.save(SpaceItem(space_key(ins), ins=ins, status="open", created_at=created))
    from functions.catalogue.catalogue import use_catalogue
    from local.seed import guide_app, pair_app

    use_catalogue((guide_app(),))
    paired = [pair_app(ins) for ins in people]
    template = json.loads(BUNDLE.read_text(encoding="utf-8"))

    def write(n: int) -> dict[str, Any]:
        person = n % pairings
        body = json.loads(json.dumps(template))
        obs = body["entry"][1]["resource"]
        obs["subject"]["identifier"]["value"] = paired[person].id_pe
        obs["effectiveDateTime"] = (created + timedelta(minutes=n)).isoformat()
        obs["valueQuantity"]["value"] = 60 + n % 40
        who = Service(oid=OID, id_pe=paired[person].id_pe, pairing=paired[person].pairing_id, pv=1, scope="22 11")
        event = api_event("POST", "/v1/fhir", "/v1/fhir", {}, to_context(who), body,
                          headers={"content-type": "application/fhir+json"})
        response: dict[str, Any] = api.app(event, LambdaContext())
        return response

    total: Counter[str] = Counter()
    first: Counter[str] = Counter()
    last: Counter[str] = Counter()
    failed, first_failure = 0, None
    started = time.perf_counter()
    for n in range(writes):
        with counted() as delta:
            answer = write(n)
        if answer["statusCode"] != 200:
            failed += 1
            first_failure = first_failure or f"{answer['statusCode']} {str(answer.get('body'))[:300]}"
        total.update(delta)
        if n < pairings:
            first.update(delta)
        elif n >= writes - pairings:
            last.update(delta)
    write_seconds = time.perf_counter() - started
    reads: Counter[str] = Counter()
    sample = people[: min(200, pairings)]
    for ins in sample:
        event = api_event("GET", "/v1/me/measures", "/v1/me/measures", {}, to_context(Citizen(ins=ins)))
        with counted() as delta:
            assert api.app(event, LambdaContext())["statusCode"] == 200
        reads.update(delta)
    from chalicelib.edge import bearer

    checks: Counter[str] = Counter()
    tokens = [_token(kms, p.id_pe, p.pairing_id) for p in paired[: min(50, pairings)]]
    bearer_fn: Any = bearer
    for token in tokens:
        auth = {"type": "TOKEN", "authorizationToken": f"Bearer {token}",
                "methodArn": "arn:aws:execute-api:eu-west-3:123456789012:api/bench/POST/v1/fhir"}
        with counted() as delta:
            bearer_fn(auth, None)
        checks.update(delta)
    scans = sum(v for c in (total, reads, checks) for k, v in c.items() if k.endswith(":Scan"))
    later = max(1, min(pairings, writes - pairings))
    per_write = round(sum(total.values()) / writes, 3)
    return {
        "pairings": pairings, "writes": writes, "failed_writes": failed, "first_failure": first_failure,
        "history_per_person_at_the_end": writes // pairings,
        "calls_per_write": per_write, "calls_per_write_by_operation": _per(total, writes),
        "calls_per_write_first_of_each_person": _per(first, min(pairings, writes)),
        "calls_per_write_last_of_each_person": _per(last, later) if writes > pairings else {},
        "calls_per_latest_read": round(sum(reads.values()) / len(sample), 3),
        "calls_per_latest_read_by_operation": _per(reads, len(sample)),
        "calls_per_token_check": _per(checks, len(tokens)),
        "dynamodb_calls_per_token_check": round(sum(v for k, v in checks.items() if k.startswith("dynamodb:"))
                                                / len(tokens), 3),
        "scan_calls": scans,
        "write_seconds_against_moto": round(write_seconds, 1),
        "targets": {"calls_per_write": 3, "dynamodb_calls_per_token_check": 0, "scan_calls": 0},
    }
