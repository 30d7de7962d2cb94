"""The holder's export of all their data (issue 12.7) through the HTTP stack and the export queue: three archives
(record with the originals and a FHIR Bundle, messaging as .eml, the rest as JSON with the signed trace chain), one
export at a time, each download's link traced, the holder notified; a caregiver's or another person's request
reaches nothing of theirs."""

from __future__ import annotations

import io
import json
import zipfile
from email import message_from_bytes, policy

import requests
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.observation import Observation

from app import on_export
from functions.shared.aws import client
from local import config
from local.pump import QueuePump
from tests.integration.conftest import Stack, declaration, message_with_attachment, post_file

PDF = b"%PDF-1.4\n% export test\n"


def exports_pump() -> QueuePump:
    return QueuePump(client("sqs", config.REGION), config.EXPORT_QUEUE, on_export, retry_delay_seconds=0)


def archive(stack: Stack, owner: dict[str, str], part: str) -> zipfile.ZipFile:
    link = stack.call("GET", f"/v1/me/export/{part}", owner)
    assert link.status_code == 200, link.text
    assert "X-Amz-Expires=300" in link.json()["url"]  # a short-lived link (5 minutes)
    got = requests.get(link.json()["url"], timeout=10)
    assert got.status_code == 200
    return zipfile.ZipFile(io.BytesIO(got.content))


def test_an_export_holds_the_record_the_mailbox_and_the_rest_and_each_download_is_traced(stack: Stack) -> None:
    ins, owner = stack.citizen()
    dr = stack.professional(rpps="10000000501")
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", {**dr, "Idempotency-Key": "export-doc-1"},
                        json=declaration(PDF, title="Compte rendu opératoire")).json()
    post_file(ticket["upload"], PDF)
    stack.pump.drain()
    sent = stack.call("POST", f"/v1/patients/{ins}/messages", {**dr, "Idempotency-Key": "export-msg-1"},
                      json={"subject": "Suite de l'opération", "html": "<p>Tout va bien</p>"})
    assert sent.status_code == 201, sent.text
    stack.call("POST", "/v1/me/appointments", owner,
               json={"start": "2031-06-16T10:00:00+02:00", "professional": "Dr Claire Martin"})
    assert stack.call("POST", "/v1/me/care-team", owner, json={"rpps": "10000000501"}).status_code == 201
    assert stack.call("POST", "/v1/me/blocked-professionals", owner, json={"rpps": "10000000502"}).status_code == 201
    weighed = stack.call("POST", "/v1/me/measures", owner,
                         json={"code": "WEIGHT", "effective": "2026-11-30T08:00:00+01:00", "value": 61.5})
    assert weighed.status_code == 201, weighed.text
    from functions.catalogue.catalogue import use_catalogue
    from local.seed import GUIDE_APP, guide_app, pair_app

    use_catalogue((guide_app(),))
    pairing = pair_app(ins)

    # When the holder asks for the export
    asked = stack.call("POST", "/v1/me/export", owner)
    assert asked.status_code == 202, asked.text
    assert asked.json()["in_progress"] is True and asked.json()["available"] is False
    # Then a second request while it is being built is refused, and nothing is downloadable yet
    again = stack.call("POST", "/v1/me/export", owner)
    assert again.status_code == 409 and again.json()["error"]["code"] == "export_in_progress"
    assert stack.call("GET", "/v1/me/export/record", owner).status_code == 404

    exports_pump().drain()
    status = stack.call("GET", "/v1/me/export", owner).json()
    assert status["available"] is True and status["in_progress"] is False
    sizes = {p["part"]: p for p in status["parts"]}
    assert set(sizes) == {"record", "messaging", "space"}
    assert all(p["available"] and p["size"] > 0 and p["size_label"].endswith(("o", "Ko", "Mo")) for p in sizes.values())
    # the archives sit under the holder's pseudonym: no INS in an object key (keys reach CloudTrail in clear)
    from functions.shared.aws import client
    from functions.shared.privacy import digest

    keys = [o["Key"] for o in client("s3", stack.env["AWS_REGION"]).list_objects_v2(
        Bucket=stack.env["MES_EXPORTS_BUCKET"], Prefix=f"{digest('ins', ins)}/").get("Contents", [])]
    assert len(keys) == 3 and not [k for k in keys if ins in k]

    # The record: the original bytes and a valid FHIR Bundle of DocumentReference pointing at them
    record = archive(stack, owner, "record")
    bundle = Bundle.model_validate_json(record.read("documents.fhir.json"))
    assert bundle.type == "collection" and bundle.entry is not None and len(bundle.entry) == 1
    reference = bundle.entry[0].resource
    assert isinstance(reference, DocumentReference)
    facts = reference.model_dump(mode="json")
    assert facts["masterIdentifier"]["value"] == ticket["document_id"]
    assert facts["subject"]["identifier"]["value"] == ins
    assert facts["description"] == "Compte rendu opératoire"
    assert record.read(facts["content"][0]["attachment"]["url"]) == PDF

    # The messaging: one .eml a message, readable by any mail client
    mailbox = archive(stack, owner, "messaging")
    emls = [n for n in mailbox.namelist() if n.endswith(".eml")]
    assert len(emls) == 1
    mail = message_from_bytes(mailbox.read(emls[0]), policy=policy.default)
    assert mail["Subject"] == "Suite de l'opération" and mail["To"] == f"{ins}@patient.mssante.fr"
    assert "Tout va bien" in mail.get_body(("html",)).get_content()  # type: ignore[union-attr]

    # The rest: profile, agenda and the signed trace chain
    rest = archive(stack, owner, "space")
    assert json.loads(rest.read("profil.json"))["ins"] == ins
    assert [a["professional"] for a in json.loads(rest.read("agenda/rendez-vous.json"))] == ["Dr Claire Martin"]
    access = json.loads(rest.read("controle-des-acces.json"))
    assert "10000000501" in json.dumps(access["care_team"]) and "10000000502" in json.dumps(access["blocked"])
    assert "channels" in json.loads(rest.read("preferences-notifications.json"))
    assert "message.new" in {n["kind"] for n in json.loads(rest.read("notifications.json"))}
    # their measures as FHIR Observations named by INS, and the services they paired, with what they consented to
    measures = Bundle.model_validate_json(rest.read("mesures.fhir.json"))
    assert measures.entry is not None and len(measures.entry) == 1
    weight = measures.entry[0].resource
    assert isinstance(weight, Observation)
    assert weight.valueQuantity.value == 61.5 and weight.valueQuantity.code == "kg"  # type: ignore[union-attr]
    assert weight.subject.identifier.value == ins  # type: ignore[union-attr]
    assert weight.id == weighed.json()["id"]
    services = json.loads(rest.read("services-connectes.json"))
    assert [(s["service"]["oid"], s["state"]) for s in services] == [(GUIDE_APP, "ACTIVE")]
    assert [p["code"] for p in services[0]["purposes"]] == list(pairing.consented)
    assert all(p["label"] for p in services[0]["purposes"]) and pairing.id_pe not in json.dumps(services)
    chain = json.loads(rest.read("traces.json"))
    assert chain["patient_ins"] == ins and chain["head"]["seq"] == len(chain["traces"])
    assert "export.requested" in {t["action"] for t in chain["traces"]}

    # And the holder's chain says what happened; they were notified once
    traces = [t["action"] for t in stack.call("GET", "/v1/me/traces?limit=100", owner).json()["items"]]
    assert traces.count("export.downloaded") == 3 and "export.ready" in traces
    notes = [n for n in stack.call("GET", "/v1/me/notifications", owner).json()["items"]
             if n["kind"] == "export.ready"]
    assert len(notes) == 1 and notes[0]["link"] == "urn:export"


def test_a_redelivered_build_changes_nothing_and_a_new_request_replaces_a_ready_export(stack: Stack) -> None:
    ins, owner = stack.citizen()
    first = stack.call("POST", "/v1/me/export", owner).json()
    pump = exports_pump()
    pump.drain()
    ready = stack.call("GET", "/v1/me/export", owner).json()
    sqs = client("sqs", config.REGION)
    url = sqs.get_queue_url(QueueName=config.EXPORT_QUEUE)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"ins": ins, "export_id": first["export_id"]}))
    pump.drain()
    assert stack.call("GET", "/v1/me/export", owner).json() == ready
    second = stack.call("POST", "/v1/me/export", owner)
    assert second.status_code == 202 and second.json()["export_id"] != first["export_id"]


def test_nobody_sees_an_export_that_is_not_theirs(stack: Stack) -> None:
    _, owner = stack.citizen()
    _, other = stack.citizen()
    stack.call("POST", "/v1/me/export", owner)
    exports_pump().drain()
    assert stack.call("GET", "/v1/me/export", other).status_code == 404
    assert stack.call("GET", "/v1/me/export/record", other).status_code == 404
    assert stack.call("GET", "/v1/me/export/nonsense", owner).status_code == 404


def test_an_exported_message_carries_its_attachment_opened_from_its_sealed_object(stack: Stack) -> None:
    ins, owner = stack.citizen()
    data = b"%PDF-1.4\n% the attachment of an exported message\n"
    message_with_attachment(stack, ins, {**stack.professional(rpps="10000000503"), "Idempotency-Key": "export-att-1"},
                            data, name="compte-rendu.pdf")
    assert stack.call("POST", "/v1/me/export", owner).status_code == 202
    exports_pump().drain()
    mailbox = archive(stack, owner, "messaging")
    (eml,) = [n for n in mailbox.namelist() if n.endswith(".eml")]
    mail = message_from_bytes(mailbox.read(eml), policy=policy.default)
    assert [(p.get_filename(), p.get_content()) for p in mail.iter_attachments()] == [("compte-rendu.pdf", data)]
