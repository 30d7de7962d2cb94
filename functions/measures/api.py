"""HTTP shapes of measures: the person's JSON (`MeasureIn` / `MeasureOut`), and the FHIR answers as the contract
documents them (the bodies themselves are built in `fhir.py`; FHIR's are not our `{"error"}` schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.measures.models import Measure, MeasureCode
from functions.shared.temporal import IsoInstant

Component = Literal["SYSTOLIC", "DIASTOLIC"]


class MeasureIn(BaseModel):
    """A measure the person adds: `value` in the type's canonical unit (kg, cm, Cel, mg/dL...), or `components`
    `{SYSTOLIC, DIASTOLIC}` for blood pressure."""

    model_config = ConfigDict(extra="forbid")

    code: MeasureCode
    effective: IsoInstant
    value: float | None = Field(default=None, allow_inf_nan=False)
    components: dict[Component, float] | None = None


class MeasureChangeIn(BaseModel):
    """A correction of the value of the person's own measure."""

    model_config = ConfigDict(extra="forbid")

    value: float | None = Field(default=None, allow_inf_nan=False)
    components: dict[Component, float] | None = None


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: IsoInstant | None = Field(default=None, alias="from")
    end: IsoInstant | None = Field(default=None, alias="to")


class PermissionsOut(BaseModel):
    update: bool
    delete: bool


class MeasureOut(BaseModel):
    """`author`: PATIENT (the person), EDITOR_SOLUTION (an app: read-only here), MES (computed: BMI)."""

    id: str
    code: MeasureCode
    loinc: str
    effective: datetime
    value: float
    unit: str
    components: dict[str, float]
    author: str
    permissions: PermissionsOut

    @classmethod
    def from_domain(cls, m: Measure) -> MeasureOut:
        own = m.author == "PATIENT"
        return cls(id=m.measure_id, code=m.measure, loinc=m.code, effective=m.effective, value=m.value, unit=m.unit,
                   components=m.components, author=m.author, permissions=PermissionsOut(update=own, delete=own))


class LatestOut(BaseModel):
    items: list[MeasureOut]


class DeletedOut(BaseModel):
    deleted: bool = True


# ---- FHIR, as documented ---------------------------------------------------------------------------------------


class FhirBundleIn(BaseModel):
    """A FHIR R4 transaction Bundle (profile mesures-bundle-flux-alimentation): one Observation of an allowed MES
    profile and one conditional-create Device (`request.ifNoneExist`)."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["Bundle"]
    type: Literal["transaction"]
    entry: list[dict[str, Any]]


class BundleEntryResponseOut(BaseModel):
    status: str
    location: str | None = None


class BundleEntryOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    response: BundleEntryResponseOut | None = None
    resource: dict[str, Any] | None = None


class FhirBundleOut(BaseModel):
    """A `transaction-response` (a write) or `searchset` (a search) Bundle."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["Bundle"]
    type: Literal["transaction-response", "searchset"]
    total: int | None = None
    entry: list[BundleEntryOut]


class IssueDetailsOut(BaseModel):
    text: str


class IssueOut(BaseModel):
    severity: Literal["fatal", "error", "warning", "information"]
    code: str
    details: IssueDetailsOut | None = None
    diagnostics: str | None = None


class OperationOutcomeOut(BaseModel):
    """What the FHIR routes answer on a refusal the guide words (its messages and status codes)."""

    resourceType: Literal["OperationOutcome"]
    issue: list[IssueOut]


class ObservationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=128)
