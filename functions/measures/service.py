"""Measures use cases. An app writes one measure per FHIR transaction Bundle and reads the measures its read purpose
allows, for the one person its pairing names; the person reads their latest values (BMI computed) and history,
and adds, corrects and deletes their own measures (never an app's). Every write commits with its trace through
the journal in ONE transaction (history item + per-type latest item + device + trace), on the state read in ONE
TransactGetItems (latest item, device, chain head), whatever the history's length; every read is traced."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from functions.identity.ports import PairingDirectory
from functions.identity.principal import Citizen, Service
from functions.journal.models import Actor, Trace, TraceAction
from functions.journal.ports import Busy, Entry, Refused
from functions.measures import fhir
from functions.measures.fhir import FhirRefusal
from functions.measures.models import BY_CODE, KINDS, Measure, MeasureCode, bmi
from functions.measures.ports import MeasuresJournal, MeasureStore, PurposeCatalogue
from functions.shared import cursor
from functions.shared.clock import Clock
from functions.shared.errors import Forbidden, InvalidRequest, NotFound, Unprocessable
from functions.shared.staging import Staged

# A paired service may write and read while it is online or a pilot (PRESERIE: paired testers); SUSPENDUE and
# DEREFERENCEE services are refused (their tokens are also dead through the revocation snapshot).
ACTIVE = {"EN_LIGNE", "PRESERIE"}
ATTEMPTS = 3  # a write raced by another on the same type (latest item) or device is decided again on fresh state
APP_READ_LIMIT = 100


class OpenSpaces(Protocol):
    def open_condition(self, ins: str) -> Staged: ...


@dataclass(frozen=True)
class MeasuresDeps:
    store: MeasureStore
    journal: MeasuresJournal
    spaces: OpenSpaces
    pairings: PairingDirectory
    catalogue: PurposeCatalogue
    clock: Clock


@dataclass(frozen=True)
class PersonMeasure:
    """A measure the person adds or corrects: the value (blood pressure: systolic, diastolic) in the type's
    canonical unit."""

    measure: MeasureCode
    effective: datetime
    value: float | None = None
    components: dict[str, float] | None = None


def new_measure_id(effective: datetime) -> str:
    """Sorts by effective time within a type (history order), then 32 random bits."""
    return f"{effective.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(4)}"


def _forbidden_consent() -> FhirRefusal:
    return FhirRefusal(403, "Consent not given, access refused.", "forbidden")


def _person_of(deps: MeasuresDeps, who: Service, id_pe: str) -> str:
    """The INS behind the app's idPe: the subject must be the token's, and its pairing must still name someone."""
    if id_pe != who.id_pe:
        raise FhirRefusal(403, "idPe requested do not match authorized idPe.", "forbidden")
    ins = deps.pairings.resolve(who.oid, who.id_pe)
    if ins is None:
        raise FhirRefusal(403, "idPe requested do not match authorized idPe.", "forbidden")
    return ins


def _allowed(deps: MeasuresDeps, who: Service, code: str, action: str) -> None:
    if not deps.catalogue.purposes_for(who.oid, code, "write" if action == "write" else "read") & who.purposes:
        raise _forbidden_consent()
    if deps.catalogue.status(who.oid) not in ACTIVE:
        raise FhirRefusal(403, "Service not available, access refused.", "forbidden")


def _commit(deps: MeasuresDeps, ins: str, measure: Measure, existing: Measure | None, device: str | None,
            trace: Trace) -> bool:
    """One transaction: space open + history item + latest item (if this measure is the newest) + device (if new)
    + trace. Returns whether the device was created. Raced on the latest item or the device: decided again."""
    for _ in range(ATTEMPTS):
        before = deps.store.before_write(ins, measure.measure, device)
        replaces = (before.latest is None or measure.measure_id >= before.latest.measure_id)
        new_device = device if device is not None and not before.device_known else None
        staged = [deps.spaces.open_condition(ins),
                  *deps.store.staged_write(measure, existing, before.latest, replaces, new_device)]
        try:
            deps.journal.record(Entry(ins, traces=[trace], staged=staged), head=before.head)
        except Refused as exc:
            if "space" in exc.failed:
                raise NotFound("patient") from exc
            if "measure" in exc.failed:
                raise Unprocessable("the measure changed meanwhile: read it again", code="measure_changed") from exc
            continue
        return new_device is not None
    raise Busy("too many simultaneous measures of this type: try again")


# ---- apps (FHIR) -----------------------------------------------------------------------------------------------


def write_from_app(deps: MeasuresDeps, who: Service, data: Any) -> dict[str, Any]:
    """A transaction Bundle from a paired app, checked in the guide's order (the bundle's shape, the idPe, the
    write consent for that measure's purpose, the service's status, the profile rules), committed in one
    transaction; answers the `transaction-response` Bundle."""
    submission = fhir.parse_bundle(data)
    ins = _person_of(deps, who, submission.id_pe)
    fhir.refuse_bmi(submission)  # no purpose can make a computed value writable
    if submission.kind is None:
        raise FhirRefusal(422, "Observation resource not valid.", "invalid",
                          "Observation.code is not a code of its profile.")
    _allowed(deps, who, submission.kind.code, "write")
    now = deps.clock.now()
    measure = fhir.measure_of(submission, who.oid, ins, "", now)
    measure = measure.model_copy(update={"measure_id": new_measure_id(measure.effective)})
    trace = Trace.new(ins, now, Actor.of(who), TraceAction.MEASURE_WRITTEN, reason=f"measure:{measure.measure}")
    created = _commit(deps, ins, measure, None, measure.device, trace)
    return fhir.transaction_response(measure, created)


def read_for_app(deps: MeasuresDeps, who: Service, code: str | None) -> dict[str, Any]:
    """`GET Observation?code=<loinc>` for the app's own person, with a read purpose for that code: the newest
    APP_READ_LIMIT measures as a searchset Bundle, traced."""
    kind = BY_CODE.get((code or "").rsplit("|", 1)[-1])
    if kind is None:
        raise FhirRefusal(400, "Search not valid.", "invalid", "code must be a measure code of the MES profiles.")
    ins = _person_of(deps, who, who.id_pe)
    _allowed(deps, who, kind.code, "read")
    measures, _ = deps.store.history(ins, kind.measure, None, None, None, APP_READ_LIMIT)
    found = [m for m in measures if m.code == kind.code]
    trace = Trace.new(ins, deps.clock.now(), Actor.of(who), TraceAction.MEASURES_READ,
                      reason=f"fhir:{kind.measure}")
    deps.journal.record(Entry(ins, traces=[trace]))
    return fhir.searchset(found, who.id_pe)


# ---- the person ------------------------------------------------------------------------------------------------


def _read_trace(deps: MeasuresDeps, who: Citizen, space: str, what: str) -> None:
    trace = Trace.new(space, deps.clock.now(), Actor.acting_on(who, space), TraceAction.MEASURES_READ, reason=what)
    deps.journal.record(Entry(space, traces=[trace]))


def latest_values(deps: MeasuresDeps, who: Citizen, space: str) -> list[Measure]:
    """Each type's latest measure (ONE Query of the latest items) and the BMI computed from weight and height."""
    latest = sorted(deps.store.latest_values(space), key=lambda m: m.measure.value)
    by_type = {m.measure: m for m in latest}
    computed = bmi(by_type.get(MeasureCode.WEIGHT), by_type.get(MeasureCode.HEIGHT))
    _read_trace(deps, who, space, "latest")
    return latest + ([computed] if computed else [])


def _bounded(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)


def history(deps: MeasuresDeps, who: Citizen, space: str, code: MeasureCode, start: datetime | None,
            end: datetime | None, raw_cursor: str | None, limit: int) -> tuple[list[Measure], str | None]:
    """One page of a type's history, newest first, within [start, end]. BMI has no history (it is computed)."""
    if code is MeasureCode.BODY_MASS_INDEX:
        raise Unprocessable("BMI is computed from the latest weight and height: it has no history",
                            code="bmi_computed")
    start, end = _bounded(start), _bounded(end)
    if start and end and start > end:
        raise Unprocessable("`from` must not be after `to`", code="invalid_period")
    after = cursor.decode(raw_cursor)
    if after is not None and not after.startswith(f"H#{code.value}#"):
        raise InvalidRequest("this cursor belongs to another list", code="invalid_cursor")
    items, last = deps.store.history(space, code, start, end, after, limit)
    _read_trace(deps, who, space, f"history:{code.value}")
    return items, cursor.encode(last)


def _checked(change: PersonMeasure, now: datetime) -> tuple[float, dict[str, float]]:
    if change.measure is MeasureCode.BODY_MASS_INDEX:
        raise Unprocessable("Bmi observation can-not be created.", code="bmi_computed")
    kind = KINDS[change.measure]
    if kind.components:
        parts = change.components or {}
        if set(parts) != {name for _, name in kind.components}:
            raise Unprocessable("blood pressure needs `components` SYSTOLIC and DIASTOLIC", code="invalid_measure")
        values = dict(parts)
    else:
        if change.value is None or change.components:
            raise Unprocessable("this measure takes one `value`", code="invalid_measure")
        values = {"value": change.value}
    if any(not kind.low <= v <= kind.high for v in values.values()):
        raise Unprocessable(f"the value must be between {kind.low:g} and {kind.high:g} {kind.units[0]}",
                            code="value_out_of_range")
    effective = _bounded(change.effective)
    try:
        in_range = effective is not None and fhir.EARLIEST <= effective <= now + timedelta(days=1)
    except OverflowError:  # an offset near year 1 or 9999
        in_range = False
    if not in_range:
        raise Unprocessable("`effective` must be a date between 1900 and tomorrow", code="invalid_date")
    first = kind.components[0][1] if kind.components else "value"
    return values[first], (values if kind.components else {})


def add(deps: MeasuresDeps, who: Citizen, space: str, change: PersonMeasure) -> Measure:
    now = deps.clock.now()
    value, components = _checked(change, now)
    kind = KINDS[change.measure]
    effective = (_bounded(change.effective) or now).astimezone(UTC)
    measure = Measure(patient_ins=space, measure_id=new_measure_id(effective), measure=change.measure, code=kind.code,
                      effective=effective, value=value, unit=kind.units[0], components=components, author="PATIENT",
                      recorded_at=now)
    trace = Trace.new(space, now, Actor.acting_on(who, space), TraceAction.MEASURE_WRITTEN,
                      reason=f"measure:{measure.measure}")
    _commit(deps, space, measure, None, None, trace)
    return measure


def _own(deps: MeasuresDeps, space: str, code: MeasureCode, measure_id: str) -> Measure:
    found = deps.store.get(space, code, measure_id) if len(measure_id) <= 64 else None
    if found is None:
        raise NotFound("measure")
    if found.author != "PATIENT":
        raise Forbidden("a measure written by an app cannot be changed here", code="not_your_measure")
    return found


def correct(deps: MeasuresDeps, who: Citizen, space: str, code: MeasureCode, measure_id: str,
            change: PersonMeasure) -> Measure:
    """The person corrects the value of their own measure (its date is its identity: a wrong date is deleted and
    added again)."""
    existing = _own(deps, space, code, measure_id)
    now = deps.clock.now()
    value, components = _checked(change.__class__(measure=code, effective=existing.effective, value=change.value,
                                                  components=change.components), now)
    measure = existing.model_copy(update={"value": value, "components": components, "recorded_at": now})
    trace = Trace.new(space, now, Actor.acting_on(who, space), TraceAction.MEASURE_UPDATED,
                      reason=f"measure:{measure.measure}")
    _commit(deps, space, measure, existing, None, trace)
    return measure.model_copy(update={"version": existing.version + 1})


def delete(deps: MeasuresDeps, who: Citizen, space: str, code: MeasureCode, measure_id: str) -> None:
    existing = _own(deps, space, code, measure_id)
    now = deps.clock.now()
    trace = Trace.new(space, now, Actor.acting_on(who, space), TraceAction.MEASURE_DELETED,
                      reason=f"measure:{existing.measure}")
    for _ in range(ATTEMPTS):
        before = deps.store.before_write(space, code, None)
        is_latest = before.latest is not None and before.latest.measure_id == existing.measure_id
        replacement = deps.store.previous(space, code, existing.measure_id) if is_latest else None
        staged: Sequence[Staged] = deps.store.staged_delete(existing, before.latest, replacement)
        try:
            deps.journal.record(Entry(space, traces=[trace], staged=[deps.spaces.open_condition(space), *staged]),
                                head=before.head)
            return
        except Refused as exc:
            if "space" in exc.failed or "measure" in exc.failed:
                raise NotFound("measure") from exc
    raise Busy("too many simultaneous changes of this type: try again")
