"""The catalogue as operations publish it: `functions/catalogue/data/services.json` (versioned: its `version`
changes with every edit), or the file `MES_CATALOGUE_FILE` names. Read once per cold start; statuses operations
change later live in the table (functions/catalogue/operations.py) and override the file's."""

from __future__ import annotations

from functools import lru_cache

from functions.catalogue.models import Catalogue, Service
from functions.shared.datafile import read_json

OVERRIDE_ENV = "MES_CATALOGUE_FILE"
_pinned: dict[str, Catalogue] = {}


@lru_cache(maxsize=1)
def _published() -> Catalogue:
    return Catalogue.model_validate(read_json("functions.catalogue", "services.json", OVERRIDE_ENV))


def catalogue() -> Catalogue:
    return _pinned.get("catalogue") or _published()


def use_catalogue(extra: tuple[Service, ...] | None) -> None:
    """Publish the file plus `extra` services (tests register a service whose key pair they generate; a tool
    may preview an entry), or the file alone again (None)."""
    _pinned.clear()
    if extra:
        published = _published()
        _pinned["catalogue"] = published.model_copy(update={"services": published.services + extra})
