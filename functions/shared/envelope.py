"""Envelope encryption of a space's stored objects under its data key (AES-256-GCM): `nonce | ciphertext+tag`,
the object's key as associated data, so a blob moved to another key (or another person's prefix) does not open.
Destroying the space's data key (accounts' `SpaceKeys.destroy`) makes every copy unreadable, old S3 versions and
backups included: that is the erasure's crypto-shredding. Storage-free: bytes in, bytes out."""

from __future__ import annotations

import os

# cryptography is imported by seal/unseal, not here: a request that opens no blob (a list) does not load it.

NONCE_BYTES = 12
KEY_BYTES = 32


class Undecryptable(Exception):
    """The blob was not sealed under this key for this object key (or was altered)."""


def seal(data_key: bytes, object_key: str, plaintext: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, object_key.encode())


def unseal(data_key: bytes, object_key: str, blob: bytes) -> bytes:
    if len(blob) < NONCE_BYTES + 16:
        raise Undecryptable("too short to be a sealed object")
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(data_key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], object_key.encode())
    except InvalidTag as exc:
        raise Undecryptable("not sealed under this key for this object") from exc
