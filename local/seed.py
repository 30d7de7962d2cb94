"""Demo data: two patients, one hospital with a physician and a pharmacist, a GP practice elsewhere, and one
discharge letter that went through the real upload and verification flow."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from functions import deps
from functions.accounts import service as accounts
from functions.identity.ins import with_key
from functions.identity.principal import Citizen, Professional
from local.config import CITIZEN_ISSUER

DEMO_PATIENT = with_key("2840675123456")  # born June 1984 in Paris (75)
OTHER_PATIENT = with_key("1920169387012")  # born January 1992 in Lyon (69)
HOSPITAL = "750000001"
GP_PRACTICE = "690000002"
PROFESSIONALS = {
    "hospital physician": Professional(rpps="10000000001", profession="10", finess=HOSPITAL, specialty="SM26"),
    "hospital pharmacist": Professional(rpps="10000000002", profession="21", finess=HOSPITAL),
    "GP (other organisation)": Professional(rpps="10000000003", profession="10", finess=GP_PRACTICE),
}

DEMO_PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def citizen_subject(ins: str) -> str:
    """The pairwise `sub` the development issuer gives this person (stable, not the INS)."""
    return "fc-" + hashlib.sha256(f"dev-login:{ins}".encode()).hexdigest()[:24]


def ensure_citizen(ins: str, birth_date: Any = None, email: str | None = None) -> Citizen:
    """Inform (if needed) and activate the space of this INS for the development login, through enrolment's
    service with a code issued internally; a birth date schedules the person's prevention reminders."""
    from functions.agenda import service as agenda

    space = accounts.activate_for_development(deps.enrolment(), ins, birth_date, email,
                                              (CITIZEN_ISSUER, citizen_subject(ins)))
    agenda.start_prevention(deps.agenda(), space)
    return Citizen(ins=space.ins)


def seed(upload: Any) -> None:
    """`upload(post, data)` sends bytes to a presigned POST (the runner does it over HTTP, like a hospital)."""
    from functions.records import service
    from functions.records.api import UploadIn

    ensure_citizen(DEMO_PATIENT, date(1984, 6, 12), "patiente.demo@example.org")
    ensure_citizen(OTHER_PATIENT, date(1992, 1, 20), "patient.autre@example.org")
    body = UploadIn(type_code="11490-0", title="Lettre de liaison - sortie de cardiologie",
                    service_date="2026-11-02", content_type="application/pdf",
                    size=len(DEMO_PDF), sha256=hashlib.sha256(DEMO_PDF).hexdigest())
    doc, post = service.request_upload(deps.records(), PROFESSIONALS["hospital physician"], DEMO_PATIENT,
                                       body.to_domain(),
                                       "demo-seed-discharge-letter")
    if doc.status.value == "pending":
        upload(post, DEMO_PDF)


# The authorizer context of the hospital physician, as API Gateway hands it to the routes (bench, manual invokes).
DOCTOR_CONTEXT = {"kind": "professional", "rpps": "10000000001", "profession": "10", "finess": HOSPITAL}


# ---- the guide's example app (measures) --------------------------------------------------------------------
# The ANS implementation guide's example editor OID (the `meta.source` of events/fhir's bundles), with the
# purposes of the official app's guest data. A development catalogue entry: tests and the measures bench publish
# it with `use_catalogue` and pair people with it in the catalogue's table, as the OAuth flow would.
GUIDE_APP = "1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"
_GUIDE_PURPOSES = (
    ("11", "Consulter mon poids", "read", ("29463-7",)), ("22", "Ajouter mon poids", "write", ("29463-7",)),
    ("13", "Consulter ma taille", "read", ("8302-2",)), ("23", "Ajouter ma taille", "write", ("8302-2",)),
    ("14", "Consulter ma tension et ma fréquence cardiaque", "read", ("85354-9", "8867-4")),
    ("24", "Ajouter ma tension et ma fréquence cardiaque", "write", ("85354-9", "8867-4")),
    ("15", "Consulter ma glycémie", "read", ("2345-7", "4548-4", "MED-969", "MED-972")),
    ("25", "Ajouter ma glycémie", "write", ("2345-7", "4548-4", "MED-969", "MED-972")),
    ("16", "Consulter mes autres mesures", "read",
     ("8310-5", "8280-0", "41950-7", "72514-3", "8287-5", "2708-6", "59408-5")),
    ("26", "Ajouter mes autres mesures", "write",
     ("8310-5", "8280-0", "41950-7", "72514-3", "8287-5", "2708-6", "59408-5")),
)


def guide_app(oid: str = GUIDE_APP) -> Any:
    """The example app as a catalogue `Service` (no keys: its tokens are minted by the tests and the bench)."""
    from functions.catalogue.models import Service

    purposes = [{"code": code, "label": label, "action": action, "measure_codes": list(codes)}
                for code, label, action, codes in _GUIDE_PURPOSES]
    return Service.model_validate({
        "oid": oid, "name": "Application exemple du guide", "editor": {"name": "ANS (exemple)"},
        "description": "L'application des exemples du guide d'implémentation Mesures.",
        "economical_model": "GRATUIT", "status": "EN_LIGNE", "redirect_uris": ["https://app.example.test/oauth/retour"],
        "jwks": {"keys": []}, "thematics": ["PREVENTION"], "versions": [{"version": 1, "purposes": purposes}]})


def pair_app(ins: str, oid: str = GUIDE_APP, consented: tuple[str, ...] | None = None) -> Any:
    """A pairing of `ins` with the app in the catalogue's table, as the OAuth flow leaves it (directory entry,
    by-service and cycle indexes); returns the `Pairing` (its `id_pe` and `pairing_id` go in the app's tokens)."""
    from datetime import UTC, datetime

    from functions.catalogue.models import Pairing, PairingState
    from functions.catalogue.service import pairwise_id
    from functions.shared.ids import new_id

    store = deps.catalogue_store()
    known = store.pairing(ins, oid)
    if known is not None and known.state is PairingState.ACTIVE:
        return known
    now = datetime.now(UTC)
    codes = consented if consented is not None else tuple(code for code, *_ in _GUIDE_PURPOSES)
    pairing = Pairing(pairing_id=new_id("pair"), holder_ins=ins, oid=oid, id_pe=pairwise_id(ins, oid),
                      consented=tuple(sorted(codes)), acknowledged_version=1, paired_at=now, changed_at=now)
    store.commit([store.staged_pairing(pairing, None)])
    return pairing
