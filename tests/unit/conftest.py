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


@pytest.fixture
def local_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The local runner's environment (tables, buckets, keys named `mes-unit-*`), and a composition root that
    forgets what it built before and after."""
    from functions import deps
    from functions.shared import privacy
    from local import config

    for name, value in config.local_env(prefix="mes-unit").items():
        monkeypatch.setenv(name, value)
    deps.reset()
    yield
    deps.reset()
    privacy.use_key(b"unit-test-pseudonym-key")
