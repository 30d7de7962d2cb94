"""Where the embedded moto server must behave like AWS for our tests to mean anything.

DynamoDB serializes conditional writes and transactions; moto checks conditions and then writes without a lock,
so two concurrent transactions can both pass `attribute_not_exists` / `seq = :n` and the second silently
overwrites the first. Our trace chain relies on that serialization, so the local server (and the tests) run
moto's DynamoDB writes under one lock. Nothing here is deployed."""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def serialize_dynamodb_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_serialized", False):
            continue

        @functools.wraps(original)
        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return __original(self, *args, **kwargs)

        locked._serialized = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)


def rollback_only_touched_items() -> None:
    """moto 5.2 snapshots a transaction by deep-copying every table it names, once per item: a 100-item
    TransactWriteItems on a 20 000-item table takes over a minute, past the clients' 10 s read timeout (their
    retries then race the first attempt). This does what moto does (same checks, same errors, same order) but
    snapshots only the items the transaction names. Call before `serialize_dynamodb_writes`, which wraps it."""
    import copy

    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        touched: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, item before or None)
        seen: set[tuple[str, str]] = set()

        def rollback() -> None:
            for table, hash_value, range_value, before in reversed(touched):
                if before is None:
                    table.delete_item(hash_value, range_value)
                elif range_value is not None:
                    table.items[hash_value][range_value] = before
                else:
                    table.items[hash_value] = before

        errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
        for item in transact_items:
            original_item: dict[str, Any] | None = None
            if len(list(item.keys())) > 1:
                raise TransactWriteSingleOpException
            try:
                op_type, op = next(iter(item.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                condition_expression = op.get("ConditionExpression")
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                table = self.get_table(table_name)
                if op_type == "Put":
                    attrs = op["Item"]
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]
                marker = (str(table_name), str(dict(sorted(key.items()))))
                if marker in seen:
                    raise MultipleTransactionsException()
                seen.add(marker)
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
                current = self.get_item(table_name, key)
                if condition_expression is not None:
                    condition_op = get_filter_expression(condition_expression, names, values)
                    if not condition_op.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)
                if op_type != "ConditionCheck":
                    touched.append((table, hash_value, range_value, copy.deepcopy(current)))
                if op_type == "Put":
                    self.put_item(table_name, op["Item"], condition_expression=condition_expression,
                                  expression_attribute_names=names, expression_attribute_values=values)
                elif op_type == "Delete":
                    self.delete_item(table_name, key, condition_expression=condition_expression,
                                     expression_attribute_names=names, expression_attribute_values=values)
                elif op_type == "Update":
                    self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                     condition_expression=condition_expression,
                                     expression_attribute_names=names, expression_attribute_values=values)
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                rollback()
                raise
            except ConditionalCheckFailed as e:
                errors.append(("ConditionalCheckFailed", str(e.message), original_item))
            except Exception as e:  # moto reports any other failure as a cancellation reason
                errors.append((type(e).__name__, str(e), original_item))
        if any(code is not None for code, _, _ in errors):
            rollback()
            raise TransactionCanceledException(errors)

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
