"""The `measures` table, measures' alone. Partition `holder` (the person's INS); sort key `sk`:
`H#<code>#<measure id>` a measure of the history (ids sort by effective time, so a type's history is one Query,
newest first), `L#<code>` the type's latest measure (the latest values are ONE Query of the `L#` range, never a
query over history), `D#<system>|<value>` a device an app declared (created once: a conditional put inside the
write's transaction, never a read-modify-write). Items keep their domain model as JSON (`body`) and a `version`
for optimistic writes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.journal.models import ChainHead
from functions.measures.models import Measure, MeasureCode
from functions.measures.ports import MeasuresJournal
from functions.shared.clock import iso
from functions.shared.dynamo import get_together, newest_first
from functions.shared.staging import Staged, WriteSink

HIGH = "~"  # sorts after every id character


class MeasureItem(Model):
    class Meta:
        table_name = "measures"

    holder = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # H, L, D
    body = UnicodeAttribute(default="")
    version = NumberAttribute(default=0)
    of = UnicodeAttribute(null=True)  # on a latest item: the measure it is


def id_prefix(at: datetime) -> str:
    """The part of a measure id that sorts by effective time (UTC, microseconds)."""
    return at.strftime("%Y%m%dT%H%M%S%fZ")


def history_key(code: MeasureCode, measure_id: str) -> str:
    return f"H#{code.value}#{measure_id}"


def _latest_key(code: MeasureCode) -> str:
    return f"L#{code.value}"


def _device_key(device: str) -> str:
    return f"D#{device}"


def _to_measure(item: MeasureItem) -> Measure:
    return Measure.model_validate_json(item.body).model_copy(update={"version": item.version})


def _body(measure: Measure) -> str:
    return measure.model_dump_json(exclude={"version"})


@dataclass(frozen=True)
class _Before:
    latest: Measure | None
    device_known: bool
    head: ChainHead


@dataclass(frozen=True)
class _PutHistory:
    measure: Measure
    previous: Measure | None  # the item as read (None: a new measure)

    def stage(self, tx: WriteSink) -> None:
        m = self.measure
        condition = (MeasureItem.sk.does_not_exist() if self.previous is None
                     else MeasureItem.version == self.previous.version)
        tx.put("measure", MeasureItem(m.patient_ins, history_key(m.measure, m.measure_id), kind="H", body=_body(m),
                                      version=m.version), condition)


@dataclass(frozen=True)
class _PutLatest:
    patient_ins: str
    code: MeasureCode
    measure: Measure | None  # None: the type has no measure left
    read: Measure | None  # the latest as read (None: there was none)

    def stage(self, tx: WriteSink) -> None:
        condition = (MeasureItem.sk.does_not_exist() if self.read is None
                     else MeasureItem.of == self.read.measure_id)
        key = MeasureItem(self.patient_ins, _latest_key(self.code))
        if self.measure is None:
            tx.delete("latest", key, condition)
            return
        tx.put("latest", MeasureItem(self.patient_ins, _latest_key(self.code), kind="L", body=_body(self.measure),
                                     version=self.measure.version, of=self.measure.measure_id), condition)


@dataclass(frozen=True)
class _PutDevice:
    patient_ins: str
    device: str
    at: datetime

    def stage(self, tx: WriteSink) -> None:
        tx.put("device", MeasureItem(self.patient_ins, _device_key(self.device), kind="D", body=iso(self.at)),
               MeasureItem.sk.does_not_exist())


@dataclass(frozen=True)
class _DeleteHistory:
    measure: Measure

    def stage(self, tx: WriteSink) -> None:
        m = self.measure
        tx.delete("measure", MeasureItem(m.patient_ins, history_key(m.measure, m.measure_id)),
                  MeasureItem.version == m.version)


class DynamoMeasureStore:
    """Fits `functions.measures.ports.MeasureStore`."""

    def __init__(self, journal: MeasuresJournal) -> None:
        self._journal = journal

    def before_write(self, patient_ins: str, code: MeasureCode, device: str | None) -> _Before:
        head = self._journal.head_keys(patient_ins)
        keys: list[tuple[Any, Any, Any]] = [(MeasureItem, patient_ins, _latest_key(code))]
        if device is not None:
            keys.append((MeasureItem, patient_ins, _device_key(device)))
        found = get_together(*keys, *head.requested())
        latest = found[0]
        device_item = found[1] if device is not None else None
        chain = head.parse([item for item in found[len(keys):] if item is not None])
        return _Before(latest=_to_measure(latest) if isinstance(latest, MeasureItem) else None,
                       device_known=isinstance(device_item, MeasureItem), head=chain)

    def staged_write(self, measure: Measure, existing: Measure | None, latest: Measure | None,
                     replaces_latest: bool, device: str | None) -> Sequence[Staged]:
        stored = measure.model_copy(update={"version": existing.version + 1 if existing else 0})
        staged: list[Staged] = [_PutHistory(stored, existing)]
        if replaces_latest:
            staged.append(_PutLatest(measure.patient_ins, measure.measure, stored, latest))
        if device is not None:
            staged.append(_PutDevice(measure.patient_ins, device, measure.recorded_at))
        return staged

    def staged_delete(self, measure: Measure, latest: Measure | None,
                      next_latest: Measure | None) -> Sequence[Staged]:
        staged: list[Staged] = [_DeleteHistory(measure)]
        if latest is not None and latest.measure_id == measure.measure_id:
            staged.append(_PutLatest(measure.patient_ins, measure.measure, next_latest, latest))
        return staged

    def get(self, patient_ins: str, code: MeasureCode, measure_id: str) -> Measure | None:
        try:
            return _to_measure(MeasureItem.get(patient_ins, history_key(code, measure_id), consistent_read=True))
        except MeasureItem.DoesNotExist:
            return None

    def latest_values(self, patient_ins: str) -> list[Measure]:
        return [_to_measure(item) for item in
                MeasureItem.query(patient_ins, MeasureItem.sk.startswith("L#"), consistent_read=True)]

    def history(self, patient_ins: str, code: MeasureCode, start: datetime | None, end: datetime | None,
                after: str | None, limit: int) -> tuple[list[Measure], str | None]:
        low = f"H#{code.value}#" + (id_prefix(start) if start else "")
        high = f"H#{code.value}#" + (id_prefix(end) if end else "") + HIGH
        items, last = newest_first(MeasureItem, patient_ins, after, limit,
                                   range_key_condition=MeasureItem.sk.between(low, high), consistent_read=True)
        return [_to_measure(item) for item in items], last

    def every_measure(self, patient_ins: str) -> Iterator[Measure]:
        for item in MeasureItem.query(patient_ins, MeasureItem.sk.startswith("H#"), consistent_read=True):
            yield _to_measure(item)

    def previous(self, patient_ins: str, code: MeasureCode, before: str) -> Measure | None:
        low, high = f"H#{code.value}#", history_key(code, before)
        for item in MeasureItem.query(patient_ins, MeasureItem.sk.between(low, high), scan_index_forward=False,
                                      limit=2, consistent_read=True):
            if item.sk != high:
                return _to_measure(item)
        return None


class MeasuresErasure:
    """`functions.accounts.ports.SpaceEraser` for measures: the person's one partition (history, latest items,
    devices their apps declared)."""

    def erase_space(self, ins: str) -> int:
        from functions.shared.erasing import delete_partition

        return delete_partition(MeasureItem, ins)
