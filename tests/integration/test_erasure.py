"""Closure and erasure by crypto-shredding against moto (issue 12 points 4 and 5): a space with documents (and
object versions), traces, agenda entries, notifications, preferences, messages and access rules is closed with
`delete_data`; while closed it answers only its lifecycle routes and professionals see nothing; the erasure queued
at once leaves, in every table (Scan: in tests only) and every bucket version, nothing of that person but the
tombstone, and an object version saved before ("a backup") cannot be decrypted."""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any

import pytest
import requests

from functions.shared.envelope import Undecryptable, unseal
from local import config
from local.seed import ensure_citizen
from tests.integration.conftest import (
    ACTIVATION_TRACES,
    Stack,
    declaration,
    message_with_attachment,
    new_ins,
    post_file,
)

PDF = b"%PDF-1.4\n% erasure test\n" + os.urandom(64)
TEXT = "Mes notes personnelles, à supprimer.\n".encode()


def _tables() -> list[str]:
    from functions.shared.settings import settings

    s = settings()  # every table the functions are configured with: a table added later is listed too
    return [s.spaces_table, *(getattr(s, f) for f in sorted(type(s).model_fields)
                              if f.endswith("_table") and f != "spaces_table" and getattr(s, f))]


def _buckets() -> list[str]:
    from functions.shared.settings import settings

    s = settings()  # every bucket, likewise
    return [getattr(s, f) for f in sorted(type(s).model_fields) if f.endswith("_bucket") and getattr(s, f)]


def idempotency_records(ins: str) -> list[dict[str, Any]]:
    """The space's Idempotency-Key records (their keys are hashes: found by their owner, a Scan in a test)."""
    from functions.shared.aws import client
    from functions.shared.idempotency import owner_of
    from functions.shared.settings import settings

    pages = client("dynamodb", config.REGION).get_paginator("scan").paginate(TableName=settings().idempotency_table)
    return [item for page in pages for item in page["Items"] if item.get("owner", {}).get("S") == owner_of(ins)]


def items_naming(needles: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """Every item of every table (a Scan: fine in a test) whose JSON holds one of `needles`."""
    from functions.shared.aws import client

    ddb = client("dynamodb", config.REGION)
    found = []
    for table in _tables():
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            found += [(table, item) for item in page["Items"] if any(n in json.dumps(item) for n in needles)]
    return found


def versions_naming(needles: list[str]) -> list[tuple[str, str]]:
    """Every object version and delete marker of every bucket whose key holds one of `needles`."""
    from functions.shared.aws import client

    s3 = client("s3", config.REGION)
    found = []
    for bucket in _buckets():
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            found += [(bucket, v["Key"]) for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                      if any(n in v["Key"] for n in needles)]
    return found


def contents_naming(needles: list[str]) -> list[tuple[str, str]]:
    """Every object version of every bucket whose bytes hold one of `needles` in clear (what the S3 API gives
    back: SSE-KMS is undone by S3, the space's envelope is not)."""
    from functions.shared.aws import client

    s3 = client("s3", config.REGION)
    found = []
    for bucket in _buckets():
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []):
                body = s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
                if any(n.encode() in body for n in needles):
                    found.append((bucket, v["Key"]))
    return found


def drain_erasures() -> None:
    """The erasures queue pumped as `make run` does, through the deployed consumer (app.on_erasure_request)."""
    from local import erasure

    erasure.pump().drain()


def emails_sent() -> int:
    from functions.shared.aws import client

    return int(client("ses", config.REGION).get_send_quota()["SentLast24Hours"])


def declare_and_upload(stack: Stack, ins: str, key: str) -> str:
    pro = {**stack.professional(), "Idempotency-Key": key}
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", pro, json=declaration(PDF)).json()
    post_file(ticket["upload"], PDF)
    stack.pump.drain()
    return str(ticket["document_id"])


@pytest.fixture
def full_space(stack: Stack) -> dict[str, Any]:
    """A person with some of everything; returns their ids, headers and a saved record version."""
    from functions.shared.aws import client
    from functions.shared.privacy import digest
    from functions.shared.settings import settings

    ins = new_ins()
    ensure_citizen(ins, date(1980, 5, 17), "a.effacer@example.org")
    _, patient = stack.citizen(ins)
    doc_id = declare_and_upload(stack, ins, f"erase-{ins}-1")
    detail = stack.call("GET", f"/v1/me/documents/{doc_id}", patient).json()
    assert requests.get(detail["download_url"], timeout=10).content == PDF  # opened into a plaintext copy
    own = stack.call("POST", "/v1/me/documents", {**patient, "Idempotency-Key": f"erase-own-{ins}"},
                     json=declaration(TEXT, "text/plain", type_code="DOCPAT09")).json()
    post_file(own["upload"], TEXT)
    stack.pump.drain()
    assert stack.call("DELETE", f"/v1/me/documents/{own['document_id']}", patient).status_code == 200  # a marker
    assert stack.call("POST", "/v1/me/appointments", {**patient, "Idempotency-Key": f"erase-rdv-{ins}"}, json={
        "start": "2031-06-10T09:30:00+02:00", "professional": "Dr Martin", "reminder_lead_days": 1}).status_code == 201
    assert stack.call("POST", "/v1/me/reminders", patient,
                      json={"label": "Renouveler l'ordonnance", "date": "2030-01-15"}).status_code == 201
    assert stack.call("POST", "/v1/me/care-team", patient, json={"rpps": "10000000002"}).status_code == 201
    assert stack.call("POST", "/v1/me/blocked-professionals", patient, json={"rpps": "10000000003"}).status_code == 201
    assert stack.call("PUT", "/v1/me/notification-preferences", patient, json={"preferences": {}}).status_code == 200
    written = stack.call("POST", f"/v1/patients/{ins}/messages", stack.professional(),
                         json={"subject": "Résultats", "text": "Bonjour",
                               "sender_address": "dr.martin@hopital-nord.mssante.fr"})
    assert written.status_code == 201
    photo = {"name": "photo.png", "content_type": "image/png", "size": 10, "sha256": "0" * 64}
    held = stack.call("POST", f"/v1/me/conversations/{written.json()['conversation_id']}/messages", patient,
                      json={"content": "La photo suit", "attachments": [photo]})  # never uploaded: its mail waits
    assert held.status_code == 201, held.text  # in the outbox, naming the holder
    data = b"%PDF-1.4\n% a message's attachment\n"  # a message with a verified attachment (attachments bucket)
    message_with_attachment(stack, ins, {**stack.professional(), "Idempotency-Key": f"e-{ins}"}, data)
    assert stack.call("POST", "/v1/me/export", patient).status_code == 202  # an export: its item and archives
    from app import on_export
    from local.pump import QueuePump

    QueuePump(client("sqs", config.REGION), config.EXPORT_QUEUE, on_export, retry_delay_seconds=0).drain()
    added = stack.call("POST", "/v1/me/measures", patient,  # a measure (measures table)
                       json={"code": "WEIGHT", "effective": "2026-11-30T08:00:00+01:00", "value": 72.5})
    assert added.status_code == 201, added.text
    pairing_id = pair_an_app(ins)
    reference = keep_an_opposition_proof(ins)
    record_key = f"records/{digest('ins', ins)}/{doc_id}"
    backup = client("s3", config.REGION).get_object(Bucket=settings().records_bucket, Key=record_key)
    return {"ins": ins, "patient": patient, "doc_id": doc_id, "own_id": own["document_id"],
            "pseudonym": digest("ins", ins), "record_key": record_key, "backup": backup["Body"].read(),
            "pairing_id": pairing_id, "reference": reference}


APP_OID = "1.2.250.1.999.1"


def pair_an_app(ins: str) -> str:
    """A pairing with its directory entry, an authorization code and a refresh token, through the catalogue's
    store (tests/integration/test_pairing.py runs the whole OAuth flow)."""
    from datetime import UTC, datetime, timedelta

    from functions import deps
    from functions.catalogue.models import AuthorizationCode, Pairing, RefreshToken
    from functions.shared.ids import new_id

    store, now = deps.catalogue_store(), datetime.now(UTC)
    pairing = Pairing(pairing_id=new_id("pair"), holder_ins=ins, oid=APP_OID, id_pe=f"idpe-{ins}", consented=("1",),
                      acknowledged_version=1, paired_at=now, changed_at=now, family="fam_1")
    code = AuthorizationCode(oid=APP_OID, holder_ins=ins, pairing_id=pairing.pairing_id, redirect_uri="https://a.fr/cb",
                             code_challenge="x" * 43, expires_at=now + timedelta(seconds=60))
    refresh = RefreshToken(oid=APP_OID, holder_ins=ins, pairing_id=pairing.pairing_id, family="fam_1",
                           expires_at=now + timedelta(days=180))
    store.commit([store.staged_pairing(pairing, None), store.staged_code(f"c{ins}", code),
                  store.staged_refresh_token(f"r{ins}", refresh)])
    assert store.resolve(APP_OID, pairing.id_pe) == ins and pairing.pairing_id not in store.snapshot()
    return pairing.pairing_id


def keep_an_opposition_proof(ins: str) -> str:
    """The space once opposed (its reference kept on the space item, its PDF in the proofs bucket), then was
    activated: the state the erasure finds after an opposition, an activation and a closure."""
    from functions import deps
    from functions.accounts.storage import SpaceItem, space_key

    reference = f"OPP{ins[-8:]}"
    SpaceItem(space_key(ins)).update(actions=[SpaceItem.opposition_reference.set(reference)])
    proofs = deps.enrolment().proofs
    proofs.put(reference, ins, b"%PDF-1.4\n% proof v1\n")
    proofs.put(reference, ins, b"%PDF-1.4\n% proof v2\n")  # two versions if the bucket keeps them
    return reference


def test_a_stored_record_is_sealed_under_the_space_key_not_kept_in_clear(full_space: dict[str, Any]) -> None:
    assert PDF not in full_space["backup"] and len(full_space["backup"]) == len(PDF) + 12 + 16


def test_closure_with_deletion_erases_everything_of_the_person_but_the_tombstone(
        stack: Stack, full_space: dict[str, Any]) -> None:

    from functions import deps

    ins, patient, doc_id = full_space["ins"], full_space["patient"], full_space["doc_id"]
    needles = [ins, full_space["pseudonym"], doc_id, full_space["own_id"], full_space["reference"]]
    _, bystander = stack.citizen()
    assert len(items_naming(needles)) > 20 and versions_naming(needles)  # there was a lot to erase
    kept = sorted(r["request"]["S"] for r in idempotency_records(ins) if r["scope"]["S"].startswith("quota#"))
    assert kept == ["quota:consent", "quota:export"]  # the rate limits' counters of its consent change and export
    assert len(idempotency_records(ins)) == 2 + len(kept)  # and the appointment's and the message's cached answers
    sent_before = emails_sent()

    closed = stack.call("POST", "/v1/me/closure", patient, json={"delete_data": True})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["deletion"] == "requested"
    assert emails_sent() == sent_before + 1  # "votre profil a été clôturé avec une demande de suppression"
    refused = stack.call("GET", "/v1/me/documents", patient)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "space_closed"
    assert stack.call("GET", f"/v1/patients/{ins}/documents/{doc_id}", stack.professional()).status_code == 404
    assert stack.call("POST", f"/v1/patients/{ins}/messages", stack.professional(),
                      json={"subject": "Encore", "text": "Bonjour"}).status_code == 404

    drain_erasures()

    left = items_naming(needles)
    # the Idempotency-Key records of the space (an appointment's answer, a professional's message) went too
    assert idempotency_records(ins) == []
    assert [(table.removeprefix("mes-test-"), item.get("key", {"S": json.dumps(item)})["S"])
            for table, item in left] == [
        ("spaces", f"SPACE#{ins}")]
    tombstone = left[0][1]
    assert tombstone["status"]["S"] == "erased" and tombstone["erasure_reference"]["S"]
    assert not {"email", "birth_date", "switches", "logins", "wrapped_key"} & set(tombstone)
    assert versions_naming(needles) == []
    assert contents_naming([*needles, "a.effacer@example.org"]) == []
    # the app's tokens died before its pairing went: every token of the pairing is refused, its idPe names nobody
    assert deps.catalogue_store().snapshot()[full_space["pairing_id"]] == -1
    assert deps.catalogue_store().resolve(APP_OID, f"idpe-{ins}") is None
    assert emails_sent() == sent_before + 2  # then "la suppression de vos données est terminée"
    # the login is gone with the space: the holder's token resolves to nothing
    assert stack.call("GET", "/v1/me/documents", patient).status_code == 401
    assert stack.call("GET", "/v1/me/documents", bystander).status_code == 200


def test_a_backup_of_an_old_object_version_cannot_be_decrypted_after_erasure(
        stack: Stack, full_space: dict[str, Any]) -> None:
    from functions import deps
    from functions.accounts.storage import NoDataKey

    assert stack.call("POST", "/v1/me/closure", full_space["patient"], json={"delete_data": True}).status_code == 200
    drain_erasures()
    deps.reset()  # a new process: no data key cached anywhere
    with pytest.raises(NoDataKey):  # the wrapped key is gone and none is made for an erased space
        deps.space_keys().data_key(full_space["ins"])
    with pytest.raises(Undecryptable):  # and no other key opens it
        unseal(os.urandom(32), full_space["record_key"], full_space["backup"])


def test_the_daily_job_purges_a_closed_space_when_its_ten_year_archive_ends_and_not_before(stack: Stack) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from functions import deps
    from functions.accounts.erasure import erase_due_spaces
    from functions.shared.clock import FixedClock

    ins, patient = stack.citizen()
    declare_and_upload(stack, ins, f"archive-{ins}-1")
    closed = stack.call("POST", "/v1/me/closure", patient, json={"delete_data": False}).json()
    assert closed["deletion"] is None
    end = date.fromisoformat(closed["archive_until"])
    assert end.year == date.today().year + 10 or end.year == date.today().year + 11  # a Paris day, 10 years on
    drain_erasures()  # nothing was queued: no deletion asked
    assert stack.call("POST", "/v1/me/reopening", patient).json()["status"] == "open"  # still all there
    closed = stack.call("POST", "/v1/me/closure", patient, json={"delete_data": False}).json()

    def job_on(day: date) -> Any:
        at = datetime(day.year, day.month, day.day, 2, 30, tzinfo=UTC)
        return erase_due_spaces(replace(deps.erasure(), clock=FixedClock(at)), day)

    # Other tests of the session close spaces too (their archives end the same day): this asserts on this person,
    # and on counts only where they cannot depend on what else the session did.
    job_on(end - timedelta(days=1))
    assert deps.spaces().get(ins).status.value == "closed"  # type: ignore[union-attr]
    assert job_on(end).erased >= 1
    assert deps.spaces().get(ins).status.value == "erased"  # type: ignore[union-attr]
    assert [t for t, _ in items_naming([ins])] == [f"{_tables()[0]}"]  # the tombstone only
    assert job_on(end).erased == 0  # the same day again: nothing is erased twice


def test_a_closure_without_a_fresh_sign_in_is_a_step_up_401_and_changes_nothing(stack: Stack) -> None:
    import time

    from local.seed import citizen_subject

    ins, fresh = stack.citizen()
    old = stack.issuer.mint(config.CITIZEN_ISSUER, citizen_subject(ins), {"auth_time": int(time.time()) - 600})
    stale = {"Authorization": f"Bearer {old}"}
    for path, body in (("/v1/me/closure", {"delete_data": True}), ("/v1/me/closure/deletion", None)):
        refused = stack.call("POST", path, stale, json=body)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "reauthentication_required"
        assert 'error="insufficient_user_authentication"' in refused.headers["WWW-Authenticate"]
        assert "max_age=300" in refused.headers["WWW-Authenticate"]
    assert stack.call("GET", "/v1/me/documents", stale).status_code == 200  # still open
    assert [t["action"] for t in stack.call("GET", "/v1/me/traces", fresh).json()["items"]
            if t["action"].startswith("space.") and t["action"] not in ACTIVATION_TRACES] == []
    assert stack.call("POST", "/v1/me/closure", fresh, json={}).json()["status"] == "closed"
    assert stack.call("POST", "/v1/me/reopening", stale).json()["status"] == "open"  # reopening asks no step-up
    actions = [t["action"] for t in stack.call("GET", "/v1/me/traces", fresh).json()["items"]]
    assert actions[:2] == ["space.reopened", "space.closed"]


def test_a_record_stored_before_the_envelope_still_downloads_as_it_is(stack: Stack) -> None:
    """Objects promoted before sealing have no `envelope` metadata: the link points at the record itself."""
    from functions import deps
    from functions.shared.aws import client
    from functions.shared.settings import settings

    ins, _ = stack.citizen()
    key = f"records/legacy/{new_ins()}"
    client("s3", config.REGION).put_object(Bucket=settings().records_bucket, Key=key, Body=PDF,
                                           ServerSideEncryption="aws:kms", SSEKMSKeyId=settings().kms_key_id)
    url = deps.records().blobs.presign_download(key, 300, "application/pdf", "ancien", patient_ins=ins)
    assert key in url and requests.get(url, timeout=10).content == PDF


def test_the_daily_schedule_queues_the_spaces_due_and_the_deployed_consumer_erases_them(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """`erasure-daily` (app.erasure_daily) sends the day's due spaces onto the erasures queue; the consumer
    (app.on_erasure_request) erases them, as a stage runs them. The clock is moved to the archive's end."""
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from functions import deps
    from functions.shared.clock import FixedClock
    from local import erasure

    ins, patient = stack.citizen()
    end = date.fromisoformat(stack.call("POST", "/v1/me/closure", patient, json={"delete_data": False})
                             .json()["archive_until"])
    real = deps.erasure

    def run_on(day: date) -> dict[str, Any]:
        at = datetime(day.year, day.month, day.day, 2, 30, tzinfo=UTC)
        monkeypatch.setattr(deps, "erasure", lambda: replace(real(), clock=FixedClock(at)))
        return erasure.daily(day)

    assert run_on(end - timedelta(days=1))["requested"] == 0  # not before its day
    assert deps.spaces().get(ins).status.value == "closed"  # type: ignore[union-attr]
    assert run_on(end)["requested"] >= 1
    assert deps.spaces().get(ins).status.value == "erased"  # type: ignore[union-attr]
    assert [t for t, _ in items_naming([ins])] == [f"{_tables()[0]}"]


def test_reopening_restores_the_data_cancels_a_requested_deletion_and_waits_for_a_running_one(stack: Stack) -> None:
    """Point 6 over HTTP and the real conditional writes: a closure with deletion, reopened before the erasure
    ran, keeps every document (the queued erasure then finds nothing to do); a deletion already running is a
    409 `deletion_running` that changes nothing."""
    from functions import deps
    from functions.accounts.models import DeletionState
    from functions.accounts.storage import SpaceItem, space_key

    ins, patient = stack.citizen()
    doc_id = declare_and_upload(stack, ins, f"reopen-{ins}-1")
    before = stack.call("GET", "/v1/me/documents", patient).json()["items"]
    assert [d["document_id"] for d in before] == [doc_id]
    closed = stack.call("POST", "/v1/me/closure", patient, json={"delete_data": True}).json()
    assert closed["deletion"] == "requested"
    reopened = stack.call("POST", "/v1/me/reopening", patient)
    assert reopened.status_code == 200 and reopened.json() == {**reopened.json(), "status": "open", "deletion": None}
    drain_erasures()  # the erasure queued by the closure: the space is open again, nothing is erased
    assert stack.call("GET", "/v1/me/documents", patient).json()["items"] == before
    content = stack.call("GET", f"/v1/me/documents/{doc_id}", patient)
    assert content.status_code == 200, content.text

    assert stack.call("POST", "/v1/me/closure", patient, json={"delete_data": True}).status_code == 200
    SpaceItem(space_key(ins)).update(actions=[SpaceItem.deletion.set(DeletionState.RUNNING.value)])  # mid-erasure
    refused = stack.call("POST", "/v1/me/reopening", patient)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "deletion_running"
    space = deps.spaces().get(ins)
    assert space is not None and space.status.value == "closed" and space.deletion is DeletionState.RUNNING


def test_a_late_second_run_of_an_erasure_never_tombstones_a_space_that_is_not_being_erased(stack: Stack) -> None:
    """Two overlapping runs of one erasure (the daily dispatch beside a queued request): the late one's tombstone
    finds the space erased already or, once its holder activated it anew, open, and leaves it as it is."""
    from datetime import UTC, datetime

    from functions import deps

    ins, holder = stack.citizen()
    space = deps.spaces().get(ins)
    assert space is not None and space.status.value == "open"
    deps.erasure().lifecycle.tombstone(space, datetime.now(UTC), "late-run")
    again = deps.spaces().get(ins)
    assert again is not None and again.status.value == "open" and again.erasure_reference is None
    assert stack.call("GET", "/v1/me/documents", holder).status_code == 200  # the login link is still there
