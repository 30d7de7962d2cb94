"""Messaging's domain (issue 11, rules in mes-rules-next.md A): the mailbox address, conversations, messages,
one draft per conversation and the reply rules the server decides. Pure: no I/O. The MIME/SMTP path builds the
same `IncomingMessage` from a raw mail (`ends_exchange` reads the subject and the `X-MSS-MES` header alike)."""

from __future__ import annotations

import html
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

MAILBOX_DOMAIN = "patient.mssante.fr"
END_SUBJECT = "[FIN]"
# The app refuses a subject matching this (ENS validators.dart): "<" followed by anything but a digit or a space.
HTML_IN_SUBJECT = re.compile(r"<[^0-9 ]")
MAX_SUBJECT = 200
MAX_BODY = 200_000  # characters of HTML after sanitising; the body cap of the edge comes first
# An MSSanté secure address (espace de confiance): `<local>@<domain>.mssante.fr`; the patients' own domain is
# refused where a professional's or a pharmacy's address is expected (a citizen never writes to another).
SECURE_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@([A-Za-z0-9-]{1,63}\.){1,5}mssante\.fr")
MAX_REFERENCES = 20  # the References header keeps the thread's latest ids


def secure_address(raw: str) -> str:
    """A professional's or a pharmacy's MSSanté address, lower-cased; ValueError for anything else, a citizen's
    mailbox (`@patient.mssante.fr`) included."""
    address = raw.strip().lower()
    if SECURE_ADDRESS.fullmatch(address) is None:
        raise ValueError("not an MSSanté secure address (<nom>@<domaine>.mssante.fr)")
    if address.endswith("@" + MAILBOX_DOMAIN):
        raise ValueError("a patient's mailbox cannot be written to from another patient's mailbox")
    return address


def mailbox_address(ins: str) -> str:
    """Every space's MSSanté citizen address: `<INS>@patient.mssante.fr` (A.1)."""
    return f"{ins}@{MAILBOX_DOMAIN}"


def ends_exchange(subject: str, mss_mes: str | None = None) -> bool:
    """A professional ends the exchange with the subject exactly `[FIN]` or the header `X-MSS-MES: FIN`."""
    return subject.strip() == END_SUBJECT or (mss_mes or "").strip().upper() == "FIN"


def has_html(subject: str) -> bool:
    return HTML_IN_SUBJECT.search(subject) is not None


def sanitised_html(raw: str) -> str:
    """A body as the patient's app may render it: nh3 (ammonia) keeps formatting tags, drops scripts, event
    handlers, styles and `javascript:` links; links get `rel="noopener noreferrer"`. Imported on first use, so
    the synth (which imports the app in the IaC virtualenv) and the routes that never sanitise do not load it."""
    import nh3

    return nh3.clean(raw, link_rel="noopener noreferrer")


def text_as_html(text: str) -> str:
    """A plain-text body, escaped, its lines kept."""
    return html.escape(text).replace("\r\n", "\n").replace("\n", "<br>")


class ReplyOption(StrEnum):
    REPLY = "REPLY"
    REPLY_TO_ALL = "REPLY_TO_ALL"


class ReplyPolicy(StrEnum):
    """What a sender allows on its message: `NONE` blocks the reply to it ("Ce message n'autorise pas la
    réponse."); `REPLY_TO_ALL` (the default) lets the patient answer every writer still in the exchange."""

    REPLY = "REPLY"
    REPLY_TO_ALL = "REPLY_TO_ALL"
    NONE = "NONE"


class Contact(BaseModel):
    """A professional (`id` RPPS, `type_bal` PER), an organisation (`id` FINESS, ORG) who wrote, or a pharmacy the
    patient added (`id` FINESS, ORG). `address`: where the patient's mail to them goes (their Reply-To when their
    last message had one, else their own secure address); None: an API writer who gave none (answers stay in-app)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    type_bal: Literal["PER", "ORG", "APP"] = "PER"
    address: str | None = None


class AttachmentState(StrEnum):
    """An API attachment is declared, then uploaded to quarantine and verified (like a document); a MIME
    attachment is verified as it is parsed and lands `AVAILABLE` at once."""

    PENDING = "PENDING"
    AVAILABLE = "AVAILABLE"
    REJECTED = "REJECTED"


class Attachment(BaseModel):
    """One file of a message (A.6). Stored encrypted per object under the key
    `<holder pseudonym>/<message id>/<attachment id>` of the attachments bucket, its encryption context bound to the
    patient and the message."""

    model_config = ConfigDict(frozen=True)

    attachment_id: str
    name: str
    content_type: str
    size: int
    sha256: str
    state: AttachmentState = AttachmentState.AVAILABLE
    rejection_reason: str | None = None  # the verifier's, when REJECTED (its object deleted)

    def settled(self, reason: str | None) -> Attachment:
        """The verifier's verdict: AVAILABLE (None) or REJECTED with why."""
        state = AttachmentState.AVAILABLE if reason is None else AttachmentState.REJECTED
        return self.model_copy(update={"state": state, "rejection_reason": reason})


# What a message may carry (mes-rules-next.md A.6: the app's file picker, `jpg, jpeg, tiff, png, txt, pdf, rtf,
# doc`, by their MIME type), with the extension a download is saved under. Anything else is refused at the
# declaration; the verifier then holds the bytes to the declared type (magic bytes).
ATTACHMENT_TYPES: dict[str, str] = {
    "application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/tiff": "tif", "text/plain": "txt",
    "application/rtf": "rtf", "application/msword": "doc",
}
MAX_ATTACHMENTS = 20
DocumentRef = Annotated[str, Field(min_length=1, max_length=64)]  # a document id of the holder's record
MAX_ATTACHMENT_NAME = 200


class AttachmentDeclaration(BaseModel):
    """An attachment as the sender declares it, like a document: the verifier holds the upload to each field."""

    name: str = Field(min_length=1, max_length=MAX_ATTACHMENT_NAME)
    content_type: str = Field(min_length=1, max_length=100)
    size: int = Field(gt=0, strict=True)
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str
    conversation_id: str
    direction: Literal["IN", "OUT"]
    sender: Contact | None  # None: the patient
    to: tuple[Contact, ...] = ()
    at: datetime
    subject: str
    content: str  # sanitised HTML
    ends_exchange: bool = False
    reply_policy: ReplyPolicy = ReplyPolicy.REPLY_TO_ALL
    attachments: tuple[Attachment, ...] = ()
    # how the writer addressed it (To and Cc: names, or addresses), shown to the patient; display only, never
    # whom the patient may answer (that is the conversation's writers)
    recipients: tuple[str, ...] = ()
    rfc822_id: str | None = None  # the mail's own Message-ID (MIME path): the once-only key of a redelivery
    reply_to: str | None = None  # the sender's Reply-To (MIME path): where the patient's answers go
    receipt_to: str | None = None  # Disposition-Notification-To: one read receipt goes there when first opened
    in_reply_to: str | None = None  # an outgoing message: the Message-ID it answers (threading)
    references: tuple[str, ...] = ()  # an outgoing message: the thread's Message-IDs, oldest first

    @property
    def receipt_requested(self) -> bool:
        return self.receipt_to is not None


class Draft(BaseModel):
    model_config = ConfigDict(frozen=True)

    conversation_id: str
    content: str
    reply_type: ReplyOption = ReplyOption.REPLY
    saved_at: datetime
    documents: tuple[str, ...] = ()  # record documents chosen, checked at each save (the app's `DraftModel.files`)
    attachment_bytes: int = 0  # their size: the draft's `remainSizeFiles` is the budget minus this


class Conversation(BaseModel):
    """A conversation of one holder's mailbox. `writers`: the professionals who wrote, the latest last;
    `ended`: the ids of those who ended the exchange and did not write again since."""

    model_config = ConfigDict(frozen=True)

    holder_ins: str
    conversation_id: str
    subject: str
    writers: tuple[Contact, ...] = ()
    ended: tuple[str, ...] = ()
    finalized_by: str | None = None
    last_policy: ReplyPolicy = ReplyPolicy.REPLY_TO_ALL
    last_message_at: datetime
    unread_count: int = 0
    has_attachment: bool = False
    has_draft: bool = False
    trashed: bool = False
    started_by_patient: bool = False  # the patient wrote first (to a contact or a pharmacy): `isNewMessage`
    references: tuple[str, ...] = ()  # the Message-IDs of the thread, oldest first (at most MAX_REFERENCES)
    receipts_due: tuple[str, ...] = ()  # messages whose read receipt goes out when the patient next opens it
    version: int = 0

    @property
    def reachable(self) -> list[Contact]:
        """Who the patient may write to: writers who have not ended the exchange, the latest last."""
        return [w for w in self.writers if w.id not in self.ended]

    def reply_options(self) -> list[ReplyOption]:
        """Worked out from the last message received (A.4): none once finalized or when it blocks replies."""
        reachable = self.reachable
        if self.finalized_by is not None or self.trashed or not reachable or self.last_policy is ReplyPolicy.NONE:
            return []
        if self.last_policy is ReplyPolicy.REPLY_TO_ALL and len(reachable) > 1:
            return [ReplyOption.REPLY, ReplyOption.REPLY_TO_ALL]
        return [ReplyOption.REPLY]

    def recipients(self, option: ReplyOption) -> list[Contact]:
        """REPLY: the latest writer still in the exchange; REPLY_TO_ALL: all of them."""
        reachable = self.reachable
        return reachable if option is ReplyOption.REPLY_TO_ALL else reachable[-1:]

    def received(self, message: Message) -> Conversation:
        """The conversation after a professional's message: the writer moves last; ending removes them from
        the exchange (the conversation is finalized by them when nobody is left), writing again brings them
        back and reopens it."""
        sender = message.sender
        assert sender is not None
        writers = (*(w for w in self.writers if w.id != sender.id), sender)
        ended = tuple(e for e in self.ended if e != sender.id) + ((sender.id,) if message.ends_exchange else ())
        left = [w for w in writers if w.id not in ended]
        return self.model_copy(update={
            "writers": writers, "ended": ended, "finalized_by": None if left else sender.name,
            "last_policy": message.reply_policy, "last_message_at": message.at,
            "unread_count": self.unread_count + 1, "trashed": False,
            "references": self._referenced(message.rfc822_id),
            "receipts_due": self.receipts_due + ((message.message_id,) if message.receipt_requested else ())})

    def sent(self, message: Message) -> Conversation:
        return self.model_copy(update={"last_message_at": message.at, "has_draft": False,
                                       "references": self._referenced(message.rfc822_id)})

    def _referenced(self, rfc822_id: str | None) -> tuple[str, ...]:
        return (*self.references, rfc822_id)[-MAX_REFERENCES:] if rfc822_id else self.references


MAX_RECIPIENTS = 20
MAX_RECIPIENT_DISPLAY = 200


def recipient_display(raw: str) -> str:
    """One recipient as shown to the patient: plain text on one line, no HTML (like a subject)."""
    shown = " ".join(raw.split())
    if not shown or len(shown) > MAX_RECIPIENT_DISPLAY or has_html(shown):
        raise ValueError(f"a recipient's name or address: plain text, 1 to {MAX_RECIPIENT_DISPLAY} characters")
    return shown


RecipientDisplay = Annotated[str, AfterValidator(recipient_display)]


class IncomingMessage(BaseModel):
    """A professional's or organisation's message to a patient (the API's body, the MIME path's parse):
    `conversation_id` continues one of the holder's conversations, else a new one starts."""

    subject: str = Field(min_length=1, max_length=MAX_SUBJECT)
    html: str | None = Field(default=None, max_length=MAX_BODY)
    text: str | None = Field(default=None, max_length=MAX_BODY)
    reply_options: ReplyPolicy = ReplyPolicy.REPLY_TO_ALL
    end_exchange: StrictBool = False  # the API's `X-MSS-MES: FIN`
    conversation_id: str | None = Field(default=None, max_length=64)
    attachments: list[AttachmentDeclaration] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    recipients: list[RecipientDisplay] = Field(default_factory=list, max_length=MAX_RECIPIENTS)  # To and Cc, shown
    sender_address: str | None = Field(default=None, max_length=254)  # the writer's MSSanté address (From)
    reply_to: str | None = Field(default=None, max_length=254)  # where the patient's answers go instead
    receipt_to: str | None = Field(default=None, max_length=254)  # Disposition-Notification-To

    @field_validator("sender_address", "reply_to", "receipt_to")
    @classmethod
    def _secure(cls, value: str | None) -> str | None:
        return None if value is None else secure_address(value)


class Reply(BaseModel):
    """The patient's answer in a conversation. `documents`: ids of documents of their record to attach (A.6,
    "Choisir dans les documents de mon espace santé"; the app's `ensDocuments`); `attachments`: files they
    upload (a photo, a file), declared as a professional declares them, each uploaded then verified."""

    content: str = Field(max_length=MAX_BODY)
    reply_type: ReplyOption = ReplyOption.REPLY
    documents: tuple[DocumentRef, ...] = Field(default=(), max_length=MAX_ATTACHMENTS)
    attachments: list[AttachmentDeclaration] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class DraftChange(BaseModel):
    """A draft saved again whole: `documents`, the record documents chosen for the reply (as in `Reply`)."""

    content: str = Field(max_length=MAX_BODY)
    reply_type: ReplyOption = ReplyOption.REPLY
    documents: tuple[DocumentRef, ...] = Field(default=(), max_length=MAX_ATTACHMENTS)


def _pharmacy_name(value: str) -> str:
    """The app strips any ` (…)` suffix from a pharmacy's name (A.3); no HTML."""
    name = re.sub(r"\s*\(.*\)\s*$", "", value).strip()
    if not name or has_html(name):
        raise ValueError("a pharmacy's name, without HTML")
    return name


SecureAddress = Annotated[str, Field(max_length=254), AfterValidator(secure_address)]
PharmacyName = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_pharmacy_name)]
# 9 characters, ASCII digits (the department 2A/2B for Corsica); the check key is not verified
PharmacyFiness = Annotated[str, Field(pattern=r"^(?:[0-9]{2}|2A|2B)[0-9]{7}$")]


class Pharmacy(BaseModel):
    """A pharmacy the patient added to write to it (A.3 `createContactWithControl`): its MSSanté address, its
    FINESS and its name."""

    model_config = ConfigDict(frozen=True)

    finess: PharmacyFiness
    name: PharmacyName
    address: SecureAddress
    added_at: datetime | None = None

    def as_contact(self) -> Contact:
        return Contact(id=self.finess, name=self.name, type_bal="ORG", address=self.address)


class NewConversation(BaseModel):
    """The patient writes first (A.5): `to` is the id of one contact they may write to, a professional who wrote
    to them and did not end the exchange (RPPS or FINESS), or a pharmacy they added (FINESS)."""

    to: str = Field(min_length=1, max_length=64)
    subject: str = Field(min_length=1, max_length=MAX_SUBJECT)
    content: str = Field(max_length=MAX_BODY)
    documents: tuple[DocumentRef, ...] = Field(default=(), max_length=MAX_ATTACHMENTS)  # as in `Reply`
    attachments: list[AttachmentDeclaration] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)  # idem
