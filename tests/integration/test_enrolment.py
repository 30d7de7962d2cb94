"""Enrolment through the HTTP stack (issue 12 points 2 and 3): an informed person asks for a provisional code
(here by letter, so the test reads it from the print record), activates with it and their citizen login, then
uses the API; a reused or expired code, a second request within 30 s, an opposition with its PDF proof and a
later activation, a minor's representative, and each refusal's code."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests
from pypdf import PdfReader

from local import config
from tests.integration.conftest import Stack, declaration, new_ins

BORN = date(1984, 6, 12)
VITALE = "12345678901"
_subjects = itertools.count()


def inform(**over: Any) -> str:
    """An informed space, as the insurer's import leaves it."""
    from functions import deps
    from functions.accounts.service import inform_one

    ins = over.pop("ins", None) or new_ins()
    address = f"{next(_subjects)} rue de la Paix, 75002 Paris"  # one a person: the test finds its letter by it
    identity = {"first_name": "Camille", "last_name": "Durand", "postal_address": address, **over}
    birth = identity.pop("birth_date", BORN)
    email = identity.pop("email", None)
    inform_one(deps.enrolment().enrolments, deps.clock(), ins, birth, email, **identity)
    return ins


def identity(ins: str, **over: Any) -> dict[str, Any]:
    return {"ins": ins, "birth_date": BORN.isoformat(), "vitale_serial": VITALE, **over}


def login(stack: Stack) -> dict[str, str]:
    """A FranceConnect-like token whose login is linked to nothing yet."""
    token = stack.issuer.mint(config.CITIZEN_ISSUER, f"fc-enrol-{next(_subjects)}-{datetime.now(UTC).timestamp()}")
    return {"Authorization": f"Bearer {token}"}


def letter_code(stack: Stack, ins: str, **over: Any) -> str:
    """Ask for a code by letter and read it from its print record in the proofs bucket."""
    from functions import deps
    from functions.shared.aws import client
    from functions.shared.settings import settings

    asked = stack.call("POST", "/v1/enrolment/code", json={**identity(ins, **over), "channel": "letter"})
    assert asked.status_code == 202, asked.text
    assert asked.json()["channel"] == "letter" and "code" not in asked.json()
    s3 = client("s3", config.REGION)
    bucket = settings().proofs_bucket
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="letters/").get("Contents", [])
    space = deps.enrolment().enrolments.enrolment(over.get("child_ins") or ins)
    assert space is not None
    records = [json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listed]
    return str(next(r["code"] for r in records if r["address"] == space.postal_address))


def error(response: requests.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def test_an_informed_person_activates_with_the_code_and_their_login_then_uses_the_api(stack: Stack) -> None:
    ins = inform()
    code = letter_code(stack, ins)
    token = login(stack)
    # When they activate with the code, the terms in force and their citizen login
    done = stack.call("POST", "/v1/enrolment/activation", token,
                      json={**identity(ins), "code": code, "terms_version": "2026-12"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "open" and done.json()["should_accept_terms"] is False
    # Then the same token works on the citizen routes
    me = stack.call("GET", "/v1/me", token)
    assert me.status_code == 200, me.text
    assert me.json()["ins"] == ins and me.json()["terms_version"] == "2026-12"
    actions = [t["action"] for t in stack.call("GET", "/v1/me/traces", token).json()["items"]]
    assert actions[:2] == ["space.activated", "enrolment.code_sent"]
    # accepting the terms again is traced; an outdated version is refused
    assert stack.call("POST", "/v1/me/terms", token, json={"terms_version": "2026-12"}).status_code == 200
    old = stack.call("POST", "/v1/me/terms", token, json={"terms_version": "2025-01"})
    assert (old.status_code, error(old)) == (422, "TERMS_VERSION_MISMATCH")
    assert stack.call("GET", "/v1/me/traces?limit=1", token).json()["items"][0]["action"] == "terms.accepted"
    # and professionals can now write into the space
    doctor = {**stack.professional(), "Idempotency-Key": "enrol-doc-01"}
    ok = stack.call("POST", f"/v1/patients/{ins}/documents", doctor, json=declaration(b"%PDF-1.4 enrol"))
    assert ok.status_code == 201, ok.text
    # And the code cannot be used twice, nor the space activated again
    again = stack.call("POST", "/v1/enrolment/activation", login(stack),
                       json={**identity(ins), "code": code, "terms_version": "2026-12"})
    assert (again.status_code, error(again)) == (409, "CODE_ALREADY_USED")
    asked = stack.call("POST", "/v1/enrolment/code", json=identity(ins))
    assert (asked.status_code, error(asked)) == (409, "PROFILE_ALREADY_EXISTS")


def test_a_second_code_request_within_30_seconds_is_min_delay_and_the_first_code_stays_valid(stack: Stack) -> None:
    ins = inform(email="camille.durand@example.org")
    from functions.shared.aws import client

    sent_before = client("ses", config.REGION).get_send_quota()["SentLast24Hours"]
    first = stack.call("POST", "/v1/enrolment/code", json=identity(ins))
    assert first.status_code == 202 and first.json()["channel"] == "mail"
    assert client("ses", config.REGION).get_send_quota()["SentLast24Hours"] == sent_before + 1
    second = stack.call("POST", "/v1/enrolment/code", json=identity(ins))
    assert (second.status_code, error(second)) == (429, "MIN_DELAY_ERROR")
    assert "30 secondes" in second.json()["error"]["message"]
    # the code of the first request (read from its e-mail) still activates
    texts = [e["text"] for e in _emails_to("camille.durand@example.org") if "code provisoire" in e.get("text", "")]
    code = texts[-1].split(" est ")[1].split(".")[0]
    done = stack.call("POST", "/v1/enrolment/activation", login(stack),
                      json={**identity(ins), "code": code, "terms_version": "2026-12"})
    assert done.status_code == 200 and done.json()["status"] == "open", done.text


def test_a_login_linked_to_another_space_activates_nothing(stack: Stack) -> None:
    _, linked = stack.citizen()
    ins = inform()
    code = letter_code(stack, ins)
    refused = stack.call("POST", "/v1/enrolment/activation", linked,
                         json={**identity(ins), "code": code, "terms_version": "2026-12"})
    assert (refused.status_code, error(refused)) == (409, "LOGIN_ALREADY_LINKED")
    from functions import deps

    space = deps.spaces().get(ins)
    assert space is not None and space.status.value == "informed" and space.activated_at is None
    fresh = stack.call("POST", "/v1/enrolment/activation", login(stack),
                       json={**identity(ins), "code": code, "terms_version": "2026-12"})
    assert fresh.status_code == 200, fresh.text  # the code was not used up by the refusal


def test_an_expired_code_is_refused_and_activates_nothing(stack: Stack) -> None:
    from functions import deps
    from functions.accounts.models import CodeChannel, Identity
    from functions.accounts.service import issue_code
    from functions.shared.clock import FixedClock

    ins = inform()
    # Given a code sent by letter four days ago that lived one day
    past = dataclasses.replace(deps.enrolment(), clock=FixedClock(datetime.now(UTC) - timedelta(days=4)),
                               letter_code_ttl=timedelta(days=1))
    code, _ = issue_code(past, Identity(ins=ins, birth_date=BORN, vitale_serial=VITALE), CodeChannel.LETTER)
    late = stack.call("POST", "/v1/enrolment/activation", login(stack),
                      json={**identity(ins), "code": code, "terms_version": "2026-12"})
    assert (late.status_code, error(late)) == (409, "CODE_EXPIRED")
    assert "une seule fois" in late.json()["error"]["message"]  # by letter: go through ameli or the caisse
    assert deps.spaces().get(ins).status.value == "informed"  # type: ignore[union-attr]


def test_refusals_name_the_rule(stack: Stack) -> None:
    ins = inform()
    code = letter_code(stack, ins)
    wrong_birth = stack.call("POST", "/v1/enrolment/code", json=identity(ins, birth_date="1984-06-13"))
    assert (wrong_birth.status_code, error(wrong_birth)) == (404, "NO_USER_FOUND")
    wrong_code = stack.call("POST", "/v1/enrolment/activation", login(stack),
                            json={**identity(ins), "code": "ZZZZZZZZZZ", "terms_version": "2026-12"})
    assert (wrong_code.status_code, error(wrong_code)) == (404, "NO_USER_FOUND")
    old_terms = stack.call("POST", "/v1/enrolment/activation", login(stack),
                           json={**identity(ins), "code": code, "terms_version": "2020-01"})
    assert (old_terms.status_code, error(old_terms)) == (422, "TERMS_VERSION_MISMATCH")
    no_token = stack.call("POST", "/v1/enrolment/activation",
                          json={**identity(ins), "code": code, "terms_version": "2026-12"})
    assert (no_token.status_code, error(no_token)) == (401, "missing_token")
    doctor = stack.call("POST", "/v1/enrolment/activation", stack.professional(),
                        json={**identity(ins), "code": code, "terms_version": "2026-12"})
    assert (doctor.status_code, error(doctor)) == (403, "wrong_principal")
    nowhere = inform(postal_address=None)
    none = stack.call("POST", "/v1/enrolment/code", json=identity(nowhere))
    assert (none.status_code, error(none)) == (409, "CONTACTS_NOT_FOUND")
    deceased = inform(deceased_on=date(2026, 10, 1))
    gone = stack.call("POST", "/v1/enrolment/code", json=identity(deceased))
    assert (gone.status_code, error(gone)) == (409, "DECEASED_INDIVIDUAL")
    by_sms = stack.call("POST", "/v1/enrolment/code", json={**identity(inform()), "channel": "sms"})
    assert (by_sms.status_code, error(by_sms)) == (409, "CONTACTS_NOT_FOUND")  # no SMS sender yet
    unknown = stack.call("POST", "/v1/enrolment/code", json=identity(new_ins()))
    assert (unknown.status_code, error(unknown)) == (404, "NO_USER_FOUND")


def test_opposition_gives_a_pdf_proof_leaves_no_space_and_a_later_activation_opens_it(stack: Stack) -> None:
    ins = inform()
    code = letter_code(stack, ins)
    opposed = stack.call("POST", "/v1/enrolment/opposition", json={**identity(ins), "code": code})
    assert opposed.status_code == 200, opposed.text
    reference = opposed.json()["reference"]
    pdf = requests.get(opposed.json()["proof_url"], timeout=10).content
    assert pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Camille Durand" in text and reference in text and ins in text
    # An opposed person has no space: a professional's declaration is the 404 of a missing space
    refused = stack.call("POST", f"/v1/patients/{ins}/documents",
                         {**stack.professional(), "Idempotency-Key": "enrol-opposed-01"}, json=declaration(b"%PDF-x"))
    assert refused.status_code == 404
    # The proof again, by reference, identity and code; opposing again gives the same reference
    query = {**identity(ins), "code": code}
    again = stack.call("GET", f"/v1/enrolment/opposition/{reference}", params=query)
    assert again.status_code == 200 and again.json()["reference"] == reference
    assert stack.call("GET", "/v1/enrolment/opposition/opp_nobody", params=query).status_code == 404
    twice = stack.call("POST", "/v1/enrolment/opposition", json={**identity(ins), "code": code})
    assert twice.status_code == 200 and twice.json()["reference"] == reference
    # Later, the person activates after all, with the same code
    token = login(stack)
    done = stack.call("POST", "/v1/enrolment/activation", token,
                      json={**identity(ins), "code": code, "terms_version": "2026-12"})
    assert done.status_code == 200 and done.json()["status"] == "open"
    actions = [t["action"] for t in stack.call("GET", "/v1/me/traces", token).json()["items"]]
    assert actions[:4] == ["space.activated", "opposition.proof_read", "opposition.proof_read", "space.opposed"]
    # After creation, opposing is closing
    late = stack.call("POST", "/v1/enrolment/opposition", json={**identity(ins), "code": code})
    assert (late.status_code, error(late)) == (409, "SPACE_ALREADY_CREATED")


def test_a_minor_is_activated_or_opposed_by_the_legal_representative_only(stack: Stack) -> None:
    parent = inform(first_name="Alex", birth_date=date(1980, 3, 3))
    stranger = inform(birth_date=date(1979, 1, 1))
    child = inform(first_name="Léa", birth_date=date(2015, 5, 5), representative_ins=parent)
    # The code goes to the child's contacts (the insurer's: the representative's letter)
    code = letter_code(stack, parent, birth_date="1980-03-03", child_ins=child)
    refused = stack.call("POST", "/v1/enrolment/opposition",
                         json={**identity(stranger, birth_date="1979-01-01", child_ins=child), "code": code})
    assert (refused.status_code, error(refused)) == (403, "NOT_LEGAL_REPRESENTATIVE")
    assert "représentant légal" in refused.json()["error"]["message"]
    opposed = stack.call("POST", "/v1/enrolment/opposition",
                         json={**identity(parent, birth_date="1980-03-03", child_ins=child), "code": code})
    assert opposed.status_code == 200, opposed.text
    from functions import deps

    assert deps.spaces().get(child).status.value == "opposed"  # type: ignore[union-attr]


def test_two_activations_racing_with_one_code_open_the_space_once(stack: Stack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ins = inform()
    code = letter_code(stack, ins)
    tokens = [login(stack) for _ in range(4)]
    body = {**identity(ins), "code": code, "terms_version": "2026-12"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda t: stack.call("POST", "/v1/enrolment/activation", t, json=body), tokens))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    assert {error(a) for a in answers if a.status_code == 409} <= {"CODE_ALREADY_USED", "PROFILE_ALREADY_EXISTS"}
    # only the winner's login reaches the space
    linked = [t for t in tokens if stack.call("GET", "/v1/me", t).status_code == 200]
    assert len(linked) == 1


def _emails_to(address: str) -> list[dict[str, Any]]:
    """The template data of every e-mail SES (moto) took for this address."""
    from moto.ses.models import ses_backends

    found = []
    for message in ses_backends[config.ACCOUNT][config.REGION].sent_messages:
        for destination in getattr(message, "destinations", None) or []:
            if isinstance(destination, dict) and address in destination.get("Destination", {}).get("ToAddresses", []):
                found.append(json.loads(destination.get("ReplacementTemplateData") or "{}"))
    return found


def test_an_opposition_is_emailed_once_with_its_reference_and_never_the_ins(stack: Stack) -> None:
    address = f"opposant-{next(_subjects)}@example.org"
    ins = inform(email=address)
    code = letter_code(stack, ins)
    opposed = stack.call("POST", "/v1/enrolment/opposition", json={**identity(ins), "code": code})
    assert opposed.status_code == 200, opposed.text
    (notice,) = _emails_to(address)
    assert opposed.json()["reference"] in notice["text"] and ins not in json.dumps(notice)
    again = stack.call("POST", "/v1/enrolment/opposition", json={**identity(ins), "code": code})
    assert again.status_code == 200 and len(_emails_to(address)) == 1  # the same proof, no second e-mail


def test_an_activation_tells_the_holder_by_email_without_the_ins(stack: Stack) -> None:
    """Point 8: the holder is told (and warned, had someone else activated it with their card and code)."""
    address = f"active-{next(_subjects)}@example.org"
    ins = inform(email=address)
    code = letter_code(stack, ins)
    done = stack.call("POST", "/v1/enrolment/activation", login(stack),
                      json={**identity(ins), "code": code, "terms_version": "2026-12"})
    assert done.status_code == 200, done.text
    (notice,) = _emails_to(address)
    assert notice["subject"] == "votre profil est activé" and "caisse d'assurance maladie" in notice["text"]
    assert ins not in json.dumps(notice)


def test_a_holder_who_accepted_older_terms_is_asked_again_until_they_accept_the_version_in_force(
        stack: Stack) -> None:
    from functions.accounts.storage import SpaceItem, space_key

    ins, holder = stack.citizen()
    SpaceItem(space_key(ins)).update(actions=[SpaceItem.terms_version.set("2025-01")])  # accepted before 2026-12
    assert stack.call("GET", "/v1/me", holder).json()["should_accept_terms"] is True
    assert stack.call("POST", "/v1/me/terms", holder, json={"terms_version": "2026-12"}).status_code == 200
    me = stack.call("GET", "/v1/me", holder).json()
    assert me["should_accept_terms"] is False and me["terms_version"] == "2026-12"
