"""Streaming check of uploaded bytes against their declaration: size, SHA-256 and magic bytes.

Runs chunk by chunk so a 20 MB document never sits in memory. A CDA must be well-formed XML whose root element is
ClinicalDocument in the HL7 v3 namespace, parsed incrementally by defusedxml's expat reader, which refuses any DTD,
entity declaration or external reference whatever the document's encoding (a search of the raw bytes for
`<!DOCTYPE` misses UTF-16 and UTF-32)."""

from __future__ import annotations

import codecs
import hashlib
from datetime import date
from typing import Any, Protocol
from xml.sax.handler import ContentHandler

from functions.records.models import Declaration, RejectionReason

HEAD_BYTES = 64 * 1024
CDA_ROOT = ("urn:hl7-org:v3", "ClinicalDocument")

_MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "application/rtf": (b"{\\rtf",),
    "text/rtf": (b"{\\rtf",),
    "application/msword": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),  # OLE2 compound file (Word 97-2003)
}
_XML_TYPES = frozenset({"application/xml", "text/xml"})


class _RootRecorder(ContentHandler):
    """Keeps the (namespace, local name) of the first element, the root; builds nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.root: tuple[str | None, str] | None = None

    def startElementNS(self, name: tuple[str | None, str], qname: str | None, attrs: Any) -> None:
        if self.root is None:
            self.root = name


class _CdaCheck:
    """Streams the whole document through a SAX parser that builds no tree: memory stays flat whatever the size.
    Any DTD, entity declaration, external reference or well-formedness error condemns the document."""

    def __init__(self) -> None:
        # Imported here: only XML uploads pay for it (xml.sax.expatreader pulls urllib in).
        from defusedxml.expatreader import DefusedExpatParser  # type: ignore[import-untyped]

        self.ok = True
        self._recorder = _RootRecorder()
        self._parser: Any = DefusedExpatParser(namespaceHandling=1, forbid_dtd=True, forbid_entities=True,
                                               forbid_external=True)
        self._parser.setContentHandler(self._recorder)

    def feed(self, chunk: bytes) -> None:
        if self.ok:
            self._guard(self._parser.feed, chunk)

    def matches(self) -> bool:
        if self.ok:
            self._guard(self._parser.close)
        return self.ok and self._recorder.root == CDA_ROOT

    def _guard(self, step: Any, *args: bytes) -> None:
        """Any failure rejects: besides expat's errors and defusedxml's refusals, pyexpat hands an encoding it does
        not know to Python's codecs, which raise whatever they raise (LookupError, ValueError...) for names like
        `bogus`, `utf-32` or `rot13`. Untrusted bytes must never crash the verifier."""
        try:
            step(*args)
        except Exception:  # every parse failure is a verdict, not a crash
            self.ok = False


class Declared(Protocol):
    """What an uploader promised about the bytes: a document's `Declaration`, or a message attachment's."""

    @property
    def content_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...


class UploadInspector:
    """Feed it the object's chunks, then ask for the verdict (None = accept)."""

    def __init__(self, declared: Declared) -> None:
        self._declared = declared
        self._sha = hashlib.sha256()
        self._size = 0
        self._head = bytearray()
        self._text = codecs.getincrementaldecoder("utf-8")() if declared.content_type == "text/plain" else None
        self._text_ok = True
        self._cda = _CdaCheck() if declared.content_type in _XML_TYPES else None

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._declared.size:
            return  # already a size mismatch; stop hashing extra bytes
        self._sha.update(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head.extend(chunk[: HEAD_BYTES - len(self._head)])
        if self._cda is not None:
            self._cda.feed(chunk)
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
        if self._cda is not None:
            return self._cda.matches()
        if content_type == "text/plain" and self._text is not None:
            try:
                self._text.decode(b"", final=True)
            except UnicodeDecodeError:
                return False
            return self._text_ok
        return False


def content_matches(content_type: str, data: bytes) -> bool:
    """Whether bytes already in memory are what `content_type` says (magic bytes, UTF-8 text, a DTD-free CDA),
    by the same inspection as an upload; a type the verifier does not know is never a match. Messaging's mail
    attachments are checked with it (wired through functions/deps.py), not with a copy of the rules."""
    declared = Declaration(type_code="", title="", service_date=date(2000, 1, 1), content_type=content_type,
                           size=len(data), sha256=hashlib.sha256(data).hexdigest())
    inspector = UploadInspector(declared)
    for start in range(0, len(data), HEAD_BYTES):
        inspector.feed(data[start:start + HEAD_BYTES])
    return inspector.verdict(None) is None
