"""Contract harness: every store port is exercised over two implementations, the in-memory fake the unit tests use
and the real adapter on an embedded moto server, so a fake that drifts from its adapter fails here first.

The moto side reuses the integration harness's pieces (a free port, the stage's environment, the resources `make
run` creates). `config.apply` forgets every cached client, the DynamoDB connection (`dynamo._connection`) and the
composition root's factories, so adapters built here point at this server whatever ran before."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from functions.identity.ins import with_key
from functions.shared.lookup import BatchLookup
from functions.shared.staging import Staged
from tests.integration.conftest import free_port
from tests.unit import fakes

SIDES = ["fake", "moto"]


@pytest.fixture(scope="session")
def moto_env() -> Iterator[dict[str, str]]:
    """One moto server for the contract suites, with the stage's tables, buckets and keys."""
    import logging

    from moto.server import ThreadedMotoServer

    from local import config
    from local.moto_fidelity import every_fix

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    every_fix()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = config.local_env(aws_port=port, api_port=free_port(), prefix="mes-contract")
    config.apply(env)
    from local import resources

    resources.create_all()
    yield env
    server.stop()


@pytest.fixture
def aws(moto_env: dict[str, str]) -> dict[str, str]:
    """The moto side, re-applied for each test: another suite (integration) may have switched the environment."""
    from functions import deps
    from local import config

    config.apply(moto_env)  # deps.reset() forgets every factory, the journal's included
    deps.bind_tables()
    return moto_env


@dataclass
class World:
    """What a contract test needs besides the port: commit staged writes and run batch lookups the way that side
    does (one DynamoDB transaction / BatchGetItem, or the fakes' in-memory equivalents)."""

    side: str
    commit: Callable[[Sequence[Staged]], None]
    batch_get: Callable[[Sequence[BatchLookup[Any]]], list[Any]]


def moto_world() -> World:
    from functions.shared.dynamo import Transaction, batch_get_many

    def commit(staged: Sequence[Staged]) -> None:
        tx = Transaction()
        for write in staged:
            write.stage(tx)
        tx.commit()

    return World("moto", commit, batch_get_many)


def fake_world() -> World:
    def commit(staged: Sequence[Staged]) -> None:
        tx = fakes.FakeTransaction()
        for write in staged:
            write.stage(tx)
        tx.commit()

    return World("fake", commit, fakes.batch_get)


@pytest.fixture(params=SIDES)
def side(request: pytest.FixtureRequest) -> str:
    if request.param == "moto":
        request.getfixturevalue("aws")
    return str(request.param)


@pytest.fixture
def world(side: str) -> World:
    return moto_world() if side == "moto" else fake_world()


def new_ins() -> str:
    """A fresh person per test: the moto tables are shared by the whole session."""
    sex = random.choice("12")
    return with_key(f"{sex}{random.randint(40, 99)}{random.randint(1, 12):02d}75{random.randint(0, 999999):06d}")
