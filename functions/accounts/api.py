"""Request and response shapes of the enrolment routes and of the holder's profile (unknown fields refused). A
code is never in a response: it goes to the person's contact only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.accounts.models import CodeChannel, Identity, Space
from functions.accounts.service import CodeSent, Opposition, should_accept_terms
from functions.shared.temporal import IsoDay

STRICT = ConfigDict(extra="forbid")
INS = Field(min_length=15, max_length=15, description="INS/NIR with its 2-digit key")
VITALE = Field(pattern=r"^[0-9]{11}$", description="the last 11 digits of the Vitale card's serial number")
CODE = Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9 -]+$", description="the provisional code")
DAY = Field(ge=date(1900, 1, 1), le=date(2100, 12, 31))


class IdentityIn(BaseModel):
    """Who is acting: the INS, birth date and Vitale serial of the card holder; `child_ins` (`nirFutureUser`) when
    a legal representative acts for a child attached to them."""

    model_config = STRICT

    ins: str = INS
    birth_date: IsoDay = DAY
    vitale_serial: str = VITALE
    child_ins: str | None = Field(default=None, min_length=15, max_length=15)

    def to_domain(self) -> Identity:
        return Identity(ins=self.ins, birth_date=self.birth_date, vitale_serial=self.vitale_serial,
                        child_ins=self.child_ins)


class CodeRequestIn(IdentityIn):
    """POST /v1/enrolment/code. `channel`: where the code goes (default: e-mail if the insurer has one, else a
    letter); SMS is not sent by this backend yet (CONTACTS_NOT_FOUND)."""

    channel: Literal["mail", "sms", "letter"] | None = None

    def to_channel(self) -> CodeChannel | None:
        return CodeChannel(self.channel) if self.channel else None


class ActivationIn(IdentityIn):
    """POST /v1/enrolment/activation: the code, and the version of the terms the person accepts. Send the citizen's
    bearer token (FranceConnect) in `Authorization` as well: its login is linked to the INS (401 without one)."""

    code: str = CODE
    terms_version: str = Field(min_length=1, max_length=40)


class OppositionIn(IdentityIn):
    code: str = CODE


class ProofQuery(BaseModel):
    """GET /v1/enrolment/opposition/{reference}: the same proof of identity and code, as query parameters."""

    model_config = STRICT

    ins: str = INS
    birth_date: IsoDay = DAY
    vitale_serial: str = VITALE
    code: str = CODE
    child_ins: str | None = Field(default=None, min_length=15, max_length=15)

    def to_domain(self) -> Identity:
        return Identity(ins=self.ins, birth_date=self.birth_date, vitale_serial=self.vitale_serial,
                        child_ins=self.child_ins)


class TermsIn(BaseModel):
    model_config = STRICT

    terms_version: str = Field(min_length=1, max_length=40)


class CodeSentOut(BaseModel):
    channel: str
    expires_at: datetime

    @classmethod
    def from_domain(cls, sent: CodeSent) -> CodeSentOut:
        return cls(channel=sent.channel.value, expires_at=sent.expires_at)


class OppositionOut(BaseModel):
    """The proof's reference and a short-lived link to its PDF (also e-mailed as a notice with the reference)."""

    reference: str
    status: str = "opposed"
    opposed_at: datetime
    proof_url: str

    @classmethod
    def from_domain(cls, o: Opposition) -> OppositionOut:
        return cls(reference=o.proof.reference, opposed_at=o.proof.opposed_at, proof_url=o.proof_url)


class MeOut(BaseModel):
    """GET /v1/me: the holder's space and whether the terms in force wait for their acceptance (advisory)."""

    ins: str
    status: str
    activated_at: datetime | None
    terms_version: str | None
    current_terms_version: str
    should_accept_terms: bool

    @classmethod
    def from_domain(cls, space: Space, current: str) -> MeOut:
        return cls(ins=space.ins, status=space.status.value, activated_at=space.activated_at,
                   terms_version=space.terms_version, current_terms_version=current,
                   should_accept_terms=should_accept_terms(space, current))
