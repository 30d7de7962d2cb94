"""What a patient decided about access to their record, and what the policy needs to know about a professional."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from functions.identity.principal import RPPS
from functions.journal.models import ChainHead

EmergencyPurpose = Literal["ETREAT", "BTG"]


class EmergencyChoices(BaseModel):
    """None means the patient made no choice: the law then allows SAMU (ETREAT) and break-glass (BTG) access
    and keeps hidden documents hidden in emergencies (MASKED)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    samu_access: StrictBool | None = None  # JSON true/false only: 0 or "no" is not read as false
    break_glass: StrictBool | None = None
    hidden_in_emergency: StrictBool | None = None

    @model_validator(mode="after")
    def _masked_needs_an_emergency_access(self) -> EmergencyChoices:
        if self.hidden_in_emergency and not (self.allows("ETREAT") or self.allows("BTG")):
            raise ValueError("hidden_in_emergency needs samu_access or break_glass")
        return self

    def allows(self, purpose: EmergencyPurpose) -> bool:
        choice = self.samu_access if purpose == "ETREAT" else self.break_glass
        return True if choice is None else choice

    @property
    def shows_hidden(self) -> bool:
        return bool(self.hidden_in_emergency)


class PatientSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hide_new_documents: StrictBool = False
    emergency: EmergencyChoices = Field(default_factory=EmergencyChoices)
    general_practitioner: RPPS | None = None


class CareTeamMember(BaseModel):
    """Only the patient declares their care team: a professional never joins it by their own action (writing a
    document for the patient included)."""

    model_config = ConfigDict(frozen=True)

    rpps: str
    source: Literal["declared"] = "declared"
    since: datetime


class EmergencyGrant(BaseModel):
    model_config = ConfigDict(frozen=True)

    rpps: str
    purpose: EmergencyPurpose
    reason: str
    granted_at: datetime
    expires_at: datetime

    def active(self, now: datetime) -> bool:
        return self.granted_at <= now < self.expires_at


class Acquaintance(BaseModel):
    """A professional who accessed the record: when first and last, and how much on the last day (alerts)."""

    model_config = ConfigDict(frozen=True)

    rpps: str
    profession: str
    finess: str
    first_access_at: datetime
    last_access_at: datetime
    day: date
    reads_that_day: int = 0
    alerted_on: date | None = None
    first_access_notified: bool = False
    name: str | None = None  # from the identity provider's claims, kept from the first access that carried one


class OrganisationSeen(BaseModel):
    """An organisation's system that accessed the record as itself (its own documents only), by FINESS."""

    model_config = ConfigDict(frozen=True)

    finess: str
    first_access_at: datetime
    last_access_at: datetime
    name: str | None = None  # kept from the first access that carried one


class AccessProfile(BaseModel):
    """Everything the policy needs about one patient, read in one Query of their control partition."""

    model_config = ConfigDict(frozen=True)

    patient_ins: str
    settings: PatientSettings = Field(default_factory=PatientSettings)
    care_team: dict[str, CareTeamMember] = Field(default_factory=dict)
    blocked: dict[str, datetime] = Field(default_factory=dict)
    administrator: str | None = None
    grants: dict[str, EmergencyGrant] = Field(default_factory=dict)
    seen: dict[str, Acquaintance] = Field(default_factory=dict)
    organisations_seen: dict[str, OrganisationSeen] = Field(default_factory=dict)
    head: ChainHead = Field(default_factory=ChainHead)
    withheld: dict[str, ChainHead] = Field(default_factory=dict)  # document -> head of its withheld trace chain


class Basis(StrEnum):
    """Why a professional may look at the record at all. An organisation's system calling as itself has one
    basis only, AUTHOR: the documents its FINESS wrote."""

    AUTHOR = "author"
    ADMINISTRATOR = "administrator"
    CARE_TEAM = "care_team"
    EMERGENCY = "emergency"
    CONSENT = "consent"


class Refusal(StrEnum):
    NOT_FOUND = "not_found"  # answered exactly like a missing document
    CONSENT_REQUIRED = "consent_required"  # reveals nothing about documents


class DocumentFacts(Protocol):
    """What the read policy knows of a document: enough to decide (type, availability, MASQUE_PS, authoring
    organisation, withheld from its patient) and to hand out its bytes. Read-only, so a frozen model fits."""

    @property
    def document_id(self) -> str: ...
    @property
    def type_code(self) -> str: ...
    @property
    def available(self) -> bool: ...
    @property
    def hidden_from_professionals(self) -> bool: ...
    @property
    def author_organisation(self) -> str | None:
        """The FINESS of the organisation that wrote it; None for the holder's own uploads."""
        ...
    @property
    def download_name(self) -> str:
        """The file name its download is saved under (no extension)."""
        ...
    @property
    def withheld_from_patient(self) -> bool: ...
    @property
    def record_key(self) -> str: ...
    @property
    def content_type(self) -> str: ...
