"""The envelope (functions/shared/envelope.py): a sealed object opens only under its space's key and at its own
object key; altered or truncated bytes do not open."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from functions.shared.envelope import Undecryptable, seal, unseal

KEY = os.urandom(32)
PDF = b"%PDF-1.4 compte rendu"


def test_a_sealed_object_opens_under_its_key_at_its_object_key() -> None:
    blob = seal(KEY, "records/p/doc_1", PDF)
    assert PDF not in blob and unseal(KEY, "records/p/doc_1", blob) == PDF
    assert seal(KEY, "records/p/doc_1", PDF) != blob  # a fresh nonce every time


@pytest.mark.parametrize("tamper", [
    lambda blob: (os.urandom(32), "records/p/doc_1", blob),  # another space's key (or none: the key is gone)
    lambda blob: (KEY, "records/q/doc_1", blob),  # moved to another person's prefix
    lambda blob: (KEY, "records/p/doc_1", blob[:-1] + bytes([blob[-1] ^ 1])),  # altered
    lambda blob: (KEY, "records/p/doc_1", blob[:20]),  # truncated
], ids=["other-key", "other-object", "altered", "truncated"])
def test_anything_else_does_not_open(tamper: Callable[[bytes], tuple[bytes, str, bytes]]) -> None:
    blob = seal(KEY, "records/p/doc_1", PDF)
    key, where, data = tamper(blob)
    with pytest.raises(Undecryptable):
        unseal(key, where, data)
