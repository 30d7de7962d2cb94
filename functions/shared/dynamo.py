"""pynamodb plumbing: binding models to their tables at composition time (names come from settings, not imports),
and labelled transactions that say which condition failed (pynamodb reorders items by kind)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.connection.base import BOTOCORE_EXCEPTIONS
from pynamodb.exceptions import GetError, PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite

from functions.shared import idempotency
from functions.shared.lookup import BatchLookup

_REGION: dict[str, str] = {}
M = TypeVar("M", bound=Model)


def bind(model: type[Model], table_name: str, region: str) -> None:
    """Point a model at its table; bounded timeouts and retries like every other outbound call."""
    meta: Any = model.Meta
    meta.table_name = table_name
    meta.region = region
    meta.connect_timeout_seconds = 3
    meta.read_timeout_seconds = 10
    meta.max_retry_attempts = 3
    model._connection = None
    _REGION["region"] = region


@lru_cache(maxsize=4)
def _connection(region: str) -> Connection:
    return Connection(region=region, connect_timeout_seconds=3, read_timeout_seconds=10, max_retry_attempts=3)


def connection() -> Connection:
    return _connection(_REGION.get("region", "eu-west-3"))


def error_code(exc: PynamoDBException) -> str | None:
    """DynamoDB's error code (`TransactionCanceledException`, `ConditionalCheckFailedException`...), or None when
    the call got no answer. pynamodb's `cause_response_code` raises AttributeError instead when its cause is an
    HTTP-level botocore error (read timeout, connection reset: `response` is None), which turned a timed-out
    TransactWriteItems into an AttributeError."""
    response = getattr(exc.cause, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return code if isinstance(code, str) else None


class TransactionCancelled(Exception):
    """Some conditions failed; `failed` names them, `items` holds the current items returned with ALL_OLD."""

    def __init__(self, failed: set[str], items: dict[str, dict[str, Any]]) -> None:
        super().__init__(f"transaction cancelled by: {', '.join(sorted(failed))}")
        self.failed = failed
        self.items = items


@dataclass
class Transaction:
    """Collects writes with labels, commits them in one TransactWriteItems, and maps cancellation reasons back
    to labels (pynamodb sends condition checks, then deletes, then puts, then updates)."""

    _checks: list[tuple[str, type[Model], Any, Any, Condition]] = field(default_factory=list)
    _deletes: list[tuple[str, Model, Condition | None]] = field(default_factory=list)
    _puts: list[tuple[str, Model, Condition | None, bool]] = field(default_factory=list)
    _updates: list[tuple[str, Model, list[Any], Condition | None]] = field(default_factory=list)

    def check(self, label: str, model: type[Model], hash_key: Any, range_key: Any, condition: Condition) -> None:
        self._checks.append((label, model, hash_key, range_key, condition))

    def delete(self, label: str, item: Model, condition: Condition | None = None) -> None:
        self._deletes.append((label, item, condition))

    def put(self, label: str, item: Model, condition: Condition | None = None, return_old: bool = False) -> None:
        self._puts.append((label, item, condition, return_old))

    def update(self, label: str, item: Model, actions: list[Any], condition: Condition | None = None) -> None:
        self._updates.append((label, item, actions, condition))

    def scoped(self, prefix: str) -> Scoped:
        """This transaction with labels prefixed, so that writes staged by one owner under fixed labels (every
        notification is `notification`) still say which of several effects a failed condition belongs to."""
        return Scoped(self, prefix)

    def absorb(self, other: Transaction) -> None:
        """Add another transaction's writes to this one (a bulk job packs several patients' entries together)."""
        self._checks.extend(other._checks)
        self._deletes.extend(other._deletes)
        self._puts.extend(other._puts)
        self._updates.extend(other._updates)

    def __len__(self) -> int:
        return len(self._checks) + len(self._deletes) + len(self._puts) + len(self._updates)

    def commit(self) -> None:
        labels = ([c[0] for c in self._checks] + [d[0] for d in self._deletes] + [p[0] for p in self._puts]
                  + [u[0] for u in self._updates])
        try:
            with transaction() as tx:
                for _, model, hash_key, range_key, condition in self._checks:
                    tx.condition_check(model, hash_key, range_key, condition=condition)
                for _, item, maybe in self._deletes:
                    tx.delete(item, condition=maybe)
                for _, item, maybe, return_old in self._puts:
                    tx.save(item, condition=maybe, return_values="ALL_OLD" if return_old else None)
                for _, item, actions, maybe in self._updates:
                    tx.update(item, actions=actions, condition=maybe)
        except TransactWriteError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.cancellation_reasons
            reasons = reasons[:len(labels)]  # a joined idempotency claim comes last (see transaction())
            failed = {labels[i] for i, r in enumerate(reasons) if r and r.code == "ConditionalCheckFailed"}
            if not failed:
                raise
            items = {labels[i]: r.raw_item for i, r in enumerate(reasons) if r and r.raw_item}
            raise TransactionCancelled(failed, items) from exc


@dataclass(frozen=True)
class Scoped:
    """A `functions.shared.staging.WriteSink` onto a Transaction, every label prefixed."""

    tx: Transaction
    prefix: str

    def check(self, label: str, model: type[Model], hash_key: Any, range_key: Any, condition: Condition) -> None:
        self.tx.check(self.prefix + label, model, hash_key, range_key, condition)

    def delete(self, label: str, item: Model, condition: Condition | None = None) -> None:
        self.tx.delete(self.prefix + label, item, condition)

    def put(self, label: str, item: Model, condition: Condition | None = None, return_old: bool = False) -> None:
        self.tx.put(self.prefix + label, item, condition, return_old)

    def update(self, label: str, item: Model, actions: list[Any], condition: Condition | None = None) -> None:
        self.tx.update(self.prefix + label, item, actions, condition)


def newest_first(model: type[M], hash_key: str, after: str | None, limit: int,
                 **query: Any) -> tuple[list[M], str | None]:
    """One page of a partition, highest sort key first. `after` is the last sort key of the previous page and is
    always combined with the caller's own partition, so no cursor can reach another one."""
    meta: Any = model
    start = {meta._hash_keyname: {"S": hash_key}, meta._range_keyname: {"S": after}} if after else None
    result = model.query(hash_key, scan_index_forward=False, limit=limit, last_evaluated_key=start, **query)
    items = list(result)
    last = result.last_evaluated_key
    return items, (last[meta._range_keyname]["S"] if last else None)


def get_together(*keys: tuple[type[Model], Any, Any]) -> list[Model | None]:
    """Several items in one TransactGetItems (one round trip, consistent)."""
    with TransactGet(connection=connection()) as tx:
        futures = [tx.get(model, hash_key, range_key) for model, hash_key, range_key in keys]
    out: list[Model | None] = []
    for future in futures:
        try:
            out.append(future.get())
        except Model.DoesNotExist:
            out.append(None)
    return out


class _Joined(TransactWrite):
    """A TransactWrite that an Idempotency-Key claim waiting in this request joins (functions/shared/idempotency.py):
    the claim is the last item, so the creation and its record commit together; its condition failing means the key
    is taken (KeyTaken), whatever else failed. Once one transaction carried it, later ones do not."""

    def _commit(self) -> Any:
        joining = idempotency.waiting()
        if joining is None:
            return super()._commit()
        joining.stage(self)
        last = (len(self._condition_check_items) + len(self._delete_items) + len(self._put_items)
                + len(self._update_items) - 1)
        try:
            response = super()._commit()
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons if error_code(exc) == "TransactionCanceledException" else []
            claim = reasons[last] if len(reasons) > last else None
            if claim is not None and claim.code == "ConditionalCheckFailed":
                raise idempotency.KeyTaken() from exc
            raise
        joining.committed = True
        return response


def transaction() -> TransactWrite:
    """A pynamodb TransactWrite on the bound region, the one every transaction is made from (for writes that need
    its `update` actions, and for `Transaction.commit`); a waiting idempotency claim joins it."""
    return _Joined(connection=connection())



BATCH_GET_LIMIT = 100


def _key_of(model: type[Model], raw: dict[str, Any]) -> str:
    meta: Any = model
    names = [meta._hash_keyname] + ([meta._range_keyname] if meta._range_keyname else [])
    return json.dumps([model.Meta.table_name, [raw[name] for name in names]], sort_keys=True)


def batch_get_many(lookups: Sequence[BatchLookup[Any]]) -> list[Any]:
    """The items of several owners' lookups (several tables) in as few BatchGetItem calls as DynamoDB allows:
    all lookups share each call's 100 keys, so contacts and preferences of 40 people take one call, not two.
    Unprocessed keys are asked again, as pynamodb's `batch_get` does. Returns each lookup's parsed result, in
    order (eventually consistent, like `Model.batch_get`)."""
    keys: dict[str, tuple[type[Model], dict[str, Any]]] = {}
    owners: dict[str, list[int]] = {}
    for n, lookup in enumerate(lookups):
        for model, hash_key, range_key in lookup.requested():
            meta: Any = model
            hash_ser, range_ser = meta._serialize_keys(hash_key, range_key)
            key = {meta._hash_keyname: {meta._hash_key_attribute().attr_type: hash_ser}}
            if meta._range_keyname:
                key[meta._range_keyname] = {meta._range_key_attribute().attr_type: range_ser}
            ident = _key_of(model, key)
            keys[ident] = (model, key)
            if n not in owners.setdefault(ident, []):
                owners[ident].append(n)
    found: list[list[Any]] = [[] for _ in lookups]
    by_table = {model.Meta.table_name: model for model, _ in keys.values()}
    wanted = list(keys.values())
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        chunk: dict[str, list[dict[str, Any]]] = {}
        for model, key in wanted[start:start + BATCH_GET_LIMIT]:
            chunk.setdefault(model.Meta.table_name, []).append(key)
        while chunk:
            try:
                data = connection().dispatch("BatchGetItem", {
                    "RequestItems": {table: {"Keys": table_keys} for table, table_keys in chunk.items()}})
            except BOTOCORE_EXCEPTIONS as exc:
                raise GetError(f"Failed to batch get items: {exc}", exc) from exc
            for table, raws in data.get("Responses", {}).items():
                model = by_table[table]
                for raw in raws:
                    item = model.from_raw_data(raw)
                    for n in owners.get(_key_of(model, raw), []):
                        found[n].append(item)
            chunk = {table: spec["Keys"] for table, spec in data.get("UnprocessedKeys", {}).items()
                     if spec.get("Keys")}
    return [lookup.parse(items) for lookup, items in zip(lookups, found, strict=True)]
