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


# Issue 9.4: the DTD refusal must hold whatever the encoding, and only a well-formed HL7 v3 ClinicalDocument passes.
XXE_CDA = ('<?xml version="1.0" encoding="{encoding}"?>\n'
           '<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
           '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>')
VALID_CDA = ('<?xml version="1.0" encoding="{encoding}"?>\n'
             '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Compte rendu opératoire</title></ClinicalDocument>')
ENCODINGS = {  # name in the XML declaration, Python codec, byte order mark
    "utf-8": ("UTF-8", "utf-8", b""),
    "utf-8 with BOM": ("UTF-8", "utf-8", b"\xef\xbb\xbf"),
    "utf-16 LE with BOM": ("UTF-16", "utf-16-le", b"\xff\xfe"),
    "utf-16 LE without BOM": ("UTF-16", "utf-16-le", b""),
    "utf-16 BE with BOM": ("UTF-16", "utf-16-be", b"\xfe\xff"),
    "utf-16 BE without BOM": ("UTF-16", "utf-16-be", b""),
    "utf-32 LE with BOM": ("UTF-32", "utf-32-le", b"\xff\xfe\x00\x00"),
    "utf-32 LE without BOM": ("UTF-32", "utf-32-le", b""),
    "utf-32 BE with BOM": ("UTF-32", "utf-32-be", b"\x00\x00\xfe\xff"),
    "utf-32 BE without BOM": ("UTF-32", "utf-32-be", b""),
}


def encoded(template: str, encoding: str) -> bytes:
    declared, codec, bom = ENCODINGS[encoding]
    return bom + template.format(encoding=declared).encode(codec)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("chunk", [5, 64 * 1024])
def test_a_cda_with_a_dtd_and_an_external_entity_is_rejected_in_any_encoding(encoding: str, chunk: int) -> None:
    data = encoded(XXE_CDA, encoding)
    assert inspect(data, declare(data, "application/xml"), chunk=chunk) \
        is RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8 with BOM", "utf-16 LE with BOM", "utf-16 BE with BOM",
                                      "utf-16 LE without BOM", "utf-16 BE without BOM"])
def test_a_valid_cda_is_accepted_in_utf8_and_utf16(encoding: str) -> None:
    data = encoded(VALID_CDA, encoding)
    assert inspect(data, declare(data, "text/xml"), chunk=3) is None


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v2"><title>x</title></ClinicalDocument>',
    b'<?xml version="1.0"?><Document xmlns="urn:hl7-org:v3"><title>x</title></Document>',
    b'<?xml version="1.0"?><x:ClinicalDocument xmlns:x="urn:evil"><title/></x:ClinicalDocument>',
    b'<?xml version="1.0"?><html><ClinicalDocument xmlns="urn:hl7-org:v3"/></html>',
], ids=["other namespace", "other root", "other prefixed namespace", "cda not at the root"])
def test_xml_whose_root_is_not_an_hl7_v3_clinical_document_is_rejected(data: bytes) -> None:
    assert inspect(data, declare(data, "application/xml")) is RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE


@pytest.mark.parametrize("data", [
    b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>x</ClinicalDocument>',
    b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>x</title>',
    b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&undeclared;</title></ClinicalDocument>',
    b'<ClinicalDocument xmlns="urn:hl7-org:v3"></ClinicalDocument><ClinicalDocument xmlns="urn:hl7-org:v3"/>',
    b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>' + b"\xff\xfe garbage",
], ids=["mismatched tag", "truncated", "undeclared entity", "two roots", "trailing garbage"])
def test_malformed_xml_is_rejected_even_after_a_good_root(data: bytes) -> None:
    assert inspect(data, declare(data, "application/xml")) is RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE


def test_a_dtd_after_64_kib_of_prolog_is_still_refused() -> None:
    prolog = "<!--" + "x" * (70 * 1024) + "-->\n"
    data = ('<?xml version="1.0" encoding="UTF-16"?>\n' + prolog
            + XXE_CDA.split("\n", 1)[1]).encode("utf-16")
    assert inspect(data, declare(data, "application/xml"), chunk=256 * 1024) \
        is RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE


def test_a_20_mb_cda_is_checked_in_little_memory() -> None:
    """The verifier streams: parsing a large CDA must not hold it (or a tree of it) in memory."""
    import tracemalloc

    body = b"<component><section><text>" + b"R\xc3\xa9sultat normal. " * 40 + b"</text></section></component>"
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3">'
    tail = b"</ClinicalDocument>"
    count = (20 * 1024 * 1024 - len(head) - len(tail)) // len(body)
    sha = hashlib.sha256(head)
    for _ in range(count):
        sha.update(body)
    sha.update(tail)
    size = len(head) + count * len(body) + len(tail)
    declared = declare(b"", "application/xml", size=size, sha=sha.hexdigest())
    chunk = head + body * ((256 * 1024) // len(body))
    per_chunk = (256 * 1024) // len(body)

    tracemalloc.start()
    try:
        inspector = UploadInspector(declared)
        inspector.feed(head)
        left = count
        while left:
            n = min(per_chunk, left)
            inspector.feed(chunk[len(head):len(head) + n * len(body)])
            left -= n
        inspector.feed(tail)
        verdict = inspector.verdict("application/xml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert verdict is None
    assert peak < 4 * 1024 * 1024


@pytest.mark.parametrize("encoding", ["bogus", "utf-32", "utf-7", "shift_jis", "rot13", "base64", "idna",
                                      "punycode", pytest.param("x" * 300, id="300-character name")])
def test_a_cda_declaring_an_encoding_expat_cannot_read_is_rejected_not_a_crash(encoding: str) -> None:
    data = (f'<?xml version="1.0" encoding="{encoding}"?>'
            '<ClinicalDocument xmlns="urn:hl7-org:v3">\x80</ClinicalDocument>').encode("latin-1")
    assert inspect(data, declare(data, "application/xml")) is RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE
