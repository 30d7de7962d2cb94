"""S3 adapter of the intake (`functions.accounts.ports.IntakeFiles`): the beneficiaries file streamed once for the
split, read again by byte range (pinned to the version split, `If-Match` on its ETag) by each chunk; the report
next to it; letters and SMS batches in the print bucket. Both buckets are SSE-KMS by default (infra)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

READ_CHUNK = 1 << 20


class S3IntakeFiles:
    def __init__(self, s3: Any, intake_bucket: str, print_bucket: str, kms_key_id: str) -> None:
        self._s3 = s3
        self._intake = intake_bucket
        self._print = print_bucket
        # both buckets refuse a PutObject that does not ask for SSE-KMS with the documents key (bucket policy)
        self._sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}

    def lines(self, key: str) -> tuple[str, Iterator[tuple[int, int, bytes]]]:
        response = self._s3.get_object(Bucket=self._intake, Key=key)
        return str(response["ETag"]), _numbered(response["Body"])

    def read(self, key: str, version: str, start: int, end: int) -> bytes | None:
        try:
            response = self._s3.get_object(Bucket=self._intake, Key=key, IfMatch=version,
                                           Range=f"bytes={start}-{end - 1}")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"PreconditionFailed", "NoSuchKey", "412"}:
                return None
            raise
        data: bytes = response["Body"].read()
        return data

    def put_report(self, key: str, body: str) -> None:
        self._s3.put_object(Bucket=self._intake, Key=key, Body=body.encode(), ContentType="application/json",
                           **self._sse)

    def put_print(self, key: str, body: str) -> None:
        self._s3.put_object(Bucket=self._print, Key=key, Body=body.encode(),
                           ContentType="application/x-ndjson", **self._sse)


def _numbered(body: Any) -> Iterator[tuple[int, int, bytes]]:
    """(line number from 1, byte offset of its start, its bytes without the newline), read 1 MiB at a time."""
    offset, n, rest = 0, 0, b""
    for block in iter(lambda: body.read(READ_CHUNK), b""):
        rest += block
        *complete, rest = rest.split(b"\n")
        for raw in complete:
            n += 1
            yield n, offset, raw
            offset += len(raw) + 1
    if rest:
        yield n + 1, offset, rest
