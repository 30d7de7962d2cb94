"""Opening by default, the pure part (issue 12 point 1, mes-rules-next.md B.1-B.3): one line of the insurer's
beneficiaries file, the checks a line passes before a space is informed (INS key, a minor's representative,
duplicates inside one file), the contact channel of the provisional code, the dates (creation six weeks after the
information, the code's expiry per channel) and the French information texts. No I/O."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from functions.identity.ins import parse_ins
from functions.notifications.models import french_day
from functions.shared.errors import InvalidRequest

MAX_LINE_BYTES = 4096  # a beneficiary is a few hundred bytes; a longer line is refused unread
ADULT_AGE = 18
CREATION_SHARDS = 32  # the creation job's partitions a day (fixed: spaces carry theirs from the import)


class Channel(StrEnum):
    """How the provisional code reaches the person (`code_channel` on the space, read by activation)."""

    MAIL = "mail"
    SMS = "sms"
    LETTER = "letter"


class Reason(StrEnum):
    """Why a line was refused, as the report says it (stable codes; never the line's content)."""

    TOO_LONG = "line_too_long"
    NOT_JSON = "not_json"
    INVALID_FIELDS = "invalid_fields"
    INVALID_INS = "invalid_ins"
    INVALID_REPRESENTATIVE_INS = "invalid_representative_ins"
    DUPLICATE_INS = "duplicate_ins"
    MINOR_WITHOUT_REPRESENTATIVE = "minor_without_representative"
    UNKNOWN_REPRESENTATIVE = "unknown_representative"
    NO_CONTACT = "no_contact"  # neither e-mail, mobile nor postal address: the person cannot be informed


class PostalAddress(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    lines: list[str] = Field(min_length=1, max_length=5)
    postal_code: str = Field(pattern=r"^[0-9]{5}$")
    city: str = Field(min_length=1, max_length=64)
    country: str = Field(default="FR", pattern=r"^[A-Z]{2}$")

    def as_text(self) -> str:
        """The address as the space keeps it (one string, a line each), e.g. for a new code asked by letter."""
        return "\n".join([*self.lines, f"{self.postal_code} {self.city}",
                          *([] if self.country == "FR" else [self.country])])


class Beneficiary(BaseModel):
    """One line of `intake/<name>.ndjson`. `legal_representative_ins` names the adult a minor is attached to."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    ins: str
    last_name: str = Field(min_length=1, max_length=100)
    first_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex: Literal[1, 2]
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    mobile: str | None = Field(default=None, pattern=r"^\+?[0-9]{9,15}$")
    postal_address: PostalAddress | None = None
    legal_representative_ins: str | None = None

    @field_validator("birth_date")
    @classmethod
    def _plausible(cls, value: date) -> date:
        if value.year < 1890:
            raise ValueError("birth date before 1890")
        return value

    @property
    def channel(self) -> Channel | None:
        """E-mail if any, else SMS, else a letter; None when there is no way to reach the person."""
        if self.email:
            return Channel.MAIL
        if self.mobile:
            return Channel.SMS
        if self.postal_address:
            return Channel.LETTER
        return None

    def is_minor(self, on: date) -> bool:
        years = on.year - self.birth_date.year - ((on.month, on.day) < (self.birth_date.month, self.birth_date.day))
        return years < ADULT_AGE


class Refusal(BaseModel):
    """A refused line: its number (1-based) and why. Nothing else, so the report holds no personal data."""

    model_config = ConfigDict(frozen=True)

    line: int
    reason: Reason


class IntakePolicy(BaseModel):
    """The configurable delays: creation after the information, and how long a provisional code lives per
    channel (a letter takes days to arrive, so its code lives longer)."""

    model_config = ConfigDict(frozen=True)

    objection_weeks: int = Field(default=6, ge=1, le=52)
    code_days: dict[Channel, int] = Field(default_factory=lambda: {Channel.MAIL: 60, Channel.SMS: 60,
                                                                  Channel.LETTER: 90})

    def creation_due(self, informed: date) -> date:
        return informed + timedelta(weeks=self.objection_weeks)

    def code_expires(self, informed_at: datetime, channel: Channel) -> datetime:
        return informed_at + timedelta(days=self.code_days[channel])


def parse_line(raw: bytes) -> Beneficiary | Reason:
    """One line as a Beneficiary, or the reason it is refused (checks of the line alone)."""
    if len(raw) > MAX_LINE_BYTES:
        return Reason.TOO_LONG
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return Reason.NOT_JSON
    if not isinstance(data, dict):
        return Reason.NOT_JSON
    try:
        person = Beneficiary.model_validate(data)
    except ValidationError:
        return Reason.INVALID_FIELDS
    try:
        checked = parse_ins(person.ins)
    except InvalidRequest:
        return Reason.INVALID_INS
    if checked.sex != person.sex:
        return Reason.INVALID_INS
    if person.legal_representative_ins is not None:
        try:
            rep = parse_ins(person.legal_representative_ins).value
        except InvalidRequest:
            return Reason.INVALID_REPRESENTATIVE_INS
        if rep == checked.value:
            return Reason.INVALID_REPRESENTATIVE_INS
        person = person.model_copy(update={"legal_representative_ins": rep})
    if person.channel is None:
        return Reason.NO_CONTACT
    return person.model_copy(update={"ins": checked.value})


def lines(data: bytes, first_line: int) -> Iterator[tuple[int, bytes]]:
    """The non-empty lines of a byte range that starts at a line start, numbered from `first_line`."""
    for n, raw in enumerate(data.split(b"\n"), start=first_line):
        stripped = raw.strip()
        if stripped:
            yield n, stripped


@dataclass
class Screening:
    """The whole file's checks, kept small (a file may hold 800 000 lines): the INS accepted so far, the minors'
    representatives by line, and the refusals. Fed line by line (`take`), then `settle`d against known spaces."""

    accepted: set[str] = field(default_factory=set)
    minors: dict[int, str] = field(default_factory=dict)  # line -> representative INS
    refused: list[Refusal] = field(default_factory=list)
    lines: int = 0

    def take(self, n: int, raw: bytes, today: date) -> None:
        """Line checks, then duplicates (an INS's second line is refused, its first kept), then a minor's
        representative must be named (whether it exists is for `settle`)."""
        self.lines += 1
        parsed = parse_line(raw)
        if isinstance(parsed, Reason):
            self.refused.append(Refusal(line=n, reason=parsed))
        elif parsed.ins in self.accepted:
            self.refused.append(Refusal(line=n, reason=Reason.DUPLICATE_INS))
        elif parsed.is_minor(today) and parsed.legal_representative_ins is None:
            self.accepted.add(parsed.ins)  # a later line of the same INS is still a duplicate
            self.refused.append(Refusal(line=n, reason=Reason.MINOR_WITHOUT_REPRESENTATIVE))
        else:
            self.accepted.add(parsed.ins)
            if parsed.is_minor(today) and parsed.legal_representative_ins is not None:
                self.minors[n] = parsed.legal_representative_ins

    def representatives_to_look_up(self) -> set[str]:
        """Representatives of minors who are not accepted lines of the file: they must be known already."""
        return {rep for rep in self.minors.values() if rep not in self.accepted}

    def settle(self, known: set[str]) -> list[Refusal]:
        """Every refusal, in line order: the minors whose representative is neither an accepted line of the file
        nor a known space are refused too (a representative whose own line was refused is not in the file)."""
        refused = list(self.refused)
        for n, rep in self.minors.items():
            if rep not in self.accepted and rep not in known:
                refused.append(Refusal(line=n, reason=Reason.UNKNOWN_REPRESENTATIVE))
        return sorted(refused, key=lambda r: r.line)


def screen(numbered: Iterable[tuple[int, bytes]], today: date, known: set[str] | None = None) -> list[Refusal]:
    """Screen a whole file at once (tests, small files): the refusals."""
    screening = Screening()
    for n, raw in numbered:
        screening.take(n, raw, today)
    return screening.settle(known or set())


def shard_of(ins: str) -> int:
    """The creation job's partition of a space (stable, spread evenly by the INS's order number and key)."""
    return int(ins[-5:]) % CREATION_SHARDS


class Information(BaseModel):
    """The information message of one person: what the e-mail template, the SMS or the letter says."""

    model_config = ConfigDict(frozen=True)

    person: Beneficiary
    channel: Channel
    code: str
    creation_due: date
    code_expires: date

    def template_data(self, objection_url: str) -> dict[str, str]:
        """The e-mail template's fields (`mes-<stage>-information`)."""
        return {"first_name": self.person.first_name, "last_name": self.person.last_name,
                "creation_day": french_day(self.creation_due), "code": self.code,
                "code_expires": french_day(self.code_expires), "objection_url": objection_url}

    def text(self, objection_url: str) -> str:
        """The French text of the letter and the SMS (the e-mail template says the same)."""
        return INFORMATION_TEXT.format(**self.template_data(objection_url))


INFORMATION_SUBJECT = "Votre profil Mon espace santé sera créé le {{creation_day}}"
INFORMATION_TEXT = (
    "Bonjour {first_name} {last_name},\n\n"
    "L'Assurance Maladie va créer votre profil Mon espace santé, votre carnet de santé numérique, "
    "le {creation_day}, sauf si vous vous y opposez d'ici là.\n\n"
    "Votre code provisoire : {code} (valable jusqu'au {code_expires}).\n\n"
    "Pour activer votre profil dès maintenant, ou pour vous opposer à sa création, rendez-vous sur "
    "{objection_url} avec ce code et votre carte Vitale. Si vous ne faites rien, votre profil sera créé "
    "automatiquement ; vous pourrez le fermer à tout moment.\n")


def template_text() -> str:
    """The same text in SES template syntax (`{{field}}`)."""
    return INFORMATION_TEXT.replace("{", "{{").replace("}", "}}")
