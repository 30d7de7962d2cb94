"""Unit tests run without AWS and without the network: any socket connection fails the test."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _pseudonym_key() -> Iterator[None]:
    """Pseudonyms are keyed; unit tests pin a key instead of reading configuration."""
    from functions.shared import privacy

    privacy.use_key(b"unit-test-pseudonym-key")
    yield
    privacy.use_key(None)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("unit tests must not open network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield
