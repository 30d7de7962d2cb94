"""A person's space. It exists, unactivated, as soon as it is opened by default: documents flow into it anyway."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from functions.notifications.models import NotificationPreferences


class SpaceStatus(StrEnum):
    """The life of a space (mes-rules-next.md B.1). `informed`: the insurer told the person, who may object
    until `creation_due`; `opposed`: they did (no space, a later activation is still possible); `open`: created
    (documents and mail flow in), activated once `activated_at` is set; `closed`: archived (10 years) or, with
    `deletion`, being erased."""

    INFORMED = "informed"
    OPPOSED = "opposed"
    OPEN = "open"
    CLOSED = "closed"
    # the tombstone left by an erasure (functions/accounts/erasure.py): no data, no reopening; once the insurer's
    # next file gives its identity again, its holder may activate it anew (an empty space; B.1)
    ERASED = "erased"


class DeletionState(StrEnum):
    """A closed space's erasure: `requested` (reopening cancels it), `running` (not reopenable until done)."""

    REQUESTED = "requested"
    RUNNING = "running"


class Space(BaseModel):
    model_config = ConfigDict(frozen=True)

    ins: str
    status: SpaceStatus
    created_at: datetime
    activated_at: datetime | None = None
    birth_date: date | None = None
    email: str | None = None  # contact address for e-mail notifications
    informed_at: datetime | None = None
    creation_due: date | None = None  # informed + 6 weeks: created then unless the person objected
    opposed_at: datetime | None = None
    closed_at: datetime | None = None
    archive_until: date | None = None  # closed + 10 years: purged then
    deletion: DeletionState | None = None
    deletion_due: date | None = None  # at most closed + 3 months
    terms_version: str | None = None  # the version of the terms (CGU) the holder accepted, at activation or later
    terms_accepted_at: datetime | None = None
    erased_at: datetime | None = None  # the tombstone's date: "space erased on <date>, reference"
    erasure_reference: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status is SpaceStatus.OPEN

    @property
    def sex(self) -> int:
        """First digit of the INS: 1 male, 2 female."""
        return int(self.ins[0])


class Contact(BaseModel):
    """What delivering a notification needs of a space: is it open, where to e-mail (if anywhere), and the
    holder's in-app/e-mail switches. The switches are a copy the preferences route keeps on the space item, in the
    transaction that writes the preferences themselves (notifications' `PREFS` item), so that delivery reads one
    item per person; a space whose item has none has the defaults (every channel on)."""

    model_config = ConfigDict(frozen=True)

    ins: str
    status: SpaceStatus
    email: str | None = None
    preferences: NotificationPreferences = NotificationPreferences()

    @property
    def is_open(self) -> bool:
        return self.status is SpaceStatus.OPEN


class CodeChannel(StrEnum):
    """Where a provisional code went: the insurer's e-mail, SMS (not sent by this backend yet) or a postal letter."""

    MAIL = "mail"
    SMS = "sms"
    LETTER = "letter"


class Enrolment(BaseModel):
    """What activation and opposition check of a space (mes-rules-next.md B.2, B.3): the insurer's identity and
    contact data and the provisional code's state (its keyed hash only, never the code)."""

    model_config = ConfigDict(frozen=True)

    space: Space
    first_name: str | None = None
    last_name: str | None = None
    postal_address: str | None = None
    representative_ins: str | None = None  # a minor's legal representative (B.6), the child's attachment
    deceased_on: date | None = None
    vitale_serial: str | None = None  # last 11 digits of the Vitale card's serial, when the insurer gave it
    code_digest: str | None = None
    code_expires_at: datetime | None = None
    code_channel: CodeChannel | None = None
    code_used_at: datetime | None = None
    code_sent_at: datetime | None = None
    opposition_reference: str | None = None

    @property
    def ins(self) -> str:
        return self.space.ins

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or "—"


class Identity(BaseModel):
    """What the person types to prove who they are (B.2): INS/NIR, birth date, the Vitale serial. `None` fields
    come only from the local development shortcut (the API's models require them)."""

    model_config = ConfigDict(frozen=True)

    ins: str
    birth_date: date | None
    vitale_serial: str | None = None
    child_ins: str | None = None  # `nirFutureUser`: a representative acting for the child attached to them

    @property
    def target(self) -> str:
        """The INS of the space acted on."""
        return self.child_ins or self.ins


class OppositionProof(BaseModel):
    """What the proof of opposition states (B.3): who, which INS, when, and the stable reference."""

    model_config = ConfigDict(frozen=True)

    reference: str
    ins: str
    name: str
    opposed_at: datetime


class Standing(BaseModel):
    """What an intake chunk must know of the people it found known already (`IntakeStore.standing`)."""

    unsent: set[str] = set()  # informed, the information never left: a new code is sent
    erased: set[str] = set()  # an erased space's tombstone without identity: the insurer's data go onto it
