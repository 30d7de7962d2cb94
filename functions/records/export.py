"""The record's part of a holder's export (mes-rules-next.md B.5): every document the holder can see, as the
original file, and a FHIR R4 `Bundle` (type `collection`) of one `DocumentReference` per document carrying its
metadata as the DMP's XDS metadata map to FHIR (ANS PDSm: type = LOINC class code, masterIdentifier = the document's
id, subject = the INS, author, date, description = the title, content = the file inside the archive).
Built with fhir.resources (R4B models: R4-compatible for DocumentReference), so the output is valid FHIR."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from functions.identity.ins import INS_SYSTEM
from functions.records.blobs import download_type
from functions.records.catalog import known_document_types
from functions.records.models import Document, DocumentFilter
from functions.records.ports import BlobStore, DocumentStore

LOINC = "http://loinc.org"
PAGE = 100


def _reference(doc: Document, path: str, data: bytes) -> dict[str, Any]:
    from fhir.resources.R4B.documentreference import DocumentReference

    kind = known_document_types().get(doc.type_code)
    author = doc.author
    who = author.name or ("Le patient" if author.kind == "patient" else "Professionnel de santé")
    resource = DocumentReference.model_validate({
        "resourceType": "DocumentReference",
        "id": doc.document_id.replace("_", "-"),
        "masterIdentifier": {"system": "urn:mes:document", "value": doc.document_id},
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": doc.type_code,
                             **({"display": kind.label} if kind else {})}]},
        "subject": {"identifier": {"system": INS_SYSTEM, "value": doc.patient_ins}},
        "date": (doc.available_at or doc.created_at).isoformat(),
        "author": [{"display": who}],
        "description": doc.declaration.title,
        "securityLabel": ([{"coding": [{"system": "urn:mes:visibility", "code": "MASQUE_PS"}]}]
                          if doc.hidden_from_professionals else None),
        "content": [{"attachment": {
            "contentType": doc.content_type, "url": path, "size": len(data), "title": doc.declaration.title,
            "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),  # noqa: S324 (FHIR R4 asks SHA-1)
            "creation": doc.declaration.service_date.isoformat()}}],
    })
    dumped: dict[str, Any] = resource.model_dump(mode="json", exclude_none=True)
    return dumped


class RecordExport:
    """Pages through the holder's visible documents (INVISIBLE_PATIENT ones stay out until released) and reads
    each original; the Bundle comes last, once every file is in."""

    def __init__(self, documents: DocumentStore, blobs: BlobStore) -> None:
        self._documents = documents
        self._blobs = blobs

    def _visible(self, ins: str) -> Iterator[Document]:
        after: str | None = None
        while True:
            docs, after = self._documents.list_visible_to_patient(ins, DocumentFilter(), after, PAGE)
            yield from (d for d in docs if d.available)
            if after is None:
                return

    def files(self, ins: str, at: datetime) -> Iterator[tuple[str, bytes]]:
        from fhir.resources.R4B.bundle import Bundle

        entries = []
        for doc in self._visible(ins):
            _, extension = download_type(doc.content_type)
            path = f"documents/{doc.download_name}.{extension}"
            data = self._blobs.read_record(doc.record_key, doc.patient_ins)
            entries.append({"fullUrl": f"urn:uuid:{doc.document_id}", "resource": _reference(doc, path, data)})
            yield path, data
        bundle = Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "timestamp": at.isoformat(),
                                        "entry": entries or None})
        yield "documents.fhir.json", bundle.model_dump_json(exclude_none=True, indent=2).encode()
