"""A notification names what happened and which object it is about, never the health content itself.
Recipients are patients (their INS) or professionals (`rpps:<RPPS>`, e.g. the GP told of an emergency access).
Reminders also say what, when (Europe/Paris time) and where, as the person entered them; a new document says its
type (`what`) and author (`professional`) when the caller knew them. Its French title, text and deep link are
written in one place, `wording`."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, assert_never

from pydantic import BaseModel, ConfigDict, StrictBool

from functions.shared.clock import PARIS


class NotificationKind(StrEnum):
    NEW_DOCUMENT = "document.new"
    SEE_YOUR_DOCTOR = "document.see_your_doctor"  # an INVISIBLE_PATIENT document awaits its announcement
    FIRST_ACCESS = "access.first"
    UNUSUAL_ACCESS = "access.unusual"
    EMERGENCY_ACCESS = "access.emergency"
    ACCESS_RULES_CHANGED = "access.rules_changed"  # the holder's consent controls changed (a security alert)
    APPOINTMENT_REMINDER = "agenda.appointment"
    PERSONAL_REMINDER = "agenda.reminder"
    PREVENTION_DUE = "prevention.due"
    NEW_MESSAGE = "message.new"
    EXPORT_READY = "export.ready"
    SYNCHRONIZED_SERVICES = "catalogue.synchronized_services"  # the every-90-days summary of paired services


class Labelled(Protocol):
    """A catalogue entry as notifications reads it (records' document type): its French label."""

    @property
    def label(self) -> str: ...


def professional_recipient(rpps: str) -> str:
    return f"rpps:{rpps}"


class PreferenceCode(StrEnum):
    NOTIF_MESSAGE = "NOTIF_MESSAGE"
    NOTIF_DOCUMENT = "NOTIF_DOCUMENT"
    NOTIF_APPOINTMENT = "NOTIF_APPOINTMENT"
    NOTIF_SYNCHRONIZED_SERVICE = "NOTIF_SYNCHRONIZED_SERVICE"
    NOTIF_DEPISTAGE = "NOTIF_DEPISTAGE"


# Which preference governs each kind. Security alerts (emergency and unusual access) are not listed: the holder
# cannot switch them off, as they are how a misuse of their record comes to light.
PREFERENCE_OF_KIND = {
    NotificationKind.NEW_DOCUMENT: PreferenceCode.NOTIF_DOCUMENT,
    NotificationKind.SEE_YOUR_DOCTOR: PreferenceCode.NOTIF_DOCUMENT,
    NotificationKind.FIRST_ACCESS: PreferenceCode.NOTIF_DOCUMENT,
    NotificationKind.APPOINTMENT_REMINDER: PreferenceCode.NOTIF_APPOINTMENT,
    NotificationKind.PERSONAL_REMINDER: PreferenceCode.NOTIF_APPOINTMENT,
    NotificationKind.PREVENTION_DUE: PreferenceCode.NOTIF_DEPISTAGE,
    NotificationKind.NEW_MESSAGE: PreferenceCode.NOTIF_MESSAGE,
    NotificationKind.SYNCHRONIZED_SERVICES: PreferenceCode.NOTIF_SYNCHRONIZED_SERVICE,
}


class Channels(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    in_app: StrictBool = True  # JSON true/false only: 0 or "no" is not read as false
    email: StrictBool = True


class NotificationPreferences(BaseModel):
    """Every code has both channels on unless the holder turned them off."""

    model_config = ConfigDict(frozen=True)

    channels: dict[PreferenceCode, Channels] = {}

    def for_code(self, code: PreferenceCode) -> Channels:
        return self.channels.get(code, Channels())

    def complete(self) -> dict[PreferenceCode, Channels]:
        return {code: self.for_code(code) for code in PreferenceCode}

    def shows_in_app(self, kind: NotificationKind) -> bool:
        code = PREFERENCE_OF_KIND.get(kind)
        return True if code is None else self.for_code(code).in_app


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True)

    recipient_ins: str
    notification_id: str
    kind: NotificationKind
    created_at: datetime
    document_id: str | None = None
    professional_rpps: str | None = None
    reason: str | None = None
    what: str | None = None
    when: str | None = None
    professional: str | None = None
    place: str | None = None
    in_app: bool = True

    def wording(self) -> Wording:
        """What the holder reads: French title, text and deep link (see `wording` below, the one place)."""
        return wording(self)

    def honouring(self, prefs: NotificationPreferences) -> Notification:
        """The same notification, hidden from the list when the holder turned this kind off in-app."""
        return self if prefs.shows_in_app(self.kind) else self.model_copy(update={"in_app": False})

    # ---- the one place notification ids are built ------------------------------------------------------------
    # An id is deterministic per effect (the document it announces, a reminder and its day...): with the recipient
    # and creation time it is the notification's key, so a redelivered event or a re-run day cannot notify twice.

    @classmethod
    def for_document(cls, patient_ins: str, document_id: str, at: datetime, document_type: Labelled | None = None,
                     author: str | None = None) -> Notification:
        """A new document in the record; the caller passes its type (records' catalogue entry: its label) and the
        author's display name when it knows them: the holder reads them in the title."""
        return cls(recipient_ins=patient_ins, notification_id=f"new-{document_id}",
                   kind=NotificationKind.NEW_DOCUMENT, created_at=at, document_id=document_id,
                   what=document_type.label if document_type is not None else None, professional=author)

    @classmethod
    def for_announcement(cls, patient_ins: str, document_id: str, at: datetime) -> Notification:
        """An INVISIBLE_PATIENT document awaits its announcement consultation. The notice is a legal duty but names
        no document: its id (shown to the patient) is a one-way function of the document, still one per document so
        a repeated run cannot notify twice."""
        digest = hashlib.sha256(f"see-doctor:{document_id}".encode()).hexdigest()[:26]
        return cls(recipient_ins=patient_ins, notification_id=f"see-doctor-{digest}",
                   kind=NotificationKind.SEE_YOUR_DOCTOR, created_at=at)

    @classmethod
    def for_first_access(cls, patient_ins: str, rpps: str, at: datetime) -> Notification:
        return cls(recipient_ins=patient_ins, notification_id=f"first-{rpps}", kind=NotificationKind.FIRST_ACCESS,
                   created_at=at, professional_rpps=rpps)

    @classmethod
    def for_unusual_reads(cls, patient_ins: str, rpps: str, day: date, at: datetime) -> Notification:
        """Many documents read outside the care team on one (Paris) day: once per professional and day."""
        return cls(recipient_ins=patient_ins, notification_id=f"unusual-{rpps}-{day}",
                   kind=NotificationKind.UNUSUAL_ACCESS, created_at=at, professional_rpps=rpps,
                   reason="many_documents_outside_care_team")

    @classmethod
    def for_emergency_access(cls, patient_ins: str, rpps: str, purpose: str, at: datetime) -> Notification:
        """Told to the patient (and, as a copy with `to`, to their GP)."""
        return cls(recipient_ins=patient_ins, notification_id=f"emergency-{rpps}-{at.timestamp():.0f}",
                   kind=NotificationKind.EMERGENCY_ACCESS, created_at=at, professional_rpps=rpps, reason=purpose)

    @classmethod
    def for_night_emergency(cls, patient_ins: str, rpps: str, at: datetime) -> Notification:
        return cls(recipient_ins=patient_ins, notification_id=f"unusual-night-{rpps}",
                   kind=NotificationKind.UNUSUAL_ACCESS, created_at=at, professional_rpps=rpps,
                   reason="emergency_access_at_night")

    @classmethod
    def for_reminder(cls, recipient_ins: str, item_id: str, day: date, kind: NotificationKind, at: datetime,
                     **details: str | bool | None) -> Notification:
        """One reminder of one day (`what`, `when`, `professional`, `place`, `in_app` in `details`)."""
        return cls.model_validate({"recipient_ins": recipient_ins, "notification_id": reminder_id(item_id, day),
                                   "kind": kind, "created_at": at, **details})

    @classmethod
    def for_message(cls, patient_ins: str, message_id: str, at: datetime, sender: str | None = None) -> Notification:
        """A new message in the holder's mailbox: once per message (its id), naming the sender, never the subject
        or the body."""
        return cls(recipient_ins=patient_ins, notification_id=f"msg-{message_id}", kind=NotificationKind.NEW_MESSAGE,
                   created_at=at, document_id=message_id, professional=sender)

    @classmethod
    def for_access_rules_change(cls, patient_ins: str, trace_id: str, change: str, at: datetime) -> Notification:
        """One of the holder's access controls changed (care team, block, administrator, settings): once per
        change (its trace's id), as a security alert the holder cannot switch off. `change` is the trace action."""
        return cls(recipient_ins=patient_ins, notification_id=f"rules-{trace_id}",
                   kind=NotificationKind.ACCESS_RULES_CHANGED, created_at=at, reason=change)

    @classmethod
    def for_export(cls, patient_ins: str, export_id: str, at: datetime) -> Notification:
        """The holder's export is ready: once per export."""
        return cls(recipient_ins=patient_ins, notification_id=f"export-{export_id}", kind=NotificationKind.EXPORT_READY,
                   created_at=at)

    @classmethod
    def for_synchronized_services(cls, holder_ins: str, day: date, at: datetime, names: list[str]) -> Notification:
        """The every-90-days list of the services paired with the space: once per holder and day."""
        return cls(recipient_ins=holder_ins, notification_id=f"sync-summary-{day.isoformat()}",
                   kind=NotificationKind.SYNCHRONIZED_SERVICES, created_at=at, what=", ".join(names))

    def to(self, recipient: str) -> Notification:
        """The same notification for another recipient (e.g. `professional_recipient(gp)`)."""
        return self.model_copy(update={"recipient_ins": recipient})


def reminder_id(item_id: str, day: date) -> str:
    """Deterministic per (reminder, day): the once-only marker of a reminder's delivery."""
    return f"rem-{item_id}-{day.isoformat()}"


# ---- what the holder reads: the one place notification texts are written ---------------------------------------
# French, as the citizen reads them in the app; built from what the notification keeps (kind, the object's id, the
# reminder's details, the document type label and author the caller passed), so old notifications read the same.

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
PURPOSES = {"ETREAT": "régulation médicale (SAMU)", "BTG": "accès d'urgence (bris de glace)"}


class Wording(BaseModel):
    """A notification as the holder reads it: a title, a sentence, and a deep link to what it is about."""

    model_config = ConfigDict(frozen=True)

    title: str
    text: str
    link: str


def french_day(day: date) -> str:
    return f"{day.day if day.day > 1 else '1er'} {MONTHS[day.month - 1]} {day.year}"


def french_when(raw: str | None) -> str:
    """`2031-06-10T09:30:00+02:00` -> `le 10 juin 2031 à 9 h 30`; a date alone -> `le 10 juin 2031`."""
    if not raw:
        return ""
    try:
        if "T" not in raw:
            return f"le {french_day(date.fromisoformat(raw))}"
        at = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    local = at.astimezone(PARIS) if at.tzinfo else at
    return f"le {french_day(local.date())} à {local.hour} h {local.minute:02d}"


def _who(n: Notification) -> str:
    """Professionals by name when the caller knew it (identity claims come later), else by RPPS."""
    if n.professional:
        return n.professional
    return f"Un professionnel de santé (RPPS {n.professional_rpps})" if n.professional_rpps else \
        "Un professionnel de santé"


def _item_of(n: Notification) -> str:
    """The agenda item a reminder is about, from its id (`rem-<item>-<YYYY-MM-DD>`, format pinned by a test)."""
    return n.notification_id[len("rem-"):-len("-YYYY-MM-DD")]


def spelled_out(label: str) -> str:
    """The DMP's official labels abbreviate "compte rendu" (CR); a citizen reads it in full."""
    return "Compte rendu " + label[3:] if label.startswith("CR ") else label


# What each consent change tells the holder (by its trace action; the professional is not named: the holder reads
# who in their access controls, and a notification carries no identifier).
RULES_CHANGED = {
    "care_team.added": "Un professionnel de santé a été ajouté à votre équipe de soins.",
    "care_team.removed": "Un professionnel de santé a été retiré de votre équipe de soins.",
    "professional.blocked": "Un professionnel de santé a été bloqué : il ne peut plus consulter votre dossier.",
    "professional.unblocked": "Un professionnel de santé a été débloqué.",
    "administrator.named": "Un administrateur de votre dossier a été désigné.",
    "administrator.removed": "L'administrateur de votre dossier a été retiré.",
    "settings.changed": "Vos paramètres de confidentialité ont été modifiés.",
}


def wording(n: Notification) -> Wording:
    """Every kind's title, text and link. No health content beyond what the holder wrote or the document type."""
    k = NotificationKind
    who = _who(n)
    to_professional = n.recipient_ins.startswith("rpps:")
    profile = f"urn:professional:{n.professional_rpps}"
    if n.kind is k.NEW_DOCUMENT:
        label = spelled_out(n.what) if n.what else "un document"
        title = f"Nouveau document : {label}" + (f" — {n.professional}" if n.professional else "")
        return Wording(title=title, text=f"{label[:1].upper()}{label[1:]} a été ajouté à votre dossier médical."
                       + (f" Auteur : {n.professional}." if n.professional else ""),
                       link=f"urn:document:{n.document_id}")
    if n.kind is k.SEE_YOUR_DOCTOR:
        return Wording(title="Un professionnel de santé souhaite vous voir",
                       text="Un document de votre dossier doit vous être présenté lors d'une consultation : "
                            "prenez rendez-vous avec le professionnel de santé qui vous suit.",
                       link=f"urn:notification:{n.notification_id}")
    if n.kind is k.FIRST_ACCESS:
        return Wording(title="Premier accès à votre dossier médical",
                       text=f"{who} a consulté votre dossier médical pour la première fois.", link=profile)
    if n.kind is k.UNUSUAL_ACCESS and n.reason == "emergency_access_at_night":
        return Wording(title="Accès inhabituel à votre dossier médical",
                       text=f"{who} a ouvert un accès d'urgence à votre dossier médical pendant la nuit.",
                       link=profile)
    if n.kind is k.UNUSUAL_ACCESS:
        return Wording(title="Accès inhabituel à votre dossier médical",
                       text=f"{who} a consulté de nombreux documents de votre dossier médical sans faire partie "
                            "de votre équipe de soins.", link=profile)
    if n.kind is k.EMERGENCY_ACCESS:
        purpose = PURPOSES.get(n.reason or "", "accès d'urgence")
        whose = "au dossier médical de votre patient" if to_professional else "à votre dossier médical"
        return Wording(title="Accès d'urgence " + whose,
                       text=f"{who} a accédé {whose} en urgence ({purpose}).", link=profile)
    if n.kind is k.ACCESS_RULES_CHANGED:
        return Wording(title="Les règles d'accès à votre dossier ont changé",
                       text=RULES_CHANGED.get(n.reason or "", "Vos paramètres de confidentialité ont été modifiés.")
                       + " Si vous n'êtes pas à l'origine de ce changement, modifiez-le dans vos paramètres de "
                         "confidentialité et contactez votre caisse d'assurance maladie.",
                       link="urn:me:access")
    if n.kind is k.NEW_MESSAGE:
        return Wording(title="Nouveau message" + (f" de {n.professional}" if n.professional else ""),
                       text=f"{who} vous a écrit dans votre messagerie de santé. Connectez-vous pour lire le message.",
                       link=f"urn:message:{n.document_id}")
    if n.kind is k.EXPORT_READY:
        return Wording(title="Vos données sont prêtes à être téléchargées",
                       text="Le téléchargement de vos données est disponible pendant 7 jours dans les paramètres de "
                            "votre profil.", link="urn:export")
    when = french_when(n.when)
    if n.kind is k.APPOINTMENT_REMINDER:
        with_whom = f" avec {n.professional}" if n.professional else ""
        return Wording(title=f"Rappel : rendez-vous{with_whom}",
                       text=" ".join(filter(None, [f"Rendez-vous{with_whom}", when,
                                                   f"({n.place})" if n.place else None])) + ".",
                       link=f"urn:appointment:{_item_of(n)}")
    if n.kind is k.PERSONAL_REMINDER:
        what = n.what or "Rappel"
        return Wording(title=f"Rappel : {what}", text=" ".join(filter(None, [what, when])) + ".",
                       link=f"urn:reminder:{_item_of(n)}")
    if n.kind is k.SYNCHRONIZED_SERVICES:
        return Wording(title="Vos services synchronisés",
                       text=f"Ces services échangent des données avec votre profil Mon espace santé : "
                            f"{n.what or 'aucun'}. Vous pouvez retirer une autorisation ou désynchroniser un service "
                            "à tout moment.", link="urn:me:services")
    if n.kind is not k.PREVENTION_DUE:
        assert_never(n.kind)
    items = n.what or "un examen de prévention"
    return Wording(title="Prévention : c'est le moment", text=f"C'est le moment de penser à : {items}. "
                   "Parlez-en à votre médecin ou à votre pharmacien.", link="urn:prevention")


class Email(BaseModel):
    """One e-mail of a bulk templated send: the address and the template's data (never health content)."""

    model_config = ConfigDict(frozen=True)

    address: str
    data: dict[str, str]

    @classmethod
    def digest(cls, address: str, reminders: list[Notification]) -> Email:
        """The day's reminders of one person as ONE e-mail (a person got three the same morning): the template's
        `kind` says what waits in the app (`Un {{kind}} vous attend ... pour le {{day}}`), never what, where or
        with whom."""
        kinds = {n.kind for n in reminders}
        if len(reminders) == 1:
            kind = EMAIL_KIND.get(reminders[0].kind, "rappel")
        elif len(kinds) == 1:
            kind = f"récapitulatif de {len(reminders)} {EMAIL_KINDS.get(next(iter(kinds)), 'rappels')}"
        else:
            kind = f"récapitulatif de {len(reminders)} rappels"
        day = min(n.created_at for n in reminders).astimezone(PARIS).strftime("%d/%m/%Y")
        if len(reminders) == 1 and reminders[0].kind is NotificationKind.NEW_MESSAGE:
            # a message: that one arrived and where it waits (its deep link), never who wrote it nor what
            return cls(address=address, data={"kind": kind, "day": day, "link": reminders[0].wording().link})
        return cls(address=address, data={"kind": kind, "day": day})


# What the reminder e-mail calls each kind (`Un {{kind}} vous attend`), alone and as several of one kind.
EMAIL_KIND = {NotificationKind.APPOINTMENT_REMINDER: "rappel de rendez-vous",
              NotificationKind.PERSONAL_REMINDER: "rappel",
              NotificationKind.PREVENTION_DUE: "rappel de prévention",
              NotificationKind.NEW_MESSAGE: "nouveau message",
              NotificationKind.SYNCHRONIZED_SERVICES: "récapitulatif de vos services synchronisés"}
EMAIL_KINDS = {NotificationKind.APPOINTMENT_REMINDER: "rappels de rendez-vous",
               NotificationKind.PERSONAL_REMINDER: "rappels",
               NotificationKind.PREVENTION_DUE: "rappels de prévention"}
