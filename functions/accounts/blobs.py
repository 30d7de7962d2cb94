"""The proofs bucket (MES_PROOFS_BUCKET, SSE-KMS under the project key): proofs of opposition under
`opposition/<reference>.pdf` and postal letters' print records under `letters/<id>.json`, each encrypted
with a context binding it to its person (the INS's keyed digest, never the INS)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from functions.shared.clock import PARIS
from functions.shared.ids import new_id
from functions.shared.privacy import digest


def _context(ins: str, what: str) -> str:
    return base64.b64encode(json.dumps({"mes:patient": digest("ins", ins), "mes:object": what},
                                       sort_keys=True).encode()).decode()


def proof_key(reference: str) -> str:
    return f"opposition/{reference}.pdf"


class S3Proofs:
    """`functions.accounts.ports.ProofStore` and `Letters` on S3."""

    def __init__(self, s3: Any, bucket: str, kms_key_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def has(self, reference: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=proof_key(reference))
        except self._s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def put(self, reference: str, ins: str, pdf: bytes) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=proof_key(reference), Body=pdf, ContentType="application/pdf",
                            ServerSideEncryption="aws:kms", SSEKMSKeyId=self._kms_key_id,
                            SSEKMSEncryptionContext=_context(ins, reference))

    def link(self, reference: str, ins: str, ttl_seconds: int) -> str:
        params = {"Bucket": self._bucket, "Key": proof_key(reference), "ResponseContentType": "application/pdf",
                  "ResponseContentDisposition": f'attachment; filename="attestation-opposition-{reference}.pdf"',
                  "ResponseCacheControl": "no-store"}
        url: str = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_seconds)
        return url

    def print_code(self, ins: str, name: str, address: str, code: str, expires_at: datetime) -> None:
        """One print record per letter, for the print provider (who alone reads the bucket's `letters/`)."""
        record_id = new_id("letter")
        day = expires_at.astimezone(PARIS).date().isoformat()
        body = json.dumps({"kind": "enrolment_code", "name": name, "address": address, "code": code,
                           "valid_until": day}, ensure_ascii=False).encode()
        self._s3.put_object(Bucket=self._bucket, Key=f"letters/{record_id}.json", Body=body,
                            ContentType="application/json", ServerSideEncryption="aws:kms",
                            SSEKMSKeyId=self._kms_key_id, SSEKMSEncryptionContext=_context(ins, record_id))


class ProofsErasure:
    """`functions.accounts.ports.SpaceEraser` for the proofs bucket: the person's proof of opposition, every
    version, found by the reference their space item keeps (`reference_of`). Only a closed space is erased, and a
    space is closed only after it was activated, which ended the opposition: the proof has nothing left to prove
    (a space that stays opposed is never erased and keeps it). Letters' print records are not named by the person
    (a random id) and expire after 30 days (infra)."""

    def __init__(self, s3: Any, bucket: str, reference_of: Callable[[str], str | None]) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._reference_of = reference_of

    def erase_space(self, ins: str) -> int:
        from functions.shared.erasing import delete_versions

        reference = self._reference_of(ins)
        return 0 if reference is None else delete_versions(self._s3, self._bucket, proof_key(reference))
