"""The composition root forgets everything at once: a factory that `reset()` (and so a new local environment)
missed would keep an adapter bound to the previous tables, endpoint or key."""

from __future__ import annotations

import os

from functions import deps


def test_every_cached_factory_of_the_composition_root_is_registered() -> None:
    """Given deps' module, when its cached functions are listed, then each one is a registered @factory."""
    cached = {name for name, value in vars(deps).items()
              if hasattr(value, "cache_clear") and getattr(value, "__module__", None) == deps.__name__}
    registered = {f.__name__ for f in deps.FACTORIES}
    assert cached == registered
    assert {"journal", "due_index", "records", "agenda_delivery"} <= registered


def test_applying_an_environment_rebuilds_every_adapter(local_environment: None) -> None:
    """Given adapters built under one environment, when the local runner applies another (config.apply), then
    every factory builds again; the journal was missing from the hand-kept list and survived."""
    from local import config

    before = deps.journal(), deps.spaces(), deps.due_index(), deps.clock()
    built = [f for f in deps.FACTORIES if f.__name__ in {"journal", "spaces", "due_index", "clock"}]
    assert len(built) == 4 and all(f.cache_info().currsize for f in built)
    config.apply({**config.local_env(prefix="mes-unit-2"), "AWS_REGION": os.environ["AWS_REGION"]})
    assert [f.__name__ for f in deps.FACTORIES if f.cache_info().currsize] == []
    after = deps.journal(), deps.spaces(), deps.due_index(), deps.clock()
    assert all(a is not b for a, b in zip(before, after, strict=True))


def test_a_new_factory_is_reset_with_the_others() -> None:
    """Given a factory declared with @factory, when reset() runs, then the next call builds a new object."""

    @deps.factory
    def probe() -> object:
        return object()

    try:
        first = probe()
        assert probe() is first
        deps.reset()
        assert probe() is not first
    finally:
        deps.FACTORIES.remove(probe)
