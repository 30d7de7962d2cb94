"""S3 adapter: presigned POST into quarantine, streaming reads for the verifier, promotion into the records
bucket under SSE-KMS with an encryption context, and short-lived download URLs. Presigning is local: no AWS call.

With the space's data keys (accounts' `SpaceKeys`), a promoted object is also sealed under its space's key
(functions/shared/sealing.py, the same code as messaging's attachments: AES-256-GCM, associated data = its key;
metadata `envelope`), so destroying that key erases every copy. A download then opens it into a short-lived
plaintext copy (`downloads/<patient pseudonym>/<document id>` in the quarantine bucket: SSE-KMS, expired after a day
by its lifecycle, ignored by the verifier) that the presigned URL points to; deleting the record deletes it too, so a
link stops working with its document. An object without the metadata (stored before the envelope) is served as is."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from functions.records.models import PresignedPost, QuarantinedObject
from functions.shared.erasing import delete_versions
from functions.shared.privacy import digest
from functions.shared.sealing import DOWNLOADS_PREFIX, DataKeys, SealedObjects, sse


def downloads_prefix(patient_ins: str) -> str:
    return f"{DOWNLOADS_PREFIX}{digest('ins', patient_ins)}/"


def download_copy_key(record_key: str) -> str:
    """`records/<pseudonym>/<document>` -> `downloads/<pseudonym>/<document>`: one copy per document, replaced by
    each read, deleted with the record (the presigned URL is what is secret, not the key)."""
    return DOWNLOADS_PREFIX + record_key.removeprefix("records/")

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
    def __init__(self, s3: Any, quarantine_bucket: str, records_bucket: str, kms_key_id: str,
                 keys: DataKeys | None = None) -> None:
        self._s3 = s3
        self._quarantine = quarantine_bucket
        self._records = records_bucket
        self._kms_key_id = kms_key_id
        self._sealed = SealedObjects(s3, kms_key_id, keys, quarantine_bucket) if keys is not None else None

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

    def promote(self, key: str, etag: str, record_key: str, content_type: str, context: dict[str, str],
                patient_ins: str | None = None) -> None:
        """Exactly the version that was verified (If-Match on its ETag), under the project key with the
        patient/document encryption context: sealed under the space's data key (GET, seal, PUT) when the space
        is given and keys are wired, else a server-side copy."""
        if self._sealed is not None and patient_ins is not None:
            self._sealed.promote(self._quarantine, key, etag, self._records, record_key, patient_ins, content_type,
                                 context)
            return
        self._s3.copy_object(
            Bucket=self._records,
            Key=record_key,
            CopySource={"Bucket": self._quarantine, "Key": key},
            CopySourceIfMatch=etag,
            MetadataDirective="REPLACE",
            ContentType=content_type,
            **sse(self._kms_key_id, context),
        )

    def import_object(self, source_bucket: str, source_key: str, record_key: str, content_type: str,
                      context: dict[str, str], patient_ins: str | None = None) -> None:
        """An object another capability verified and keeps (a message attachment) into the records bucket under
        the records' encryption context: with the envelope (and the space given), read and opened if it is
        sealed (under the same space's key, its own key as associated data), then sealed again under the record's
        key, since a sealed blob does not open under another key; without it, a server-side copy."""
        if self._sealed is not None and patient_ins is not None:
            plaintext = self._sealed.read(source_bucket, source_key, patient_ins)
            self._sealed.put(self._records, record_key, patient_ins, plaintext, content_type, context)
            return
        self._s3.copy_object(
            Bucket=self._records,
            Key=record_key,
            CopySource={"Bucket": source_bucket, "Key": source_key},
            MetadataDirective="REPLACE",
            ContentType=content_type,
            **sse(self._kms_key_id, context),
        )

    def discard_quarantined(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._quarantine, Key=key)

    def delete_record(self, record_key: str) -> None:
        self._s3.delete_object(Bucket=self._records, Key=record_key)
        if self._sealed is not None:  # its plaintext copy, if it was ever read: the link dies with the document
            self._sealed.discard_copy(download_copy_key(record_key))

    def read_record(self, record_key: str, patient_ins: str) -> bytes:
        """The original's bytes, opened when it is sealed under the space's key (the export reads them)."""
        if self._sealed is not None:
            return self._sealed.read(self._records, record_key, patient_ins)
        obj = self._s3.get_object(Bucket=self._records, Key=record_key)
        try:
            data: bytes = obj["Body"].read()
        finally:
            obj["Body"].close()
        return data

    def presign_download(self, record_key: str, ttl_seconds: int, content_type: str, name: str,
                         patient_ins: str | None = None) -> str:
        """`content_type` is the verified one (declared, and matched by the bytes). The URL makes S3 answer it as
        an attachment of that type, not cached: a PDF with JavaScript, a PDF/HTML polyglot or HTML declared as
        text never renders inline. S3 cannot add `X-Content-Type-Options: nosniff` to a GetObject answer; a
        forced attachment with the verified type is what it allows."""
        bucket, key = self._records, record_key
        if self._sealed is not None and patient_ins is not None:
            copy = download_copy_key(record_key)
            bucket, key = self._sealed.downloadable(self._records, record_key, patient_ins, content_type, copy,
                                                    {"mes:patient": digest("ins", patient_ins), "mes:download": copy})
        served, extension = download_type(content_type)
        params = {"Bucket": bucket, "Key": key, "ResponseContentType": served,
                  "ResponseContentDisposition": f'attachment; filename="{_safe(name)}.{extension}"',
                  "ResponseCacheControl": "no-store"}
        url: str = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_seconds)
        return url

    def erase_space(self, patient_ins: str, document_ids: list[str]) -> int:
        """Every version of the person's records, download copies and quarantined uploads."""
        removed = delete_versions(self._s3, self._records, f"records/{digest('ins', patient_ins)}/")
        removed += delete_versions(self._s3, self._quarantine, downloads_prefix(patient_ins))
        for document_id in document_ids:
            removed += delete_versions(self._s3, self._quarantine, f"uploads/{document_id}")
        return removed


def _safe(name: str) -> str:
    """A file name every browser keeps as is inside `filename="..."`: ASCII letters, digits, `_`, `-`, `.`."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:100] or "document"
