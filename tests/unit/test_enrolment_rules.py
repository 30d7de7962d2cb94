"""The enrolment rules on the space as read (mes-rules-next.md B.2, B.3, B.6): each refusal with its app code,
decided before anything is written; the proof of opposition is a PDF that says who, when and which reference."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader

from functions.accounts import service
from functions.accounts.codes import code_digest
from functions.accounts.models import CodeChannel, Enrolment, Identity, OppositionProof, Space, SpaceStatus
from functions.accounts.proof import render
from functions.identity.ins import with_key
from functions.shared.errors import DomainError

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
INS = with_key("1840675123456")
PARENT = with_key("2800375123456")
BORN = date(1984, 6, 12)
CODE = "ABCD2345EF"


def enrolment(status: SpaceStatus = SpaceStatus.INFORMED, **over: object) -> Enrolment:
    space = over.pop("space", None) or Space(ins=INS, status=status, created_at=NOW, birth_date=BORN,
                                             activated_at=over.pop("activated_at", None))
    fields: dict[str, object] = {"code_digest": code_digest(INS, CODE), "code_expires_at": NOW + timedelta(hours=1),
                                 "code_channel": CodeChannel.MAIL, "vitale_serial": None, **over}
    return Enrolment(space=space, **fields)


def who(**over: object) -> Identity:
    return Identity(**{"ins": INS, "birth_date": BORN, "vitale_serial": "12345678901", **over})


def code_of(call: object) -> str:
    with pytest.raises(DomainError) as refused:
        call()  # type: ignore[operator]
    return refused.value.code


def test_identity_is_the_ins_the_birth_date_and_the_vitale_serial_when_the_insurer_has_it() -> None:
    assert service.identified(enrolment(), who()).ins == INS
    assert code_of(lambda: service.identified(None, who())) == "NO_USER_FOUND"
    assert code_of(lambda: service.identified(enrolment(), who(birth_date=date(1984, 6, 13)))) == "NO_USER_FOUND"
    known = enrolment(vitale_serial="99999999999")
    assert code_of(lambda: service.identified(known, who())) == "NO_USER_FOUND"
    assert service.identified(known, who(vitale_serial="99999999999")).ins == INS


def test_a_deceased_person_cannot_enrol() -> None:
    assert code_of(lambda: service.identified(enrolment(deceased_on=date(2026, 1, 1)), who())) == "DECEASED_INDIVIDUAL"


def test_only_the_representative_the_child_is_attached_to_acts_for_the_child() -> None:
    child = enrolment(representative_ins=PARENT)
    parent = enrolment(space=Space(ins=PARENT, status=SpaceStatus.OPEN, created_at=NOW, birth_date=date(1980, 3, 3)))
    as_parent = who(ins=PARENT, birth_date=date(1980, 3, 3), child_ins=INS)
    assert service.identified(child, as_parent, parent).ins == INS
    stranger = enrolment(space=Space(ins=with_key("1790175123456"), status=SpaceStatus.OPEN, created_at=NOW,
                                     birth_date=date(1979, 1, 1)))
    as_stranger = who(ins=stranger.ins, birth_date=date(1979, 1, 1), child_ins=INS)
    assert code_of(lambda: service.identified(child, as_stranger, stranger)) == "NOT_LEGAL_REPRESENTATIVE"
    # the representative's own identity is what is checked, not the child's birth date
    assert code_of(lambda: service.identified(child, who(ins=PARENT, child_ins=INS), parent)) == "NO_USER_FOUND"


def test_a_new_code_waits_30_seconds_and_is_refused_once_the_profile_exists() -> None:
    assert code_of(lambda: service.may_receive_code(enrolment(code_sent_at=NOW - timedelta(seconds=29)), NOW)) \
        == "MIN_DELAY_ERROR"
    service.may_receive_code(enrolment(code_sent_at=NOW - timedelta(seconds=30)), NOW)
    service.may_receive_code(enrolment(SpaceStatus.OPPOSED), NOW)  # a later activation is possible
    assert code_of(lambda: service.may_receive_code(enrolment(SpaceStatus.OPEN, activated_at=NOW), NOW)) \
        == "PROFILE_ALREADY_EXISTS"
    assert code_of(lambda: service.may_receive_code(enrolment(SpaceStatus.CLOSED), NOW)) == "PROFILE_ALREADY_EXISTS"


def test_a_code_is_single_use_expires_and_a_wrong_one_says_no_more_than_a_wrong_identity() -> None:
    service.may_activate(enrolment(), CODE.lower(), NOW)  # typed in lower case: the same code
    assert code_of(lambda: service.may_activate(enrolment(), "ZZZZ2345EF", NOW)) == "NO_USER_FOUND"
    assert code_of(lambda: service.may_activate(enrolment(code_used_at=NOW), CODE, NOW)) == "CODE_ALREADY_USED"
    expired = enrolment(code_expires_at=NOW)
    assert code_of(lambda: service.may_activate(expired, CODE, NOW)) == "CODE_EXPIRED"
    by_letter = enrolment(code_expires_at=NOW, code_channel=CodeChannel.LETTER)
    with pytest.raises(DomainError, match="une seule fois"):
        service.may_activate(by_letter, CODE, NOW)
    activated = enrolment(SpaceStatus.OPEN, activated_at=NOW - timedelta(days=1))
    assert code_of(lambda: service.may_activate(activated, CODE, NOW)) == "PROFILE_ALREADY_EXISTS"
    service.may_activate(enrolment(SpaceStatus.OPEN), CODE, NOW)  # created by default, not activated yet


def test_opposition_is_before_creation_only_and_may_be_asked_again() -> None:
    service.may_oppose(enrolment(), CODE, NOW)
    service.may_oppose(enrolment(SpaceStatus.OPPOSED, code_used_at=None), CODE, NOW)
    assert code_of(lambda: service.may_oppose(enrolment(SpaceStatus.OPEN), CODE, NOW)) == "SPACE_ALREADY_CREATED"
    assert code_of(lambda: service.may_oppose(enrolment(SpaceStatus.CLOSED), CODE, NOW)) == "SPACE_ALREADY_CREATED"
    assert code_of(lambda: service.may_oppose(enrolment(code_expires_at=NOW), CODE, NOW)) == "CODE_EXPIRED"


def test_the_terms_are_asked_again_when_a_newer_version_is_in_force() -> None:
    space = Space(ins=INS, status=SpaceStatus.OPEN, created_at=NOW, activated_at=NOW, terms_version="2026-12")
    assert service.should_accept_terms(space, "2026-12") is False
    assert service.should_accept_terms(space, "2027-06") is True
    assert service.should_accept_terms(space.model_copy(update={"activated_at": None}), "2027-06") is False


def test_the_proof_of_opposition_is_a_pdf_naming_the_person_the_ins_the_day_and_the_reference() -> None:
    proof = OppositionProof(reference="opp_0123456789abcdef01234567", ins=INS, name="Zoé Łukasiewicz",
                            opposed_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    pdf = render(proof)
    assert pdf.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert proof.reference in text and INS in text
    assert "Zoé ?ukasiewicz" in text  # outside latin-1: a '?', never a failure
    assert "01/12/2026" in text  # the French day (23:30 UTC is already 1 December in Paris)
