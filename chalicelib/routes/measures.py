"""Health measures (issue 13 points 4 and 5): referenced apps write FHIR transaction Bundles and search their
person's Observations with a service access token; the person reads latest values and history and manages their
own measures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib.edge import json_object, route
from chalicelib.registry import Models, paged
from functions import deps
from functions.shared.cursor import Page
from functions.shared.errors import InvalidRequest, NotFound

if TYPE_CHECKING:
    from functions.identity.principal import Citizen, Service
    from functions.measures import api
    from functions.measures.models import MeasureCode
    from functions.shared.cursor import PageRequest
else:
    api = Models("functions.measures.api")

bp = Blueprint(__name__)
OUTCOME = api.OperationOutcomeOut
# HL7's media type (functions.measures.models.FHIR_JSON), named here so that declaring these routes imports no model
FHIR_JSON = "application/fhir+json"


@route(bp, "POST", "/v1/fhir", role="service", response=api.FhirBundleOut, documented_body=api.FhirBundleIn,
       errors=(400, 403, 404, 409, 413, 422, 503), media_type=FHIR_JSON, outcome=OUTCOME)
def fhir_transaction(who: Service) -> api.FhirBundleOut:
    from functions.measures import service
    from functions.measures.models import BODY_MAX_BYTES, MAX_DEPTH, depth

    data = json_object(max_bytes=BODY_MAX_BYTES)
    if depth(data) > MAX_DEPTH:
        raise InvalidRequest(f"the body nests deeper than {MAX_DEPTH} levels", code="too_deep")
    return api.FhirBundleOut.model_validate(service.write_from_app(deps.measures(), who, data))


@route(bp, "GET", "/v1/fhir/Observation", role="service", response=api.FhirBundleOut, query=api.ObservationQuery,
       errors=(400, 403), media_type=FHIR_JSON, outcome=OUTCOME)
def fhir_observations(who: Service, query: api.ObservationQuery) -> api.FhirBundleOut:
    from functions.measures import service

    return api.FhirBundleOut.model_validate(service.read_for_app(deps.measures(), who, query.code))


@route(bp, "GET", "/v1/me/measures", role="citizen", response=api.LatestOut)
def my_latest_measures(who: Citizen, space: str) -> api.LatestOut:
    from functions.measures import service

    return api.LatestOut(items=[api.MeasureOut.from_domain(m)
                                for m in service.latest_values(deps.measures(), who, space)])


@route(bp, "GET", "/v1/me/measures/{code}", role="citizen", query=api.HistoryQuery, paginated=True,
       response=paged(api.MeasureOut), errors=(404, 422))
def my_measure_history(who: Citizen, space: str, code: str, query: api.HistoryQuery,
                       page: PageRequest) -> Page[api.MeasureOut]:
    from functions.measures import service

    items, nxt = service.history(deps.measures(), who, space, _code(code), query.start, query.end, page.cursor,
                                 page.limit)
    return Page(items=[api.MeasureOut.from_domain(m) for m in items], next=nxt)


@route(bp, "POST", "/v1/me/measures", role="citizen", request=api.MeasureIn, response=api.MeasureOut, status=201,
       errors=(404, 422), idempotent=True)
def my_measure_add(who: Citizen, space: str, body: api.MeasureIn) -> api.MeasureOut:
    from functions.measures import service

    change = service.PersonMeasure(measure=body.code, effective=body.effective, value=body.value,
                                   components=_parts(body.components))  # type: ignore[arg-type]
    return api.MeasureOut.from_domain(service.add(deps.measures(), who, space, change))


@route(bp, "PUT", "/v1/me/measures/{code}/{measure_id}", role="citizen", request=api.MeasureChangeIn,
       response=api.MeasureOut, errors=(403, 404, 422))
def my_measure_correct(who: Citizen, space: str, code: str, measure_id: str,
                       body: api.MeasureChangeIn) -> api.MeasureOut:
    from functions.measures import service

    measure = _code(code)
    change = service.PersonMeasure(measure=measure, effective=datetime(1970, 1, 1, tzinfo=UTC), value=body.value,
                                   components=_parts(body.components))  # type: ignore[arg-type]
    return api.MeasureOut.from_domain(service.correct(deps.measures(), who, space, measure, measure_id, change))


@route(bp, "DELETE", "/v1/me/measures/{code}/{measure_id}", role="citizen", response=api.DeletedOut,
       errors=(403, 404))
def my_measure_delete(who: Citizen, space: str, code: str, measure_id: str) -> api.DeletedOut:
    from functions.measures import service

    service.delete(deps.measures(), who, space, _code(code), measure_id)
    return api.DeletedOut()


def _parts(components: dict[str, float] | None) -> dict[str, float] | None:
    return dict(components) if components else None


def _code(raw: str) -> MeasureCode:
    """A measure type of the path; anything else is a 404 like a missing one."""
    from functions.measures.models import MeasureCode

    try:
        return MeasureCode(raw)
    except ValueError:
        raise NotFound("measure type") from None
