"""What every capability's erasure does with its own tables and buckets (functions/accounts/erasure.py calls each
capability's `erase_space`): delete a whole partition by key (one consistent Query, keys only, then batch
deletes), and every object version and delete marker under a key prefix (ListObjectVersions + DeleteObjects).
Never a Scan: the person's items are found by their partition key or by the keys their own items point to."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pynamodb.models import Model

DELETE_OBJECTS_LIMIT = 1000
M = TypeVar("M", bound=Model)


def delete_partition(model: type[Model], hash_key: str) -> int:
    """Every item of one partition of `model`'s table (whatever their kind): returns how many."""
    found = partition_keys(model, hash_key)
    delete_items(model, found)
    return len(found)


def partition_keys(model: type[M], hash_key: str) -> list[M]:
    """The items of one partition, keys only (one paged Query): what a deletion needs of them."""
    meta: Any = model
    names = [meta._hash_keyname] + ([meta._range_keyname] if meta._range_keyname else [])
    return list(model.query(hash_key, consistent_read=True, attributes_to_get=names))


def delete_items(model: type[Model], items: Iterable[Model]) -> None:
    with model.batch_write() as batch:
        for item in items:
            batch.delete(item)


def delete_versions(s3: Any, bucket: str, prefix: str) -> int:
    """Every version and delete marker of every object under `prefix` (a versioned bucket keeps old versions
    after a plain DeleteObject): returns how many were deleted."""
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
        for start in range(0, len(doomed), DELETE_OBJECTS_LIMIT):
            chunk = doomed[start:start + DELETE_OBJECTS_LIMIT]
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
            if answer.get("Errors"):
                raise RuntimeError(f"{len(answer['Errors'])} object versions could not be deleted")
            deleted += len(chunk)
    return deleted
