"""Opening by default against moto, end to end: a beneficiaries file dropped into the intake bucket -> S3
notification -> the accounts-tasks queue -> split into chunks -> spaces informed, e-mails and letters produced once,
the report next to the file; the same file dropped again creates and sends nothing; the daily creation job at the
due date opens them, leaves an opposed one opposed, and re-running the day changes nothing."""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import requests
from pypdf import PdfReader

from functions import deps
from functions.accounts.models import SpaceStatus
from functions.accounts.opening import dispatch_creation
from functions.accounts.storage import SpaceItem, space_key
from functions.accounts.worker import handle_tasks
from functions.notifications.models import french_day
from functions.shared.aws import client
from functions.shared.clock import paris_day
from functions.shared.settings import settings
from local import config
from local.pump import QueuePump
from tests.events import load
from tests.integration.conftest import Stack, declaration, new_ins

CHUNK_LINES = 3  # several chunks for a small file: a minor's representative sits in another chunk


def person(ins: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ins": ins, "last_name": "Martin", "first_name": "Léa", "birth_date": "1980-04-02",
                            "sex": int(ins[0])}
    body.update(over)
    return body


def emails_sent() -> int:
    return int(client("ses", config.REGION).get_send_quota()["SentLast24Hours"])


def print_objects(prefix: str) -> dict[str, str]:
    s3 = client("s3", config.REGION)
    bucket = settings().print_bucket
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode() for o in listed}


def code_letters() -> list[dict[str, Any]]:
    """The print records of the codes asked by letter (`POST /v1/enrolment/code`), in the proofs bucket."""
    s3 = client("s3", config.REGION)
    bucket = settings().proofs_bucket
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="letters/").get("Contents", [])
    return [json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listed]


def traces(ins: str) -> list[str]:
    return [t.action.value for t in deps.traces().all(ins)]


@pytest.fixture
def pump(stack: Stack) -> QueuePump:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handle_tasks(replace(deps.opening(), chunk_lines=CHUNK_LINES), deps.intake_bucket(), event, context)

    return QueuePump(client("sqs", config.REGION), config.ACCOUNTS_TASK_QUEUE, handler)


def drop(name: str, lines: list[str]) -> None:
    client("s3", config.REGION).put_object(Bucket=deps.intake_bucket(), Key=f"intake/{name}.ndjson",
                                           Body=("\n".join(lines) + "\n").encode())


def test_a_file_informs_once_reports_bad_lines_and_the_job_opens_at_the_due_date(stack: Stack,
                                                                                 pump: QueuePump) -> None:
    mailed, texted, lettered, parent, child, opposed = (new_ins() for _ in range(6))
    bad_key = mailed[:13] + f"{(int(mailed[13:]) % 97) + 1:02d}"
    letter_address = {"lines": ["3 rue des Lilas"], "postal_code": "69003", "city": "Lyon"}
    lines = [
        json.dumps(person(mailed, email="lea.martin@example.org")),
        json.dumps(person(texted, mobile="+33612345678")),
        "{not json",
        json.dumps(person(lettered, postal_address=letter_address)),
        json.dumps(person(bad_key, email="x@example.org")),  # wrong INS key
        json.dumps(person(mailed, email="again@example.org")),  # duplicate INS: refused on this second line
        json.dumps(person(child, birth_date="2016-05-01", email="parent@example.org",
                          legal_representative_ins=parent)),  # representative further down, another chunk
        json.dumps(person(new_ins(), birth_date="2015-01-01", email="kid@example.org")),  # minor, no representative
        json.dumps(person(new_ins(), birth_date="2014-01-01", email="kid2@example.org",
                          legal_representative_ins=new_ins())),  # representative neither in the file nor known
        json.dumps(person(parent, email="parent@example.org")),
        json.dumps(person(opposed, email="opposed@example.org")),
    ]
    before = emails_sent()
    drop("beneficiaires-2026-12", lines)
    pump.drain()

    s3 = client("s3", config.REGION)
    report = json.loads(s3.get_object(Bucket=deps.intake_bucket(),
                                      Key="reports/beneficiaires-2026-12.json")["Body"].read())
    assert [(r["line"], r["reason"]) for r in report["refused"]] == [
        (3, "not_json"), (5, "invalid_ins"), (6, "duplicate_ins"), (8, "minor_without_representative"),
        (9, "unknown_representative")]
    assert report["lines"] == 11 and report["accepted"] == 6 and report["chunks"] == 4
    assert mailed not in json.dumps(report) and "Martin" not in json.dumps(report)  # line numbers, no personal data

    spaces = deps.spaces()
    for ins in (mailed, texted, lettered, parent, child, opposed):
        space = spaces.get(ins)
        assert space is not None and space.status is SpaceStatus.INFORMED
        assert traces(ins) == ["space.informed"]
    informed = spaces.get(mailed)
    assert informed is not None and informed.informed_at is not None
    assert informed.creation_due == paris_day(informed.informed_at) + timedelta(weeks=6)
    item = SpaceItem.get(space_key(lettered), consistent_read=True)
    assert item.code_channel == "letter" and item.code_digest and item.code_sent_at is not None
    assert SpaceItem.get(space_key(texted)).code_channel == "sms"
    assert SpaceItem.get(space_key(mailed)).code_channel == "mail"
    assert emails_sent() - before == 4  # mailed, child, parent, opposed
    letters = print_objects("letters/")
    assert len(letters) == 1
    letter = json.loads(next(iter(letters.values())))
    assert letter["address"]["city"] == "Lyon" and letter["addressee"] == "Léa Martin" and "{" not in letter["text"]
    assert f"le {french_day(informed.creation_due)}, sauf si vous vous y opposez" in letter["text"]
    assert "Votre code provisoire : " in letter["text"] and "ins" not in letter
    assert len(print_objects("sms/")) == 1

    # The same file again, then a file overlapping it: nothing created, nothing sent twice.
    drop("beneficiaires-2026-12", lines)
    drop("beneficiaires-2026-12-bis", [json.dumps(person(mailed, email="lea.martin@example.org")),
                                       json.dumps(person(lettered, postal_address=letter_address))])
    pump.drain()
    assert emails_sent() - before == 4
    assert len(print_objects("letters/")) == 1 and len(print_objects("sms/")) == 1
    assert traces(mailed) == ["space.informed"]

    # A crash between the commit and the send (no `code_sent_at`): the next delivery sends a new code, once.
    old_digest = SpaceItem.get(space_key(texted), consistent_read=True).code_digest
    SpaceItem(space_key(texted)).update(actions=[SpaceItem.code_sent_at.remove()])
    for _ in range(2):
        drop("beneficiaires-2026-12", lines)
        pump.drain()
    item = SpaceItem.get(space_key(texted), consistent_read=True)
    assert item.code_sent_at is not None and item.code_digest != old_digest
    assert len(print_objects("sms/")) == 2 and emails_sent() - before == 4
    assert traces(texted) == ["space.informed", "space.informed"]

    # Before its creation an informed space is not a space for documents: a hospital's declaration is a 404.
    refused = stack.call("POST", f"/v1/patients/{mailed}/documents", {**stack.professional(),
                         "Idempotency-Key": f"before-creation-{mailed}"}, json=declaration(b"%PDF-1.4 x"))
    assert refused.status_code == 404

    # The person objects (ACC-ENROL's route sets it; here through the store), then the day comes.
    SpaceItem(space_key(opposed)).update(actions=[SpaceItem.status.set(SpaceStatus.OPPOSED.value)])
    due = informed.creation_due
    assert due is not None
    for _ in range(2):  # re-running the day opens nothing twice
        dispatch_creation(deps.opening(), due)
        pump.drain()
        for ins in (mailed, texted, lettered, parent, child):
            space = spaces.get(ins)
            assert space is not None and space.status is SpaceStatus.OPEN
            assert traces(ins) == ["space.informed"] * (2 if ins == texted else 1) + ["space.created"]
        still = spaces.get(opposed)
        assert still is not None and still.status is SpaceStatus.OPPOSED
        assert traces(opposed) == ["space.informed"]

    # From its creation, documents and messages flow into the space (not activated: nobody has logged in)
    accepted = stack.call("POST", f"/v1/patients/{mailed}/documents", {**stack.professional(),
                          "Idempotency-Key": f"after-creation-{mailed}"}, json=declaration(b"%PDF-1.4 x"))
    assert accepted.status_code == 201, accepted.text
    message = stack.call("POST", f"/v1/patients/{mailed}/messages", {**stack.professional(),
                         "Idempotency-Key": f"msg-after-creation-{mailed}"}, json={"subject": "Bienvenue", "text": "x"})
    assert message.status_code == 201, message.text
    refused = stack.call("POST", f"/v1/patients/{opposed}/messages", stack.professional(),
                         json={"subject": "Bonjour", "text": "x"})
    assert refused.status_code == 404  # an opposed person has no space


def test_the_daily_schedule_opens_the_spaces_of_days_it_missed(stack: Stack, pump: QueuePump) -> None:
    """`space-creation-daily` (app.space_creation_daily) ran the day before they were due, then not for two days
    (an outage): its next run opens them. The mark only moves forward, and a fresh deployment sends today only."""
    import app as api
    from functions.accounts.storage import CREATION_MARK, CreationMark, DynamoIntakeStore
    from local.pump import LambdaContext

    with contextlib.suppress(CreationMark.DoesNotExist):
        CreationMark.get(CREATION_MARK).delete()  # the other tests' runs: this one starts as a fresh deployment
    people = [new_ins(), new_ins()]
    drop("beneficiaires-2026-12-panne", [json.dumps(person(i, email=f"{i}@example.org")) for i in people])
    pump.drain()
    informed = deps.spaces().get(people[0])
    assert informed is not None and informed.creation_due is not None
    due = informed.creation_due

    def run_on(day: Any) -> dict[str, Any]:
        at = f"{day.isoformat()}T03:00:00Z"  # 04:00 or 05:00 in Paris: that Paris day
        result: dict[str, Any] = api.space_creation_daily({**load("schedule/daily.json"), "time": at}, LambdaContext())
        pump.drain()
        return result

    assert run_on(due - timedelta(days=1)) == {"days": [(due - timedelta(days=1)).isoformat()]}
    assert [deps.spaces().get(i).status for i in people] == [SpaceStatus.INFORMED] * 2  # type: ignore[union-attr]
    later = due + timedelta(days=2)
    assert run_on(later) == {"days": [(due + timedelta(days=n)).isoformat() for n in range(3)]}
    for ins in people:
        space = deps.spaces().get(ins)
        assert space is not None and space.status is SpaceStatus.OPEN
        assert traces(ins) == ["space.informed", "space.created"]
    assert run_on(due) == {"days": [due.isoformat()]}  # an operator re-runs the day: nothing twice
    assert [traces(i) for i in people] == [["space.informed", "space.created"]] * 2
    assert DynamoIntakeStore().last_creation_day() == later


def test_a_person_of_the_file_activates_opposes_or_asks_a_new_code_with_what_the_import_kept(
        stack: Stack, pump: QueuePump) -> None:
    """The codes the import printed work with the enrolment routes: the parent the file names opposes for the
    child (and the proof names the child), and a person informed by letter asks a new code by letter again."""
    parent, child, lettered = new_ins(), new_ins(), new_ins()
    home = {"lines": ["8 rue des Écoles"], "postal_code": "75005", "city": "Paris"}
    drop("beneficiaires-2026-12-famille", [
        json.dumps(person(parent, first_name="Alex", birth_date="1980-03-03", postal_address=home)),
        json.dumps(person(child, first_name="Zoé", birth_date="2016-05-01", postal_address=home,
                          legal_representative_ins=parent)),
        json.dumps(person(lettered, first_name="Inès", postal_address={**home, "lines": ["1 place du Panthéon"]})),
    ])
    pump.drain()
    letters = [json.loads(line) for body in print_objects("letters/").values() for line in body.splitlines()]
    codes = {r["addressee"]: re.search(r"Votre code provisoire : ([0-9A-Z]+)", r["text"]).group(1)  # type: ignore
             for r in letters}
    assert {"Alex Martin", "Zoé Martin", "Inès Martin"} <= set(codes)

    who = {"ins": parent, "birth_date": "1980-03-03", "vitale_serial": "12345678901", "child_ins": child}
    opposed = stack.call("POST", "/v1/enrolment/opposition", json={**who, "code": codes["Zoé Martin"]})
    assert opposed.status_code == 200, opposed.text
    space = deps.spaces().get(child)
    assert space is not None and space.status is SpaceStatus.OPPOSED
    pdf = requests.get(opposed.json()["proof_url"], timeout=10).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Zoé Martin" in text and child in text

    # a new code by letter: not within 30 s of the import's, then to the address the file gave
    ask = {"ins": lettered, "birth_date": "1980-04-02", "vitale_serial": "12345678901", "channel": "letter"}
    soon = stack.call("POST", "/v1/enrolment/code", json=ask)
    assert (soon.status_code, soon.json()["error"]["code"]) == (429, "MIN_DELAY_ERROR")
    sent = SpaceItem.get(space_key(lettered), consistent_read=True).code_sent_at
    SpaceItem(space_key(lettered)).update(actions=[SpaceItem.code_sent_at.set(sent - timedelta(seconds=31))])
    later = stack.call("POST", "/v1/enrolment/code", json=ask)
    assert later.status_code == 202, later.text
    assert "1 place du Panthéon\n75005 Paris" in [r["address"] for r in code_letters()]


def test_once_erased_a_person_named_again_by_the_insurer_may_activate_a_new_empty_space(
        stack: Stack, pump: QueuePump) -> None:
    """mes-rules-next.md B.1: "Lorsque la suppression des données sera terminée [...] Vous pourrez alors de
    nouveau activer ces profils." Before, the tombstone made the person known for ever: a re-import skipped
    them and enrolment answered NO_USER_FOUND. Now the insurer's next file gives the tombstone their identity
    (nothing sent, never created by default), and a code by letter activates an empty space."""
    from local import erasure

    ins, holder = stack.citizen()
    closed = stack.call("POST", "/v1/me/closure", holder, json={"delete_data": True})
    assert closed.status_code == 200, closed.text
    erasure.pump().drain()
    space = deps.spaces().get(ins)
    assert space is not None and space.status is SpaceStatus.ERASED
    who = {"ins": ins, "birth_date": "1980-04-02", "vitale_serial": "12345678901", "channel": "letter"}
    before = stack.call("POST", "/v1/enrolment/code", json=who)
    assert (before.status_code, before.json()["error"]["code"]) == (404, "NO_USER_FOUND")

    sent_before = emails_sent()
    address = {"lines": [f"{ins[-4:]} avenue de la République"], "postal_code": "75011", "city": "Paris"}
    for _ in range(2):  # the file and its re-import
        drop(f"beneficiaires-apres-effacement-{ins}", [json.dumps(person(ins, email="lea@example.org",
                                                                         postal_address=address))])
        pump.drain()
    assert emails_sent() == sent_before  # no information: they closed their space
    assert traces(ins).count("space.identity_received") == 1 and "space.informed" not in traces(ins)
    item = SpaceItem.get(space_key(ins), consistent_read=True)
    assert item.status == "erased" and item.creation_shard is None and item.erasure_reference

    asked = stack.call("POST", "/v1/enrolment/code", json=who)
    assert asked.status_code == 202, asked.text
    code = next(r["code"] for r in code_letters() if r["address"].startswith(address["lines"][0]))
    token = stack.issuer.mint(config.CITIZEN_ISSUER, f"fc-after-erasure-{ins}")
    login = {"Authorization": f"Bearer {token}"}
    done = stack.call("POST", "/v1/enrolment/activation", login,
                      json={"ins": ins, "birth_date": "1980-04-02", "vitale_serial": "12345678901", "code": code,
                            "terms_version": settings().terms_version})
    assert done.status_code == 200 and done.json()["status"] == "open", done.text
    assert stack.call("GET", "/v1/me/documents", login).json()["items"] == []  # a new, empty space
    doctor = {**stack.professional(), "Idempotency-Key": f"after-erasure-{ins}"}
    assert stack.call("POST", f"/v1/patients/{ins}/documents", doctor,
                      json=declaration(b"%PDF-1.4 again")).status_code == 201
