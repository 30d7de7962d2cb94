"""The access policy as a table: each rule, and the combinations that matter (hidden + administrator, blocked +
emergency, invisible + author, matrix x basis...). Pure: no AWS, no clock but the one given."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from functions.access.matrix import matrix
from functions.access.models import (
    AccessProfile,
    Basis,
    CareTeamMember,
    EmergencyChoices,
    EmergencyGrant,
    PatientSettings,
    Refusal,
)
from functions.access.policy import professional_reads, record_basis
from functions.identity.principal import Citizen, Professional
from functions.identity.spaces import space_of
from functions.records.models import Author, Declaration, Document, DocumentStatus
from functions.records.policy import citizen_reads

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
INS = "284067512345688"
AUTHOR_ORG = "750000001"


def pro(rpps: str, profession: str = "10", finess: str = "690000002") -> Professional:
    return Professional(rpps=rpps, profession=profession, finess=finess)


GP = pro("10000000011")  # physician in the care team
STRANGER = pro("10000000012")  # physician, no link to the patient
ADMIN = pro("10000000013")
BLOCKED = pro("10000000014")
URGENTIST = pro("10000000015")  # holds an emergency grant
EXPIRED = pro("10000000016")  # held one, an hour ago
PHARMACIST = pro("10000000017", "21")
NURSE = pro("10000000018", "60")
PHYSIO = pro("10000000019", "70")
DENTIST = pro("10000000020", "40")
MIDWIFE = pro("10000000021", "50")
COLLEAGUE = pro("10000000022", "60", AUTHOR_ORG)  # works at the authoring hospital


def grant(who: Professional, start: datetime) -> EmergencyGrant:
    return EmergencyGrant(rpps=who.rpps, purpose="BTG", reason="coma", granted_at=start,
                          expires_at=start + timedelta(hours=1))


def profile(**settings: object) -> AccessProfile:
    team = {p.rpps: CareTeamMember(rpps=p.rpps, source="declared", since=NOW)
            for p in (GP, PHARMACIST, NURSE, PHYSIO, DENTIST, MIDWIFE)}
    return AccessProfile(
        patient_ins=INS, settings=PatientSettings.model_validate(settings), care_team=team,
        blocked={BLOCKED.rpps: NOW}, administrator=ADMIN.rpps,
        grants={URGENTIST.rpps: grant(URGENTIST, NOW - timedelta(minutes=5)),
                EXPIRED.rpps: grant(EXPIRED, NOW - timedelta(hours=2)),
                BLOCKED.rpps: grant(BLOCKED, NOW - timedelta(minutes=5))},
    )


def doc(type_code: str = "11502-2", status: DocumentStatus = DocumentStatus.AVAILABLE, hidden: bool = False,
        invisible: bool = False) -> Document:
    return Document(
        patient_ins=INS, document_id="doc_" + "b" * 26,
        declaration=Declaration(type_code=type_code, title="t", service_date=date(2026, 11, 1),
                                content_type="application/pdf", size=1, sha256="0" * 64),
        author=Author(kind="professional", rpps="10000000001", profession="10", finess=AUTHOR_ORG),
        status=status, created_at=NOW, updated_at=NOW, upload_expires_at=NOW, request_digest="x",
        available_at=NOW, hidden_from_professionals=hidden, invisible_to_patient=invisible)


LAB, PRESCRIPTION, IMAGING, SUMMARY, OPERATIVE = "11502-2", "57833-6", "18748-4", "60591-5", "34874-8"
A, NF, CR = Basis, Refusal.NOT_FOUND, Refusal.CONSENT_REQUIRED


@pytest.mark.parametrize(("who", "document", "consent", "expected"), [
    # care team, matrix rows
    (GP, doc(LAB), False, A.CARE_TEAM),
    (GP, doc(OPERATIVE), False, A.CARE_TEAM),
    (MIDWIFE, doc(IMAGING), False, A.CARE_TEAM),
    (PHARMACIST, doc(PRESCRIPTION), False, A.CARE_TEAM),
    (PHARMACIST, doc(IMAGING), False, NF),
    (NURSE, doc(LAB), False, A.CARE_TEAM),
    (NURSE, doc(OPERATIVE), False, NF),
    (PHYSIO, doc(IMAGING), False, A.CARE_TEAM),
    (PHYSIO, doc(LAB), False, NF),
    (DENTIST, doc(SUMMARY), False, A.CARE_TEAM),
    (DENTIST, doc(LAB), False, NF),
    # outside the care team: consent, or nothing, whatever the document
    (STRANGER, doc(LAB), False, CR),
    (STRANGER, None, False, CR),
    (STRANGER, doc(LAB), True, A.CONSENT),
    (STRANGER, None, True, NF),
    (STRANGER, doc(LAB, DocumentStatus.PENDING), True, NF),
    # blocked: nothing, even with consent or an emergency grant
    (BLOCKED, doc(LAB), True, NF),
    (BLOCKED, None, False, NF),
    # emergency grants, active or expired
    (URGENTIST, doc(LAB), False, A.EMERGENCY),
    (EXPIRED, doc(LAB), False, CR),
    # hidden documents (MASQUE_PS)
    (GP, doc(LAB, hidden=True), False, NF),
    (ADMIN, doc(LAB, hidden=True), False, A.ADMINISTRATOR),
    (STRANGER, doc(LAB, hidden=True), True, NF),
    (URGENTIST, doc(LAB, hidden=True), False, NF),
    # the authoring organisation: own documents in any state, hidden or not, without any other basis
    (COLLEAGUE, doc(OPERATIVE, hidden=True), False, A.AUTHOR),
    (COLLEAGUE, doc(LAB, DocumentStatus.PENDING), False, A.AUTHOR),
    (COLLEAGUE, doc(LAB, invisible=True), False, A.AUTHOR),
    # INVISIBLE_PATIENT hides from the patient only
    (GP, doc(LAB, invisible=True), False, A.CARE_TEAM),
])
def test_professional_access(who: Professional, document: Document | None, consent: bool,
                             expected: Basis | Refusal) -> None:
    assert professional_reads(who, profile(), document, matrix(), NOW, consent) == expected


def test_hidden_documents_in_an_emergency_only_when_the_patient_allowed_it() -> None:
    allowed = profile(emergency={"hidden_in_emergency": True})
    assert professional_reads(URGENTIST, allowed, doc(LAB, hidden=True), matrix(), NOW, False) == A.EMERGENCY
    assert professional_reads(GP, allowed, doc(LAB, hidden=True), matrix(), NOW, False) == NF


def test_the_list_level_decision_never_depends_on_a_document() -> None:
    p = profile()
    assert record_basis(STRANGER, p, NOW, consent=False) == CR
    assert record_basis(BLOCKED, p, NOW, consent=True) == NF
    assert record_basis(ADMIN, p, NOW, consent=False) == A.ADMINISTRATOR


def test_a_care_team_membership_gained_by_writing_a_document_is_no_basis_to_read() -> None:
    """Members an upload added before issue 9.2 (`"source": "author"`) are still stored: they count for nothing."""
    from functions.access.ledger import profile_from
    from functions.journal.storage import LedgerItem, ledger_from

    legacy = CareTeamMember(rpps=STRANGER.rpps, since=NOW).model_dump_json().replace('"declared"', '"author"')
    declared = CareTeamMember(rpps=GP.rpps, since=NOW)
    stored = profile_from(ledger_from(INS, [LedgerItem(INS, "CARE#" + STRANGER.rpps, body=legacy),
                                            LedgerItem(INS, "OBJECT#" + STRANGER.rpps, body=NOW.isoformat()),
                                            LedgerItem(INS, "CARE#" + GP.rpps, body=declared.model_dump_json())]))
    assert stored.care_team == {GP.rpps: declared}
    assert record_basis(STRANGER, stored, NOW, consent=False) == CR
    assert record_basis(GP, stored, NOW, consent=False) == A.CARE_TEAM


@pytest.mark.parametrize(("document", "who", "expected"), [
    (doc(LAB), Citizen(ins=INS), True),
    (doc(LAB, hidden=True), Citizen(ins=INS), True),
    (doc(LAB, invisible=True), Citizen(ins=INS), False),
    (doc(LAB, DocumentStatus.PENDING), Citizen(ins=INS), False),
    (doc(LAB), Citizen(ins="192016938701215"), False),
])
def test_citizen_access(document: Document, who: Citizen, expected: bool) -> None:
    assert citizen_reads(space_of(who), document) is expected


def test_emergency_defaults_follow_the_law_when_the_patient_made_no_choice() -> None:
    none = EmergencyChoices()
    assert (none.allows("ETREAT"), none.allows("BTG"), none.shows_hidden) == (True, True, False)
    refused = EmergencyChoices(samu_access=False, break_glass=False)
    assert (refused.allows("ETREAT"), refused.allows("BTG")) == (False, False)


def test_hidden_documents_in_emergencies_need_an_emergency_access() -> None:
    with pytest.raises(ValidationError):
        EmergencyChoices(samu_access=False, break_glass=False, hidden_in_emergency=True)
    assert EmergencyChoices(samu_access=False, hidden_in_emergency=True).shows_hidden


def test_the_matrix_can_be_replaced_by_a_file_without_code_change(tmp_path: object,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    from pathlib import Path

    path = Path(str(tmp_path)) / "matrix.json"
    path.write_text(json.dumps({"version": "test", "professions": {"10": "médecin", "21": "pharmacien"},
                                "groups": {"lab": {"label": "biologie", "readers": ["10"]}},
                                "types": {LAB: "lab", SUMMARY: "lab"}}))
    monkeypatch.setenv("MES_ACCESS_MATRIX_FILE", str(path))
    matrix.cache_clear()
    try:
        replaced = matrix()
        assert replaced.allows("10", LAB) and not replaced.allows("10", IMAGING)
        assert not replaced.allows("21", SUMMARY)
    finally:
        matrix.cache_clear()


def test_an_organisation_reads_its_own_documents_and_nothing_its_professionals_could() -> None:
    """Given a hospital's system (FINESS, no RPPS), Then it reads what its FINESS wrote, in any state and hidden or
    not, and no other document even with consent: the bases of persons are not an organisation's."""
    from functions.access.policy import document_visible
    from functions.identity.principal import Organisation

    own, other = Organisation(finess=AUTHOR_ORG), Organisation(finess="690000002")
    m = matrix()
    for d in (doc(), doc(hidden=True), doc(status=DocumentStatus.PENDING), doc(invisible=True)):
        assert professional_reads(own, profile(), d, m, NOW, consent=False) == A.AUTHOR
    assert professional_reads(other, profile(), doc(), m, NOW, consent=True) == Refusal.NOT_FOUND
    assert professional_reads(own, profile(), None, m, NOW, consent=True) == Refusal.NOT_FOUND
    assert record_basis(other, profile(), NOW, consent=True) == A.AUTHOR
    assert not document_visible(other, profile(), doc(), A.AUTHOR, m, NOW)
    assert not document_visible(other, profile(), doc(), A.CONSENT, m, NOW)


def test_an_organisation_may_not_release_in_the_name_of_a_blocked_author() -> None:
    from functions.identity.principal import Organisation
    from functions.records.policy import may_release

    hospital = Organisation(finess=AUTHOR_ORG)
    invisible = doc(invisible=True)
    assert may_release(hospital, profile(), invisible)
    by_blocked = invisible.model_copy(update={"author": invisible.author.model_copy(
        update={"rpps": BLOCKED.rpps, "by_organisation": True})})
    assert not may_release(hospital, profile(), by_blocked)
    assert not may_release(Organisation(finess="690000002"), profile(), invisible)
