"""A new capability package cannot be forgotten by the layering contracts: every package under functions/ sits in
the layers contract, every module that talks to storage (storage.py) has its one-owner contract naming every other
package, and every service/models/ports module is in the storage-free contract. Adding `functions/messaging/`
without touching .importlinter fails here, not in review."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "__init__.py").exists())
CAPABILITIES = [p for p in PACKAGES if p not in ("shared",)]


def contracts() -> dict[str, dict[str, str]]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return {s.removeprefix("importlinter:contract:"): dict(config[s]) for s in config.sections()
            if s.startswith("importlinter:contract:")}


def listed(value: str) -> set[str]:
    return {line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")}


def test_every_package_is_in_the_layers_contract() -> None:
    layers = {name.strip() for layer in listed(contracts()["layers"]["layers"]) for name in layer.split("|")}
    assert {f"functions.{p}" for p in PACKAGES} - layers == set()


def test_every_storage_module_has_its_one_owner_contract_naming_every_other_package() -> None:
    by_target = {c["forbidden_modules"].strip(): listed(c["source_modules"]) for c in contracts().values()
                 if c.get("type") == "forbidden" and c.get("forbidden_modules", "").strip().endswith(".storage")}
    for package in CAPABILITIES:
        if not (ROOT / "functions" / package / "storage.py").exists():
            continue
        others = {f"functions.{p}" for p in CAPABILITIES if p not in (package, "reference", "identity")}
        assert f"functions.{package}.storage" in by_target, f"no owner contract for functions.{package}.storage"
        assert others - by_target[f"functions.{package}.storage"] == set(), package


def test_every_service_models_and_ports_module_is_storage_free_by_contract() -> None:
    free = listed(contracts()["storage-free"]["source_modules"])
    for package in CAPABILITIES:
        for module in ("service", "models", "ports"):
            if (ROOT / "functions" / package / f"{module}.py").exists():
                assert f"functions.{package}.{module}" in free, f"functions.{package}.{module}"
