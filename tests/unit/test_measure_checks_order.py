"""The order of an app write's checks (the guide's: token, idPe, consent, service status, profile rules): when
several are broken the first one answers, and a refused write touches no store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from functions.catalogue.models import Catalogue, ServiceStatus
from functions.catalogue.purposes import CataloguePurposes
from functions.identity.principal import Service
from functions.measures import service
from functions.measures.fhir import FhirRefusal
from tests.unit.fakes import FakePairings

OID = "1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"
EVENTS = Path(__file__).resolve().parents[2] / "events" / "fhir"


class Untouchable:
    """A store and journal that fail the test if a refused write reaches them."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a refused write must not call {name}")


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 12, 1, tzinfo=UTC)


def published() -> Catalogue:
    purposes = [{"code": "22", "label": "Ajouter mon poids", "action": "write", "measure_codes": ["29463-7", "2345-7"]},
                {"code": "11", "label": "Consulter mon poids", "action": "read", "measure_codes": ["29463-7"]}]
    return Catalogue.model_validate({"version": "t", "services": [{
        "oid": OID, "name": "Balance", "editor": {"name": "Tests SAS"}, "description": "Une balance.",
        "economical_model": "GRATUIT", "status": "EN_LIGNE", "redirect_uris": ["https://app.example.test/cb"],
        "jwks": {"keys": []}, "versions": [{"version": 1, "purposes": purposes}]}]})


def deps(statuses: dict[str, str] | None = None) -> service.MeasuresDeps:
    pairings = FakePairings()
    pairings.pair(OID, "idpe-1", "284067512345688")
    overrides = {oid: ServiceStatus(v) for oid, v in (statuses or {}).items()}
    catalogue = CataloguePurposes(published, lambda: overrides)
    nothing: Any = Untouchable()
    return service.MeasuresDeps(store=nothing, journal=nothing, spaces=nothing, pairings=pairings,
                                catalogue=catalogue, clock=FixedClock())


def app(scope: str = "22") -> Service:
    return Service(oid=OID, id_pe="idpe-1", pairing="p1", pv=1, scope=scope)


def bundle(name: str = "body-weight-bundle.json", subject: str = "idpe-1") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    data["entry"][1]["resource"]["subject"]["identifier"]["value"] = subject
    return data


def answer(d: service.MeasuresDeps, who: Service, data: dict[str, Any]) -> tuple[int, str]:
    with pytest.raises(FhirRefusal) as caught:
        service.write_from_app(d, who, data)
    issue = caught.value.body["issue"][0]  # type: ignore[index]
    return caught.value.status, issue.get("diagnostics") or issue["details"]["text"]


def test_the_idpe_is_checked_before_the_consent() -> None:
    assert answer(deps(), app(scope="11"), bundle(subject="another")) == (
        403, "idPe requested do not match authorized idPe.")


def test_the_consent_is_checked_before_the_services_status_and_the_profile_rules() -> None:
    broken = bundle()
    del broken["entry"][1]["resource"]["valueQuantity"]
    assert answer(deps({OID: "SUSPENDUE"}), app(scope="11"), broken) == (403, "Consent not given, access refused.")


def test_a_suspended_service_is_refused_before_the_profile_rules() -> None:
    broken = bundle()
    del broken["entry"][1]["resource"]["valueQuantity"]
    assert answer(deps({OID: "SUSPENDUE"}), app(), broken) == (403, "Service not available, access refused.")
    assert answer(deps(), app(), broken) == (422, "Observation value quantity not provided.")


def test_bmi_needs_no_consent_to_be_refused() -> None:
    assert answer(deps(), app(scope="11"), bundle("bmi-bundle.json")) == (422, "Bmi observation can-not be created.")


def test_a_pairing_that_names_nobody_is_refused_like_another_idpe() -> None:
    who = Service(oid=OID, id_pe="idpe-gone", pairing="p2", pv=1, scope="22")
    assert answer(deps(), who, bundle(subject="idpe-gone")) == (403, "idPe requested do not match authorized idPe.")
