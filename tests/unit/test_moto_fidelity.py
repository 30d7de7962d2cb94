"""Each fix of local/moto_fidelity.py answers as moto's own code does (or, for the fidelity fixes, as DynamoDB
does where moto does not): the same answers, errors and tables, compared against moto's code in this process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _moto_as_shipped() -> None:
    """The comparisons need moto's own code: after the integration or contract suites (which apply every fix for
    the session) they would compare the fixes with themselves and pass whatever they do."""
    from local import moto_fidelity

    if moto_fidelity.EVERY_FIX_APPLIED:
        pytest.fail("moto's fixes are applied in this process already: run tests/unit before tests/integration "
                    "and tests/contract (as `make test` does), or this file alone")


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws
    from moto.dynamodb.models import DynamoDBBackend

    from local.moto_fidelity import rollback_only_touched_items

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", DynamoDBBackend.transact_write_items)  # restored
    rollback_only_touched_items()
    with mock_aws():
        client = table_t()
        for h in ("a", "b", "c"):
            client.put_item(TableName="t", Item={"h": {"S": h}, "r": {"S": "x"}, "n": {"N": "1"}})
        yield client


def table_t() -> Any:
    """Table `t` (hash `h`, range `r`) in the moto of the current `mock_aws`."""
    import boto3

    client = boto3.client("dynamodb", region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x")
    client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "h", "KeyType": "HASH"},
                                   {"AttributeName": "r", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "S"},
                                              {"AttributeName": "r", "AttributeType": "S"}])
    return client


def key(h: str) -> dict[str, Any]:
    return {"h": {"S": h}, "r": {"S": "x"}}


def test_a_cancelled_transaction_leaves_every_item_as_it_was(dynamodb: Any) -> None:
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {**key("new"), "n": {"N": "1"}}}},
            {"Update": {"TableName": "t", "Key": key("a"), "UpdateExpression": "SET n = :v",
                        "ExpressionAttributeValues": {":v": {"N": "7"}}}},
            {"Delete": {"TableName": "t", "Key": key("b")}},
            {"Put": {"TableName": "t", "Item": key("c"), "ConditionExpression": "attribute_not_exists(h)",
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        ])
    reasons = cancelled.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert reasons[3]["Item"]["n"] == {"N": "1"}
    assert "Item" not in dynamodb.get_item(TableName="t", Key=key("new"))
    assert dynamodb.get_item(TableName="t", Key=key("a"))["Item"]["n"] == {"N": "1"}
    assert "Item" in dynamodb.get_item(TableName="t", Key=key("b"))


def test_a_committed_transaction_writes_and_one_naming_an_item_twice_is_refused(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[
        {"Update": {"TableName": "t", "Key": key("a"), "UpdateExpression": "SET n = :v",
                    "ExpressionAttributeValues": {":v": {"N": "2"}}}},
        {"Delete": {"TableName": "t", "Key": key("b")}}])
    assert dynamodb.get_item(TableName="t", Key=key("a"))["Item"]["n"] == {"N": "2"}
    assert "Item" not in dynamodb.get_item(TableName="t", Key=key("b"))

    twice = {"Put": {"TableName": "t", "Item": {**key("d"), "n": {"N": "1"}}}}
    with pytest.raises(dynamodb.exceptions.ClientError, match="multiple operations on one item"):
        dynamodb.transact_write_items(TransactItems=[twice, twice])
    assert "Item" not in dynamodb.get_item(TableName="t", Key=key("d"))
    with pytest.raises(dynamodb.exceptions.ClientError):
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {**key(f"k{i}"), "n": {"N": "1"}}}} for i in range(101)])


def test_a_transaction_sent_again_with_its_token_is_answered_without_being_applied_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As DynamoDB: the same ClientRequestToken and items within ten minutes answer as the first did and change
    nothing; the same token with other items is IdempotentParameterMismatchException; no token runs every time."""
    from moto import mock_aws
    from moto.dynamodb.responses import DynamoHandler

    from local.moto_fidelity import transactions_idempotent_by_token

    monkeypatch.setattr(DynamoHandler, "transact_write_items", DynamoHandler.transact_write_items)  # restored
    transactions_idempotent_by_token()
    add_one = [{"Update": {"TableName": "t", "Key": key("a"), "UpdateExpression": "ADD n :one",
                           "ExpressionAttributeValues": {":one": {"N": "1"}}}}]
    with mock_aws():
        client = table_t()
        client.put_item(TableName="t", Item={**key("a"), "n": {"N": "0"}})
        for _ in range(3):
            client.transact_write_items(TransactItems=add_one, ClientRequestToken="first-try")
        assert client.get_item(TableName="t", Key=key("a"))["Item"]["n"] == {"N": "1"}
        with pytest.raises(client.exceptions.IdempotentParameterMismatchException):
            client.transact_write_items(TransactItems=[{"Delete": {"TableName": "t", "Key": key("a")}}],
                                        ClientRequestToken="first-try")
        client.transact_write_items(TransactItems=add_one, ClientRequestToken="second-try")
        client.transact_write_items(TransactItems=add_one)
        client.transact_write_items(TransactItems=add_one)
        assert client.get_item(TableName="t", Key=key("a"))["Item"]["n"] == {"N": "4"}


def test_a_receive_returns_what_is_within_retention_and_drops_what_is_past_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws
    from moto.sqs.models import SQSBackend, sqs_backends

    from local.moto_fidelity import receive_in_linear_time

    monkeypatch.setattr(SQSBackend, "is_message_valid_based_on_retention_period",
                        SQSBackend.is_message_valid_based_on_retention_period)  # restored
    receive_in_linear_time()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x")
        url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="old")
        queue = sqs_backends["123456789012"]["eu-west-3"].get_queue("q")
        old = queue._messages[0]
        setattr(old, "sent_timestamp", int(old.sent_timestamp or 0) - 61_000)  # noqa: B010 sent 61 s ago: past 60 s
        assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
        sqs.send_message(QueueUrl=url, MessageBody="fresh")
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        assert [m["Body"] for m in got] == ["fresh"]


def test_item_answers_written_as_plain_json_parse_exactly_as_the_generic_serializer_writes_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from moto import mock_aws
    from moto.dynamodb.responses import DynamoResult

    from local.moto_fidelity import _ITEM_RESULTS, serialize_items_as_json

    generic = DynamoResult.execute_result
    monkeypatch.setattr(DynamoResult, "execute_result", generic)  # restored
    serialize_items_as_json()
    fast = DynamoResult.execute_result
    compared: list[str] = []

    def both(self: Any, context: Any) -> Any:
        status, headers, body = fast(self, context)
        g_status, g_headers, g_body = generic(self, context)
        assert (status, headers["Content-Type"], json.loads(body)) == (
            g_status, g_headers["Content-Type"], json.loads(g_body)), context.operation_model.name
        if context.operation_model.name in _ITEM_RESULTS:
            compared.append(context.operation_model.name)
        return status, headers, body

    monkeypatch.setattr(DynamoResult, "execute_result", both)
    item = {"h": {"S": "a"}, "r": {"S": "x"}, "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"x", b"y"]},
            "n": {"N": "1.50"}, "ns": {"NS": ["1", "2"]}, "ss": {"SS": ["p", "q"]}, "t": {"BOOL": True},
            "m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}, {"S": "é"}]}}}}
    with mock_aws():
        client = table_t()
        client.put_item(TableName="t", Item=item, ReturnConsumedCapacity="TOTAL")
        client.put_item(TableName="t", Item={"h": {"S": "a"}, "r": {"S": "y"}})
        assert client.get_item(TableName="t", Key=key("a"))["Item"] == item
        got = client.batch_get_item(RequestItems={"t": {"Keys": [key("a"), key("none")]}})
        assert got["Responses"]["t"] == [item]
        page = client.query(TableName="t", KeyConditionExpression="h = :h", Limit=1,
                            ExpressionAttributeValues={":h": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
        assert page["Items"] == [item] and page["LastEvaluatedKey"] == key("a")
        client.update_item(TableName="t", Key=key("a"), UpdateExpression="SET z = :z", ReturnValues="ALL_NEW",
                           ExpressionAttributeValues={":z": {"S": "q"}})
        client.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key("a")}}])
        client.delete_item(TableName="t", Key=key("a"), ReturnValues="ALL_OLD")
    assert {"GetItem", "BatchGetItem", "Query", "TransactGetItems"} <= set(compared)


def test_queries_given_only_the_items_under_their_key_answer_as_moto_does_over_the_whole_table(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Random puts, updates moving items between index values, deletes, cancelled transactions and batch writes;
    then every Query (table and both indexes, both directions, paged, filtered) answers the same with and without
    `query_by_key`."""
    import contextlib
    import random

    import boto3
    from moto import mock_aws
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    from local.moto_fidelity import query_by_key

    originals = {name: getattr(Table, name) for name in ("query", "all_items", "put_item")}
    for name, method in originals.items():
        monkeypatch.setattr(Table, name, method)  # restored
    monkeypatch.setattr(DynamoDBBackend, "update_item", DynamoDBBackend.update_item)
    rng = random.Random(7)
    s = {"AttributeType": "S"}
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x")
        client.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "h", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": a, **s} for a in ("h", "r", "g", "gr", "sp")],
            GlobalSecondaryIndexes=[
                {"IndexName": "by-g", "Projection": {"ProjectionType": "ALL"},
                 "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "gr", "KeyType": "RANGE"}]},
                {"IndexName": "by-sp", "Projection": {"ProjectionType": "ALL"},
                 "KeySchema": [{"AttributeName": "sp", "KeyType": "HASH"}]}])

        def some_key() -> dict[str, Any]:
            return {"h": {"S": f"h{rng.randint(0, 5)}"}, "r": {"S": f"r{rng.randint(0, 9)}"}}

        def some_item() -> dict[str, Any]:
            item = {**some_key(), "g": {"S": f"g{rng.randint(0, 3)}"}, "gr": {"S": f"{rng.randint(0, 99):02d}"},
                    "n": {"N": str(rng.randint(0, 9))}}
            if rng.random() < 0.4:
                item["sp"] = {"S": f"s{rng.randint(0, 2)}"}
            return item

        def operate() -> None:
            for step in range(400):
                if step == 150:
                    query_by_key()  # patched mid-life: the items already there are indexed on first Query
                    client.query(TableName="t", IndexName="by-g", KeyConditionExpression="g = :g",
                                 ExpressionAttributeValues={":g": {"S": "g0"}})
                kind = rng.random()
                if kind < 0.4:
                    client.put_item(TableName="t", Item=some_item())
                elif kind < 0.6:
                    client.update_item(TableName="t", Key=some_key(), UpdateExpression="SET g = :g, sp = :s",
                                       ExpressionAttributeValues={":g": {"S": f"g{rng.randint(0, 3)}"},
                                                                  ":s": {"S": f"s{rng.randint(0, 2)}"}})
                elif kind < 0.75:
                    client.delete_item(TableName="t", Key=some_key())
                elif kind < 0.9:
                    with contextlib.suppress(client.exceptions.TransactionCanceledException):
                        client.transact_write_items(TransactItems=[
                            {"Put": {"TableName": "t", "Item": some_item()}},
                            {"Update": {"TableName": "t", "Key": {"h": {"S": "h9"}, "r": {"S": "r0"}},
                                        "UpdateExpression": "SET g = :g", "ConditionExpression": "attribute_exists(h)",
                                        "ExpressionAttributeValues": {":g": {"S": "g1"}}}}])
                else:
                    client.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": some_item()}}
                                                                for _ in range(3)]})

        def answers() -> list[Any]:
            out: list[Any] = []
            for forward in (True, False):
                for h in range(7):
                    out.append(client.query(TableName="t", KeyConditionExpression="h = :h AND r > :r",
                                            ExpressionAttributeValues={":h": {"S": f"h{h}"}, ":r": {"S": "r3"}},
                                            ScanIndexForward=forward))
                for g in range(5):
                    start = None
                    while True:
                        page = client.query(TableName="t", IndexName="by-g", KeyConditionExpression="g = :g",
                                            FilterExpression="n > :n", Limit=4, ScanIndexForward=forward,
                                            ExpressionAttributeValues={":g": {"S": f"g{g}"}, ":n": {"N": "2"}},
                                            **({"ExclusiveStartKey": start} if start else {}))
                        out.append(page)
                        if not (start := page.get("LastEvaluatedKey")):
                            break
                for v in range(3):
                    out.append(client.query(TableName="t", IndexName="by-sp",
                                            KeyConditionExpression="sp = :s",
                                            ExpressionAttributeValues={":s": {"S": f"s{v}"}}))
            return [{k: v for k, v in a.items() if k != "ResponseMetadata"} for a in out]

        operate()
        fast = answers()
        for name, method in originals.items():
            monkeypatch.setattr(Table, name, method)
        assert answers() == fast
        assert sum(len(a["Items"]) for a in fast) > 100  # the queries found items: the comparison means something


def test_the_backends_listed_once_are_the_ones_moto_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto.backends

    from local.moto_fidelity import backends_listed_once

    listed = list(moto.backends.list_of_moto_modules())
    monkeypatch.setattr(moto.backends, "list_of_moto_modules", moto.backends.list_of_moto_modules)  # restored
    backends_listed_once()
    assert list(moto.backends.list_of_moto_modules()) == listed and {"dynamodb", "s3", "sqs"} <= set(listed)


def _restored(monkeypatch: pytest.MonkeyPatch, cls: type, *names: str) -> None:
    """Puts each attribute back as it is in the class's own dict (a classmethod stays one) after the test."""
    for name in names:
        monkeypatch.setattr(cls, name, cls.__dict__[name])


def _random_writes_and_reads(seed: int, steps: int) -> list[Any]:
    """What moto answers (or raises) to random updates, puts, deletes, transactions, queries and scans of one table
    with a global index, then the whole table: simple and not so simple update expressions (SET/REMOVE/ADD/DELETE,
    #names, nested paths, functions, arithmetic), conditions, missing items (an update creates them), every
    ReturnValues, and errors (undefined or unused :values and #names, overlapping paths, key updates, empty or
    mistyped index keys, reserved words, items over 400 KB, expressions moto cannot parse)."""
    import random

    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    rng = random.Random(seed)
    names = ["a", "b", "n", "g", "m", "l", "ss"]
    out: list[Any] = []

    def value() -> dict[str, Any]:
        return rng.choice([{"S": rng.choice(["x", "y", "", "x" * 300])}, {"N": str(rng.randint(0, 3))},
                           {"M": {"x": {"S": "v"}, "y": {"N": "1"}}}, {"L": [{"S": "e"}]}, {"SS": ["p", "q"]},
                           {"BOOL": True}, {"NULL": True}, {"B": b"\x00\x01"}])

    def some_key() -> dict[str, Any]:
        return {"h": {"S": f"h{rng.randint(0, 3)}"}, "r": {"S": f"r{rng.randint(0, 3)}"}}

    def path(holder: dict[str, str]) -> str:
        name = rng.choice(names) if rng.random() < 0.95 else rng.choice(["name", "h"])  # reserved, key
        placeholder = rng.random() < 0.6
        head = f"#{len(holder)}" if placeholder else name
        if placeholder:
            holder[head] = name
        return head + ("" if rng.random() < 0.85 else rng.choice([".x", "[0]"]))

    def expression() -> tuple[str, dict[str, str], dict[str, Any]]:
        holder: dict[str, str] = {}
        vals: dict[str, Any] = {}

        def v() -> str:
            placeholder = f":{len(vals)}"
            vals[placeholder] = value() if rng.random() < 0.8 else {"N": "1"}
            return placeholder

        clauses = []
        if rng.random() < 0.85:
            actions = []
            for _ in range(rng.randint(1, 4)):
                shape = rng.random()
                if shape < 0.7:
                    actions.append(f"{path(holder)} = {v()}")
                elif shape < 0.8:
                    actions.append(f"{path(holder)} = if_not_exists({path(holder)}, {v()})")
                elif shape < 0.9:
                    actions.append(f"{path(holder)} = {path(holder)} + {v()}")
                else:
                    actions.append(f"{path(holder)} = list_append({path(holder)}, {v()})")
            clauses.append("SET " + ", ".join(actions))
        if rng.random() < 0.4:
            clauses.append("REMOVE " + ", ".join(path(holder) for _ in range(rng.randint(1, 2))))
        if rng.random() < 0.15:
            clauses.append(f"ADD {path(holder)} {v()}")
        if rng.random() < 0.05:
            clauses.append(f"DELETE {path(holder)} {v()}")
        if rng.random() < 0.03:
            clauses.append("SET")  # not an expression
        if not clauses or rng.random() < 0.05:
            clauses.append(f"SET {path(holder)} = :undefined")
        rng.shuffle(clauses)
        if rng.random() < 0.1 and vals:
            vals.pop(rng.choice(list(vals)))  # a :value used but not given
        if rng.random() < 0.05:
            vals[":unused"] = {"S": "u"}
        if rng.random() < 0.05:
            holder["#unused"] = "a"
        if rng.random() < 0.05 and holder:
            holder.pop(rng.choice(list(holder)))
        return " ".join(clauses), holder, vals

    def condition(holder: dict[str, str], vals: dict[str, Any]) -> dict[str, Any]:
        kind = rng.choice([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7])
        if kind == 0:
            return {}
        if kind == 1:
            return {"ConditionExpression": "attribute_exists(h)"}
        if kind == 2:
            return {"ConditionExpression": "attribute_not_exists(h)"}
        if kind == 3:
            holder["#c"], vals[":c"] = "n", {"N": str(rng.randint(0, 3))}
            return {"ConditionExpression": "#c = :c"}
        if kind == 4:
            vals[":c"] = {"S": "x"}
            return {"ConditionExpression": "begins_with(a, :c) OR (attribute_exists(b) AND NOT n > :c)"}
        if kind == 5:
            return {"ConditionExpression": "size(l) > :nope"}
        if kind == 6:
            return {"ConditionExpression": "a = = b"}
        holder["#c"] = "g"
        return {"ConditionExpression": "attribute_not_exists(#c) OR attribute_type(#c, :t)"} | (
            vals.update({":t": {"S": "S"}}) or {})

    def expression_args(holder: dict[str, str], vals: dict[str, Any]) -> dict[str, Any]:
        return ({"ExpressionAttributeNames": holder} if holder else {}) | (
            {"ExpressionAttributeValues": vals} if vals else {})

    def item() -> dict[str, Any]:
        attrs = {**some_key(), **{n: value() for n in rng.sample(names, rng.randint(0, 5))}}
        if rng.random() < 0.02:
            attrs["big"] = {"S": "z" * 404_000}
        return attrs

    def answer(call: Any, **kwargs: Any) -> None:
        try:
            got = call(**kwargs)
            out.append({k: v for k, v in got.items() if k != "ResponseMetadata"})
        except ClientError as e:
            out.append(("error", e.response["Error"]))
        except Exception as e:  # moto's own failures must be the same too
            out.append(("raised", type(e).__name__, str(e)))

    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x")
        client.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "h", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("h", "r", "g")],
            GlobalSecondaryIndexes=[{"IndexName": "by-g", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}])
        for _ in range(steps):
            kind = rng.random()
            if kind < 0.55:
                text, holder, vals = expression()
                extra = condition(holder, vals)
                returns = rng.choice(["NONE", "ALL_NEW", "ALL_OLD", "UPDATED_NEW", "UPDATED_OLD"])
                failure = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"} if rng.random() < 0.3 else {}
                answer(client.update_item, TableName="t", Key=some_key(), UpdateExpression=text,
                       ReturnValues=returns, **extra, **failure, **expression_args(holder, vals))
            elif kind < 0.75:
                holder, vals = {}, {}
                extra = condition(holder, vals)
                answer(client.put_item, TableName="t", Item=item(), ReturnValues=rng.choice(["NONE", "ALL_OLD"]),
                       **extra, **expression_args(holder, vals))
            elif kind < 0.82:
                holder, vals = {}, {}
                extra = condition(holder, vals)
                answer(client.delete_item, TableName="t", Key=some_key(), ReturnValues="ALL_OLD", **extra,
                       **expression_args(holder, vals))
            elif kind < 0.9:
                writes = []
                for _ in range(rng.randint(1, 3)):
                    text, holder, vals = expression()
                    extra = condition(holder, vals)
                    writes.append({"Update": {"TableName": "t", "Key": some_key(), "UpdateExpression": text,
                                              **extra, **expression_args(holder, vals)}})
                answer(client.transact_write_items, TransactItems=writes)
            elif kind < 0.95:
                holder, vals = {}, {":h": {"S": f"h{rng.randint(0, 3)}"}}
                extra = condition(holder, vals)
                answer(client.query, TableName="t", KeyConditionExpression="h = :h",
                       **({"FilterExpression": extra["ConditionExpression"]} if extra else {}),
                       **expression_args(holder, vals))
            else:
                holder, vals = {}, {}
                extra = condition(holder, vals)
                answer(client.scan, TableName="t", **({"FilterExpression": extra["ConditionExpression"]}
                                                      if extra else {}), **expression_args(holder, vals))
        out.append(sorted(client.scan(TableName="t")["Items"], key=lambda i: (i["h"]["S"], i["r"]["S"])))
    return out


def test_cached_parses_summed_sizes_and_one_map_walks_answer_every_write_and_read_as_moto_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's answers to the same random writes and reads, before and after `conditions_lexed_once`,
    `conditions_parsed_once`, `update_expressions_parsed_once`, `traversals_with_one_map`, `clauses_found_by_class`,
    `item_sizes_summed_once` and `sizes_without_copies`, are the same, down to each error's code and message."""
    from collections import Counter

    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.validators import Validator

    from local import moto_fidelity

    _restored(monkeypatch, ConditionExpressionParser, "_lex_condition_expression", "parse")
    _restored(monkeypatch, UpdateExpressionParser, "make")
    _restored(monkeypatch, Validator, "__init__")
    _restored(monkeypatch, DepthFirstTraverser, "traverse")
    _restored(monkeypatch, Node, "find_clauses")
    _restored(monkeypatch, Item, "__init__")
    _restored(monkeypatch, DynamoType, "size")
    moto_says = _random_writes_and_reads(11, 1200)
    moto_fidelity.conditions_lexed_once()
    moto_fidelity.conditions_parsed_once()
    moto_fidelity.update_expressions_parsed_once()
    moto_fidelity.traversals_with_one_map()
    moto_fidelity.clauses_found_by_class()
    moto_fidelity.item_sizes_summed_once()
    moto_fidelity.sizes_without_copies()
    fixed_says = _random_writes_and_reads(11, 1200)
    for step, (moto_answer, fixed_answer) in enumerate(zip(moto_says, fixed_says, strict=True)):
        assert fixed_answer == moto_answer, step
    kinds = Counter(a[1]["Code"] if isinstance(a, tuple) and a[0] == "error" else a[0] if isinstance(a, tuple)
                    else "ok" for a in moto_says[:-1])
    assert kinds["ok"] > 250 and kinds["ValidationException"] > 150 and kinds["ConditionalCheckFailedException"] > 100
    assert len(moto_says[-1]) > 8  # the table ends with items: the final comparison means something


def test_sizes_without_copies_are_moto_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kind of value, nested maps and lists, sets, empty ones, multi-byte strings: the same size."""
    import random

    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from local.moto_fidelity import sizes_without_copies

    rng = random.Random(3)

    def value(depth: int) -> dict[str, Any]:
        kind = rng.choice(["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"] + (["L", "M"] * 2 if depth < 4 else []))
        if kind == "L":
            return {"L": [value(depth + 1) for _ in range(rng.randint(0, 4))]}
        if kind == "M":
            return {"M": {rng.choice(["a", "bé", "ccc", "€"]) + str(i): value(depth + 1)
                          for i in range(rng.randint(0, 4))}}
        leaves: dict[str, dict[str, Any]] = {
                "S": {"S": rng.choice(["", "x", "é€", "y" * 50])}, "N": {"N": rng.choice(["0", "-1.5", "12345"])},
                "B": {"B": rng.choice([b"", b"\x00\xff"])}, "BOOL": {"BOOL": rng.random() < 0.5},
                "NULL": {"NULL": True}, "SS": {"SS": ["a", "bé"]}, "NS": {"NS": ["1", "22"]},
                "BS": {"BS": [b"x", b"yz"]}}
        return leaves[kind]

    values = [DynamoType(value(0)) for _ in range(800)]
    items = [Item(DynamoType({"S": "h"}), None, {f"a{i}": value(1) for i in range(rng.randint(0, 6))})
             for _ in range(200)]
    _restored(monkeypatch, DynamoType, "size")
    moto_sizes = [v.size() for v in values], [i.size() for i in items]
    sizes_without_copies()
    assert ([v.size() for v in values], [i.size() for i in items]) == moto_sizes
    assert len(set(moto_sizes[0])) > 50  # sizes of all sorts were compared


def test_items_not_tracked_answer_as_tracked_ones_and_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same random writes and reads answer the same once Items are no longer tracked, and then no Item is kept
    but the ones in the tables (other models are still tracked)."""
    import boto3
    from moto import mock_aws
    from moto.core.common_models import BaseModel
    from moto.dynamodb.models.dynamo_type import Item
    from moto.sqs.models import Queue

    from local.moto_fidelity import items_not_tracked

    monkeypatch.setattr(Item, "__new__", BaseModel.__dict__["__new__"], raising=False)  # restored
    moto_says = _random_writes_and_reads(5, 300)
    items_not_tracked()
    assert _random_writes_and_reads(5, 300) == moto_says
    tracked: list[int] = []
    with mock_aws():
        client = table_t()
        for h in range(20):
            client.put_item(TableName="t", Item={"h": {"S": f"h{h}"}, "r": {"S": "x"}})
            client.update_item(TableName="t", Key=key(f"h{h}"), UpdateExpression="SET n = :n",
                               ExpressionAttributeValues={":n": {"N": "1"}})
        sqs = boto3.client("sqs", region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x")
        sqs.create_queue(QueueName="q")
        tracked.extend((len(Item.instances_tracked), len(Queue.instances_tracked)))  # type: ignore[attr-defined]
    assert tracked == [0, 1]
