"""Streaming check of uploaded bytes against their declaration: size, SHA-256 and magic bytes.

Runs chunk by chunk so a 20 MB document never sits in memory. CDA is recognised by its root element in the
HL7 v3 namespace, read with expat after refusing any DTD (no entity expansion, no external entities)."""

from __future__ import annotations

import codecs
import hashlib
import xml.etree.ElementTree as ET
from typing import Any

from functions.records.models import Declaration, RejectionReason

HEAD_BYTES = 64 * 1024
CDA_ROOT = "{urn:hl7-org:v3}ClinicalDocument"

_MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "application/rtf": (b"{\\rtf",),
    "text/rtf": (b"{\\rtf",),
}
_XML_TYPES = frozenset({"application/xml", "text/xml"})


def _is_cda(head: bytes) -> bool:
    lowered = head.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        return False
    parser: Any = ET.XMLPullParser(events=("start",))
    try:
        parser.feed(head)
        for _event, element in parser.read_events():
            return isinstance(element, ET.Element) and element.tag == CDA_ROOT
    except ET.ParseError:
        return False
    return False


class UploadInspector:
    """Feed it the object's chunks, then ask for the verdict (None = accept)."""

    def __init__(self, declared: Declaration) -> None:
        self._declared = declared
        self._sha = hashlib.sha256()
        self._size = 0
        self._head = bytearray()
        self._text = codecs.getincrementaldecoder("utf-8")() if declared.content_type == "text/plain" else None
        self._text_ok = True

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._declared.size:
            return  # already a size mismatch; stop hashing extra bytes
        self._sha.update(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head.extend(chunk[: HEAD_BYTES - len(self._head)])
        if self._text is not None and self._text_ok:
            try:
                self._text_ok = b"\x00" not in chunk and (self._text.decode(chunk) is not None)
            except UnicodeDecodeError:
                self._text_ok = False

    @property
    def wants_more(self) -> bool:
        return self._size <= self._declared.size

    def verdict(self, stored_content_type: str | None) -> RejectionReason | None:
        declared = self._declared
        if self._size != declared.size:
            return RejectionReason.SIZE_MISMATCH
        if self._sha.hexdigest() != declared.sha256.lower():
            return RejectionReason.CHECKSUM_MISMATCH
        if stored_content_type is not None and stored_content_type.split(";")[0].strip() != declared.content_type:
            return RejectionReason.CONTENT_TYPE_MISMATCH
        if not self._content_matches():
            return RejectionReason.CONTENT_NOT_OF_DECLARED_TYPE
        return None

    def _content_matches(self) -> bool:
        head = bytes(self._head)
        content_type = self._declared.content_type
        if content_type in _MAGIC:
            return head.startswith(_MAGIC[content_type])
        if content_type in _XML_TYPES:
            return _is_cda(head)
        if content_type == "text/plain" and self._text is not None:
            try:
                self._text.decode(b"", final=True)
            except UnicodeDecodeError:
                return False
            return self._text_ok
        return False
