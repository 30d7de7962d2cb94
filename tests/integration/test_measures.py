"""Measures over FHIR end to end (HTTP, local gateway, moto): a paired app signs in with a KMS-signed service
token, posts the guide's weight Bundle and reads it back; the person sees it as their latest value; every refusal
the guide words comes back with its exact message and status, and writes nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from local.seed import GUIDE_APP as OID
from tests.integration.conftest import Stack
from tests.integration.contract import assert_documented
from tests.integration.service_tokens import ensure_key, mint

EVENTS = Path(__file__).resolve().parents[2] / "events" / "fhir"
FHIR = "application/fhir+json"


def bundle(id_pe: str, name: str = "body-weight-bundle.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    data["entry"][1]["resource"]["subject"]["identifier"]["value"] = id_pe
    return data


@pytest.fixture
def paired(stack: Stack) -> dict[str, Any]:
    """A person with a space, paired with the guide's example app in the catalogue's table (published for this
    test: the measures flow reads its purposes and status from the catalogue)."""
    from functions.catalogue.catalogue import use_catalogue
    from local.seed import guide_app, pair_app

    ensure_key()
    use_catalogue((guide_app(),))
    ins, citizen = stack.citizen()
    pairing = pair_app(ins)
    id_pe, pid = pairing.id_pe, pairing.pairing_id
    return {"ins": ins, "citizen": citizen, "id_pe": id_pe, "pid": pid,
            "app": {"Authorization": f"Bearer {mint(id_pe, OID, pid)}", "Content-Type": FHIR}}


def post(stack: Stack, headers: dict[str, str], body: Any) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = stack.call("POST", "/v1/fhir", headers, data=data)
    assert_documented("POST", "/v1/fhir", response)
    return response


def diagnostics(response: requests.Response) -> tuple[int, str]:
    issue = response.json()["issue"][0]
    return response.status_code, issue.get("diagnostics") or issue["details"]["text"]


def latest(stack: Stack, citizen: dict[str, str]) -> dict[str, Any]:
    response = stack.call("GET", "/v1/me/measures", citizen)
    assert response.status_code == 200
    assert_documented("GET", "/v1/me/measures", response)
    return {m["code"]: m for m in response.json()["items"]}


def test_an_app_writes_a_weight_and_the_person_sees_it_as_latest(stack: Stack, paired: dict[str, Any]) -> None:
    first = post(stack, paired["app"], bundle(paired["id_pe"]))
    assert first.status_code == 200 and first.headers["Content-Type"].startswith(FHIR)
    answer = first.json()
    assert answer["type"] == "transaction-response"
    assert [e["response"]["status"] for e in answer["entry"]] == ["201 Created", "201 Created"]
    assert answer["entry"][1]["response"]["location"] == f"Device/urn:oid:{OID}|FE-ED-AB-AA-DE-AD-77-C5"
    again = post(stack, paired["app"], bundle(paired["id_pe"]))
    assert [e["response"]["status"] for e in again.json()["entry"]] == ["201 Created", "200 OK"]  # device known
    weight = latest(stack, paired["citizen"])["WEIGHT"]
    assert (weight["value"], weight["unit"], weight["author"]) == (71, "kg", "EDITOR_SOLUTION")
    assert weight["permissions"] == {"update": False, "delete": False}
    traces = stack.call("GET", "/v1/me/traces", paired["citizen"]).json()["items"]
    written = [t for t in traces if t["action"] == "measure.written"]
    assert len(written) == 2 and written[0]["actor"]["kind"] == "SERVICE_TIERS" and written[0]["actor"]["id"] == OID


def test_another_idpe_is_refused_with_the_guides_message(stack: Stack, paired: dict[str, Any]) -> None:
    response = post(stack, paired["app"], bundle("someone-else"))
    assert diagnostics(response) == (403, "idPe requested do not match authorized idPe.")
    assert "WEIGHT" not in latest(stack, paired["citizen"])


def test_without_the_write_consent_the_app_is_refused(stack: Stack, paired: dict[str, Any]) -> None:
    token = mint(paired["id_pe"], OID, paired["pid"], scope="11")  # may read the weight, not add one
    response = post(stack, {"Authorization": f"Bearer {token}", "Content-Type": FHIR}, bundle(paired["id_pe"]))
    assert diagnostics(response) == (403, "Consent not given, access refused.")
    assert "WEIGHT" not in latest(stack, paired["citizen"])


def test_a_revoked_pairing_is_refused_at_the_edge(stack: Stack, paired: dict[str, Any]) -> None:
    from functions import deps

    ended = stack.call("DELETE", f"/v1/me/services/{OID}", paired["citizen"])  # the holder unpairs the app
    assert ended.status_code in (200, 204), ended.text
    deps.service_tokens.cache_clear()  # type: ignore[attr-defined]  # as after the cache's 60 s
    response = post(stack, paired["app"], bundle(paired["id_pe"]))
    assert response.status_code == 401 and response.json()["error"]["code"] == "pairing_revoked"


def test_bmi_is_computed_never_written(stack: Stack, paired: dict[str, Any]) -> None:
    response = post(stack, paired["app"], bundle(paired["id_pe"], "bmi-bundle.json"))
    assert diagnostics(response) == (422, "Bmi observation can-not be created.")
    citizen = paired["citizen"]
    for code, value in (("WEIGHT", 81), ("HEIGHT", 180)):
        added = stack.call("POST", "/v1/me/measures", citizen,
                           json={"code": code, "effective": "2026-11-30T08:00:00+01:00", "value": value})
        assert added.status_code == 201, added.text
    assert latest(stack, citizen)["BODY_MASS_INDEX"]["value"] == 25.0


def test_oversize_or_deep_bodies_are_refused_before_parsing(stack: Stack, paired: dict[str, Any]) -> None:
    big = bundle(paired["id_pe"])
    big["entry"][1]["resource"]["note"] = [{"text": "x" * 70_000}]
    assert post(stack, paired["app"], big).status_code == 413
    deep: Any = {}
    for _ in range(40):
        deep = {"a": deep}
    nested = bundle(paired["id_pe"])
    nested["entry"][1]["resource"]["extension"] = [deep]
    response = post(stack, paired["app"], nested)
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_deep"
    assert post(stack, paired["app"], b"[" * 5000).status_code == 400


def test_the_app_reads_its_persons_observations_with_its_read_purpose(stack: Stack,
                                                                      paired: dict[str, Any]) -> None:
    post(stack, paired["app"], bundle(paired["id_pe"]))
    found = stack.call("GET", "/v1/fhir/Observation?code=29463-7", paired["app"])
    assert_documented("GET", "/v1/fhir/Observation", found)
    body = found.json()
    assert found.status_code == 200 and body["type"] == "searchset" and body["total"] == 1
    resource = body["entry"][0]["resource"]
    assert resource["subject"]["identifier"]["value"] == paired["id_pe"]
    assert paired["ins"] not in found.text
    token = mint(paired["id_pe"], OID, paired["pid"], scope="22")  # may add, not read
    refused = stack.call("GET", "/v1/fhir/Observation?code=29463-7", {"Authorization": f"Bearer {token}"})
    assert diagnostics(refused) == (403, "Consent not given, access refused.")


def test_the_person_manages_their_own_measures_not_an_apps(stack: Stack, paired: dict[str, Any]) -> None:
    citizen = paired["citizen"]
    post(stack, paired["app"], bundle(paired["id_pe"]))
    app_measure = latest(stack, citizen)["WEIGHT"]
    path = f"/v1/me/measures/WEIGHT/{app_measure['id']}"
    assert stack.call("DELETE", path, citizen).status_code == 403
    assert stack.call("PUT", path, citizen, json={"value": 60}).status_code == 403
    own = stack.call("POST", "/v1/me/measures", citizen,
                     json={"code": "WEIGHT", "effective": "2026-11-30T08:00:00+01:00", "value": 72.5}).json()
    assert latest(stack, citizen)["WEIGHT"]["id"] == own["id"]  # newer than the app's 2022 measure
    corrected = stack.call("PUT", f"/v1/me/measures/WEIGHT/{own['id']}", citizen, json={"value": 72.0})
    assert corrected.status_code == 200 and latest(stack, citizen)["WEIGHT"]["value"] == 72.0
    history = stack.call("GET", "/v1/me/measures/WEIGHT?limit=1", citizen)
    assert_documented("GET", "/v1/me/measures/{code}", history)
    page = history.json()
    assert [m["id"] for m in page["items"]] == [own["id"]] and page["next"]
    rest = stack.call("GET", f"/v1/me/measures/WEIGHT?limit=1&cursor={page['next']}", citizen).json()
    assert [m["id"] for m in rest["items"]] == [app_measure["id"]]
    period = stack.call("GET", "/v1/me/measures/WEIGHT?to=2023-01-01T00:00:00%2B00:00", citizen).json()
    assert [m["id"] for m in period["items"]] == [app_measure["id"]]
    assert stack.call("DELETE", f"/v1/me/measures/WEIGHT/{own['id']}", citizen).status_code == 200
    assert latest(stack, citizen)["WEIGHT"]["id"] == app_measure["id"]  # the latest falls back
    _, other = stack.call, stack.citizen()[1]
    assert stack.call("DELETE", path, other).status_code == 404  # someone else's: not found


def test_the_bundle_rules_answer_operation_outcomes(stack: Stack, paired: dict[str, Any]) -> None:
    broken = copy.deepcopy(bundle(paired["id_pe"]))
    del broken["entry"][0]["request"]["ifNoneExist"]
    assert diagnostics(post(stack, paired["app"], broken)) == (
        422, "Bundle must contains one conditional creation of a device (POST + ifNoneExist)")
    assert diagnostics(post(stack, paired["app"], {"resourceType": "Patient"})) == (422, "No bundle provided.")
