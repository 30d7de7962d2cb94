"""Health measures (mes-rules-next.md C.4-C.6): the MES profiles an app may write over FHIR, their LOINC codes
and UCUM units, the measure types the person reads (`MeasureCode`), and one stored measure. Pure: no I/O.

Values are stored in the profile's canonical unit (height and circumferences in cm); BMI is never stored: it is
computed from the latest weight and height when the person reads their latest values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

PROFILE_STEM = "http://esante.gouv.fr/ci-sis/fhir/StructureDefinition/"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
DEVICE_PROFILE = "http://hl7.org/fhir/uv/phd/StructureDefinition/PhdDevice"
MOMENT_EXTENSION = "mes-moment-of-measurement"
NUMBER_OF_DAYS_EXTENSION = "mes-number-of-days"
REASON_EXTENSION = "mesures-reason-for-measurement"


FHIR_JSON = "application/fhir+json"
# A measure bundle is one Observation and one Device: a few KiB, nested about ten levels deep.
BODY_MAX_BYTES = 64 * 1024
MAX_DEPTH = 24


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply a parsed JSON value nests, counted without recursion, stopping past `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


class MeasureCode(StrEnum):
    """The measure types of the app (C.5), plus SpO2, which the bundle allow-list accepts (the app shows none)."""

    WEIGHT = "WEIGHT"
    HEIGHT = "HEIGHT"
    WAIST_CIRCUMFERENCE = "WAIST_CIRCUMFERENCE"
    BODY_TEMPERATURE = "BODY_TEMPERATURE"
    GLUCOSE = "GLUCOSE"
    BLOOD_PRESSURE = "BLOOD_PRESSURE"
    BODY_MASS_INDEX = "BODY_MASS_INDEX"
    PAIN_SEVERITY = "PAIN_SEVERITY"
    HEART_RATE = "HEART_RATE"
    HEAD_CIRCUMFERENCE = "HEAD_CIRCUMFERENCE"
    STEPS_BY_DAY = "STEPS_BY_DAY"
    INTERSTITIAL_GLUCOSE = "INTERSTITIAL_GLUCOSE"
    GLYCATED_HEMOGLOBIN = "GLYCATED_HEMOGLOBIN"
    HEMOGLOBIN_GLYCATION_INDEX = "HEMOGLOBIN_GLYCATION_INDEX"
    OXYGEN_SATURATION = "OXYGEN_SATURATION"


Extension = Literal["required", "forbidden", "optional"]


@dataclass(frozen=True)
class Kind:
    """One measure type as written: its code (LOINC, or TAASIP for interstitial glucose and IGG), the UCUM units
    accepted (the first is canonical), what the glucose extensions must be, and the plausible range of a value."""

    measure: MeasureCode
    code: str
    units: tuple[str, ...]
    low: float
    high: float
    moment: Extension = "optional"
    number_of_days: Extension = "optional"
    components: tuple[tuple[str, str], ...] = ()  # blood pressure: (LOINC, name)


GLUCOSE_PROFILE = "mesures-observation-glucose"
BMI_PROFILE = "mesures-fr-observation-bmi"
_G = {"moment": "forbidden", "number_of_days": "forbidden"}

# The 12 profiles of the bundle allow-list (MesBundleFluxAlimentation.fsh), each with the kinds it carries. The
# glucose profile carries four (JDV_J154): `moment` required for blood glucose only, `numberOfDays` required for
# interstitial glucose and IGG only, both forbidden otherwise; its units are JDV_J163 (closed): mg/dL or %.
PROFILES: dict[str, tuple[Kind, ...]] = {
    "mesures-fr-observation-body-weight": (Kind(MeasureCode.WEIGHT, "29463-7", ("kg",), 0.2, 500),),
    "mesures-fr-observation-bodyheight": (Kind(MeasureCode.HEIGHT, "8302-2", ("cm",), 20, 280),),
    "mesures-fr-observation-heartrate": (Kind(MeasureCode.HEART_RATE, "8867-4", ("/min",), 10, 350),),
    "mesures-fr-observation-bp": (Kind(MeasureCode.BLOOD_PRESSURE, "85354-9", ("mm[Hg]",), 10, 350,
                                       components=(("8480-6", "SYSTOLIC"), ("8462-4", "DIASTOLIC"))),),
    "mesures-fr-observation-body-temperature": (Kind(MeasureCode.BODY_TEMPERATURE, "8310-5", ("Cel",), 25, 46),),
    BMI_PROFILE: (Kind(MeasureCode.BODY_MASS_INDEX, "39156-5", ("kg/m2",), 5, 150),),
    "mesures-observation-waist-circumference": (Kind(MeasureCode.WAIST_CIRCUMFERENCE, "8280-0", ("cm",), 20, 300),),
    GLUCOSE_PROFILE: (
        Kind(MeasureCode.GLUCOSE, "2345-7", ("mg/dL", "%"), 1, 2000, moment="required", number_of_days="forbidden"),
        Kind(MeasureCode.GLYCATED_HEMOGLOBIN, "4548-4", ("%", "mg/dL"), 1, 30, moment="forbidden",
             number_of_days="forbidden"),
        Kind(MeasureCode.INTERSTITIAL_GLUCOSE, "MED-969", ("mg/dL", "%"), 1, 2000, moment="forbidden",
             number_of_days="required"),
        Kind(MeasureCode.HEMOGLOBIN_GLYCATION_INDEX, "MED-972", ("%", "mg/dL"), 1, 30, moment="forbidden",
             number_of_days="required"),
    ),
    "mesures-observation-steps-by-day": (Kind(MeasureCode.STEPS_BY_DAY, "41950-7", ("1/(24.h)", "/d"), 0, 200_000),),
    "mesures-observation-pain-severity": (Kind(MeasureCode.PAIN_SEVERITY, "72514-3", ("1", "{score}"), 0, 10),),
    "mesures-observation-head-circumference": (Kind(MeasureCode.HEAD_CIRCUMFERENCE, "8287-5", ("cm",), 15, 80),),
    "mesures-fr-observation-oxygen-sat": (Kind(MeasureCode.OXYGEN_SATURATION, "2708-6", ("%",), 50, 100),
                                          Kind(MeasureCode.OXYGEN_SATURATION, "59408-5", ("%",), 50, 100)),
}
KINDS: dict[MeasureCode, Kind] = {}
for _kinds in PROFILES.values():
    for _kind in _kinds:
        KINDS.setdefault(_kind.measure, _kind)
BY_CODE: dict[str, Kind] = {k.code: k for kinds in PROFILES.values() for k in kinds}


def profile_of(canonical: str) -> str | None:
    """The allow-listed profile id a `meta.profile` canonical names (a `|version` suffix ignored), else None."""
    base = canonical.split("|", 1)[0]
    if not base.startswith(PROFILE_STEM):
        return None
    name = base.removeprefix(PROFILE_STEM)
    return name if name in PROFILES else None


Author = Literal["PATIENT", "EDITOR_SOLUTION", "MES"]  # MES: computed (BMI), never stored


class Measure(BaseModel):
    """One measure of a person. `measure_id` sorts by effective time within its type (history order); `author`
    says who may change it (the person changes only their own, never an app's); `source` is the writing
    service's OID, `device` its device identifier (`system|value`)."""

    model_config = ConfigDict(frozen=True)

    patient_ins: str
    measure_id: str
    measure: MeasureCode
    code: str
    effective: datetime
    value: float
    unit: str
    components: dict[str, float] = {}
    author: Author
    source: str | None = None
    device: str | None = None
    moment: str | None = None
    number_of_days: str | None = None
    reason: str | None = None
    recorded_at: datetime
    version: int = 0


def bmi(weight: Measure | None, height: Measure | None) -> Measure | None:
    """BMI from the latest weight (kg) and height (cm), one decimal: computed, never stored (C.4 correction)."""
    if weight is None or height is None or height.value <= 0:
        return None
    value = round(weight.value / (height.value / 100) ** 2, 1)
    latest = max(weight, height, key=lambda m: m.effective)
    return Measure(patient_ins=weight.patient_ins, measure_id="computed", measure=MeasureCode.BODY_MASS_INDEX,
                   code="39156-5", effective=latest.effective, value=value, unit="kg/m2", author="MES",
                   recorded_at=latest.recorded_at)
