"""Mail leaving the patient's mailbox (issue 11, points 3, 5, 6, 7), on fakes: the MIME a reply, a new
conversation and a read receipt are built as; Reply-To honoured; once-only sends; a failed send kept for the retry
pass; who the patient may write to; the new-message e-mail only when NOTIF_MESSAGE's e-mail is on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.accounts.models import Contact as SpaceContact
from functions.accounts.models import SpaceStatus
from functions.identity.principal import Citizen, Organisation, Professional
from functions.messaging import service
from functions.messaging.models import (
    Contact,
    IncomingMessage,
    Message,
    NewConversation,
    Pharmacy,
    Reply,
    secure_address,
)
from functions.messaging.outbound import SesOutbound, outbox_key
from functions.messaging.outmail import MDN_DISPOSITION, Outgoing, patient_mail, read_receipt
from functions.messaging.service import MessagingDeps
from functions.notifications.models import Channels, Email, Notification, NotificationPreferences, PreferenceCode
from functions.notifications.ports import EmailReport
from functions.shared.errors import Unprocessable
from tests.unit.test_messaging_service import INS, Apply, Clock, FakeJournal, FakeStore

AT = datetime(2032, 3, 15, 9, 0, tzinfo=UTC)
DR = Professional(rpps="10000000001", profession="10", finess="750000001", name="Dr Martin")
OTHER = Professional(rpps="10000000002", profession="10", finess="750000001", name="Dr Durand")
HOSPITAL = Organisation(finess="750000009", name="Hôpital Nord")
HOLDER = Citizen(ins=INS)
DR_ADDRESS = "claire.martin@hopital-nord.mssante.fr"


def parsed(raw: bytes) -> EmailMessage:
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


@dataclass
class FakeOutbox:
    waiting: dict[str, Outgoing] = field(default_factory=dict)

    def staged_mail(self, holder_ins: str, mail: Outgoing) -> Apply:
        return Apply(lambda: self.waiting.__setitem__(mail.once_key, mail))

    def delivered(self, once_key: str) -> None:
        self.waiting.pop(once_key)

    def pending(self, limit: int) -> list[Outgoing]:
        return list(self.waiting.values())[:limit]


@dataclass
class FakeOutbound:
    """Once-only by key, like both adapters; `failing` makes the next sends raise (SES down)."""

    sent: list[Outgoing] = field(default_factory=list)
    failing: bool = False

    def send(self, raw: bytes, sender: str, recipients: list[str], once_key: str) -> None:
        if self.failing:
            raise ConnectionError("SES unreachable")
        if once_key not in {m.once_key for m in self.sent}:
            self.sent.append(Outgoing(raw, sender, recipients, once_key))


@dataclass
class FakeBook:
    book: dict[tuple[str, str], Pharmacy] = field(default_factory=dict)

    def pharmacies(self, holder_ins: str) -> list[Pharmacy]:
        return [p for (h, _), p in self.book.items() if h == holder_ins]

    def staged_pharmacy(self, holder_ins: str, pharmacy: Pharmacy) -> Apply:
        return Apply(lambda: self.book.__setitem__((holder_ins, pharmacy.finess), pharmacy))

    def staged_pharmacy_removal(self, holder_ins: str, finess: str) -> Apply:
        return Apply(lambda: self.book.pop((holder_ins, finess)))


@dataclass
class FakeNotices:
    """In-app notifications (staged, with or without an e-mail to follow) and the e-mail delivery port."""

    written: list[tuple[Notification, bool]] = field(default_factory=list)
    emails: list[tuple[Notification, str]] = field(default_factory=list)

    def staged(self, notifications: list[Notification], once: bool = True) -> list[Apply]:
        return [Apply(lambda n=n: self.written.append((n, False))) for n in notifications]

    def staged_once(self, notification: Notification, email_pending: bool) -> Apply:
        return Apply(lambda: self.written.append((notification, email_pending)))

    def send_once(self, mail: list[tuple[Notification, str]]) -> EmailReport:
        self.emails.extend(mail)
        return EmailReport(sent=len(mail))


@dataclass
class FakeSpaces:
    """Open spaces with an address; `prefs` is the copy of the switches kept on the space item."""

    prefs: dict[str, NotificationPreferences] = field(default_factory=dict)
    email: str | None = "patient@example.org"

    def contact(self, ins: str) -> SpaceContact | None:
        return SpaceContact(ins=ins, status=SpaceStatus.OPEN, email=self.email,
                            preferences=self.prefs.get(ins, NotificationPreferences()))

    def open_condition(self, ins: str) -> Apply:
        return Apply(lambda: None)


@dataclass
class World:
    deps: MessagingDeps
    outbox: FakeOutbox
    outbound: FakeOutbound
    notices: FakeNotices
    journal: FakeJournal
    prefs: dict[str, NotificationPreferences]

    def actions(self) -> list[str]:
        return [t.action.value for e in self.journal.entries for t in e.traces]


@pytest.fixture
def world() -> World:
    outbox, outbound, notices, journal = FakeOutbox(), FakeOutbound(), FakeNotices(), FakeJournal()
    prefs: dict[str, NotificationPreferences] = {}
    deps = MessagingDeps(store=FakeStore(), journal=journal, notifications=notices,  # type: ignore[arg-type]
                         spaces=FakeSpaces(prefs), clock=Clock(),  # type: ignore[arg-type]
                         outbox=outbox, outbound=outbound, email=notices, pharmacies=FakeBook())
    return World(deps, outbox, outbound, notices, journal, prefs)


def write(world: World, who: Professional | Organisation = DR, **body: Any) -> Message:
    fields: dict[str, Any] = {"subject": "Résultats", "text": "Bonjour", "sender_address": DR_ADDRESS, **body}
    return service.receive(world.deps, who, INS, IncomingMessage(**fields))


# ---- the MIME itself --------------------------------------------------------------------------------------------


def test_a_reply_is_a_threaded_rfc5322_mail_from_the_patients_mailbox_in_7_bit() -> None:
    reply = Message(message_id="msg_1", conversation_id="conv_1", direction="OUT", sender=None,
                    to=(Contact(id=DR.rpps, name="Dr Martin", address=DR_ADDRESS),), at=AT,
                    subject="RE: Résultats", content="<p>Merci docteur, à jeudi</p>",
                    rfc822_id="<msg_1@patient.mssante.fr>",
                    in_reply_to="<b@hopital.fr>", references=("<a@hopital.fr>", "<b@hopital.fr>"))
    out = patient_mail(INS, reply)
    mail = parsed(out.raw)
    assert out.raw.decode("ascii")  # quoted-printable everywhere: 7-bit whatever the language
    assert (mail["From"], mail["To"], mail["Subject"]) == (f"{INS}@patient.mssante.fr", DR_ADDRESS, "RE: Résultats")
    assert mail["Message-ID"] == "<msg_1@patient.mssante.fr>" and mail["In-Reply-To"] == "<b@hopital.fr>"
    assert mail["References"] == "<a@hopital.fr> <b@hopital.fr>"
    assert mail.get_content_type() == "multipart/alternative"
    text, rich = (part.get_content() for part in mail.iter_parts())
    assert text.strip() == "Merci docteur, à jeudi" and "<p>Merci docteur, à jeudi</p>" in rich
    assert (out.sender, out.recipients, out.once_key) == (f"{INS}@patient.mssante.fr", [DR_ADDRESS], "msg_1")


def test_a_read_receipt_is_an_rfc8098_mdn_displayed_manually_to_the_address_that_asked() -> None:
    asked = Message(message_id="msg_9", conversation_id="conv_1", direction="IN", sender=Contact(id="1", name="Dr"),
                    at=AT, subject="Résultats", content="<p>x</p>", receipt_to="secretariat@hopital-nord.mssante.fr",
                    rfc822_id="<original@hopital-nord.fr>")
    out = read_receipt(INS, asked, AT)
    mail = parsed(out.raw)
    assert mail.get_content_type() == "multipart/report"
    assert mail.get_param("report-type") == "disposition-notification"
    assert mail["To"] == "secretariat@hopital-nord.mssante.fr" and mail["In-Reply-To"] == "<original@hopital-nord.fr>"
    human, report = mail.iter_parts()
    assert human.get_content_type() == "text/plain"
    assert report.get_content_type() == "message/disposition-notification"
    (fields,) = report.iter_parts()  # the report's fields, parsed as a header block
    assert fields["Disposition"] == MDN_DISPOSITION == "manual-action/MDN-sent-manually; displayed"
    assert fields["Original-Message-ID"] == "<original@hopital-nord.fr>"
    assert fields["Final-Recipient"] == f"rfc822; {INS}@patient.mssante.fr"
    assert out.once_key == "mdn-msg_9" and out.recipients == ["secretariat@hopital-nord.mssante.fr"]


def test_secure_addresses_are_mssante_ones_and_never_a_patients_mailbox() -> None:
    assert secure_address(" Claire.Martin@Hopital-Nord.MSSante.fr ") == DR_ADDRESS
    for bad in ("dr@gmail.com", f"{INS}@patient.mssante.fr", "dr@mssante.fr.evil.com", "a b@x.mssante.fr"):
        with pytest.raises(ValueError):
            secure_address(bad)


def test_the_local_outbox_key_is_the_mails_own_day_so_a_retry_finds_the_same_key() -> None:
    reply = Message(message_id="msg_1", conversation_id="c", direction="OUT", sender=None, at=AT, subject="s",
                    content="x", to=(Contact(id="1", name="n", address=DR_ADDRESS),))
    assert outbox_key(patient_mail(INS, reply).raw, "msg_1") == "2032-03-15/msg_1.eml"


# ---- SES: once-only by a claimed mark ---------------------------------------------------------------------------


@dataclass
class FakeSes:
    calls: list[dict[str, Any]] = field(default_factory=list)
    refuse: bool = False

    def send_email(self, **kw: Any) -> dict[str, str]:
        if self.refuse:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail")
        self.calls.append(kw)
        return {"MessageId": "ses-1"}


@dataclass
class FakeMarks:
    marks: set[tuple[str, str]] = field(default_factory=set)

    def claim(self, holder_ins: str, once_key: str) -> bool:
        if (holder_ins, once_key) in self.marks:
            return False
        self.marks.add((holder_ins, once_key))
        return True

    def release(self, holder_ins: str, once_key: str) -> None:
        self.marks.discard((holder_ins, once_key))


def test_ses_sends_a_once_key_once_and_a_refused_send_can_be_retried() -> None:
    ses, marks = FakeSes(), FakeMarks()
    outbound = SesOutbound(ses, marks)
    sender = f"{INS}@patient.mssante.fr"
    ses.refuse = True
    with pytest.raises(ClientError):
        outbound.send(b"raw", sender, [DR_ADDRESS], "msg_1")
    assert not marks.marks  # SES refused: nothing left, the mark is released
    ses.refuse = False
    outbound.send(b"raw", sender, [DR_ADDRESS], "msg_1")
    outbound.send(b"raw", sender, [DR_ADDRESS], "msg_1")
    assert len(ses.calls) == 1
    assert ses.calls[0] == {"FromEmailAddress": sender, "Destination": {"ToAddresses": [DR_ADDRESS]},
                            "Content": {"Raw": {"Data": b"raw"}}}
    assert marks.marks == {(INS, "msg_1")}  # in the holder's partition


# ---- replies leave ----------------------------------------------------------------------------------------------


def test_a_reply_leaves_once_to_the_reply_to_of_the_professionals_message(world: World) -> None:
    cid = write(world, reply_to="secretariat@hopital-nord.mssante.fr").conversation_id
    sent = service.reply(world.deps, HOLDER, INS, cid, Reply(content="Merci")).message
    (mail,) = world.outbound.sent
    assert mail.recipients == ["secretariat@hopital-nord.mssante.fr"] and mail.once_key == sent.message_id
    assert parsed(mail.raw)["To"] == "secretariat@hopital-nord.mssante.fr"
    assert not world.outbox.waiting  # handed over: out of the outbox


def test_a_second_reply_is_threaded_under_the_first(world: World) -> None:
    cid = write(world).conversation_id
    first = service.reply(world.deps, HOLDER, INS, cid, Reply(content="Merci")).message
    service.reply(world.deps, HOLDER, INS, cid, Reply(content="Autre question"))
    second = parsed(world.outbound.sent[1].raw)
    assert second["In-Reply-To"] == f"<{first.message_id}@patient.mssante.fr>"
    assert second["References"] == f"<{first.message_id}@patient.mssante.fr>"


def test_a_failed_send_keeps_the_mail_for_the_retry_pass_which_sends_it_once(world: World) -> None:
    cid = write(world).conversation_id
    world.outbound.failing = True
    sent = service.reply(world.deps, HOLDER, INS, cid, Reply(content="Merci")).message  # no error: the reply is stored
    assert list(world.outbox.waiting) == [sent.message_id] and not world.outbound.sent
    world.outbound.failing = False
    assert service.deliver_outbox(world.deps) == 1
    assert service.deliver_outbox(world.deps) == 0
    assert [m.once_key for m in world.outbound.sent] == [sent.message_id] and not world.outbox.waiting


def test_a_writer_without_an_address_gets_no_mail(world: World) -> None:
    cid = write(world, sender_address=None).conversation_id
    service.reply(world.deps, HOLDER, INS, cid, Reply(content="Merci"))
    assert not world.outbound.sent and not world.outbox.waiting


# ---- read receipts ----------------------------------------------------------------------------------------------


def test_opening_a_conversation_sends_one_receipt_per_message_that_asked_and_opening_again_none(world: World) -> None:
    asked = write(world, receipt_to=DR_ADDRESS)
    write(world, conversation_id=asked.conversation_id)  # no receipt asked on this one
    service.read_conversation(world.deps, HOLDER, INS, asked.conversation_id)
    service.read_conversation(world.deps, HOLDER, INS, asked.conversation_id)
    assert [m.once_key for m in world.outbound.sent] == [f"mdn-{asked.message_id}"]
    assert world.actions().count("message.receipt_sent") == 1


# ---- a conversation the patient starts --------------------------------------------------------------------------


def test_the_patient_writes_first_to_a_professional_who_wrote_and_to_a_pharmacy_they_added(world: World) -> None:
    write(world)
    started = service.start_conversation(world.deps, HOLDER, INS,
                                         NewConversation(to=DR.rpps, subject="Question", content="Bonjour")).message
    assert started.to[0].id == DR.rpps and world.outbound.sent[-1].recipients == [DR_ADDRESS]
    service.add_pharmacy(world.deps, HOLDER, INS, Pharmacy(finess="750012345", name="Pharmacie du Centre (Paris)",
                                                           address="contact@pharmacie-centre.mssante.fr"))
    to_pharmacy = service.start_conversation(world.deps, HOLDER, INS, NewConversation(
        to="750012345", subject="Ordonnance", content="Bonjour")).message
    assert to_pharmacy.to[0].name == "Pharmacie du Centre"
    assert world.outbound.sent[-1].recipients == ["contact@pharmacie-centre.mssante.fr"]
    conversation = world.deps.store.conversation(INS, to_pharmacy.conversation_id)
    assert conversation is not None and conversation.started_by_patient
    assert {"contact.added", "message.sent"} <= set(world.actions())


def test_the_patient_cannot_write_to_another_patient_a_stranger_or_who_ended_the_exchange(world: World) -> None:
    cid = write(world, who=OTHER).conversation_id
    write(world, who=OTHER, subject="[FIN]", conversation_id=cid)
    for to in (f"{INS}@patient.mssante.fr", "190017512345655", "10000000099", OTHER.rpps):
        with pytest.raises(Unprocessable) as refused:
            service.start_conversation(world.deps, HOLDER, INS, NewConversation(to=to, subject="Q", content="x"))
        assert refused.value.code == "recipient_not_allowed"
    assert not world.outbound.sent and "message.sent" not in world.actions()


# ---- the new-message e-mail ---------------------------------------------------------------------------------------


def test_a_new_message_is_emailed_once_when_notif_message_email_is_on_and_not_when_off(world: World) -> None:
    first = write(world)
    assert [(n.notification_id, address) for n, address in world.notices.emails] == [
        (f"msg-{first.message_id}", "patient@example.org")]
    world.prefs[INS] = NotificationPreferences(channels={PreferenceCode.NOTIF_MESSAGE: Channels(email=False)})
    write(world)
    assert len(world.notices.emails) == 1
    assert [pending for _, pending in world.notices.written] == [True, False]  # in-app both times


def test_the_new_message_email_says_one_arrived_and_where_never_who_wrote_nor_what() -> None:
    email = Email.digest("patient@example.org", [Notification.for_message(INS, "msg_1", AT, "Dr Martin")])
    assert email.data == {"kind": "nouveau message", "day": "15/03/2032", "link": "urn:message:msg_1"}


def test_the_retry_pass_gives_up_on_a_mail_still_refused_a_day_after_its_commit(world: World) -> None:
    cid = write(world).conversation_id
    world.outbound.failing = True
    service.reply(world.deps, HOLDER, INS, cid, Reply(content="Merci"))
    later = MessagingDeps(**{**world.deps.__dict__, "clock": Later()})
    assert service.deliver_outbox(later) == 0 and not world.outbox.waiting  # out of the outbox, counted
    assert not world.outbound.sent


class Later:
    def now(self) -> datetime:
        return AT + timedelta(days=1, minutes=5)


def test_a_held_mail_that_cannot_be_released_does_not_stop_the_pass_for_the_others(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: one failing release aborted the whole pass, and a mail refused earlier stayed behind."""
    from dataclasses import replace

    from functions.messaging.outmail import Held
    from functions.shared.clock import FixedClock

    held = Outgoing(b"held", f"{INS}@patient.mssante.fr", [DR_ADDRESS], "msg_held", AT,
                    held=Held(INS, "conv_" + "1" * 24, "msg_held", AT + timedelta(minutes=10)))
    plain = Outgoing(b"plain", f"{INS}@patient.mssante.fr", [DR_ADDRESS], "msg_plain", AT)
    world.outbox.waiting.update({"msg_held": held, "msg_plain": plain})

    def unreadable(*_: Any) -> Any:
        raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(world.deps.store, "thread", unreadable)
    early = replace(world.deps, clock=FixedClock(AT + timedelta(minutes=12)))  # past the deadline, in the grace
    assert service.deliver_outbox(early) == 1 and [m.once_key for m in world.outbound.sent] == ["msg_plain"]
    later = replace(world.deps, clock=FixedClock(AT + timedelta(minutes=16)))
    assert service.deliver_outbox(later) == 0  # the held one fails to release: it waits, nothing else is lost
    assert list(world.outbox.waiting) == ["msg_held"]


def test_the_holders_budget_keeps_their_mail_under_mssante_s_25_mb_once_encoded(world: World) -> None:
    from functions.messaging.models import AttachmentDeclaration
    from functions.messaging.service import MSSANTE_MAIL_MAX_BYTES, holder_budget
    from functions.shared.errors import PayloadTooLarge

    budget = holder_budget(world.deps)
    assert budget * 4 // 3 + 500_000 <= MSSANTE_MAIL_MAX_BYTES < world.deps.attachment_budget_bytes * 4 // 3

    def photo(size: int) -> AttachmentDeclaration:
        return AttachmentDeclaration(name="photo.png", content_type="image/png", size=size, sha256="0" * 64)

    cid = write(world).conversation_id
    with pytest.raises(PayloadTooLarge):
        service.reply(world.deps, HOLDER, INS, cid, Reply(content="x", attachments=[photo(budget), photo(1)]))
