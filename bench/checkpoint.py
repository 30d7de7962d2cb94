"""Checkpoints for a bench run longer than a working session (`python -m bench accounts 800000 --in-process
--checkpoint DIR`): the whole simulated AWS (every moto backend in use, in this process) and the bench's own state,
pickled every `interval` seconds (or when the process gets SIGUSR1) between two task invocations, when no
message is in flight. A run started again
with the same arguments and directory loads the last one and goes on where it stopped: what the counters say is
what an unbroken run says (moto's state and the counters are restored together; `tests/unit/test_bench_checkpoint.py`
compares a stopped-and-resumed small run with an unbroken one). Bench only: nothing here is deployed."""

from __future__ import annotations

import copyreg
import io
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _rebuild_lock(reentrant: bool) -> Any:
    return threading.RLock() if reentrant else threading.Lock()


def _private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(pem, password=None)


def _dispatch_table() -> dict[type, Any]:
    """Locks come back new and free (none is held between invocations); the private keys moto's KMS and ACM
    make (RSA, EC, Ed25519) as PEM. By type, so that pickling stays C-speed for everything else."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    table: dict[type, Any] = dict(copyreg.dispatch_table)
    table[type(threading.RLock())] = lambda _: (_rebuild_lock, (True,))
    table[type(threading.Lock())] = lambda _: (_rebuild_lock, (False,))
    keys = (rsa.generate_private_key(public_exponent=65537, key_size=2048),  # only for their types
            ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate())
    for key in keys:
        table[type(key)] = lambda k: (_private_key, (k.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                                     NoEncryption()),))
    return table


def _backends() -> dict[str, dict[str, dict[str, Any]]]:
    from moto.core.base_backend import BackendDict

    return {bd.service_name: {account: dict(regions) for account, regions in bd.items()}
            for bd in BackendDict._instances}  # type: ignore[misc]


def _restore_backends(saved: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Each region's backend object keeps its identity (moto's modules hold them); its contents are the saved ones."""
    from moto.backends import get_backend

    for service, accounts in saved.items():
        live = get_backend(service)  # type: ignore[call-overload]
        for account, regions in accounts.items():
            for region, backend in regions.items():
                target = live[account][region]
                target.__dict__.clear()
                target.__dict__.update(backend.__dict__)


def _queued_messages_kept(paused: float) -> None:
    """The queued tasks' send times moved by the time the run was stopped, so that SQS's retention (4 days) counts
    only the time the run ran: a run resumed days later loses none."""
    from moto.backends import get_backend

    for regions in get_backend("sqs").values():
        for backend in regions.values():
            for queue in backend.queues.values():
                for message in queue._messages:
                    if message.sent_timestamp is not None:
                        message.sent_timestamp += int(paused * 1000)


CHUNK_ITEMS = 20_000  # DynamoDB partitions per pickle of a table's items


def _tables() -> list[tuple[str, Any]]:
    """(a name unique in the process, the table) for every DynamoDB table of every account and region."""
    from moto.backends import get_backend

    return [(f"{account}/{region}/{name}", table)
            for account, regions in get_backend("dynamodb").items()
            for region, backend in regions.items() for name, table in backend.tables.items()]


@contextmanager
def _items_set_aside() -> Iterator[list[tuple[str, Any, Any]]]:
    """The tables' items and the query map of local.moto_fidelity.query_by_key (`_mes_by_value`) hold nearly all the
    state and no cycle, so they are written apart without a memo (`fast`: a memo of 100 million objects would take
    gigabytes); the rest, which has cycles, with one. Put back whatever happens."""
    aside: list[tuple[str, Any, Any]] = []
    for name, table in _tables():
        items = table.items
        empty = items.copy()
        empty.clear()
        aside.append((name, items, table.__dict__.pop("_mes_by_value", None)))
        table.items = empty
    try:
        yield aside
    finally:
        live = dict(_tables())
        for name, items, by_value in aside:
            live[name].items = items
            if by_value is not None:
                live[name].__dict__["_mes_by_value"] = by_value


DIRECTORY: Path | None = None  # `--checkpoint DIR` (bench/__main__.py); None: no checkpoints
INTERVAL = float(os.environ.get("BENCH_CHECKPOINT_SECONDS", "1800"))
# A hard stop (os._exit) after that many saves, as a session's end kills the run: the resume test's only hook.
STOP_AFTER_SAVES = int(os.environ.get("BENCH_STOP_AFTER_SAVES", "0"))


class Checkpoints:
    def __init__(self, directory: Path | None, name: str, interval: float) -> None:
        self.path = directory / f"{name}.pickle" if directory is not None else None
        self.interval = interval
        self._last = time.monotonic()
        self._saves = 0
        self._asked = False
        if self.path is not None:  # `kill -USR1 <pid>`: save at the next point (a session about to end)
            signal.signal(signal.SIGUSR1, self._ask)

    def _ask(self, *_: object) -> None:
        self._asked = True

    @classmethod
    def configured(cls, name: str) -> Checkpoints:
        return cls(DIRECTORY, name, INTERVAL)

    def due(self) -> bool:
        return self.path is not None and (self._asked or time.monotonic() - self._last >= self.interval)

    def load(self) -> dict[str, Any] | None:
        """The bench's state from the last checkpoint, moto's backends already put back; None to start afresh."""
        if self.path is None or not self.path.exists():
            return None
        with self.path.open("rb") as raw, io.BufferedReader(raw, buffer_size=1 << 24) as f:
            saved = pickle.load(f)  # noqa: S301 - the bench's own file, written by `save` below
            _restore_backends(saved["backends"])
            _queued_messages_kept(time.time() - saved.get("saved_at", time.time()))
            live = dict(_tables())
            for name, chunks in saved["tables"]:
                for _ in range(chunks):
                    live[name].items.update(pickle.load(f))  # noqa: S301 - the same file
                by_value = pickle.load(f)  # noqa: S301 - the same file
                if by_value is not None:
                    live[name].__dict__["_mes_by_value"] = by_value
        self._last = time.monotonic()
        state: dict[str, Any] = saved["state"]
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Written next to its place and renamed over it: a run killed while saving keeps the previous one."""
        if self.path is None:
            return
        started = time.perf_counter()
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        with partial.open("wb") as raw, io.BufferedWriter(raw, buffer_size=1 << 24) as f, \
                _items_set_aside() as aside:
            pickler = pickle.Pickler(f, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = _dispatch_table()
            parts = [(name, list(items.items()), by_value) for name, items, by_value in aside]
            pickler.dump({"state": state, "backends": _backends(), "saved_at": time.time(),
                          "tables": [(name, -(-len(pairs) // CHUNK_ITEMS)) for name, pairs, _ in parts]})
            pickler.clear_memo()  # each pickle below is read on its own
            pickler.fast = True  # and without a memo (references become copies: nothing below has a cycle)
            for _, pairs, by_value in parts:
                for start in range(0, len(pairs), CHUNK_ITEMS):
                    pickler.dump(dict(pairs[start:start + CHUNK_ITEMS]))
                pickler.dump(by_value)
        os.replace(partial, self.path)
        self._last, self._asked = time.monotonic(), False
        print(f'{{"checkpoint": "{self.path}", "seconds": {time.perf_counter() - started:.1f}}}', file=sys.stderr,
              flush=True)
        self._saves += 1
        if STOP_AFTER_SAVES and self._saves >= STOP_AFTER_SAVES:
            sys.stdout.flush()
            os._exit(3)

    def done(self) -> None:
        if self.path is not None and self.path.exists():
            self.path.unlink()
