"""One received mail through the inbound service on fakes: one transaction per recipient mailbox, once only per
Message-ID, attachments stored per mailbox and none left behind by a mail that did not land, refusals bounced
(never to an untrusted sender) and counted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from functions.accounts.models import Contact as SpaceContact
from functions.accounts.models import Space, SpaceStatus
from functions.journal.ports import Entry, Refused
from functions.messaging import inbound
from functions.messaging.inbound import InboundDeps, receive_mail
from functions.messaging.mime import Envelope, MailLimits, Refusal, TrustList
from functions.messaging.models import Conversation, Message
from functions.messaging.service import MessagingDeps
from functions.notifications.models import Channels, NotificationPreferences, PreferenceCode
from functions.records.inspection import content_matches
from functions.shared.observability import INBOUND_MAIL, INBOUND_MAIL_REFUSED

MAIL = Path(__file__).resolve().parents[2] / "events" / "mail"
PATIENT, PARENT = "204126388884207", "284038889195908"
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Write:
    """A staged write: `ok()` is its condition, `do()` applies it when the whole entry commits."""

    label: str
    do: Callable[[], None] = lambda: None
    ok: Callable[[], bool] = lambda: True

    def stage(self, tx: Any) -> None:
        self.do()


@dataclass
class World:
    spaces: dict[str, Space] = field(default_factory=dict)
    conversations: dict[tuple[str, str], Conversation] = field(default_factory=dict)
    messages: list[tuple[str, Message]] = field(default_factory=list)
    markers: set[tuple[str, str]] = field(default_factory=set)
    notifications: list[Any] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    objects: dict[str, bytes] = field(default_factory=dict)
    sent: list[tuple[bytes, str, list[str], str]] = field(default_factory=list)
    close_on_commit: bool = False
    switches: dict[str, NotificationPreferences] = field(default_factory=dict)  # the copy on the space item
    space_reads: list[str] = field(default_factory=list)
    emails: list[tuple[Any, str]] = field(default_factory=list)

    # MessageStore
    def conversation(self, holder_ins: str, conversation_id: str) -> Conversation | None:
        return self.conversations.get((holder_ins, conversation_id))

    def staged_conversation(self, conversation: Conversation, previous: Conversation | None) -> Write:
        def put() -> None:
            self.conversations[(conversation.holder_ins, conversation.conversation_id)] = conversation
        return Write("conversation", put)

    def staged_message(self, message: Message, holder_ins: str) -> Write:
        return Write("message", lambda: self.messages.append((holder_ins, message)))

    def staged_once(self, holder_ins: str, message_id: str) -> Write:
        return Write("once", lambda: self.markers.add((holder_ins, message_id)),
                     lambda: (holder_ins, message_id) not in self.markers)

    # SpaceDirectory: the contact is the only read of the space (no `get`, no preferences read here)
    def contact(self, ins: str) -> SpaceContact | None:
        self.space_reads.append(ins)
        space = self.spaces.get(ins)
        return None if space is None else SpaceContact(
            ins=ins, status=space.status, email=space.email,
            preferences=self.switches.get(ins, NotificationPreferences()))

    def open_condition(self, ins: str) -> Write:
        return Write("space", ok=lambda: ins in self.spaces and self.spaces[ins].is_open)


    # PatientJournal: all or nothing
    def record(self, entry: Entry, head: Any = None, retry: bool = True) -> None:
        if self.close_on_commit:
            self.spaces = {k: v.model_copy(update={"status": SpaceStatus.CLOSED}) for k, v in self.spaces.items()}
        failed = {w.label for w in entry.staged if isinstance(w, Write) and not w.ok()}
        if failed:
            raise Refused(failed)
        for staged in entry.staged:
            staged.stage(None)  # type: ignore[arg-type]
        self.entries.append(entry)

    # AttachmentBlobs
    def put(self, holder_ins: str, message_id: str, attachment_id: str, content_type: str, data: bytes) -> None:
        self.objects[f"{holder_ins}/{message_id}/{attachment_id}"] = data

    def delete(self, holder_ins: str, message_id: str, attachment_id: str) -> None:
        self.objects.pop(f"{holder_ins}/{message_id}/{attachment_id}", None)

    # OutboundMail (once per key)
    def send(self, raw: bytes, sender: str, recipients: list[str], once_key: str) -> None:
        if once_key not in {s[3] for s in self.sent}:
            self.sent.append((raw, sender, recipients, once_key))


@dataclass(frozen=True)
class Notices:
    """InAppNotifications and EmailDelivery over the world: the notices land with the entry, e-mails after it."""

    world: World

    def staged(self, notifications: list[Any], once: bool = True) -> list[Write]:
        return [self.staged_once(n, email_pending=False) for n in notifications]

    def staged_once(self, notification: Any, email_pending: bool) -> Write:
        return Write("notification", lambda: self.world.notifications.append(notification))

    def send_once(self, mail: list[tuple[Any, str]]) -> None:
        self.world.emails.extend(mail)


class Clock:
    def now(self) -> datetime:
        return AT


def fresh_world() -> World:
    """Both fixture patients with an open space, nothing else."""
    opened = {ins: Space(ins=ins, status=SpaceStatus.OPEN, created_at=AT) for ins in (PATIENT, PARENT)}
    return World(spaces=opened)


@pytest.fixture
def world() -> World:
    return fresh_world()


def deps_of(world: World) -> InboundDeps:
    notices = Notices(world)
    messaging = MessagingDeps(store=world, journal=world, notifications=notices,  # type: ignore[arg-type]
                              spaces=world, clock=Clock(), email=notices)  # type: ignore[arg-type]
    return InboundDeps(messaging=messaging, blobs=world, outbound=world, trust=TrustList(domains=("*.mssante.fr",)),
                       limits=MailLimits(), content_matches=content_matches)


def deliver(world: World, name: str, envelope: Envelope = Envelope()) -> inbound.MailReport:  # noqa: B008
    return receive_mail(deps_of(world), (MAIL / name).read_bytes(), envelope)


def test_a_mail_lands_as_message_conversation_notification_and_trace_in_one_transaction(world: World) -> None:
    report = deliver(world, "html_attachment.eml")
    assert (report.delivered, report.duplicates, report.refused) == (1, 0, [])
    (entry,) = world.entries
    assert {getattr(w, "label", "") for w in entry.staged} == {"space", "conversation", "message", "notification",
                                                               "once"}
    assert [t.action.value for t in entry.traces] == ["message.received"]
    ((holder, message),) = world.messages
    assert holder == PATIENT and message.rfc822_id == "<cardio-7781@chu-lyon.mssante.fr>"
    assert message.sender is not None and message.sender.name == "Service de cardiologie"
    assert message.reply_to == "secretariat.cardio@chu-lyon.mssante.fr"
    (attachment,) = message.attachments
    assert world.objects[f"{PATIENT}/{message.message_id}/{attachment.attachment_id}"].startswith(b"%PDF-")
    (conversation,) = world.conversations.values()
    assert conversation.has_attachment and conversation.unread_count == 1
    assert world.notifications[0].document_id == message.message_id


def test_a_redelivered_mail_creates_nothing_twice_and_counts_a_duplicate(world: World) -> None:
    deliver(world, "html_attachment.eml")
    again = deliver(world, "html_attachment.eml")
    assert (again.delivered, again.duplicates) == (0, 1)
    assert len(world.messages) == 1 and len(world.conversations) == 1 and len(world.objects) == 1


def test_two_recipients_are_two_mailboxes_each_with_its_own_message(world: World) -> None:
    report = deliver(world, "two_recipients.eml")
    assert report.delivered == 2 and len(world.entries) == 2
    assert {h for h, _ in world.messages} == {PATIENT, PARENT}
    assert len({m.message_id for _, m in world.messages}) == 2


def test_dynamodb_work_does_not_grow_with_attachments(world: World) -> None:
    deliver(world, "html_attachment.eml")
    deliver(world, "plain.eml")
    with_pdf, plain = world.entries
    assert len(with_pdf.staged) == len(plain.staged)


def test_a_closed_mailbox_bounces_messagerie_fermee_and_stores_nothing(world: World) -> None:
    world.spaces[PATIENT] = world.spaces[PATIENT].model_copy(update={"status": SpaceStatus.CLOSED})
    report = deliver(world, "html_attachment.eml")
    assert report.refused == [Refusal.MAILBOX_CLOSED] and report.bounced
    assert world.messages == [] and world.objects == {} and world.entries == []
    ((raw, sender, recipients, _),) = world.sent
    bounce = message_from_bytes(raw, policy=policy.default)
    assert recipients == ["cardiologie@chu-lyon.mssante.fr"] and sender.startswith("MAILER-DAEMON@")
    assert bounce["Subject"] == "Message non distribué"
    text = bounce.get_content()
    assert "messagerie fermée" in text and "Courrier de sortie" not in text


def test_a_space_closed_between_the_read_and_the_commit_leaves_no_object(world: World) -> None:
    world.close_on_commit = True
    report = deliver(world, "html_attachment.eml")
    assert report.refused == [Refusal.MAILBOX_CLOSED] and world.objects == {} and world.messages == []


def test_an_unknown_mailbox_is_refused_for_that_recipient_only(world: World) -> None:
    del world.spaces[PARENT]
    report = deliver(world, "two_recipients.eml")
    assert report.delivered == 1 and report.refused == [Refusal.UNKNOWN_MAILBOX]
    assert "patient introuvable" in message_from_bytes(world.sent[0][0], policy=policy.default).get_content()


def test_an_untrusted_sender_is_counted_but_never_bounced(world: World) -> None:
    report = deliver(world, "untrusted.eml")
    assert report.refused == [Refusal.UNTRUSTED_SENDER] and not report.bounced
    assert world.sent == [] and world.messages == []


def test_a_bad_attachment_bounces_once_even_when_redelivered(world: World) -> None:
    deliver(world, "executable.eml")
    deliver(world, "executable.eml")
    assert len(world.sent) == 1 and world.objects == {} and world.messages == []


def test_a_reply_continues_the_conversation_its_sender_wrote_in(world: World) -> None:
    deliver(world, "plain.eml")
    ((_, first),) = world.messages
    reply = (MAIL / "plain.eml").read_bytes().replace(b"<20261201091200.4242@", b"<reply-1@").replace(
        b"MIME-Version", f"In-Reply-To: <{first.conversation_id}.msg_x@patient.mssante.fr>\r\nMIME-Version".encode())
    receive_mail(deps_of(world), reply, Envelope())
    assert len(world.conversations) == 1 and world.messages[1][1].conversation_id == first.conversation_id
    stranger = reply.replace(b"<reply-1@", b"<reply-2@").replace(b"claire.martin@hopital-nord",
                                                                 b"someone@hopital-nord")
    receive_mail(deps_of(world), stranger, Envelope())
    assert len(world.conversations) == 2  # who never wrote there starts a new conversation


def test_refusals_are_counted_by_reason(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[tuple[str, dict[str, str]]] = []
    monkeypatch.setattr(inbound, "count", lambda metric, value=1, **dims: counted.append((metric, dims)))
    deliver(world, "untrusted.eml")
    deliver(world, "plain.eml")
    deliver(world, "plain.eml")
    assert counted == [(INBOUND_MAIL_REFUSED, {"reason": "untrusted_sender"}),
                       (INBOUND_MAIL, {"outcome": "delivered"}),
                       (INBOUND_MAIL, {"outcome": "duplicate"})]


def test_the_trust_list_and_the_limits_are_configuration() -> None:
    from functions.shared.settings import Settings
    from local.config import local_env

    defaults = Settings.from_env(local_env())
    assert defaults.mail_trusted_domains == ("*.mssante.fr", "mssante.fr") and defaults.mail_trusted_relays == ()
    assert (defaults.max_mime_bytes, defaults.attachment_budget_bytes) == (25 * 1024 * 1024, 20 * 1024 * 1024)
    tuned = Settings.from_env({**local_env(), "MES_MAIL_TRUSTED_DOMAINS": " *.chu-lyon.fr , mssante.fr",
                               "MES_MAIL_TRUSTED_RELAYS": "mx*.operateur.mssante.fr",
                               "MES_MAX_MIME_BYTES": "10485760", "MES_ATTACHMENT_BUDGET_BYTES": "5242880"})
    assert tuned.mail_trusted_domains == ("*.chu-lyon.fr", "mssante.fr")
    assert tuned.mail_trusted_relays == ("mx*.operateur.mssante.fr",)
    assert (tuned.max_mime_bytes, tuned.attachment_budget_bytes) == (10485760, 5242880)


def test_another_sender_reusing_a_message_id_is_not_taken_for_a_duplicate(world: World) -> None:
    deliver(world, "plain.eml")
    forged = (MAIL / "plain.eml").read_bytes().replace(b"claire.martin@hopital-nord", b"paul.durand@cabinet-durand")
    report = receive_mail(deps_of(world), forged, Envelope())
    assert (report.delivered, report.duplicates) == (1, 0) and len(world.messages) == 2


def test_a_mail_reads_each_recipients_space_once_for_status_address_and_switches(world: World) -> None:
    deliver(world, "two_recipients.eml")
    assert sorted(world.space_reads) == sorted([PATIENT, PARENT])


def test_notif_message_switched_off_stops_the_email_for_the_next_mail_but_not_the_in_app_notice(
        world: World) -> None:
    world.spaces[PATIENT] = world.spaces[PATIENT].model_copy(update={"email": "patient@example.org"})
    deliver(world, "plain.eml")
    assert [address for _, address in world.emails] == ["patient@example.org"]
    # When the holder switches NOTIF_MESSAGE's e-mail off (the preferences' transaction writes the copy)
    world.switches[PATIENT] = NotificationPreferences(
        channels={PreferenceCode.NOTIF_MESSAGE: Channels(in_app=True, email=False)})
    deliver(world, "html_attachment.eml")
    # Then the next mail lands and is notified in-app, with no e-mail
    assert len(world.messages) == 2 and len(world.notifications) == 2
    assert len(world.emails) == 1


def _plain(**change: bytes) -> bytes:
    raw = (MAIL / "plain.eml").read_bytes()
    for old, new in change.items():
        raw = raw.replace(old.encode(), new)
    return raw


def _zip_named_pdf() -> bytes:
    from email.message import EmailMessage

    mail = message_from_bytes(_plain(), policy=policy.default)
    assert isinstance(mail, EmailMessage)
    mail.make_mixed()
    # a zip (the shape of a zip bomb) declared and named as a PDF
    mail.add_attachment(b"PK\x03\x04" + b"\x00" * 200, maintype="application", subtype="pdf",
                        filename="compte-rendu.pdf")
    return bytes(mail)


BAD_MAILS: dict[str, tuple[Callable[[], bytes], Refusal]] = {
    "malformed (two From)": (lambda: _plain(**{"From: Dr Claire Martin <claire.martin@hopital-nord.mssante.fr>":
                                              b"From: a@hopital-nord.mssante.fr, b@hopital-nord.mssante.fr"}),
                             Refusal.MALFORMED),
    "no To at all": (lambda: _plain(**{"To: <204126388884207@patient.mssante.fr>\r\n": b""}), Refusal.NO_RECIPIENT),
    "not an INS": (lambda: _plain(**{"204126388884207@": b"martin.paul@"}), Refusal.UNKNOWN_MAILBOX),
    "HTML subject": (lambda: _plain(**{"=?utf-8?q?Compte_rendu_de_consultation?=": b"<b>Urgent</b>"}),
                     Refusal.HTML_SUBJECT),
    "nothing in it": (lambda: _plain().split(b"\r\n\r\n")[0] + b"\r\n\r\n", Refusal.EMPTY_MESSAGE),
    "a zip as a PDF": (_zip_named_pdf, Refusal.BAD_ATTACHMENT),
}


@pytest.mark.parametrize("case", list(BAD_MAILS))
def test_each_bad_mail_is_counted_by_its_reason_bounced_to_its_sender_and_stores_nothing(
        world: World, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    make, reason = BAD_MAILS[case]
    raw = make()
    counted: list[tuple[str, dict[str, str]]] = []
    monkeypatch.setattr(inbound, "count", lambda metric, value=1, **dims: counted.append((metric, dims)))
    report = receive_mail(deps_of(world), raw, Envelope())
    assert report.refused == [reason] and report.delivered == 0
    assert counted == [(INBOUND_MAIL_REFUSED, {"reason": reason.value})]
    assert world.messages == [] and world.objects == {} and world.entries == [] and world.notifications == []
    ((bounced, _, recipients, _),) = world.sent
    assert recipients == ["claire.martin@hopital-nord.mssante.fr"]
    assert f"({reason.value})" in message_from_bytes(bounced, policy=policy.default).get_content()


def test_an_unreadable_mail_without_any_sender_address_is_counted_and_bounced_to_nobody(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[tuple[str, dict[str, str]]] = []
    monkeypatch.setattr(inbound, "count", lambda metric, value=1, **dims: counted.append((metric, dims)))
    report = deliver(world, "malformed.eml")  # From: nobody-at-all, a multipart without its boundary
    assert report.refused == [Refusal.MALFORMED] and not report.bounced
    assert counted == [(INBOUND_MAIL_REFUSED, {"reason": "malformed"})]
    assert world.sent == [] and world.messages == [] and world.objects == {} and world.entries == []
