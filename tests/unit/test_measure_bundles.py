"""The guide's rules for a measures transaction Bundle (mes-rules-next.md C.4), each with its exact message and
status, on the guide's own example (events/fhir/) and variations of it."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from functions.measures import fhir
from functions.measures.fhir import FhirRefusal
from functions.measures.models import MAX_DEPTH, PROFILES, MeasureCode, bmi, depth

EVENTS = Path(__file__).resolve().parents[2] / "events" / "fhir"
OID = "1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
STEM = "http://esante.gouv.fr/ci-sis/fhir/StructureDefinition/"


def bundle(name: str = "body-weight-bundle.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


def observation(b: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = b["entry"][1]["resource"]
    return found


def refusal(data: Any) -> FhirRefusal:
    with pytest.raises(FhirRefusal) as caught:
        fhir.measure_of(fhir.parse_bundle(data), OID, "284067512345688", "m1", NOW)
    return caught.value


def issue(r: FhirRefusal) -> tuple[int, str, str, str | None]:
    entry = r.body["issue"][0]  # type: ignore[index]
    return r.status, entry["details"]["text"], entry["code"], entry.get("diagnostics")


def test_the_guides_example_is_a_weight_of_71_kg_from_the_scale() -> None:
    measure = fhir.measure_of(fhir.parse_bundle(bundle()), OID, "284067512345688", "m1", NOW)
    assert (measure.measure, measure.code, measure.value, measure.unit) == (MeasureCode.WEIGHT, "29463-7", 71, "kg")
    assert measure.device == f"{OID}|FE-ED-AB-AA-DE-AD-77-C5" and measure.author == "EDITOR_SOLUTION"
    assert measure.effective == datetime(2022, 8, 22, 0, 56, 16, tzinfo=UTC)


def test_the_bundle_allow_list_has_twelve_profiles_and_head_circumference_is_8287_5() -> None:
    assert len(PROFILES) == 12
    assert [k.code for k in PROFILES["mesures-observation-head-circumference"]] == ["8287-5"]


def test_no_bundle() -> None:
    assert issue(refusal({"resourceType": "Patient"}))[:2] == (422, "No bundle provided.")
    assert issue(refusal([1, 2]))[:2] == (422, "No bundle provided.")


def test_a_put_or_another_resource_is_not_acceptable() -> None:
    b = bundle()
    b["entry"][1]["request"]["method"] = "PUT"
    assert issue(refusal(b)) == (422, "Bundle not valid.", "not-supported",
                                 "Resource of type Observation is not acceptable with method PUT.")


def test_the_device_must_be_a_conditional_creation() -> None:
    b = bundle()
    del b["entry"][0]["request"]["ifNoneExist"]
    assert issue(refusal(b)) == (422, "Bundle not valid.", "invalid",
                                 "Bundle must contains one conditional creation of a device (POST + ifNoneExist)")
    b = bundle()
    b["entry"] = b["entry"][1:]
    assert issue(refusal(b))[3] == "Bundle must contains one conditional creation of a device (POST + ifNoneExist)"


def test_if_none_exist_must_name_the_devices_identifier() -> None:
    b = bundle()
    b["entry"][0]["request"]["ifNoneExist"] = "identifier=urn:oid:1.2.3|OTHER-ID"
    assert issue(refusal(b)) == (422, "Bundle not valid.", "invalid",
                                 "Device request must have a valid IfNoneExist attribute : identifier=urn:oid:<OID>")
    b["entry"][0]["request"]["ifNoneExist"] = "serial=42"
    assert issue(refusal(b))[3].startswith("Device request must have a valid IfNoneExist")  # type: ignore[union-attr]


def test_exactly_one_observation() -> None:
    b = bundle()
    b["entry"] = b["entry"][:1]
    assert issue(refusal(b))[3] == "Bundle must contains one observation creation (POST)"
    b = bundle()
    b["entry"].append(copy.deepcopy(b["entry"][1]))
    assert issue(refusal(b))[3] == "Bundle must contains one observation creation (POST)"


def test_observation_and_device_must_be_linked() -> None:
    b = bundle()
    del observation(b)["device"]
    assert issue(refusal(b)) == (422, "Observation and Device link not valid.", "invalid",
                                 "Observation.device.reference is mandatory.")
    observation(b)["device"] = {"reference": "Device/another"}
    assert issue(refusal(b))[3] == "Observation and device not linked by id"


def test_profiles_are_required_on_both_resources() -> None:
    b = bundle()
    del observation(b)["meta"]
    assert issue(refusal(b)) == (422, "Observation resource not valid.", "invalid", "must provide meta.profile")
    b = bundle()
    del b["entry"][0]["resource"]["meta"]
    assert issue(refusal(b)) == (422, "Device resource not valid.", "invalid",
                                 "Device must provide meta.profile value.")


def test_the_subject_identifier_is_mandatory() -> None:
    b = bundle()
    del observation(b)["subject"]
    assert issue(refusal(b))[3] == "Observation.subject.identifier is mandatory."


def test_meta_source_must_belong_to_the_editors_oid() -> None:
    b = bundle()
    observation(b)["meta"]["source"] = "urn:oid:1.2.3.4"
    assert issue(refusal(b)) == (422, "Observation resource not valid.", "value",
                                 "Solution oid contains in Observation.meta.source don't belong to root editor oid")
    observation(b)["meta"]["source"] = f"urn:oid:{OID}.7"
    assert fhir.measure_of(fhir.parse_bundle(b), OID, "284067512345688", "m1", NOW).value == 71


def test_a_value_is_required_in_the_profiles_unit() -> None:
    b = bundle()
    del observation(b)["valueQuantity"]
    assert issue(refusal(b)) == (422, "Observation resource not valid.", "value",
                                 "Observation value quantity not provided.")
    b = bundle()
    observation(b)["valueQuantity"].update({"unit": "lb", "code": "[lb_av]"})
    assert issue(refusal(b))[2] == "value"


def test_bmi_is_refused_with_the_guides_message() -> None:
    submission = fhir.parse_bundle(bundle("bmi-bundle.json"))
    with pytest.raises(FhirRefusal) as caught:
        fhir.refuse_bmi(submission)
    assert issue(caught.value) == (422, "Observation resource not valid.", "not-supported",
                                   "Bmi observation can-not be created.")


def test_blood_glucose_needs_its_moment_and_refuses_number_of_days() -> None:
    ok = fhir.measure_of(fhir.parse_bundle(bundle("blood-glucose-bundle.json")), OID, "284067512345688", "m", NOW)
    assert (ok.measure, ok.moment, ok.unit) == (MeasureCode.GLUCOSE, "53049-3", "mg/dL")
    b = bundle("blood-glucose-bundle.json")
    observation(b)["extension"] = []
    assert issue(refusal(b)) == (422, "Observation resource not valid.", "incomplete",
                                 "Observation.extension.moment is mandatory.")
    b = bundle("blood-glucose-bundle.json")
    observation(b)["extension"].append({"url": STEM + "mes-number-of-days",
                                        "valueCodeableConcept": {"coding": [{"code": "GEN-275"}]}})
    assert issue(refusal(b))[3] == "Observation.extension.numberOfDays cannot be added."


def test_interstitial_glucose_needs_number_of_days_and_refuses_moment() -> None:
    b = bundle("blood-glucose-bundle.json")
    observation(b)["code"] = {"coding": [{"system": "https://smt.esante.gouv.fr/terminologie-taasip",
                                          "code": "MED-969"}]}
    assert issue(refusal(b))[3] == "Observation.extension.moment cannot be added."
    observation(b)["extension"] = []
    assert issue(refusal(b)) == (422, "Observation resource not valid.", "incomplete",
                                 "Observation.extension.numberOfDays is mandatory.")


def test_a_device_of_another_editor_is_an_oid_conflict() -> None:
    with pytest.raises(FhirRefusal) as caught:
        fhir.measure_of(fhir.parse_bundle(bundle()), "1.2.250.1.999", "284067512345688", "m1", NOW)
    assert issue(caught.value)[:2] == (409, "OID conflict between the one from id_token and the one in the system")


def test_nesting_is_measured_without_recursion() -> None:
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    assert depth(deep) > MAX_DEPTH
    assert depth(bundle()) <= MAX_DEPTH


def test_bmi_is_computed_from_the_latest_weight_and_height() -> None:
    weight = fhir.measure_of(fhir.parse_bundle(bundle()), OID, "284067512345688", "m1", NOW)
    height = weight.model_copy(update={"measure": MeasureCode.HEIGHT, "code": "8302-2", "value": 175.0, "unit": "cm"})
    computed = bmi(weight, height)
    assert computed is not None and (computed.value, computed.unit, computed.author) == (23.2, "kg/m2", "MES")
    assert bmi(weight, None) is None


def test_a_stored_measure_reads_back_as_a_valid_r4_observation() -> None:
    from fhir.resources.R4B.bundle import Bundle

    measure = fhir.measure_of(fhir.parse_bundle(bundle()), OID, "284067512345688", "m1", NOW)
    found = Bundle.model_validate(fhir.searchset([measure], "id-value"))
    assert found.total == 1 and "284067512345688" not in json.dumps(fhir.searchset([measure], "id-value"))


def test_an_unknown_resource_type_is_an_invalid_bundle_not_a_crash() -> None:
    b = bundle()
    b["entry"][1]["resource"]["resourceType"] = "Nope"
    assert issue(refusal(b))[:2] == (422, "Bundle not valid.")
