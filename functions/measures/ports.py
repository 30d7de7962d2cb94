"""What measures needs (storage-free: no pynamodb, botocore or boto3 here; `storage.py` and `catalogue.py` fit it).
Writes that land with the patient's traces are `Staged` for the journal's transaction."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Literal, Protocol

from functions.journal.models import ChainHead
from functions.journal.ports import PatientJournal
from functions.measures.models import Measure, MeasureCode
from functions.shared.lookup import BatchLookup
from functions.shared.staging import Staged

Action = Literal["read", "write"]


class PurposeCatalogue(Protocol):
    """The catalogue's purposes as measures reads them (functions/catalogue/purposes.py fits it, deps wires it):
    which purpose codes of a service allow reading or writing a measure code, and the
    service's status (EN_LIGNE, PRESERIE, SUSPENDUE, DEREFERENCEE, HORS_LIGNE)."""

    def purposes_for(self, oid: str, loinc: str, action: Action) -> set[str]: ...
    def status(self, oid: str) -> str | None: ...


class MeasuresJournal(PatientJournal, Protocol):
    """The journal, with its chain head readable in the caller's own round trip (the journal's adapter fits)."""

    def head_keys(self, patient_ins: str) -> BatchLookup[ChainHead]: ...


class Latest(Protocol):
    """The state a write decides on, read in one round trip with the chain head: the per-type latest item and,
    for an app's write, whether its device is known."""

    @property
    def latest(self) -> Measure | None: ...
    @property
    def device_known(self) -> bool: ...
    @property
    def head(self) -> ChainHead: ...


class MeasureStore(Protocol):
    def before_write(self, patient_ins: str, code: MeasureCode, device: str | None) -> Latest:
        """The latest item of `code`, the device item and the chain head, in ONE TransactGetItems."""
        ...

    def staged_write(self, measure: Measure, existing: Measure | None, latest: Measure | None,
                     replaces_latest: bool, device: str | None) -> Sequence[Staged]:
        """The measure's history item (new when `existing` is None, else its next version if still `existing`),
        the latest item when `replaces_latest` (if it is still `latest` as read), and the device item when
        `device` is new (conditional create)."""
        ...

    def staged_delete(self, measure: Measure, latest: Measure | None, next_latest: Measure | None) -> Sequence[Staged]:
        """Remove the measure (if unchanged); the latest item becomes `next_latest` when it was this measure."""
        ...

    def get(self, patient_ins: str, code: MeasureCode, measure_id: str) -> Measure | None: ...

    def latest_values(self, patient_ins: str) -> list[Measure]:
        """Every type's latest item, in ONE Query (the `L#` range of the person's partition)."""
        ...

    def history(self, patient_ins: str, code: MeasureCode, start: datetime | None, end: datetime | None,
                after: str | None, limit: int) -> tuple[list[Measure], str | None]:
        """One page of a type's history, newest first, within [start, end], in ONE Query."""
        ...

    def every_measure(self, patient_ins: str) -> Iterator[Measure]:
        """Every stored measure of the person, type by type, oldest first, in one paged Query (the export)."""
        ...

    def previous(self, patient_ins: str, code: MeasureCode, before: str) -> Measure | None:
        """The measure of `code` just before the id `before` (what becomes latest when the latest goes)."""
        ...
