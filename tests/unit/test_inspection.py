"""The verifier's byte checks: an upload that differs from its declaration in any way is rejected."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from functions.records.inspection import UploadInspector
from functions.records.models import Declaration, RejectionReason

CDA = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
       b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>CR</title></ClinicalDocument>')
SAMPLES = {
    "application/pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "image/tiff": b"II*\x00\x08\x00\x00\x00",
    "application/rtf": b"{\\rtf1\\ansi Bonjour}",
    "text/plain": "Résultats normaux.\n".encode(),
    "application/xml": CDA,
}


def declare(data: bytes, content_type: str, size: int | None = None, sha: str | None = None) -> Declaration:
    return Declaration(type_code="11502-2", title="t", service_date=date(2026, 1, 1), content_type=content_type,
                       size=len(data) if size is None else size, sha256=sha or hashlib.sha256(data).hexdigest())


def inspect(data: bytes, declaration: Declaration, stored_type: str | None = None, chunk: int = 5) -> object:
    inspector = UploadInspector(declaration)
    for i in range(0, len(data), chunk):
        inspector.feed(data[i:i + chunk])
        if not inspector.wants_more:
            break
    return inspector.verdict(stored_type or declaration.content_type)


@pytest.mark.parametrize("content_type", sorted(SAMPLES))
def test_bytes_matching_their_declaration_are_accepted(content_type: str) -> None:
    data = SAMPLES[content_type]
    assert inspect(data, declare(data, content_type)) is None


def test_big_tiff_byte_order_is_recognised() -> None:
    data = b"MM\x00*\x00\x00\x00\x08"
    assert inspect(data, declare(data, "image/tiff")) is None


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png", "image/jpeg", "image/tiff",
                                          "application/rtf", "application/xml"])
def test_text_declared_as_another_type_is_rejected(content_type: str) -> None:
    data = b"just some text, not the declared format"
    assert inspect(data, declare(data, content_type)) is RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE


def test_fewer_bytes_than_declared_is_a_size_mismatch() -> None:
    data = SAMPLES["application/pdf"]
    assert inspect(data, declare(data, "application/pdf", size=len(data) + 1)) is RejectionReason.SIZE_MISMATCH


def test_more_bytes_than_declared_is_a_size_mismatch() -> None:
    data = SAMPLES["application/pdf"]
    declared = declare(data[:-3], "application/pdf")
    assert inspect(data, declared) is RejectionReason.SIZE_MISMATCH


def test_same_size_other_content_is_a_checksum_mismatch() -> None:
    data = SAMPLES["application/pdf"]
    declared = declare(data, "application/pdf", sha=hashlib.sha256(b"other").hexdigest())
    assert inspect(data, declared) is RejectionReason.CHECKSUM_MISMATCH


def test_stored_content_type_must_equal_the_declared_one() -> None:
    data = SAMPLES["application/pdf"]
    assert inspect(data, declare(data, "application/pdf"), stored_type="image/png") \
        is RejectionReason.CONTENT_TYPE_MISMATCH


def test_xml_that_is_not_a_cda_document_is_rejected() -> None:
    data = b'<?xml version="1.0"?><ClinicalDocument><title>no namespace</title></ClinicalDocument>'
    assert inspect(data, declare(data, "application/xml")) is RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE


def test_xml_with_a_dtd_is_refused_before_parsing() -> None:
    data = (b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa">]>'
            b'<ClinicalDocument xmlns="urn:hl7-org:v3">&a;</ClinicalDocument>')
    assert inspect(data, declare(data, "application/xml")) is RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE


def test_text_that_is_not_utf8_is_rejected() -> None:
    data = "Résultats".encode("latin-1")
    assert inspect(data, declare(data, "text/plain")) is RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE


def test_text_with_nul_bytes_is_rejected() -> None:
    data = b"abc\x00def"
    assert inspect(data, declare(data, "text/plain")) is RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE


def test_utf8_split_across_chunks_is_still_valid_text() -> None:
    data = "ééééé".encode()
    assert inspect(data, declare(data, "text/plain"), chunk=3) is None
