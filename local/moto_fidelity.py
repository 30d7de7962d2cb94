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

    if getattr(DynamoDBBackend.transact_write_items, "_touched_only", False):
        return

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

    transact_write_items._touched_only = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


IDEMPOTENCY_WINDOW_SECONDS = 600  # DynamoDB keeps a TransactWriteItems' ClientRequestToken ten minutes


def transactions_idempotent_by_token() -> None:
    """DynamoDB answers a TransactWriteItems that repeats a ClientRequestToken of the last ten minutes, with the
    same items, as the first one was answered and changes nothing (other items: IdempotentParameterMismatch); moto
    5.2 ignores the token and runs it again. botocore fills the token in itself (it is the operation's idempotency
    token) and a client whose read timed out sends the same request again: on moto that retry failed its own
    conditions (the items it wrote exist, the chain head it moved has moved) and our writers took their own commit
    for a concurrent writer's. A retry waits for the first attempt to finish (one lock)."""
    import hashlib
    import json
    from time import monotonic

    from moto.dynamodb.exceptions import DynamodbException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.transact_write_items
    if getattr(original, "_by_token", False):
        return
    answered: dict[str, tuple[str, float, Any]] = {}  # token -> (items' digest, when, the answer)

    class IdempotentParameterMismatch(DynamodbException):
        def __init__(self) -> None:
            super().__init__("com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                             "The request uses the same client token as a previous, but non-identical request.")

    def transact_write_items(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        if token is None:
            return original(self)
        digest = hashlib.sha256(json.dumps(self.body["TransactItems"], sort_keys=True).encode()).hexdigest()
        with _LOCK:
            now = monotonic()
            while answered and now - next(iter(answered.values()))[1] > IDEMPOTENCY_WINDOW_SECONDS:
                answered.pop(next(iter(answered)))
            if token in answered:
                first_digest, _, answer = answered[token]
                if first_digest != digest:
                    raise IdempotentParameterMismatch()
                return answer
            answer = original(self)
            answered[token] = (digest, now, answer)
            return answer

    transact_write_items._by_token = True  # type: ignore[attr-defined]
    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]


def receive_in_linear_time() -> None:
    """moto 5.2 checks each received message's retention by rebuilding the queue's whole attribute dict three times
    (each counting every message in the queue), so one ReceiveMessage of 10 from a queue of n messages costs ~90 n
    visibility checks: with the bench's 500 queued mails, ReceiveMessage was most of the server's CPU. This reads
    the one attribute the check needs; what a receive returns is unchanged (tests/unit/test_moto_fidelity.py)."""
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period)


# The reads whose answers are items (AttributeValue maps, counts, keys, capacity) and whose moto results hold only
# what the answer's shape has (DeleteItem's carries a `ConsumedCapacityUnits` the generic serializer drops).
_ITEM_RESULTS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


def _dynamodb_json(value: object) -> object:
    import base64

    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"not DynamoDB JSON: {type(value).__name__}")


def serialize_items_as_json() -> None:
    """moto 5.2 writes every DynamoDB answer through its generic botocore-shape serializer, which walks each
    attribute of each item through value pickers: a BatchGetItem of 100 spaces took most of the server's time in
    the accounts bench. DynamoDB's wire format for items is plain JSON with binaries in base64, which is what this
    writes for the item reads; the parsed answers are the same (tests/unit/test_moto_fidelity.py)."""
    import json

    from moto.dynamodb.responses import DynamoResult

    generic = DynamoResult.execute_result
    if getattr(generic, "_as_json", False):
        return

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name not in _ITEM_RESULTS:
            return generic(self, context)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(self.result, default=_dynamodb_json)

    execute_result._as_json = True  # type: ignore[attr-defined]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


_QUERYING = threading.local()  # (table, the items its Query may look at) while this thread runs that Query


def query_by_key() -> None:
    """moto 5.2 answers every Query by sorting the whole table and filtering it (`Table.all_items`), so a Query of
    one person's few traces costs O(n log n) of the table: the accounts bench at 200 000 spaces spent minutes in
    the journal's Query alone. This hands moto's own Query code only the items that can match: those under the
    partition key for the table, and for an index those whose index partition attribute was ever written with the
    queried value (an add-only map kept on every put and update; a stale entry is filtered out by moto's own
    checks, so the answer, its order and its pages are moto's). Scans and every other path see the whole table."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_by_key", False):
        return
    original_query, original_all, original_put = Table.query, Table.all_items, Table.put_item
    original_update = DynamoDBBackend.update_item

    def index_maps(table: Any) -> dict[str, dict[Any, set[tuple[Any, Any]]]]:
        maps: dict[str, dict[Any, set[tuple[Any, Any]]]] | None = table.__dict__.get("_mes_by_value")
        if maps is None:
            maps = table.__dict__["_mes_by_value"] = {}
        return maps

    def remember(table: Any, item: Any) -> None:
        for name, by_value in index_maps(table).items():
            value = item.attrs.get(name)
            if value is not None:
                by_value.setdefault(value, set()).add((item.hash_key, item.range_key))

    def by_value(table: Any, name: str) -> dict[Any, set[tuple[Any, Any]]]:
        maps = index_maps(table)
        if name not in maps:  # first Query of this attribute: index what is there (no write meanwhile), then keep up
            with _LOCK:
                built: dict[Any, set[tuple[Any, Any]]] = {}
                for item in original_all(table):
                    value = item.attrs.get(name)
                    if value is not None:
                        built.setdefault(value, set()).add((item.hash_key, item.range_key))
                maps.setdefault(name, built)
        return maps[name]

    def all_items(self: Any) -> list[Any]:
        current = getattr(_QUERYING, "scope", None)
        if current is not None and current[0] is self:
            return list(current[1])
        return original_all(self)

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is None:
            under = self.items.get(hash_key)
            items = [] if under is None else list(under.values()) if self.range_key_attr else [under]
        else:
            conditions = kwargs.get("hash_key_conditions") or []
            index = next((i for i in self.all_indexes() if i.name == index_name), None)
            if index is None or len(conditions) != 1:
                return original_query(self, hash_key, *args, **kwargs)  # moto's own errors and multi-key indexes
            name, value = conditions[0]
            items = [item for h, r in by_value(self, name).get(value, ())
                     if (item := self.get_item(h, r) if r is not None else self.items.get(h)) is not None]
        _QUERYING.scope = (self, items)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _QUERYING.scope = None

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original_put(self, *args, **kwargs)
        remember(self, item)
        return item

    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = original_update(self, table_name, *args, **kwargs)
        if item is not None:
            remember(self.get_table(table_name), item)
        return item

    query._by_key = True  # type: ignore[attr-defined]
    Table.query, Table.all_items, Table.put_item = query, all_items, put_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]


def backends_listed_once() -> None:
    """moto's server lists its own package directory (an `isdir` per service) on every request to find the
    backend for a host name; the list never changes while it runs."""
    import moto.backends

    modules = tuple(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules


EVERY_FIX_APPLIED = False  # once true in a process, moto's own code is gone from it (the fidelity tests need it)


def every_fix() -> None:
    """Every fix, fidelity and speed, in the order they wrap each other: the moto of the local server, the
    integration and contract tests, and the bench (as a server or in process). The same moto everywhere: without
    the item-by-item rollback, a late test in a long session (tables of thousands of items, each deep-copied once
    per transaction item) saw a transaction outlast the clients' 10 s read timeout and its retry race the first
    attempt (a CI run failed so). The speed fixes give moto's own answers (tests/unit/test_moto_fidelity.py)."""
    global EVERY_FIX_APPLIED
    EVERY_FIX_APPLIED = True
    rollback_only_touched_items()
    serialize_dynamodb_writes()
    transactions_idempotent_by_token()
    faster_answers()
    conditions_lexed_once()
    conditions_parsed_once()
    update_expressions_parsed_once()
    traversals_with_one_map()
    clauses_found_by_class()
    item_sizes_summed_once()
    sizes_without_copies()
    items_not_tracked()


def faster_answers() -> None:
    """The first speed fixes (same answers, less of the server's CPU): without them a bench of 50 000 mails or
    200 000 beneficiaries takes hours."""
    receive_in_linear_time()
    serialize_items_as_json()
    query_by_key()
    backends_listed_once()


_CACHED = 10_000  # distinct expression strings kept by the caches below (the app writes a few dozen shapes)


def conditions_lexed_once() -> None:
    """moto 5.2.5 lexes a ConditionExpression (regex by regex, slicing the rest of the string each time) on every
    conditional write and every filtered read: a third of its condition parsing in the accounts bench. The lexing
    is a function of the string alone; this keeps each string's tokens and hands moto a fresh deque of fresh nodes
    (new `children` lists) each time, so what moto parses next is what it lexed itself. An expression moto cannot
    lex is not kept: it raises moto's own ValueError every time."""
    from collections import deque

    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser._lex_condition_expression
    if getattr(original, "_once", False):
        return
    lexed: dict[str, tuple[tuple[Any, Any, Any, Any], ...]] = {}
    node = ConditionExpressionParser.Node

    def _lex_condition_expression(self: Any) -> deque[Any]:
        expression = self.condition_expression
        tokens = lexed.get(expression)
        if tokens is None:
            nodes: deque[Any] = original(self)
            if len(lexed) < _CACHED and not any(n.children for n in nodes):
                lexed[expression] = tuple((n.nonterminal, n.kind, n.text, n.value) for n in nodes)
            return nodes
        return deque(node(nonterminal, kind, text, value, []) for nonterminal, kind, text, value in tokens)

    _lex_condition_expression._once = True  # type: ignore[attr-defined]
    ConditionExpressionParser._lex_condition_expression = _lex_condition_expression  # type: ignore[method-assign]


def update_expressions_parsed_once() -> None:
    """moto 5.2.5 tokenizes and parses an UpdateExpression twice per UpdateItem (its request handler, then its
    backend) and its validator deep-copies the tree before rewriting the copy: a fifth of an update's time in the
    accounts bench, for a few dozen distinct strings. This parses each string once and gives each validator a
    fresh copy of that tree from its pickle (what `deepcopy` builds, through the same `__reduce_ex__`, an order of
    magnitude faster). The kept trees are never rewritten: the handler only reads them (`find_clauses`) and the
    validator rewrites only its copy. A string moto cannot parse raises moto's own error every time."""
    import copy
    import pickle

    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.validators import Validator

    if getattr(UpdateExpressionParser.make, "_once", False):
        return
    make = UpdateExpressionParser.make
    parsed: dict[str, Any] = {}
    pickled: dict[int, tuple[Any, bytes]] = {}  # id of a kept tree -> (that tree, its pickle)

    def cached_make(cls: Any, expression_str: str) -> Any:
        tree = parsed.get(expression_str)
        if tree is None:
            tree = make(expression_str)
            if len(parsed) < _CACHED:
                parsed[expression_str] = tree
                pickled[id(tree)] = (tree, pickle.dumps(tree, pickle.HIGHEST_PROTOCOL))
        return tree

    def __init__(self: Any, expression: Any, expression_attribute_names: Any, expression_attribute_values: Any,
                 item: Any, table: Any) -> None:  # moto 5.2.5's Validator.__init__ but for the copy
        self.expression_attribute_names = expression_attribute_names
        self.expression_attribute_values = expression_attribute_values
        self.item = item
        self.table = table
        self.processors = self.get_ast_processors()
        kept = pickled.get(id(expression))
        if kept is not None and kept[0] is expression:
            self.node_to_validate = pickle.loads(kept[1])  # noqa: S301 a pickle this process made
        else:
            self.node_to_validate = copy.deepcopy(expression)

    cached_make._once = True  # type: ignore[attr-defined]
    UpdateExpressionParser.make = classmethod(cached_make)
    Validator.__init__ = __init__  # type: ignore[method-assign]


def traversals_with_one_map() -> None:
    """moto 5.2.5 validates an UpdateExpression by walking its tree ten times (one walk per check), and at every
    node of every walk rebuilds the walker's map of node classes to handlers, twice, then asks `isinstance` of
    classes whose metaclass is ABCMeta (slow): half of an UpdateItem's time in the accounts bench. This is moto's
    walk (same order, same hooks, same in-place replacement) with the map built once per walk; every walker in
    moto 5.2.5 returns the same map whatever its state, and `isinstance` answers are kept per concrete class
    (nothing registers virtual subclasses of these node classes)."""
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node  # type: ignore[attr-defined]

    if getattr(DepthFirstTraverser.traverse, "_one_map", False):
        return
    no_hook = DepthFirstTraverser.pre_processing_of_child
    is_node: dict[type, bool] = {}
    matches: dict[tuple[type, type], bool] = {}

    def traverse(self: Any, node: Any) -> Any:
        handlers = tuple(self._processing_map().items())
        hook = None if type(self).pre_processing_of_child is no_hook else self.pre_processing_of_child

        def walk(node: Any, child_id: int) -> Any:
            cls = type(node)
            node_like = is_node.get(cls)
            if node_like is None:
                node_like = is_node[cls] = isinstance(node, Node)
            if not node_like:
                return node
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    if hook is not None:
                        hook(node, i)
                    walk(child_node, i)
            for class_key, processor in handlers:
                match = matches.get((cls, class_key))
                if match is None:
                    match = matches[(cls, class_key)] = isinstance(node, class_key)
                if match:
                    node = processor(node)
                    node.parent = parent_node
                    if parent_node:
                        parent_node.children[child_id] = node
                    break
            return node

        return walk(node, -1)

    traverse._one_map = True  # type: ignore[attr-defined]
    DepthFirstTraverser.traverse = traverse


def item_sizes_summed_once() -> None:
    """moto 5.2.5 builds an Item attribute by attribute through `LimitedSizeDict.__setitem__`, which re-sizes every
    attribute already there before each insert (O(n²) `DynamoType.size` calls per item: 2.5 million of them in the
    accounts bench at 5 000). The attributes of a new Item are distinct keys of one dict, so the size before each
    insert is the running sum of the sizes already inserted: this checks that sum against moto's limit, raising
    moto's ItemSizeTooLarge at the same attribute, and stores the same DynamoTypes in the same order."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    if getattr(Item.__init__, "_summed", False):
        return

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = LimitedSizeDict()
        current = 0  # what LimitedSizeDict.__setitem__ sums: bytesize(str(key)) + value.size() of each attribute
        for key, value in attrs.items():
            typed = DynamoType(value)
            size = typed.size()
            if current + bytesize(key) + size > 405000:  # LimitedSizeDict's limit in moto 5.2.5
                raise ItemSizeTooLarge
            dict.__setitem__(self.attrs, key, typed)
            current += bytesize(str(key)) + size

    __init__._summed = True  # type: ignore[attr-defined]
    Item.__init__ = __init__  # type: ignore[method-assign]


def clauses_found_by_class() -> None:
    """moto 5.2.5 checks an UpdateExpression's clause counts and path overlaps at every clause node of its tree
    (each is an `UpdateExpression`), each check walking the node's subtree with `isinstance` of ABCMeta classes:
    a tenth of an UpdateItem in the accounts bench. This is moto's `Node.find_clauses` (same order, same clauses)
    with the two class tests answered once per concrete class."""
    from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]
        Expression,
        Node,
        UpdateExpressionFunction,
    )

    if getattr(Node.find_clauses, "_by_class", False):
        return
    descends: dict[type, bool] = {}

    def find_clauses(self: Any, clause_types: Any) -> list[Any]:
        clauses: list[Any] = []
        for child in self.children or []:
            cls = type(child)
            if cls in clause_types:
                clauses.append(child)
                continue
            into = descends.get(cls)
            if into is None:
                into = descends[cls] = isinstance(child, (Expression, UpdateExpressionFunction))
            if into:
                clauses.extend(child.find_clauses(clause_types))
        return clauses

    find_clauses._by_class = True  # type: ignore[attr-defined]
    Node.find_clauses = find_clauses


def sizes_without_copies() -> None:
    """moto 5.2.5's `DynamoType.size` rebuilds a DynamoType of every map value and set member before sizing it
    (each rebuild copying the whole subtree again), and BatchGetItem, Query and Scan size every item they return:
    BatchGetItem's sizing was 5 % of the accounts bench. This computes the same sum, branch for branch in moto's
    order (number, set, list, map, bool, else bytes), on the values as they are."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    if getattr(DynamoType.size, "_no_copies", False):
        return

    def typed_size(kind: str, value: Any, rebuilt: bool) -> int:
        """`rebuilt`: moto would be sizing a rebuilt copy, whose list members are all DynamoTypes."""
        if kind == "N":
            return len(str(value))
        if kind in ("SS", "NS", "BS"):
            sub = kind[0]
            return sum(typed_size(sub, v, False) for v in value)
        if kind == "L":
            return sum(typed_size(v.type, v.value, rebuilt) if type(v) is DynamoType
                       else DynamoType(v).size() if rebuilt else v.size() for v in value)
        if kind == "M":
            return sum(bytesize(k) + (typed_size(v.type, v.value, True) if type(v) is DynamoType
                                      else DynamoType(v).size()) for k, v in value.items())
        if isinstance(value, bool):
            return 1
        return bytesize(value)

    def size(self: Any) -> int:
        return typed_size(self.type, self.value, False)

    size._no_copies = True  # type: ignore[attr-defined]
    DynamoType.size = size  # type: ignore[method-assign]


def items_not_tracked() -> None:
    """moto 5.2.5 appends every instance of its models to a class-wide list (`instances_tracked`, read only by its
    dashboard's /moto-api/data.json) that is emptied only when the mock stops: for DynamoDB items that is every put,
    and every deep copy moto takes (the old item on each update, query results, the transactions' snapshots), so
    the accounts bench kept ~3 dead copies of each live item: most of its memory growth per beneficiary. This creates
    Items as moto does but without keeping them; the bench never reads the dashboard. Other models stay tracked
    (S3's reset disposes of the keys it tracked)."""
    from moto.dynamodb.models.dynamo_type import Item

    if getattr(Item.__dict__.get("__new__"), "_untracked", False):
        return

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)  # what BaseModel.__new__ makes, minus the append to instances_tracked

    __new__._untracked = True  # type: ignore[attr-defined]
    Item.__new__ = staticmethod(__new__)  # type: ignore[method-assign]


def _plain(value: object) -> bool:
    """Made only of JSON-like builtins (and bytes), so that its repr names it exactly."""
    if value is None or type(value) in (str, bytes, bool, int, float):
        return True
    if type(value) is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if type(value) is list:
        return all(_plain(v) for v in value)
    return False


def conditions_parsed_once() -> None:
    """moto 5.2.5 parses each write's ConditionExpression three times (request validation, the transaction's own
    check, the write itself), and the app writes a few shapes with few distinct values (`attribute_not_exists(#0)`
    above all): parsing was a sixth of the accounts bench. The tree moto builds is a function of the expression,
    its names and its values, and evaluating it changes nothing in it; this keeps the tree (built by moto from
    private copies of the names and values, so nothing the caller holds is shared) with the names and values moto
    found in it, and hands both out again for the same (expression, names, values). Anything moto cannot parse is
    not kept: it raises as moto does. The map is emptied when full (values that change every call never hit)."""
    import copy

    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser.parse
    if getattr(original, "_once", False):
        return
    parsed: dict[tuple[str, str, str], tuple[Any, list[str], list[str]]] = {}

    def parse(self: Any) -> Any:
        expression = self.condition_expression
        names, values = self.expression_attribute_names, self.expression_attribute_values
        if not expression or type(expression) is not str or not _plain(names) or not _plain(values):
            return original(self)
        key = (expression, repr(names), repr(values))
        kept = parsed.get(key)
        if kept is None:
            private = ConditionExpressionParser(expression, copy.deepcopy(names), copy.deepcopy(values))
            try:
                tree = original(private)
            except Exception:  # moto's own error, raised from the caller's parser
                return original(self)
            if len(parsed) >= _CACHED:
                parsed.clear()
            kept = parsed[key] = (tree, list(private.expr_attr_names_found), list(private.expr_attr_values_found))
        tree, names_found, values_found = kept
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return tree

    parse._once = True  # type: ignore[attr-defined]
    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]
