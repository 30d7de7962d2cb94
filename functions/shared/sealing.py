"""Objects sealed under their space's data key (functions/shared/envelope.py) in S3: the one implementation records'
documents and messaging's attachments both use, so destroying a space's key (accounts' `SpaceKeys.destroy`) shreds
both alike. A sealed object is `nonce | ciphertext+tag` (associated data = its own S3 key), still SSE-KMS at rest
with its owner's encryption context, and carries the metadata `envelope: aes-256-gcm`; an object without it (stored
before the envelope) is read as it is.

A presigned GET cannot decrypt, so a download opens the sealed object into a plaintext copy under `downloads/` of
the quarantine bucket (SSE-KMS, private, every object and version expired after a day by its lifecycle, its S3
event limited to `uploads/`) and presigns that copy; the owner deletes the copy with its object."""

from __future__ import annotations

import base64
import json
from typing import Any, Protocol

from functions.shared.envelope import seal, unseal

ENVELOPE = "aes-256-gcm"  # the `x-amz-meta-envelope` of a sealed object
DOWNLOADS_PREFIX = "downloads/"


class DataKeys(Protocol):
    """The slice of accounts' `SpaceKeys` sealing uses (structurally): the space's AES-256 key, made on first use."""

    def data_key(self, ins: str) -> bytes: ...


def sse(kms_key_id: str, context: dict[str, str]) -> dict[str, Any]:
    """PutObject/CopyObject parameters: SSE-KMS under the project key with `context` (sorted JSON, base64)."""
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id, "BucketKeyEnabled": False,
            "SSEKMSEncryptionContext": base64.b64encode(json.dumps(context, sort_keys=True).encode()).decode()}


def is_sealed(obj: dict[str, Any]) -> bool:
    """A GetObject/HeadObject answer of a sealed object."""
    return bool(obj.get("Metadata", {}).get("envelope") == ENVELOPE)


class SealedObjects:
    """Seal, open and hand out for download objects of one space's data (any bucket), with the S3 client, the
    project KMS key, the space keys and the bucket of the short-lived plaintext copies (quarantine)."""

    def __init__(self, s3: Any, kms_key_id: str, keys: DataKeys, downloads_bucket: str) -> None:
        self._s3 = s3
        self._kms_key_id = kms_key_id
        self._keys = keys
        self._downloads = downloads_bucket

    def put(self, bucket: str, key: str, ins: str, plaintext: bytes, content_type: str,
            context: dict[str, str]) -> None:
        self._s3.put_object(Bucket=bucket, Key=key, ContentType=content_type,
                            Body=seal(self._keys.data_key(ins), key, plaintext), Metadata={"envelope": ENVELOPE},
                            **sse(self._kms_key_id, context))

    def promote(self, source_bucket: str, source_key: str, etag: str, bucket: str, key: str, ins: str,
                content_type: str, context: dict[str, str]) -> None:
        """Exactly the verified version of a quarantined upload (If-Match its ETag), sealed: GET, seal, PUT (the
        whole object is held in memory: one AES-GCM call)."""
        self.put(bucket, key, ins, self._body(self._s3.get_object(Bucket=source_bucket, Key=source_key,
                                                                  IfMatch=etag)), content_type, context)

    def read(self, bucket: str, key: str, ins: str) -> bytes:
        """The object's plaintext: opened when sealed, as it is otherwise."""
        obj = self._s3.get_object(Bucket=bucket, Key=key)
        data = self._body(obj)
        return unseal(self._keys.data_key(ins), key, data) if is_sealed(obj) else data

    def downloadable(self, bucket: str, key: str, ins: str, content_type: str, copy_key: str,
                     copy_context: dict[str, str]) -> tuple[str, str]:
        """Where a presigned GET must point: a sealed object opened into its plaintext copy `copy_key` (replaced by
        each read) in the downloads bucket, or the object itself when it was stored before the envelope."""
        obj = self._s3.get_object(Bucket=bucket, Key=key)
        if not is_sealed(obj):
            obj["Body"].close()
            return bucket, key
        plaintext = unseal(self._keys.data_key(ins), key, self._body(obj))
        self._s3.put_object(Bucket=self._downloads, Key=copy_key, Body=plaintext, ContentType=content_type,
                            **sse(self._kms_key_id, copy_context))
        return self._downloads, copy_key

    def discard_copy(self, copy_key: str) -> None:
        """The plaintext copy of an object being deleted: its download link stops working with it."""
        self._s3.delete_object(Bucket=self._downloads, Key=copy_key)

    @staticmethod
    def _body(obj: dict[str, Any]) -> bytes:
        try:
            data: bytes = obj["Body"].read()
        finally:
            obj["Body"].close()
        return data
