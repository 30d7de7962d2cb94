"""The attachments bucket (`MES_ATTACHMENTS_BUCKET`): one object per attachment under
`<holder pseudonym>/<message id>/<attachment id>`, SSE-KMS under the project key with the encryption context
{"mes:patient": <pseudonym>, "mes:message": <message id>}, so an object decrypts only for the message it belongs
to; no INS in a key or a context (both reach CloudTrail in clear). API uploads
arrive through quarantine (records' presigned POST, records' verifier) and are promoted here; MIME attachments
are put directly (`put`, `delete` if the mail does not land). Downloads are short-lived presigned GETs. Presigning is
local: no AWS call.

With the space keys (`MES_ENVELOPE_ENCRYPTION=1`), every stored attachment is also sealed under its space's data key
exactly as records' documents are (functions/shared/sealing.py: one implementation), so the erasure's
crypto-shredding covers them: a download then opens it into a plaintext copy `downloads/<patient pseudonym>/
attachments/<message>/<attachment>` of the quarantine bucket (expired after a day; erased with the person's other
copies under `downloads/<pseudonym>/`) and presigns that copy. An attachment stored before is served as it is."""

from __future__ import annotations

import base64
import json
from typing import Any

from functions.messaging.models import ATTACHMENT_TYPES
from functions.shared.privacy import digest
from functions.shared.sealing import DOWNLOADS_PREFIX, DataKeys, SealedObjects


def attachment_prefix(holder_ins: str) -> str:
    """Under the holder's pseudonym, never the INS: object keys reach CloudTrail data events and access logs."""
    return f"{digest('ins', holder_ins)}/"


def attachment_key(holder_ins: str, message_id: str, attachment_id: str) -> str:
    return f"{attachment_prefix(holder_ins)}{message_id}/{attachment_id}"


def context(holder_ins: str, message_id: str) -> dict[str, str]:
    """Binds an attachment to its holder and message. The pseudonym, not the INS: KMS writes the encryption
    context in clear into CloudTrail for every GenerateDataKey and Decrypt."""
    return {"mes:patient": digest("ins", holder_ins), "mes:message": message_id}


def encryption_context(holder_ins: str, message_id: str) -> str:
    """The SSE-KMS context header: base64 of the JSON object, keys sorted."""
    return base64.b64encode(json.dumps(context(holder_ins, message_id), sort_keys=True).encode()).decode()


def download_copy_key(holder_ins: str, message_id: str, attachment_id: str) -> str:
    """The plaintext copy a download of a sealed attachment points to: no INS in the key, under the person's
    `downloads/<pseudonym>/` like the documents' copies (one prefix the erasure clears)."""
    return f"{DOWNLOADS_PREFIX}{digest('ins', holder_ins)}/attachments/{message_id}/{attachment_id}"


def _served_as(content_type: str) -> str:
    """Text was checked as UTF-8 by the verifier: served with that charset."""
    return "text/plain; charset=utf-8" if content_type == "text/plain" else content_type


class S3AttachmentBlobs:
    """Fits `functions.messaging.ports.AttachmentBlobs`."""

    def __init__(self, s3: Any, bucket: str, kms_key_id: str, quarantine_bucket: str,
                 keys: DataKeys | None = None) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id
        self._quarantine = quarantine_bucket
        self._sealed = SealedObjects(s3, kms_key_id, keys, quarantine_bucket) if keys is not None else None

    def put(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str, data: bytes) -> None:
        if self._sealed is not None:
            self._sealed.put(self._bucket, attachment_key(holder_ins, message_id, attachment_id), holder_ins, data,
                             content_type, context(holder_ins, message_id))
            return
        self._s3.put_object(Bucket=self._bucket, Key=attachment_key(holder_ins, message_id, attachment_id),
                            Body=data, ContentType=content_type, ServerSideEncryption="aws:kms",
                            SSEKMSKeyId=self._kms_key_id,
                            SSEKMSEncryptionContext=encryption_context(holder_ins, message_id),
                            BucketKeyEnabled=False)

    def promote(self, quarantine_key: str, etag: str, holder_ins: str, message_id: str, attachment_id: str,
                content_type: str) -> None:
        """Exactly the version the verifier read (If-Match on its ETag), with the attachment's context: sealed
        under the space's key (GET, seal, PUT) with the envelope, else a server-side copy."""
        if self._sealed is not None:
            self._sealed.promote(self._quarantine, quarantine_key, etag, self._bucket,
                                 attachment_key(holder_ins, message_id, attachment_id), holder_ins, content_type,
                                 context(holder_ins, message_id))
            return
        self._s3.copy_object(Bucket=self._bucket, Key=attachment_key(holder_ins, message_id, attachment_id),
                             CopySource={"Bucket": self._quarantine, "Key": quarantine_key},
                             CopySourceIfMatch=etag, MetadataDirective="REPLACE", ContentType=content_type,
                             ServerSideEncryption="aws:kms", SSEKMSKeyId=self._kms_key_id,
                             SSEKMSEncryptionContext=encryption_context(holder_ins, message_id),
                             BucketKeyEnabled=False)

    def presign_download(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str,
                         ttl_seconds: int) -> str:
        """A forced attachment of the verified type, not cached. The file name is the attachment's id, never the
        name the sender gave it: the URL's query string ends up in S3 access logs, and a name is health data."""
        extension = ATTACHMENT_TYPES.get(content_type, "bin")
        bucket, key = self._bucket, attachment_key(holder_ins, message_id, attachment_id)
        if self._sealed is not None:
            copy = download_copy_key(holder_ins, message_id, attachment_id)
            bucket, key = self._sealed.downloadable(bucket, key, holder_ins, content_type, copy,
                                                    {"mes:patient": digest("ins", holder_ins), "mes:download": copy})
        params = {"Bucket": bucket, "Key": key,
                  "ResponseContentType": _served_as(content_type),
                  "ResponseContentDisposition": f'attachment; filename="piece-jointe_{attachment_id}.{extension}"',
                  "ResponseCacheControl": "no-store"}
        url: str = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_seconds)
        return url

    def read(self, holder_ins: str, message_id: str, attachment_id: str) -> bytes:
        """The plaintext (opened under the space's key when sealed): the holder's export."""
        key = attachment_key(holder_ins, message_id, attachment_id)
        if self._sealed is not None:
            return self._sealed.read(self._bucket, key, holder_ins)
        data: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return data

    def location(self, holder_ins: str, message_id: str, attachment_id: str) -> tuple[str, str]:
        """Where the record's filing reads it (records opens a sealed one with the same space key)."""
        return self._bucket, attachment_key(holder_ins, message_id, attachment_id)

    def delete(self, holder_ins: str, message_id: str, attachment_id: str) -> None:
        """A MIME attachment of a mail that did not land: no object left behind."""
        self._s3.delete_object(Bucket=self._bucket, Key=attachment_key(holder_ins, message_id, attachment_id))
