"""The bench's moto server rolls a cancelled transaction back item by item instead of deep-copying whole tables:
it must leave the tables exactly as moto's own rollback does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws
    from moto.dynamodb.models import DynamoDBBackend

    from local.moto_fidelity import rollback_only_touched_items

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", DynamoDBBackend.transact_write_items)  # restored
    rollback_only_touched_items()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x")
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "h", "KeyType": "HASH"},
                                       {"AttributeName": "r", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "S"},
                                                  {"AttributeName": "r", "AttributeType": "S"}])
        for h in ("a", "b", "c"):
            client.put_item(TableName="t", Item={"h": {"S": h}, "r": {"S": "x"}, "n": {"N": "1"}})
        yield client


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
