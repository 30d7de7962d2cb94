"""Signed export of a patient's trace chain (GDPR access, and proof for disputes). The payload is canonical JSON;
the signed message is its 32-byte SHA-256 digest (RAW message type, so the payload may exceed KMS's 4 KB message
limit and the scheme is the same on KMS and moto), signed with an asymmetric KMS key (ECDSA P-256, SHA-256) whose
private half never leaves KMS: anyone with the public key can check nothing was removed or altered."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from functions.journal.models import ChainHead, Trace, verify_chain

FORMAT = "mes-trace-export/1"
ALGORITHM = "ECDSA_SHA_256"


class Signer(Protocol):
    key_id: str

    def sign(self, digest: bytes) -> bytes: ...


class KmsSigner:
    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self.key_id = key_id

    def sign(self, digest: bytes) -> bytes:
        signature: bytes = self._kms.sign(KeyId=self.key_id, Message=digest, MessageType="RAW",
                                          SigningAlgorithm=ALGORITHM)["Signature"]
        return signature

    def public_key_der(self) -> bytes:
        key: bytes = self._kms.get_public_key(KeyId=self.key_id)["PublicKey"]
        return key


class SignedExport(BaseModel):
    format: str = FORMAT
    payload: str
    signature: str
    key_id: str
    algorithm: str = ALGORITHM


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def build(patient_ins: str, traces: list[Trace], head: ChainHead, at: datetime, signer: Signer) -> SignedExport:
    payload = canonical({"format": FORMAT, "patient_ins": patient_ins, "generated_at": at.isoformat(),
                         "head": head.model_dump(), "traces": [t.model_dump(mode="json") for t in traces]})
    signature = signer.sign(hashlib.sha256(payload.encode()).digest())
    return SignedExport(payload=payload, signature=base64.b64encode(signature).decode(), key_id=signer.key_id)


def check(export: SignedExport, public_key_der: bytes) -> list[str]:
    """Problems with an export (empty: the signature holds and the chain is intact from its first entry)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    problems = []
    key = load_der_public_key(public_key_der)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    digest = hashlib.sha256(export.payload.encode()).digest()
    try:
        key.verify(base64.b64decode(export.signature), digest, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        problems.append("signature does not match the payload (the export was altered)")
    data = json.loads(export.payload)
    traces = [Trace.model_validate(t) for t in data["traces"]]
    problems += verify_chain(traces, ChainHead.model_validate(data["head"]))
    return problems
