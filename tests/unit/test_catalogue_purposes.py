"""The measures flow reads the published catalogue: a purpose allows the measure codes it lists for its action,
and a status operations changed overrides the file's within a minute, read once per minute, not per write."""

from __future__ import annotations

from functions.catalogue.catalogue import catalogue
from functions.catalogue.models import ServiceStatus
from functions.catalogue.purposes import CataloguePurposes

BALANCE = "1.2.250.1.213.4.10.2"  # "Ma Balance" in functions/catalogue/data/services.json
GLUCO = "1.2.250.1.213.4.10.1"


def test_the_purposes_of_the_published_file_map_measure_codes() -> None:
    purposes = CataloguePurposes(catalogue, dict)
    assert purposes.purposes_for(BALANCE, "29463-7", "write") == {"22"}
    assert purposes.purposes_for(BALANCE, "29463-7", "read") == {"11"}
    assert purposes.purposes_for(BALANCE, "8302-2", "write") == set()  # a height: no purpose of this service
    assert purposes.purposes_for("1.2.3.4.unknown", "29463-7", "write") == set()


def test_glucose_purposes_use_the_guides_codes() -> None:
    """JDV_J154: LOINC 2345-7 blood glucose, 4548-4 HbA1c, TAASIP MED-969 / MED-972 (not the list page's 2339-0)."""
    purposes = CataloguePurposes(catalogue, dict)
    for code in ("2345-7", "4548-4", "MED-969", "MED-972"):
        assert purposes.purposes_for(GLUCO, code, "write"), code
    assert purposes.purposes_for(GLUCO, "2339-0", "write") == set()


def test_a_status_set_by_operations_overrides_the_file_within_the_bound() -> None:
    overrides: dict[str, ServiceStatus] = {}
    reads, at = [0], [0.0]

    def statuses() -> dict[str, ServiceStatus]:
        reads[0] += 1
        return dict(overrides)

    purposes = CataloguePurposes(catalogue, statuses, ttl=60, now=lambda: at[0])
    assert purposes.status(BALANCE) == "EN_LIGNE"
    overrides[BALANCE] = ServiceStatus.SUSPENDUE
    at[0] = 30.0
    assert purposes.status(BALANCE) == "EN_LIGNE" and reads[0] == 1  # cached: no read per write
    at[0] = 60.0
    assert purposes.status(BALANCE) == "SUSPENDUE" and reads[0] == 2
    assert purposes.status("1.2.3.4.unknown") is None
