"""Message attachments on fakes (issue 11, A.6): the per-message budget, the type allow-list, `can_add_to_record`,
and the records' verifier holding an attachment upload to its declaration before messaging marks it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from functions.identity.principal import Citizen, Professional
from functions.journal.ports import Entry, Refused
from functions.messaging import service
from functions.messaging.models import (
    ATTACHMENT_TYPES,
    AttachmentDeclaration,
    AttachmentState,
    IncomingMessage,
    Message,
    Reply,
)
from functions.messaging.service import AttachmentUploads, MessagingDeps
from functions.records import service as records
from functions.records.models import PresignedPost
from functions.records.service import VerificationOutcome, accepts_from_patient
from functions.shared.clock import FixedClock
from functions.shared.errors import Conflict, NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from functions.shared.idempotency import KeyReused
from tests.unit.fakes import FakeBlobStore, FakeControlStore, FakeDocumentStore
from tests.unit.test_messaging_service import AT, INS, Apply, Clock, FakeJournal, FakeStore, Nothing

PDF = b"%PDF-1.4\n% a report\n"
MB = 1024 * 1024
DR = Professional(rpps="10000000001", profession="10", finess="750000001", name="Dr Martin")
HOLDER = Citizen(ins=INS)


@dataclass
class AttachmentStore(FakeStore):
    def staged_message_update(self, message: Message, previous: Message, holder_ins: str) -> Apply:
        def replace() -> None:  # conditional, as DynamoDB's: the message must still be as read
            if previous not in self.messages:
                raise Refused({"message"})
            self.messages[self.messages.index(previous)] = message
        return Apply(replace)


@dataclass
class Tickets:
    signed: list[tuple[str, str, int]] = field(default_factory=list)

    def presign_upload(self, key: str, patient_ins: str, uploader: str, content_type: str, size: int,
                       now: datetime, expires_at: datetime) -> PresignedPost:
        self.signed.append((key, content_type, size))
        return PresignedPost(url="https://quarantine.example",
                             fields={"key": key, "x-amz-meta-patient": patient_ins, "x-amz-meta-uploader": uploader})


@dataclass
class Bucket:
    """The attachments bucket: promotions from the fake quarantine, by the verified ETag."""

    quarantine: FakeBlobStore
    objects: dict[str, bytes] = field(default_factory=dict)

    def put(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str, data: bytes) -> None:
        self.objects[f"{holder_ins}/{message_id}/{attachment_id}"] = data

    def promote(self, quarantine_key: str, etag: str, holder_ins: str, message_id: str, attachment_id: str,
                content_type: str) -> None:
        self.objects[f"{holder_ins}/{message_id}/{attachment_id}"] = self.quarantine.quarantine[quarantine_key][0]

    def presign_download(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str,
                         ttl_seconds: int) -> str:
        return f"https://attachments.example/{attachment_id}?ttl={ttl_seconds}"

    def location(self, holder_ins: str, message_id: str, attachment_id: str) -> tuple[str, str]:
        return "attachments", f"{holder_ins}/{message_id}/{attachment_id}"

    def delete(self, holder_ins: str, message_id: str, attachment_id: str) -> None:
        self.objects.pop(f"{holder_ins}/{message_id}/{attachment_id}", None)

    def read(self, holder_ins: str, message_id: str, attachment_id: str) -> bytes:
        return self.objects[f"{holder_ins}/{message_id}/{attachment_id}"]


@dataclass
class Filing:
    """Records' side: `files` are the holder's available documents (the holder of INS only)."""

    files: dict[str, records.HolderFile] = field(default_factory=dict)

    def accepts(self, content_type: str, size: int) -> bool:
        return accepts_from_patient(content_type, size)

    def file(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not filed in these tests")

    def holder_file(self, space: str, document_id: str) -> records.HolderFile | None:
        return self.files.get(document_id) if space == INS else None


@pytest.fixture
def quarantine() -> FakeBlobStore:
    return FakeBlobStore()


@pytest.fixture
def deps(quarantine: FakeBlobStore) -> MessagingDeps:
    return MessagingDeps(store=AttachmentStore(), journal=FakeJournal(), notifications=Nothing(),  # type: ignore[arg-type]
                         spaces=Nothing(), clock=Clock(), attachments=Bucket(quarantine),  # type: ignore[arg-type]
                         tickets=Tickets(), record=Filing(), attachment_budget_bytes=20 * MB)


def declared(data: bytes = PDF, content_type: str = "application/pdf", size: int | None = None,
             name: str = "compte-rendu.pdf") -> AttachmentDeclaration:
    return AttachmentDeclaration(name=name, content_type=content_type, size=size or len(data),
                                 sha256=hashlib.sha256(data).hexdigest())


def send(deps: MessagingDeps, *attachments: AttachmentDeclaration) -> service.Sent:
    return service.write_to_patient(deps, DR, INS, IncomingMessage(subject="Compte rendu", text="Ci-joint",
                                                                   attachments=list(attachments)))


def test_attachments_up_to_the_budget_are_declared_with_one_upload_each(deps: MessagingDeps) -> None:
    sent = send(deps, declared(size=12 * MB), declared(size=8 * MB, name="imagerie.pdf"))
    assert sent.remaining_attachment_bytes == 0
    assert [a.state for a in sent.message.attachments] == [AttachmentState.PENDING] * 2
    assert [t.attachment_id for t in sent.tickets] == [a.attachment_id for a in sent.message.attachments]
    assert all(t.expires_at == (AT + timedelta(minutes=10)) for t in sent.tickets)
    assert deps.store.conversation(INS, sent.message.conversation_id).has_attachment  # type: ignore[union-attr]


def test_one_byte_over_the_budget_is_refused_and_nothing_is_written(deps: MessagingDeps) -> None:
    with pytest.raises(PayloadTooLarge) as refused:
        send(deps, declared(size=12 * MB), declared(size=8 * MB + 1))
    assert refused.value.code == "attachment_budget_exceeded"
    assert isinstance(deps.store, FakeStore) and deps.store.messages == []
    assert isinstance(deps.journal, FakeJournal) and deps.journal.entries == []
    assert isinstance(deps.tickets, Tickets) and deps.tickets.signed == []


def test_the_budget_is_configuration(deps: MessagingDeps) -> None:
    small = MessagingDeps(**{**deps.__dict__, "attachment_budget_bytes": len(PDF)})
    assert send(small, declared()).remaining_attachment_bytes == 0
    with pytest.raises(PayloadTooLarge):
        send(small, declared(PDF + b"!"))


@pytest.mark.parametrize("content_type", sorted(ATTACHMENT_TYPES))
def test_the_types_the_app_offers_are_allowed(deps: MessagingDeps, content_type: str) -> None:
    assert send(deps, declared(content_type=content_type)).message.attachments[0].content_type == content_type


@pytest.mark.parametrize("content_type", ["application/x-msdownload", "application/octet-stream", "text/html",
                                          "application/zip", "image/svg+xml", "application/xml"])
def test_any_other_type_is_refused_before_anything_is_written(deps: MessagingDeps, content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType) as refused:
        send(deps, declared(content_type=content_type))
    assert refused.value.code == "attachment_type_not_allowed"
    assert isinstance(deps.journal, FakeJournal) and deps.journal.entries == []


@pytest.mark.parametrize(("content_type", "size", "addable"), [
    ("application/pdf", 5 * MB, True), ("image/jpeg", 1, True), ("text/plain", 10, True),
    ("application/pdf", 5 * MB + 1, False),  # over the patient's 5 MB
    ("application/msword", 10, False),  # a message may carry it, the record does not take it
])
def test_can_add_to_record_follows_the_records_patient_limits(content_type: str, size: int, addable: bool) -> None:
    assert accepts_from_patient(content_type, size) is addable


def verifier(deps: MessagingDeps, quarantine: FakeBlobStore) -> records.RecordDeps:
    control = FakeControlStore()
    return records.RecordDeps(documents=FakeDocumentStore(control, {INS}), blobs=quarantine, control=control,
                              journal=control, clock=FixedClock(AT), upload_ttl=timedelta(minutes=10),
                              download_ttl_seconds=300)


def upload(quarantine: FakeBlobStore, sent: service.Sent, index: int, data: bytes,
           at: datetime | None = None) -> str:
    """What the sender's software does with the ticket (the fake quarantine keeps the fields it pins)."""
    ticket = sent.tickets[index]
    fields = ticket.form.fields
    quarantine.put(fields["key"], data, sent.message.attachments[index].content_type, INS,
                   uploader=fields["x-amz-meta-uploader"], at=at or AT)
    return fields["key"]


def states(deps: MessagingDeps, sent: service.Sent) -> list[tuple[str, str | None]]:
    assert isinstance(deps.store, FakeStore)
    [message] = [m for m in deps.store.messages if m.message_id == sent.message.message_id]
    return [(a.state.value, a.rejection_reason) for a in message.attachments]


def test_the_verifier_promotes_a_true_upload_and_the_patient_may_then_save_it(
        deps: MessagingDeps, quarantine: FakeBlobStore) -> None:
    sent = send(deps, declared(), declared(b"MZ\x90\x00 a program", name="facture.pdf"))
    held = AttachmentUploads(deps)
    r = verifier(deps, quarantine)
    good, bad = upload(quarantine, sent, 0, PDF), upload(quarantine, sent, 1, b"MZ\x90\x00 a program")
    assert records.verify_upload(r, good, held) is VerificationOutcome.ACCEPTED
    assert records.verify_upload(r, bad, held) is VerificationOutcome.REJECTED
    assert states(deps, sent) == [("AVAILABLE", None), ("REJECTED", "content_not_of_declared_type")]
    assert isinstance(deps.attachments, Bucket)
    assert list(deps.attachments.objects.values()) == [PDF] and quarantine.quarantine == {}
    thread = service.read_conversation(deps, HOLDER, INS, sent.message.conversation_id)
    assert thread.addable == {sent.message.attachments[0].attachment_id}
    with pytest.raises(Unprocessable) as refused:
        service.save_attachment_to_record(deps, HOLDER, INS, sent.message.conversation_id, sent.message.message_id,
                                          sent.message.attachments[1].attachment_id, None, None, "save-0001")
    assert refused.value.code == "not_addable_to_record"
    with pytest.raises(Conflict):  # a rejected attachment is never downloaded
        service.download_attachment(deps, HOLDER, INS, sent.message.conversation_id, sent.message.message_id,
                                    sent.message.attachments[1].attachment_id)


def test_each_attachment_verdict_is_counted_once_with_the_rejection_reason(
        deps: MessagingDeps, quarantine: FakeBlobStore, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.unit.test_business_metrics import counted, emitted

    sent = send(deps, declared(), declared(b"MZ\x90\x00 a program", name="facture.pdf"))
    held, r = AttachmentUploads(deps), verifier(deps, quarantine)
    good, bad = upload(quarantine, sent, 0, PDF), upload(quarantine, sent, 1, b"MZ\x90\x00 a program")
    capsys.readouterr()
    records.verify_upload(r, good, held)
    records.verify_upload(r, bad, held)
    records.verify_upload(r, bad, held)  # a redelivered event: nothing pending any more, nothing counted
    events = emitted(capsys)
    assert counted(events, "AttachmentsVerified") == 1
    assert counted(events, "AttachmentsRejected", reason="content_not_of_declared_type") == 1
    assert sum(e.value for e in events if e.name.startswith("Documents")) == 0  # not counted as documents


def test_a_forged_a_repeated_or_a_late_upload_changes_nothing_or_is_rejected(
        deps: MessagingDeps, quarantine: FakeBlobStore) -> None:
    sent = send(deps, declared(), declared(name="bis.pdf"))
    held, r = AttachmentUploads(deps), verifier(deps, quarantine)
    key = upload(quarantine, sent, 0, PDF)
    quarantine.put(key, PDF, "application/pdf", INS, uploader="someone-else", at=AT)
    assert records.verify_upload(r, key, held) is VerificationOutcome.IGNORED  # discarded, not a verdict
    assert states(deps, sent)[0] == ("PENDING", None) and key not in quarantine.quarantine
    late = upload(quarantine, sent, 1, PDF, at=AT + timedelta(minutes=11))
    assert records.verify_upload(r, late, held) is VerificationOutcome.REJECTED
    assert states(deps, sent)[1] == ("REJECTED", "upload_expired")
    upload(quarantine, sent, 1, PDF)  # a second upload once settled is not any pending attachment's
    assert records.verify_upload(r, late, held) is VerificationOutcome.IGNORED


def filing_deps(open_spaces: set[str]) -> tuple[records.RecordDeps, FakeBlobStore]:
    control = FakeControlStore()
    blobs = FakeBlobStore(elsewhere={"attachments/a/b/c": PDF})
    r = records.RecordDeps(documents=FakeDocumentStore(control, open_spaces), blobs=blobs, control=control,
                           journal=control, clock=FixedClock(AT), upload_ttl=timedelta(minutes=10),
                           download_ttl_seconds=300)
    return r, blobs


def file(r: records.RecordDeps, key: str = "save-0001", title: str = "compte-rendu.pdf") -> Any:
    return records.HolderFiling(r).file(HOLDER, INS, "attachments", "a/b/c", "application/pdf", len(PDF),
                                        hashlib.sha256(PDF).hexdigest(), title, "DOCPAT02", AT.date(), key,
                                        reason="attachment:att_1")


def test_a_saved_attachment_is_the_holders_document_copied_under_the_records_context() -> None:
    r, blobs = filing_deps({INS})
    doc = file(r)
    assert (doc.author.kind, doc.status.value, doc.declaration.title) == ("patient", "available", "compte-rendu.pdf")
    assert blobs.records[doc.record_key] == PDF and blobs.contexts[doc.record_key] == doc.encryption_context
    assert file(r).document_id == doc.document_id  # the same key: the same document, no second copy
    assert len(blobs.records) == 1
    with pytest.raises(KeyReused):
        file(r, title="autre titre")
    assert isinstance(r.control, FakeControlStore)
    assert [t.action.value for t in r.control.traces[INS]] == ["attachment.saved_to_record"]


def test_a_closed_space_keeps_no_copy() -> None:
    r, blobs = filing_deps(set())
    with pytest.raises(NotFound):
        file(r)
    assert blobs.records == {}


@dataclass
class RacedJournal(FakeJournal):
    """A sibling attachment's verdict lands between the verifier's read and its commit: the first commit of the
    message is refused as a moved message, as DynamoDB's condition on its body would."""

    store: AttachmentStore | None = None
    sibling: str | None = None

    def record(self, entry: Entry, head: Any = None, retry: bool = True) -> None:
        if self.sibling is not None and self.store is not None:
            [message] = [m for m in self.store.messages if any(a.attachment_id == self.sibling
                                                               for a in m.attachments)]
            settled = tuple(a.settled(None) if a.attachment_id == self.sibling else a for a in message.attachments)
            self.store.messages[self.store.messages.index(message)] = message.model_copy(
                update={"attachments": settled})
            self.sibling = None
            raise Refused({"message"})
        super().record(entry, head, retry)


def test_two_attachments_of_one_message_verified_at_once_both_keep_their_verdict(
        deps: MessagingDeps, quarantine: FakeBlobStore) -> None:
    sent = send(deps, declared(), declared(name="bis.pdf"))
    assert isinstance(deps.store, AttachmentStore)
    raced = MessagingDeps(**{**deps.__dict__, "journal": RacedJournal(
        store=deps.store, sibling=sent.message.attachments[1].attachment_id)})
    key = upload(quarantine, sent, 0, PDF)
    assert records.verify_upload(verifier(raced, quarantine), key, AttachmentUploads(raced)) \
        is VerificationOutcome.ACCEPTED
    assert states(raced, sent) == [("AVAILABLE", None), ("AVAILABLE", None)]


# ---- documents of the holder's record attached to their reply (A.6, `ensDocuments`) ------------------------------


def record_file(document_id: str, size: int, content_type: str = "application/pdf") -> records.HolderFile:
    data = PDF.ljust(size, b" ")
    return records.HolderFile(document_id=document_id, title="Bilan", content_type=content_type, size=size,
                              _read=lambda: data)


def replying(deps: MessagingDeps, *documents: str) -> Message:
    conversation_id = send(deps).message.conversation_id
    return service.reply(deps, HOLDER, INS, conversation_id, Reply(content="Voici", documents=documents)).message


def test_record_documents_over_the_budget_are_refused_before_anything_is_stored(deps: MessagingDeps) -> None:
    assert isinstance(deps.record, Filing) and isinstance(deps.attachments, Bucket)
    deps.record.files.update({"doc_a": record_file("doc_a", 12 * MB), "doc_b": record_file("doc_b", 8 * MB + 1)})
    with pytest.raises(PayloadTooLarge) as refused:
        replying(deps, "doc_a", "doc_b")
    assert refused.value.code == "attachment_budget_exceeded"
    assert isinstance(deps.store, FakeStore) and [m.direction for m in deps.store.messages] == ["IN"]
    assert deps.attachments.objects == {}
    sent = replying(deps, "doc_a")  # within the budget: one attachment, its object stored under the message
    assert [a.size for a in sent.attachments] == [12 * MB]
    assert list(deps.attachments.objects) == [f"{INS}/{sent.message_id}/{sent.attachments[0].attachment_id}"]


def test_a_reply_whose_commit_is_refused_takes_its_attachments_objects_back(deps: MessagingDeps) -> None:
    """The space closed between the checks and the commit: the 404 leaves no object without its message."""
    assert isinstance(deps.record, Filing) and isinstance(deps.attachments, Bucket)
    deps.record.files["doc_a"] = record_file("doc_a", 100)
    conversation_id = send(deps).message.conversation_id

    class Closing(FakeJournal):
        def record(self, entry: Entry, head: Any = None, retry: bool = True) -> None:
            raise Refused({"space"})

    closing = replace(deps, journal=Closing())  # type: ignore[arg-type]  # a fake journal, as in `deps`
    with pytest.raises(NotFound):
        service.reply(closing, HOLDER, INS, conversation_id, Reply(content="Voici", documents=("doc_a",)))
    assert deps.attachments.objects == {}


def test_the_mail_gets_its_attachments_when_handed_over_and_the_same_bytes_on_every_retry() -> None:
    from email import message_from_bytes, policy
    from email.message import EmailMessage

    from functions.messaging.models import Attachment
    from functions.messaging.outmail import patient_mail, with_files

    attachment = Attachment(attachment_id="att_" + "1" * 24, name="Bilan.pdf", content_type="application/pdf",
                            size=len(PDF), sha256=hashlib.sha256(PDF).hexdigest())
    message = Message(message_id="msg_" + "2" * 24, conversation_id="conv_" + "3" * 24, direction="OUT",
                      sender=None, to=(), at=AT, subject="RE: Résultats", content="<p>Voici</p>",
                      attachments=(attachment,))
    mail = patient_mail(INS, message)
    assert PDF not in mail.raw and len(mail.files) == 1  # the outbox item holds a reference, not the bytes
    sent = with_files(mail, lambda f: PDF)
    assert sent == with_files(mail, lambda f: PDF)
    parsed = message_from_bytes(sent, _class=EmailMessage, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    [part] = list(parsed.iter_attachments())
    assert part.get_filename() == "Bilan.pdf" and part.get_content() == PDF
    assert parsed.get_body(("html",)) is not None and parsed.get_body(("plain",)) is not None


def test_a_verdict_that_loses_to_the_outbox_pass_leaves_no_promoted_object(
        deps: MessagingDeps, quarantine: FakeBlobStore) -> None:
    """The pass gave the upload up (its mail's deadline) while the verifier was promoting it: the attachment
    stays REJECTED and the bytes just promoted do not stay behind."""
    sent = send(deps, declared())
    held = AttachmentUploads(deps)
    key = upload(quarantine, sent, 0, PDF)
    expected = held.expected(key, INS, sent.tickets[0].form.fields["x-amz-meta-uploader"])
    assert expected is not None
    held.reject(expected, "upload_expired")  # the pass, first
    held.accept(expected, key, "etag")  # then the verifier, with what it had read before
    assert states(deps, sent) == [("REJECTED", "upload_expired")]
    assert isinstance(deps.attachments, Bucket) and deps.attachments.objects == {}


def test_a_commit_whose_answer_is_lost_keeps_the_attachments_it_may_have_committed(deps: MessagingDeps) -> None:
    """A timeout after the transaction applied: the message may be there, so its objects must be too."""
    assert isinstance(deps.record, Filing) and isinstance(deps.attachments, Bucket)
    deps.record.files["doc_a"] = record_file("doc_a", 100)
    conversation_id = send(deps).message.conversation_id

    class Lost(FakeJournal):
        def record(self, entry: Entry, head: Any = None, retry: bool = True) -> None:
            super().record(entry, head, retry)
            raise TimeoutError("read timed out")

    with pytest.raises(TimeoutError):
        service.reply(replace(deps, journal=Lost()), HOLDER, INS, conversation_id,  # type: ignore[arg-type]
                      Reply(content="Voici", documents=("doc_a",)))
    assert isinstance(deps.store, FakeStore)
    [mine] = [m for m in deps.store.messages if m.direction == "OUT"]
    assert list(deps.attachments.objects) == [f"{INS}/{mine.message_id}/{mine.attachments[0].attachment_id}"]
