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
