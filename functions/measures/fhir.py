"""The FHIR side of measures: a transaction Bundle as the ANS guide defines it (mes-rules-next.md C.4) parsed and
validated with `fhir.resources` (R4B: the guide is R4 4.0.1, and R4B's Bundle, Observation, Device and
OperationOutcome are R4's; the package's top level is R5, whose Observation and Device differ), the guide's checks
with its exact messages and status codes, and what we answer (a `transaction-response` or `searchset` Bundle, or an
OperationOutcome). Pure: no I/O.

The order of the checks is the guide's, within what can be read: the bundle's shape first (its subject cannot be
found otherwise), then the idPe, the consent and the service's status (in `service.py`), then the profile rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from functions.measures.models import (
    BMI_PROFILE,
    BY_CODE,
    FHIR_JSON,
    MOMENT_EXTENSION,
    NUMBER_OF_DAYS_EXTENSION,
    PROFILE_STEM,
    PROFILES,
    REASON_EXTENSION,
    UCUM,
    Kind,
    Measure,
    profile_of,
)
from functions.shared.errors import Answered

# The IG's example MES OID (a placeholder: the real one is not public); subject identifiers and our locations use it.
MES_OID = "1.2.840.10004.1.1.1.0.0.1.0.0.1.2560"
# The guide's regex, written as it means it (its `[\.[0-9]+]+` is a character class in Python's re).
IF_NONE_EXIST = re.compile(r"identifier=urn:oid:([0-9]+(?:\.[0-9]+)+)\|([a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*)")
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)

IssueCode = Literal["invalid", "not-supported", "value", "incomplete", "forbidden", "conflict", "processing"]


class FhirRefusal(Answered):
    """A refusal the guide words: HTTP status, the summary (`Bundle not valid.`, `Observation resource not
    valid.`...) and, where it gives one, the OperationOutcome issue (code and diagnostics)."""

    def __init__(self, status: int, summary: str, issue: IssueCode = "invalid", diagnostics: str | None = None,
                 ) -> None:
        super().__init__(status, outcome(summary, issue, diagnostics), FHIR_JSON, summary, code=f"fhir_{issue}")


def outcome(summary: str, issue: IssueCode, diagnostics: str | None) -> dict[str, Any]:
    """An OperationOutcome: the summary in `details.text`, the guide's specific message in `diagnostics`."""
    entry: dict[str, Any] = {"severity": "error", "code": issue, "details": {"text": summary}}
    if diagnostics:
        entry["diagnostics"] = diagnostics
    return {"resourceType": "OperationOutcome", "issue": [entry]}


@dataclass(frozen=True)
class Submission:
    """What a valid bundle carries, before the rules that need the caller (idPe, consent, status, source)."""

    observation: Observation
    device: Device
    device_system: str
    device_value: str
    id_pe: str
    profile: str
    kind: Kind | None  # None: the code is none of the profile's (refused by the profile rules)


def _invalid(diagnostics: str, issue: IssueCode = "invalid") -> FhirRefusal:
    return FhirRefusal(422, "Bundle not valid.", issue, diagnostics)


def _observation_invalid(diagnostics: str, issue: IssueCode = "invalid") -> FhirRefusal:
    return FhirRefusal(422, "Observation resource not valid.", issue, diagnostics)


def _fields(exc: ValidationError) -> str:
    """Where the bundle breaks the FHIR model, never the values (they are health data)."""
    where = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors(include_input=False, include_url=False)})
    return "Invalid FHIR content at: " + ", ".join(where)[:500]


def parse_bundle(data: Any) -> Submission:
    """The bundle's shape: a transaction of exactly one Observation creation and one conditional Device creation,
    linked by id; the Observation names its profile and subject."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise FhirRefusal(422, "No bundle provided.", "invalid")
    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as exc:
        raise _invalid(_fields(exc)) from exc
    except Exception as exc:  # the library's own failures (an unknown resourceType is a KeyError): still invalid
        raise _invalid("Invalid FHIR content.") from exc
    if bundle.type != "transaction":
        raise _invalid("Bundle.type must be transaction.")
    observations: list[BundleEntry] = []
    devices: list[BundleEntry] = []
    for entry in bundle.entry or []:
        kind = entry.resource.get_resource_type() if entry.resource is not None else "<none>"
        method = entry.request.method if entry.request is not None else "<none>"
        if method != "POST" or kind not in ("Observation", "Device"):
            raise _invalid(f"Resource of type {kind} is not acceptable with method {method}.", "not-supported")
        (observations if kind == "Observation" else devices).append(entry)
    conditional = [d for d in devices if d.request is not None and d.request.ifNoneExist]
    if len(devices) != 1 or len(conditional) != 1:
        raise _invalid("Bundle must contains one conditional creation of a device (POST + ifNoneExist)")
    if len(observations) != 1:
        raise _invalid("Bundle must contains one observation creation (POST)")
    device_entry, observation_entry = conditional[0], observations[0]
    device, observation = device_entry.resource, observation_entry.resource
    assert isinstance(device, Device) and isinstance(observation, Observation)
    system, value = _device_identifier(device_entry, device)
    if not observation_entry.fullUrl:
        raise _observation_invalid("Bundle.entry.fullUrl is mandatory.")
    _linked(observation, device, device_entry.fullUrl)
    if observation.meta is None or not observation.meta.profile:
        raise _observation_invalid("must provide meta.profile")
    profile = next((p for p in (profile_of(c) for c in observation.meta.profile if c) if p is not None), None)
    if profile is None:
        raise _observation_invalid("Observation.meta.profile is not a profile of the bundle allow-list.",
                                   "not-supported")
    subject = observation.subject.identifier if observation.subject is not None else None
    if subject is None or not subject.value:
        raise _observation_invalid("Observation.subject.identifier is mandatory.")
    return Submission(observation=observation, device=device, device_system=system, device_value=value,
                      id_pe=subject.value, profile=profile, kind=_kind(observation, profile))


def _device_identifier(entry: BundleEntry, device: Device) -> tuple[str, str]:
    if device.meta is None or not device.meta.profile:
        raise FhirRefusal(422, "Device resource not valid.", "invalid", "Device must provide meta.profile value.")
    wanted = entry.request.ifNoneExist if entry.request is not None else None
    match = IF_NONE_EXIST.fullmatch(wanted or "")
    held = {(i.system, i.value) for i in device.identifier or []}
    if match is None or (f"urn:oid:{match.group(1)}", match.group(2)) not in held:
        raise _invalid("Device request must have a valid IfNoneExist attribute : identifier=urn:oid:<OID>")
    return match.group(1), match.group(2)


def _linked(observation: Observation, device: Device, device_url: str | None) -> None:
    reference = observation.device.reference if observation.device is not None else None
    if not reference:
        raise FhirRefusal(422, "Observation and Device link not valid.", "invalid",
                          "Observation.device.reference is mandatory.")
    targets = {f"Device/{device.id}", device.id, device_url} - {None, "Device/None"}
    if reference not in targets:
        raise FhirRefusal(422, "Observation and Device link not valid.", "invalid",
                          "Observation and device not linked by id")


def _kind(observation: Observation, profile: str) -> Kind | None:
    codes = {c.code for c in (observation.code.coding or []) if c.code} if observation.code else set()
    return next((k for k in PROFILES[profile] if k.code in codes), None)


def is_bmi(submission: Submission) -> bool:
    return submission.profile == BMI_PROFILE or (submission.kind is not None and submission.kind.code == "39156-5")


def refuse_bmi(submission: Submission) -> None:
    """BMI is computed by MES from weight and height, never written (C.4 correction)."""
    if is_bmi(submission):
        raise _observation_invalid("Bmi observation can-not be created.", "not-supported")


def _extension(observation: Observation, name: str) -> Any | None:
    for ext in observation.extension or []:
        if ext.url and ext.url.rsplit("/", 1)[-1].split("|", 1)[0] == name:
            return ext
    return None


def _coded(ext: Any | None) -> str | None:
    if ext is None:
        return None
    concept = getattr(ext, "valueCodeableConcept", None)
    codings = concept.coding if concept is not None and concept.coding else []
    return codings[0].code if codings and codings[0].code else None


def _extension_rule(observation: Observation, name: str, label: str, rule: str) -> str | None:
    ext = _extension(observation, name)
    if rule == "required" and ext is None:
        raise _observation_invalid(f"Observation.extension.{label} is mandatory.", "incomplete")
    if rule == "forbidden" and ext is not None:
        raise _observation_invalid(f"Observation.extension.{label} cannot be added.")
    return _coded(ext)


def _belongs(oid: str, root: str) -> bool:
    return oid == root or oid.startswith(root + ".")


def measure_of(submission: Submission, oid: str, patient_ins: str, measure_id: str, now: datetime) -> Measure:
    """The profile rules (source, value and unit, glucose extensions, blood pressure components, date) and the
    measure they describe, in the profile's canonical unit."""
    obs, kind = submission.observation, submission.kind
    if kind is None:
        raise _observation_invalid("Observation.code is not a code of its profile.")
    source = obs.meta.source if obs.meta is not None else None
    if source and not _belongs(source.removeprefix("urn:oid:"), oid):
        raise _observation_invalid("Solution oid contains in Observation.meta.source don't belong to root editor oid",
                                   "value")
    if not _belongs(submission.device_system, oid):
        raise FhirRefusal(409, "OID conflict between the one from id_token and the one in the system", "conflict")
    value, unit, components = _values(obs, kind)
    moment = _extension_rule(obs, MOMENT_EXTENSION, "moment", kind.moment)
    days = _extension_rule(obs, NUMBER_OF_DAYS_EXTENSION, "numberOfDays", kind.number_of_days)
    effective = obs.effectiveDateTime
    if not isinstance(effective, datetime):
        raise _observation_invalid("Observation.effectiveDateTime is mandatory (a date and time).", "incomplete")
    effective = effective if effective.tzinfo else effective.replace(tzinfo=UTC)
    try:
        in_range = EARLIEST <= effective <= now + timedelta(days=1)
    except OverflowError:  # an offset near year 1 or 9999
        in_range = False
    if not in_range:
        raise _observation_invalid("Observation.effectiveDateTime is out of range.", "value")
    reason = _extension(obs, REASON_EXTENSION)
    return Measure(patient_ins=patient_ins, measure_id=measure_id, measure=kind.measure, code=kind.code,
                   effective=effective.astimezone(UTC), value=value, unit=unit, components=components,
                   author="EDITOR_SOLUTION", source=oid,
                   device=f"{submission.device_system}|{submission.device_value}", moment=moment,
                   number_of_days=days, reason=str(getattr(reason, "valueString", "") or "")[:500] or None,
                   recorded_at=now)


def _quantity(q: Any, kind: Kind) -> tuple[float, str]:
    if q is None or q.value is None:
        raise _observation_invalid("Observation value quantity not provided.", "value")
    unit = q.code or q.unit
    if (q.system not in (None, UCUM)) or unit not in kind.units:
        raise _observation_invalid("Observation value quantity unit is not accepted for this profile.", "value")
    value = float(q.value)
    if not kind.low <= value <= kind.high:
        raise _observation_invalid("Observation value quantity is out of the plausible range.", "value")
    return value, str(unit)


def _values(obs: Observation, kind: Kind) -> tuple[float, str, dict[str, float]]:
    if not kind.components:
        return (*_quantity(obs.valueQuantity, kind), {})
    found: dict[str, float] = {}
    for component in obs.component or []:
        codes = {c.code for c in (component.code.coding or [])} if component.code else set()
        for code, name in kind.components:
            if code in codes:
                found[name], _unit = _quantity(component.valueQuantity, kind)
    if len(found) != len(kind.components):
        raise _observation_invalid("Observation value quantity not provided.", "value")
    return found[kind.components[0][1]], kind.units[0], found


# ---- answers -------------------------------------------------------------------------------------------------


def transaction_response(measure: Measure, device_created: bool) -> dict[str, Any]:
    """The guide's answer: 201 for the Observation, 201 or 200 for the Device, with their locations."""
    system, value = (measure.device or "|").split("|", 1)
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"response": {"status": "201 Created", "location": f"Observation/urn:oid:{MES_OID}|{measure.measure_id}"}},
        {"response": {"status": "201 Created" if device_created else "200 OK",
                      "location": f"Device/urn:oid:{system}|{value}"}},
    ]}


_PROFILE_OF = {k.code: profile for profile, kinds in PROFILES.items() for k in kinds}


def observation(measure: Measure, id_pe: str, subject_system: str = f"urn:oid:{MES_OID}") -> dict[str, Any]:
    """A stored measure as the Observation an app reads (its subject is the app's idPe, never the INS; the
    holder's own export names them by INS, `subject_system` the INS-NIR's)."""
    kind = BY_CODE[measure.code]
    system = "http://loinc.org" if kind.code[0].isdigit() else "https://smt.esante.gouv.fr/terminologie-taasip"
    body: dict[str, Any] = {
        "resourceType": "Observation", "id": measure.measure_id,
        "meta": {"profile": [PROFILE_STEM + _PROFILE_OF[measure.code]]},
        "status": "final", "code": {"coding": [{"system": system, "code": measure.code}]},
        "subject": {"identifier": {"system": subject_system, "value": id_pe}},
        "effectiveDateTime": measure.effective.isoformat(),
    }
    if kind.components:
        body["component"] = [{"code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                              "valueQuantity": {"value": measure.components.get(name), "unit": measure.unit,
                                                "system": UCUM, "code": measure.unit}}
                             for code, name in kind.components]
    else:
        body["valueQuantity"] = {"value": measure.value, "unit": measure.unit, "system": UCUM, "code": measure.unit}
    return body


def searchset(measures: list[Measure], id_pe: str) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(measures),
            "entry": [{"resource": observation(m, id_pe)} for m in measures]}
