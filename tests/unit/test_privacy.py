"""Pseudonyms are keyed: the same INS gives another pseudonym under another key, so hashing every INS does not
reveal who is behind an S3 key, a principal id or a KMS encryption context."""

from __future__ import annotations

import hashlib

import pytest

from functions.shared import privacy
from functions.shared.settings import Settings

INS = "284067512345688"


def test_the_pseudonym_depends_on_the_key_and_is_not_a_plain_hash() -> None:
    privacy.use_key(b"key-one")
    one = privacy.digest("ins", INS)
    assert one == privacy.digest("ins", INS)
    privacy.use_key(b"key-two")
    assert privacy.digest("ins", INS) != one
    assert one != hashlib.sha256(f"mes:ins:{INS}".encode()).hexdigest()[:32]
    assert privacy.digest("rpps", INS) != privacy.digest("ins", INS)


def test_settings_refuse_a_stage_without_a_pseudonym_key() -> None:
    from local.config import local_env

    env = local_env()
    assert Settings.from_env(env).pseudonym_key
    del env["MES_PSEUDONYM_KEY"]
    with pytest.raises(RuntimeError, match="pseudonym"):
        Settings.from_env(env)
