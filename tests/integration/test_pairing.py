"""Pairing a referenced service over HTTP, as an app and its user do it: the consent screen, the code, the token
endpoint authenticated by private_key_jwt with a key pair generated here and registered for a test service; the
tokens verify with the KMS public key; consents and unpairing kill tokens at once (revocation entries)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from functions.catalogue.oauth import ASSERTION_TYPE, challenge_of
from tests.integration.conftest import Stack
from tests.integration.contract import assert_documented

OID = "1.2.250.1.213.4.99.1"
REDIRECT = "https://app.example.test/oauth/retour"
ISSUER = "https://mes.local/oauth"
TOKEN_URL = f"{ISSUER}/token"


def balance_service(public_jwk: dict[str, Any], oid: str = OID) -> Any:
    from functions.catalogue.models import Service

    purposes = [{"code": "22", "label": "Ajouter mon poids", "action": "write", "categories": ["WEIGHT"],
                 "measure_codes": ["29463-7"]},
                {"code": "11", "label": "Consulter mon poids", "action": "read", "categories": ["WEIGHT"],
                 "measure_codes": ["29463-7"]}]
    return Service.model_validate({
        "oid": oid, "name": "Balance de test", "editor": {"name": "Tests SAS"}, "description": "Une balance.",
        "economical_model": "GRATUIT", "status": "EN_LIGNE", "redirect_uris": [REDIRECT],
        "jwks": {"keys": [public_jwk]}, "thematics": ["PREVENTION"],
        "versions": [{"version": 1, "purposes": purposes}]})


@pytest.fixture(scope="module")
def app_key(stack: Stack) -> Iterator[rsa.RSAPrivateKey]:
    """The test app's key pair; its public half is registered in the catalogue for OID."""
    from functions.catalogue.catalogue import use_catalogue

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "test-app-1", "alg": "RS256", "use": "sig"})
    use_catalogue((balance_service(public),))
    yield key
    use_catalogue(None)


def assertion(key: rsa.RSAPrivateKey, **over: Any) -> str:
    now = int(time.time())
    claims = {"iss": OID, "sub": OID, "aud": TOKEN_URL, "iat": now, "exp": now + 120, "jti": secrets.token_hex(12)}
    claims.update(over)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test-app-1"})


def authorize_params(verifier: str, **over: str) -> dict[str, str]:
    params = {"response_type": "code", "client_id": OID, "redirect_uri": REDIRECT, "scope": "22 11",
              "state": "xyz-123", "code_challenge": challenge_of(verifier), "code_challenge_method": "S256"}
    params.update(over)
    return params


def pair(stack: Stack, key: rsa.RSAPrivateKey, headers: dict[str, str],
         accepted: tuple[str, ...] = ("22", "11")) -> tuple[str, str]:
    """Consent screen, consent, code; returns (code, verifier)."""
    verifier = secrets.token_urlsafe(48)
    screen = stack.call("GET", "/v1/oauth/authorize", headers, params=authorize_params(verifier))
    assert screen.status_code == 200, screen.text
    answer = stack.call("POST", "/v1/oauth/authorize", headers,
                        json={**authorize_params(verifier), "accepted": list(accepted)})
    assert answer.status_code == 200, answer.text
    query = parse_qs(urlsplit(answer.json()["redirect"]).query)
    assert query["state"] == ["xyz-123"]
    return query["code"][0], verifier


def token(stack: Stack, key: rsa.RSAPrivateKey, **form: str) -> Any:
    body = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion(key), **form}
    return stack.call("POST", "/v1/oauth/token", data=body)


def exchange(stack: Stack, key: rsa.RSAPrivateKey, code: str, verifier: str) -> Any:
    return token(stack, key, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                 code_verifier=verifier)


def kms_public_key(stack: Stack) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    from functions.shared.aws import client
    from local import config

    der = client("kms", config.REGION).get_public_key(KeyId=config.SERVICE_TOKEN_ALIAS)["PublicKey"]
    return load_der_public_key(der)


def revoked() -> dict[str, int]:
    from functions import deps

    return deps.catalogue_store().snapshot()


def test_a_full_pairing_gives_tokens_signed_by_the_kms_key(stack: Stack, app_key: rsa.RSAPrivateKey) -> None:
    ins, me = stack.citizen()
    verifier = secrets.token_urlsafe(48)
    screen = stack.call("GET", "/v1/oauth/authorize", me, params=authorize_params(verifier))
    assert_documented("GET", "/v1/oauth/authorize", screen)
    assert screen.json()["service"]["name"] == "Balance de test"
    assert [p["code"] for p in screen.json()["purposes"]] == ["22", "11"]
    code, verifier = pair(stack, app_key, me, accepted=("22",))

    answer = exchange(stack, app_key, code, verifier)
    assert answer.status_code == 200, answer.text
    assert_documented("POST", "/v1/oauth/token", answer)
    tokens = answer.json()
    public = kms_public_key(stack)
    access = jwt.decode(tokens["access_token"], public, algorithms=["RS256"], audience="mes-fhir", issuer=ISSUER)
    assert access["oid"] == OID and access["scope"] == "22" and access["pv"] >= 1
    assert access["exp"] - access["iat"] == 600 and access["jti"] and access["pid"].startswith("pair_")
    assert "ins" not in access and ins not in json.dumps(access)
    id_token = jwt.decode(tokens["id_token"], public, algorithms=["RS256"], audience=OID, issuer=ISSUER)
    assert id_token["sub"] == access["sub"] and id_token["oid"] == OID
    from functions import deps

    assert deps.catalogue_store().resolve(OID, access["sub"]) == ins

    mine = stack.call("GET", "/v1/me/services", me).json()["items"]
    assert [(s["oid"], [(p["code"], p["consented"]) for p in s["purposes"]]) for s in mine] == [
        (OID, [("22", True), ("11", False)])]
    traces = stack.call("GET", "/v1/me/traces", me).json()["items"]
    actions = {t["action"]: t["actor"] for t in traces}
    assert actions["service.token_issued"]["kind"] == "SERVICE_TIERS"
    assert actions["service.token_issued"]["label"] == "Balance de test"
    assert "service.paired" in actions

    gone = stack.call("DELETE", f"/v1/me/services/{OID}", me)
    assert gone.status_code == 200, gone.text
    assert revoked()[access["pid"]] == -1
    assert deps.catalogue_store().resolve(OID, access["sub"]) is None
    assert stack.call("GET", "/v1/me/services", me).json()["items"] == []
    again = token(stack, app_key, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_a_redirect_uri_not_registered_is_an_oauth_error(stack: Stack, app_key: rsa.RSAPrivateKey) -> None:
    _, me = stack.citizen()
    params = authorize_params(secrets.token_urlsafe(48), redirect_uri="https://evil.example/cb")
    answer = stack.call("GET", "/v1/oauth/authorize", me, params=params)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request" and "redirect_uri" in answer.json()["error_description"]
    assert_documented("GET", "/v1/oauth/authorize", answer)
    posted = stack.call("POST", "/v1/oauth/authorize", me, json={**params, "accepted": ["22"]})
    assert (posted.status_code, posted.json()["error"]) == (400, "invalid_request")
    assert stack.call("GET", "/v1/me/services", me).json()["items"] == []


def test_a_pkce_verifier_that_does_not_match_is_invalid_grant(stack: Stack, app_key: rsa.RSAPrivateKey) -> None:
    _, me = stack.citizen()
    code, _ = pair(stack, app_key, me)
    answer = exchange(stack, app_key, code, secrets.token_urlsafe(48))
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    assert_documented("POST", "/v1/oauth/token", answer)


def test_a_replayed_code_is_refused_and_revokes_what_it_gave(stack: Stack, app_key: rsa.RSAPrivateKey) -> None:
    _, me = stack.citizen()
    code, verifier = pair(stack, app_key, me)
    first = exchange(stack, app_key, code, verifier)
    assert first.status_code == 200, first.text
    pid = jwt.decode(first.json()["access_token"], options={"verify_signature": False})["pid"]
    replay = exchange(stack, app_key, code, verifier)
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert revoked()[pid] >= 2  # access tokens of version 1 are refused
    refreshed = token(stack, app_key, grant_type="refresh_token", refresh_token=first.json()["refresh_token"])
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")


def test_refresh_tokens_rotate_and_a_reused_one_ends_the_pairing(stack: Stack, app_key: rsa.RSAPrivateKey) -> None:
    _, me = stack.citizen()
    code, verifier = pair(stack, app_key, me)
    first = exchange(stack, app_key, code, verifier).json()
    second = token(stack, app_key, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first["refresh_token"]
    stolen = token(stack, app_key, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert (stolen.status_code, stolen.json()["error"]) == (400, "invalid_grant")
    pid = jwt.decode(first["access_token"], options={"verify_signature": False})["pid"]
    assert revoked()[pid] == -1
    assert stack.call("GET", "/v1/me/services", me).json()["items"] == []
    honest = token(stack, app_key, grant_type="refresh_token", refresh_token=second.json()["refresh_token"])
    assert honest.status_code == 400


def test_consents_switch_one_purpose_and_never_the_last(stack: Stack, app_key: rsa.RSAPrivateKey) -> None:
    _, me = stack.citizen()
    code, verifier = pair(stack, app_key, me, accepted=("22", "11"))
    first = exchange(stack, app_key, code, verifier).json()
    pid = jwt.decode(first["access_token"], options={"verify_signature": False})["pid"]
    off = stack.call("DELETE", f"/v1/me/services/{OID}/purposes/11", me)
    assert off.status_code == 200, off.text
    assert [(p["code"], p["consented"]) for p in off.json()["purposes"]] == [("22", True), ("11", False)]
    pv = jwt.decode(first["access_token"], options={"verify_signature": False})["pv"]
    assert revoked()[pid] == pv + 1  # the token that carried "11" is dead
    last = stack.call("DELETE", f"/v1/me/services/{OID}/purposes/22", me)
    assert (last.status_code, last.json()["error"]["code"]) == (409, "last_purpose_unpair_instead")
    renewed = token(stack, app_key, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    claims = jwt.decode(renewed["access_token"], options={"verify_signature": False})
    assert (claims["scope"], claims["pv"]) == ("22", pv + 1)
    on = stack.call("PUT", f"/v1/me/services/{OID}/purposes/11", me)
    assert on.status_code == 200 and all(p["consented"] for p in on.json()["purposes"])
    unknown = stack.call("PUT", f"/v1/me/services/{OID}/purposes/99", me)
    assert unknown.status_code == 404


def test_a_client_assertion_for_another_audience_is_invalid_client(stack: Stack,
                                                                   app_key: rsa.RSAPrivateKey) -> None:
    _, me = stack.citizen()
    code, verifier = pair(stack, app_key, me)
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(app_key, aud="https://elsewhere.example/token")}
    answer = stack.call("POST", "/v1/oauth/token", data=body)
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert_documented("POST", "/v1/oauth/token", answer)


def test_the_catalogue_lists_what_may_be_shown_with_the_callers_pairing(stack: Stack,
                                                                        app_key: rsa.RSAPrivateKey) -> None:
    _, me = stack.citizen()
    listing = stack.call("GET", "/v1/catalogue/services", me)
    assert listing.status_code == 200, listing.text
    assert_documented("GET", "/v1/catalogue/services", listing)
    statuses = {s["oid"]: s["status"] for s in listing.json()["services"]}
    assert "1.2.250.1.213.4.10.5" not in statuses  # DEREFERENCEE: never listed
    assert statuses["1.2.250.1.213.4.10.4"] == "SUSPENDUE" and statuses["1.2.250.1.213.4.10.3"] == "PRESERIE"
    diabetes = stack.call("GET", "/v1/catalogue/services", me, params={"thematic": "DIABETE"}).json()
    assert [s["name"] for s in diabetes["services"]] == ["GlucoSuivi"]
    pair(stack, app_key, me)
    detail = stack.call("GET", f"/v1/catalogue/services/{OID}", me).json()
    assert detail["synchronization"] == {"is_synchronized": True, "is_acknowledged": True,
                                         "reapproval_limit_date": None}
    assert stack.call("GET", "/v1/catalogue/services/1.2.250.1.213.4.10.5", me).status_code == 404


def test_dereferencing_ends_every_pairing_through_the_service_index(stack: Stack, app_key: rsa.RSAPrivateKey,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """On the real table: a status change by operations, and the job that pages the by-service index."""
    from functions import deps
    from functions.catalogue import operations
    from functions.catalogue.catalogue import use_catalogue
    from functions.catalogue.models import ServiceStatus

    public = {**json.loads(RSAAlgorithm.to_jwk(app_key.public_key())), "kid": "test-app-1", "alg": "RS256"}
    oid = f"1.2.250.1.213.4.98.{secrets.randbelow(10**6)}"
    use_catalogue((balance_service(public), balance_service(public, oid)))
    try:
        holders = [stack.citizen() for _ in range(3)]
        for _, me in holders:
            verifier = secrets.token_urlsafe(48)
            answer = stack.call("POST", "/v1/oauth/authorize", me,
                                json={**authorize_params(verifier, client_id=oid), "accepted": ["22"]})
            assert answer.status_code == 200, answer.text
        monkeypatch.setattr(operations, "PAGE", 2)  # two pages of the index
        ended = operations.change_status(deps.catalogue(), oid, ServiceStatus.DEREFERENCEE, "ops-test")
        # traced in the service's history, in the real table, with who did it
        assert [(c.status, c.operator) for c in deps.catalogue().store.status_history(oid)] == [
            (ServiceStatus.DEREFERENCEE, "ops-test")]
        assert ended == 3
        assert all(stack.call("GET", "/v1/me/services", me).json()["items"] == [] for _, me in holders)
        deny = revoked()
        assert deny[f"svc:{oid}"] > time.time() - 60
        assert sum(1 for v in deny.values() if v == -1) >= 3
        assert stack.call("GET", f"/v1/catalogue/services/{oid}", holders[0][1]).status_code == 404
        traces = stack.call("GET", "/v1/me/traces", holders[0][1]).json()["items"]
        assert traces[0]["action"] == "service.unpaired" and "service_dereferenced" in traces[0]["reason"]
    finally:
        use_catalogue((balance_service(public),))  # the module's test service alone again


def test_the_summary_job_reads_the_cycle_index(stack: Stack, app_key: rsa.RSAPrivateKey) -> None:
    from datetime import date, timedelta

    from functions import deps
    from functions.catalogue.models import summary_cycle
    from functions.catalogue.summary import send_summaries

    ins, me = stack.citizen()
    pair(stack, app_key, me)
    slot, shard = summary_cycle(ins)
    day = next(d for d in (date(2027, 1, 1) + timedelta(days=i) for i in range(90)) if d.toordinal() % 90 == slot)
    report = send_summaries(deps.catalogue_summaries(), day, range(shard, shard + 1))
    assert report.holders >= 1
    import app as api
    from local.pump import LambdaContext
    from tests.events import load

    event = {**load("schedule/daily.json"), "time": f"{day.isoformat()}T07:00:00Z"}
    # The deployed schedule's handler pages every shard: other tests' holders of the same slot get theirs on its
    # first run; its second run of the same day notifies nobody (each summary of the day exists already).
    first = api.catalogue_summaries(event, LambdaContext())
    again = api.catalogue_summaries(event, LambdaContext())
    assert first["holders"] >= 1 and again["holders"] == first["holders"] and again["notified"] == 0
    items = stack.call("GET", "/v1/me/notifications", me).json()["items"]
    summary = [n for n in items if n["kind"] == "catalogue.synchronized_services"]
    assert len(summary) == 1 and "Balance de test" in summary[0]["text"]


def test_an_app_paired_over_oauth_writes_a_measure_with_its_access_token_until_unpaired(
        stack: Stack, app_key: rsa.RSAPrivateKey) -> None:
    """Pairing and measures meet in the real tables: the token endpoint's access token is accepted by POST /v1/fhir
    (its idPe resolves through the catalogue's directory, its purpose through the catalogue's measure codes), the
    person sees the weight, and once unpaired the same token is refused at the edge."""
    from pathlib import Path

    from functions import deps

    _, me = stack.citizen()
    code, verifier = pair(stack, app_key, me, accepted=("22", "11"))
    access = exchange(stack, app_key, code, verifier).json()["access_token"]
    id_pe = jwt.decode(access, options={"verify_signature": False})["sub"]
    raw = (Path(__file__).resolve().parents[2] / "events" / "fhir" / "body-weight-bundle.json").read_text()
    body = json.loads(raw.replace("1.2.840.10004.1.1.1.0.0.1.0.0.1.2680", OID))
    body["entry"][1]["resource"]["subject"]["identifier"]["value"] = id_pe
    app = {"Authorization": f"Bearer {access}", "Content-Type": "application/fhir+json"}
    written = stack.call("POST", "/v1/fhir", app, data=json.dumps(body).encode())
    assert written.status_code == 200, written.text
    weight = {m["code"]: m for m in stack.call("GET", "/v1/me/measures", me).json()["items"]}["WEIGHT"]
    assert (weight["value"], weight["author"]) == (71, "EDITOR_SOLUTION")
    assert stack.call("DELETE", f"/v1/me/services/{OID}", me).status_code == 200
    deps.service_tokens.cache_clear()  # type: ignore[attr-defined]  # as after the deny list's 60 s
    refused = stack.call("POST", "/v1/fhir", app, data=json.dumps(body).encode())
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "pairing_revoked"
    assert len(stack.call("GET", "/v1/me/measures/WEIGHT", me).json()["items"]) == 1
