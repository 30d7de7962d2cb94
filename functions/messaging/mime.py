"""A raw RFC 5322/MIME mail, as an SES receipt rule or an MSSanté operator relay drops it in the inbound-mail
bucket, read with Python's `email` package (policy.default) into what the receive flow needs, or refused with a
reason code (A.1: "messagerie fermée", patient not found, invalid address, over 25 MB; plus the trust list and the
content rules of A.6/A.9). Pure: no I/O; attachments are checked in memory by the records verifier's inspection,
handed in as a function (`ContentCheck`)."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from enum import StrEnum
from fnmatch import fnmatchcase

from functions.identity.principal import display_name
from functions.messaging.models import (
    MAILBOX_DOMAIN,
    MAX_BODY,
    MAX_RECIPIENT_DISPLAY,
    MAX_RECIPIENTS,
    MAX_SUBJECT,
    has_html,
    sanitised_html,
    secure_address,
    text_as_html,
)

# Whether bytes are of the declared type: functions.records.inspection.content_matches, wired by functions/deps.py.
ContentCheck = Callable[[str, bytes], bool]

NO_SUBJECT = "(sans objet)"
MAX_ATTACHMENTS = 50  # parts beyond it are a MIME bomb (one object each), refused as too_large
DEFAULT_ATTACHMENT_NAME = "piece-jointe"
# Executables, scripts and archives (a zip bomb is refused before anything is unpacked): refused by name whatever
# type they declare; their bytes are refused by the verifier's magic-byte check anyway.
_REFUSED_EXTENSIONS = frozenset({
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "dll", "js", "jse", "vbs", "vbe", "wsf", "ps1", "jar", "sh",
    "app", "apk", "hta", "lnk", "zip", "7z", "rar", "gz", "tgz", "tar", "bz2", "xz", "cab", "iso", "docm", "xlsm"})
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"PK\x03\x04", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"#!")
_CONVERSATION_REF = re.compile(r"(conv_[0-9a-f]{24})\.[^@<>\s]*@" + re.escape(MAILBOX_DOMAIN), re.IGNORECASE)


class Refusal(StrEnum):
    """Why a mail (or one of its recipients) is refused: the bounce's reason and the metric's dimension."""

    MALFORMED = "malformed"
    NO_RECIPIENT = "no_recipient"
    UNKNOWN_MAILBOX = "unknown_mailbox"
    MAILBOX_CLOSED = "mailbox_closed"
    TOO_LARGE = "too_large"
    UNTRUSTED_SENDER = "untrusted_sender"
    HTML_SUBJECT = "html_subject"
    BAD_ATTACHMENT = "bad_attachment"
    EMPTY_MESSAGE = "empty_message"


# What the bounce says (A.1 "Message non distribué"; A.9 for the subject and the sizes).
REFUSAL_TEXT = {
    Refusal.MALFORMED: "message illisible (MIME mal formé)",
    Refusal.NO_RECIPIENT: "aucun destinataire @" + MAILBOX_DOMAIN,
    Refusal.UNKNOWN_MAILBOX: "patient introuvable ou adresse invalide",
    Refusal.MAILBOX_CLOSED: "messagerie fermée",
    Refusal.TOO_LARGE: "La taille du ou des documents dépasse la limite autorisée.",
    Refusal.UNTRUSTED_SENDER: "expéditeur hors de l'espace de confiance",
    Refusal.HTML_SUBJECT: "La saisie de balises HTML n'est pas autorisée.",
    Refusal.BAD_ATTACHMENT: "pièce jointe refusée (type non accepté ou contenu non conforme)",
    Refusal.EMPTY_MESSAGE: "Ajouter du contenu au message pour l'envoyer",
}


class MailRefused(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    """What the relay said in SMTP (MAIL FROM, RCPT TO, its HELO name), when the object carries it; a bare SES
    object has none and the headers are read instead."""

    sender: str | None = None
    recipients: tuple[str, ...] = ()
    relay: str | None = None


@dataclass(frozen=True)
class TrustList:
    """MSSanté's "espace de confiance": sender domains (and relays, when configured) as glob patterns, e.g.
    `*.mssante.fr`. An empty relay list checks no relay; an empty domain list trusts nobody."""

    domains: tuple[str, ...]
    relays: tuple[str, ...] = ()

    @staticmethod
    def _match(value: str, patterns: Iterable[str]) -> bool:
        value = value.strip().lower().rstrip(".")
        return any(fnmatchcase(value, p.strip().lower()) for p in patterns if p.strip())

    def trusts_address(self, address: str) -> bool:
        """A domain of the list, never a patient's mailbox (a citizen never writes to a citizen)."""
        domain = address.rpartition("@")[2].lower()
        return bool(domain) and domain != MAILBOX_DOMAIN and self._match(domain, self.domains)

    def trusts_relay(self, relay: str | None) -> bool:
        return not self.relays or (relay is not None and self._match(relay, self.relays))


@dataclass(frozen=True)
class MailLimits:
    """A.6: the whole MIME message at most 25 MB, its attachments at most 20 MB (both configuration)."""

    max_message_bytes: int = 25 * 1024 * 1024
    max_attachment_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True)
class MailAttachment:
    name: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class ParsedMail:
    """A mail that passed every message-wide check; each recipient's mailbox is checked by the receive flow.
    `once_key`: the mail's own Message-ID (a hash of the raw bytes when it has none), the once-only key."""

    once_key: str
    sender: str
    sender_name: str
    recipients: tuple[str, ...]  # local parts of <INS>@patient.mssante.fr, upper-cased, deduplicated
    subject: str
    content: str  # sanitised HTML
    ends_exchange_header: str | None
    reply_to: str | None  # only an MSSanté professional's address (A.1, CNAM v1.3 §9); anything else is ignored
    receipt_to: str | None  # likewise: a read receipt never leaves the trust space
    recipients_shown: tuple[str, ...]  # To and Cc as the patient sees them (display only)
    xdm_set_aside: int  # IHE_XDM.ZIP archives inspected and set aside (not stored; the mail's PDF is)
    conversation_ref: str | None  # a conversation id our outbound Message-IDs carry, from In-Reply-To/References
    attachments: tuple[MailAttachment, ...]


def bounce_address(raw: bytes, envelope: Envelope) -> str | None:
    """Where a refusal goes: the envelope sender, else Return-Path, else From (None: nowhere to send it)."""
    if envelope.sender:
        return envelope.sender
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw[:64 * 1024], headersonly=True)
        for name in ("Return-Path", "From"):
            addresses = [a for _, a in getaddresses([str(message.get(name, ""))]) if "@" in a]
            if addresses:
                return addresses[0]
    except Exception:  # an unreadable header block: nobody to bounce to
        return None
    return None


def parse_mail(raw: bytes, envelope: Envelope, trust: TrustList, limits: MailLimits,
               content_matches: ContentCheck) -> ParsedMail:
    """The message-wide checks, cheapest first: size, structure, trust, subject, body, attachments."""
    if len(raw) > limits.max_message_bytes:
        raise MailRefused(Refusal.TOO_LARGE)
    if not trust.trusts_relay(envelope.relay):
        raise MailRefused(Refusal.UNTRUSTED_SENDER)
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        sender_name, sender = _sender(message)
    except MailRefused:
        raise
    except Exception as exc:  # any failure to read untrusted bytes is a verdict, never a crash
        raise MailRefused(Refusal.MALFORMED) from exc
    if not trust.trusts_address(sender) or (envelope.sender and not trust.trusts_address(envelope.sender)):
        raise MailRefused(Refusal.UNTRUSTED_SENDER)
    try:
        recipients = _recipients(message, envelope)
        subject = " ".join(str(message.get("Subject", "")).split())
        content = _content(message)
        parts = tuple(_attachments(message))
        archives = tuple(a for a in parts if _is_xdm(a))
        attachments = tuple(a for a in parts if a not in archives)
        headers = {name: str(message.get(name, "")).strip() or None
                   for name in ("Message-ID", "X-MSS-MES", "Reply-To", "Disposition-Notification-To")}
        refs = f"{message.get('In-Reply-To', '')} {message.get('References', '')}"
        shown = _shown(message)
    except MailRefused:
        raise
    except Exception as exc:
        raise MailRefused(Refusal.MALFORMED) from exc
    if not recipients:
        raise MailRefused(Refusal.NO_RECIPIENT)
    if has_html(subject):
        raise MailRefused(Refusal.HTML_SUBJECT)
    if not content.strip() and not attachments:
        raise MailRefused(Refusal.EMPTY_MESSAGE)
    if (len(content) > MAX_BODY or len(attachments) > MAX_ATTACHMENTS
            or sum(a.size for a in attachments) > limits.max_attachment_bytes):
        raise MailRefused(Refusal.TOO_LARGE)
    for attachment in attachments:
        if not _acceptable(attachment, content_matches):
            raise MailRefused(Refusal.BAD_ATTACHMENT)
    for archive in archives:
        if not xdm_inspected(archive.data, limits.max_attachment_bytes):
            raise MailRefused(Refusal.BAD_ATTACHMENT)
    found = _CONVERSATION_REF.search(refs)
    return ParsedMail(
        once_key=headers["Message-ID"] or f"<sha256:{hashlib.sha256(raw).hexdigest()}>",
        sender=sender, sender_name=sender_name, recipients=recipients,
        subject=(subject or NO_SUBJECT)[:MAX_SUBJECT], content=content,
        ends_exchange_header=headers["X-MSS-MES"], reply_to=_secure_first(headers["Reply-To"]),
        receipt_to=_secure_first(headers["Disposition-Notification-To"]), recipients_shown=shown,
        conversation_ref=found.group(1).lower() if found else None, attachments=attachments,
        xdm_set_aside=len(archives))


def _sender(message: EmailMessage) -> tuple[str, str]:
    """Exactly one From address (a mail without one, or with several, is malformed)."""
    header = message.get("From")
    addresses = list(getattr(header, "addresses", ()))
    if len(addresses) != 1 or not addresses[0].domain or not addresses[0].username:
        raise MailRefused(Refusal.MALFORMED)
    address = addresses[0]
    email_address = f"{address.username}@{address.domain}".lower()
    return display_name(address.display_name) or email_address, email_address


def _first_address(value: str | None) -> str | None:
    if not value:
        return None
    found = [a for _, a in getaddresses([value]) if "@" in a]
    return found[0].lower() if found else None


def _secure_first(value: str | None) -> str | None:
    """The header's first address when it is a professional's MSSanté address: a Reply-To or a
    Disposition-Notification-To elsewhere (a personal mailbox, another patient's) would send the patient's
    answers or the fact that they read the mail outside the trust space, so it is ignored (the answers go to
    the sender; no receipt)."""
    first = _first_address(value)
    if first is None:
        return None
    try:
        return secure_address(first)
    except ValueError:
        return None


def _shown(message: EmailMessage) -> tuple[str, ...]:
    """To and Cc for display: each name, else its address; a patient's mailbox only by its name ("Patient"
    without one), so a mail to several patients does not show one the other's INS."""
    shown: list[str] = []
    for name, address in getaddresses([str(v) for header in ("To", "Cc") for v in message.get_all(header, [])]):
        patient = address.strip().lower().endswith("@" + MAILBOX_DOMAIN)
        label = " ".join((display_name(name) or "").split())
        if _names_a_patient(label):  # a client often puts the address itself as the name
            label = "Patient"
        elif not label:
            label = "Patient" if patient else address.strip().lower()
        if label and not has_html(label):
            shown.append(label[:MAX_RECIPIENT_DISPLAY])
    return tuple(dict.fromkeys(shown))[:MAX_RECIPIENTS]


_INS_LIKE = re.compile(r"\d{13,15}")


def _names_a_patient(label: str) -> bool:
    """A display name holding a patient's mailbox address or an INS-like run of digits."""
    return MAILBOX_DOMAIN in label.lower() or _INS_LIKE.search(label) is not None


def _recipients(message: EmailMessage, envelope: Envelope) -> tuple[str, ...]:
    """The envelope's recipients when the relay gave them (a Bcc is only there), else To and Cc; only our
    mailboxes count (a professional copied on the mail is not ours to deliver to)."""
    if envelope.recipients:
        addresses = list(envelope.recipients)
    else:
        addresses = [a for _, a in getaddresses([str(v) for name in ("To", "Cc")
                                                 for v in message.get_all(name, [])])]
    found: dict[str, None] = {}
    for address in addresses:
        local, at, domain = address.strip().rpartition("@")
        if at and domain.lower() == MAILBOX_DOMAIN and local:
            found[local.upper()] = None
    return tuple(found)


def _body_part(message: EmailMessage) -> EmailMessage | None:
    body = message.get_body(preferencelist=("html", "plain"))
    return body if isinstance(body, EmailMessage) else None


def _content(message: EmailMessage) -> str:
    """HTML sanitised as the API does; text escaped with its lines kept."""
    body = _body_part(message)
    if body is None:
        return ""
    text = body.get_content()
    if not isinstance(text, str):
        raise MailRefused(Refusal.MALFORMED)
    return sanitised_html(text) if body.get_content_subtype() == "html" else text_as_html(text)


def _attachments(message: EmailMessage) -> Iterable[MailAttachment]:
    """Every leaf part but the body and its text alternatives."""
    body = _body_part(message)
    for part in message.walk():
        if part.is_multipart() or part is body:
            continue
        disposition = part.get_content_disposition()
        if disposition != "attachment" and part.get_filename() is None and part.get_content_maintype() == "text":
            continue  # the other alternative of the body (text beside HTML)
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            raise MailRefused(Refusal.MALFORMED)
        name = display_name((part.get_filename() or "").replace("/", " ").replace("\\", " "))
        yield MailAttachment(name=name or DEFAULT_ATTACHMENT_NAME, content_type=part.get_content_type(), data=data)


# IHE XDM (mes-rules-next.md A.1): hospitals send a document as `IHE_XDM.ZIP` (the CDA and METADATA.XML) next
# to its PDF/A. The archive is for a record system (the DMP's feed), not for the patient to open: it is inspected
# without unpacking anything and set aside, so the mail and its PDF arrive instead of bouncing.
XDM_NAME = "ihe_xdm.zip"
XDM_MAX_ENTRIES = 200
XDM_MAX_RATIO = 100  # declared uncompressed / compressed, per entry: above it, the shape of a zip bomb


def _is_xdm(attachment: MailAttachment) -> bool:
    return attachment.name.strip().lower() == XDM_NAME


def xdm_inspected(data: bytes, max_bytes: int) -> bool:
    """Whether an `IHE_XDM.ZIP` is an XDM archive and not a bomb, from its central directory alone (nothing is
    decompressed): a METADATA.XML, at most XDM_MAX_ENTRIES entries, no nested archive or executable, no path
    out of the archive, a declared size within the attachment budget and no entry above XDM_MAX_RATIO."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError):  # unreadable: not an XDM archive
        return False
    if not entries or len(entries) > XDM_MAX_ENTRIES:
        return False
    if sum(e.file_size for e in entries) > max_bytes:
        return False
    for entry in entries:
        name = entry.filename.replace("\\", "/")
        extension = name.rpartition(".")[2].lower() if "." in name.rpartition("/")[2] else ""
        if name.startswith("/") or ".." in name.split("/") or extension in _REFUSED_EXTENSIONS:
            return False
        if entry.file_size > XDM_MAX_RATIO * max(entry.compress_size, 1):
            return False
    return any(e.filename.replace("\\", "/").upper().endswith("METADATA.XML") for e in entries)


def _acceptable(attachment: MailAttachment, content_matches: ContentCheck) -> bool:
    extension = attachment.name.rpartition(".")[2].lower() if "." in attachment.name else ""
    if extension in _REFUSED_EXTENSIONS or attachment.data.startswith(_EXECUTABLE_MAGIC):
        return False
    return content_matches(attachment.content_type, attachment.data)
