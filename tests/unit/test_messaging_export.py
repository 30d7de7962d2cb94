"""The messaging part of the export: each message an `.eml` file with its verified attachments."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from functions.messaging.export import as_eml
from functions.messaging.models import Attachment, AttachmentState, Contact, Conversation, Message

INS = "204126388884207"
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n% compte rendu\n"


class Reader:
    def __init__(self) -> None:
        self.read_ids: list[str] = []

    def read(self, holder_ins: str, message_id: str, attachment_id: str) -> bytes:
        assert (holder_ins, message_id) == (INS, "msg_1")
        self.read_ids.append(attachment_id)
        return PDF


def test_an_exported_message_carries_its_verified_attachments_and_only_those() -> None:
    attachments = (
        Attachment(attachment_id="att_ok", name="compte-rendu.pdf", content_type="application/pdf", size=len(PDF),
                   sha256="0" * 64),
        Attachment(attachment_id="att_wait", name="bilan.pdf", content_type="application/pdf", size=10,
                   sha256="1" * 64, state=AttachmentState.PENDING),
        Attachment(attachment_id="att_bad", name="x.pdf", content_type="application/pdf", size=10, sha256="2" * 64,
                   state=AttachmentState.REJECTED, rejection_reason="checksum_mismatch"))
    message = Message(message_id="msg_1", conversation_id="conv_1", direction="IN", at=AT, subject="Résultats",
                      content="<p>Ci-joint</p>", attachments=attachments,
                      sender=Contact(id="10000000301", name="Dr Martin", address="dr.martin@chu.mssante.fr"))
    conversation = Conversation(holder_ins=INS, conversation_id="conv_1", subject="Résultats", last_message_at=AT)
    reader = Reader()
    mail = message_from_bytes(as_eml(INS, conversation, message, reader), policy=policy.default)
    assert isinstance(mail, EmailMessage)
    files = [(part.get_filename(), part.get_content()) for part in mail.iter_attachments()]
    assert files == [("compte-rendu.pdf", PDF)] and reader.read_ids == ["att_ok"]
    assert "Ci-joint" in mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert mail["From"] == "Dr Martin <dr.martin@chu.mssante.fr>"  # the writer's secure address, not their RPPS
