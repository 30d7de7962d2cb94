"""S3 adapter: presigned POST into quarantine, streaming reads for the verifier, promotion into the records
bucket under SSE-KMS with an encryption context, and short-lived download URLs. Presigning is local: no AWS call."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from functions.records.models import PresignedPost, QuarantinedObject

CHUNK_BYTES = 256 * 1024
# Verified content type -> (type served on download, file extension). Text was checked as UTF-8 by the verifier,
# so it is served with that charset; a type not listed (none is accepted today) is served as opaque bytes.
_DOWNLOADS = {
    "application/pdf": ("application/pdf", "pdf"),
    "application/xml": ("application/xml", "xml"),
    "text/xml": ("text/xml", "xml"),
    "image/jpeg": ("image/jpeg", "jpg"),
    "image/png": ("image/png", "png"),
    "image/tiff": ("image/tiff", "tif"),
    "application/rtf": ("application/rtf", "rtf"),
    "text/rtf": ("text/rtf", "rtf"),
    "text/plain": ("text/plain; charset=utf-8", "txt"),
}


def download_type(verified_content_type: str) -> tuple[str, str]:
    return _DOWNLOADS.get(verified_content_type, ("application/octet-stream", "bin"))


class S3BlobStore:
    def __init__(self, s3: Any, quarantine_bucket: str, records_bucket: str, kms_key_id: str) -> None:
        self._s3 = s3
        self._quarantine = quarantine_bucket
        self._records = records_bucket
        self._kms_key_id = kms_key_id

    def presign_upload(self, key: str, patient_ins: str, uploader: str, content_type: str, size: int,
                       now: datetime, expires_at: datetime) -> PresignedPost:
        """Every field the uploader sends is pinned by an exact-match condition; S3 refuses anything else. The
        patient and the uploader (a pseudonym of the declaring caller) travel as object metadata, so the verifier
        can hold the object to its declaration, not to its key alone."""
        fields = {
            "Content-Type": content_type,
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": self._kms_key_id,
            "x-amz-meta-patient": patient_ins,
            "x-amz-meta-uploader": uploader,
        }
        conditions: list[Any] = [{"bucket": self._quarantine}, {"key": key}]
        conditions += [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", size, size])
        expires_in = max(1, int((expires_at - now).total_seconds()))
        post = self._s3.generate_presigned_post(self._quarantine, key, Fields=fields, Conditions=conditions,
                                                ExpiresIn=expires_in)
        return PresignedPost(url=post["url"], fields=post["fields"])

    def open_quarantined(self, key: str) -> QuarantinedObject | None:
        try:
            obj = self._s3.get_object(Bucket=self._quarantine, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                return None
            raise
        metadata = obj.get("Metadata", {})
        return QuarantinedObject(
            patient_ins=metadata.get("patient"),
            content_type=obj.get("ContentType"),
            etag=obj["ETag"],
            chunks=obj["Body"].iter_chunks(CHUNK_BYTES),
            close=obj["Body"].close,
            uploader=metadata.get("uploader"),
            last_modified=obj["LastModified"],
        )

    def promote(self, key: str, etag: str, record_key: str, content_type: str, context: dict[str, str]) -> None:
        """Server-side copy of exactly the version that was verified (If-Match on its ETag), re-encrypted under
        the project key with the patient/document encryption context."""
        self._s3.copy_object(
            Bucket=self._records,
            Key=record_key,
            CopySource={"Bucket": self._quarantine, "Key": key},
            CopySourceIfMatch=etag,
            MetadataDirective="REPLACE",
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self._kms_key_id,
            SSEKMSEncryptionContext=base64.b64encode(json.dumps(context, sort_keys=True).encode()).decode(),
            BucketKeyEnabled=False,
        )

    def import_object(self, source_bucket: str, source_key: str, record_key: str, content_type: str,
                      context: dict[str, str]) -> None:
        """A server-side copy of an object another capability verified and keeps (a message attachment) into
        the records bucket, re-encrypted under the records' encryption context: the bytes never leave S3."""
        self._s3.copy_object(
            Bucket=self._records,
            Key=record_key,
            CopySource={"Bucket": source_bucket, "Key": source_key},
            MetadataDirective="REPLACE",
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self._kms_key_id,
            SSEKMSEncryptionContext=base64.b64encode(json.dumps(context, sort_keys=True).encode()).decode(),
            BucketKeyEnabled=False,
        )

    def discard_quarantined(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._quarantine, Key=key)

    def delete_record(self, record_key: str) -> None:
        self._s3.delete_object(Bucket=self._records, Key=record_key)

    def read_record(self, record_key: str) -> bytes:
        data: bytes = self._s3.get_object(Bucket=self._records, Key=record_key)["Body"].read()
        return data

    def presign_download(self, record_key: str, ttl_seconds: int, content_type: str, name: str) -> str:
        """`content_type` is the verified one (declared, and matched by the bytes). The URL makes S3 answer it as
        an attachment of that type, not cached: a PDF with JavaScript, a PDF/HTML polyglot or HTML declared as
        text never renders inline. S3 cannot add `X-Content-Type-Options: nosniff` to a GetObject answer; a
        forced attachment with the verified type is what it allows."""
        served, extension = download_type(content_type)
        params = {"Bucket": self._records, "Key": record_key, "ResponseContentType": served,
                  "ResponseContentDisposition": f'attachment; filename="{_safe(name)}.{extension}"',
                  "ResponseCacheControl": "no-store"}
        url: str = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_seconds)
        return url


def _safe(name: str) -> str:
    """A file name every browser keeps as is inside `filename="..."`: ASCII letters, digits, `_`, `-`, `.`."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:100] or "document"
