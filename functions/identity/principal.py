"""The authenticated caller, as the custom authorizer hands it to routes (a flat string context in API Gateway)."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from functions.shared.errors import Unauthenticated
from functions.shared.privacy import digest

# ASCII [0-9] only: `\d` matches every Unicode digit (fullwidth, Arabic-Indic...), so an RPPS in fullwidth digits would
# pass as an RPPS that no professional ever presents (a block the patient believes in, that holds nobody).
RPPS = Annotated[str, Field(pattern=r"^[0-9]{11}$")]
FINESS = Annotated[str, Field(pattern=r"^[0-9AB]{9}$")]
PROFESSION = Annotated[str, Field(pattern=r"^[0-9]{2}$")]

NAME_MAX_CHARS = 120


def display_name(*parts: object) -> str | None:
    """A name as a person reads it, from free-text claims: control and format characters dropped (no line breaks
    or bidi overrides in a trace or a notification title), spaces collapsed, cut at NAME_MAX_CHARS. A claim that is
    not a string, or nothing left, is no name: a token is never refused for its display name."""
    words = []
    for part in parts:
        if not isinstance(part, str):
            continue
        cleaned = "".join(" " if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} else c for c in part)
        words.extend(cleaned.split())
    text = " ".join(words)[:NAME_MAX_CHARS].strip()
    return text or None


class Citizen(BaseModel):
    """The holder of a space (linked to exactly one INS at activation)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["citizen"] = "citizen"
    ins: str
    # When the holder signed in (the token's OIDC `auth_time`, epoch seconds): closing or deleting the space asks
    # for a recent one (functions/accounts/closure.py). None: the token did not say.
    auth_time: int | None = None
    # The status of the holder's own space when the authorizer resolved the login (functions/accounts/models.py
    # SpaceStatus): a `closed` one answers only the closure, deletion and reopening routes (chalicelib/edge.py).
    space_status: str | None = None

    @property
    def actor_id(self) -> str:
        return "patient"

    @property
    def pseudonym(self) -> str:
        return digest("ins", self.ins)


def professional_display(rpps: str, name: str | None) -> str:
    """How the patient reads a professional: the identity provider's name, else the RPPS."""
    return name or f"Professionnel de santé (RPPS {rpps})"


def organisation_display(finess: str, name: str | None) -> str:
    """How the patient reads an organisation: its name from the token's claims, else the FINESS."""
    return name or f"Établissement (FINESS {finess})"


class Professional(BaseModel):
    """A health professional authenticated by Pro Santé Connect, acting for one organisation (FINESS)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["professional"] = "professional"
    rpps: RPPS
    profession: PROFESSION
    finess: FINESS
    specialty: str | None = None
    name: str | None = None  # display name from the identity provider's claims (what the patient reads)

    @property
    def actor_id(self) -> str:
        return self.rpps

    @property
    def pseudonym(self) -> str:
        return digest("rpps", self.rpps)


class Organisation(BaseModel):
    """A health organisation's information system calling as itself (a client-credentials token: FINESS, no
    RPPS). Like the DMP's indirect authentication mode, it names the professional author of what it declares."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["organisation"] = "organisation"
    finess: FINESS
    name: str | None = None  # the organisation's display name from the token's claims

    @property
    def actor_id(self) -> str:
        return self.finess

    @property
    def pseudonym(self) -> str:
        return digest("finess", self.finess)


# A referenced app's service OID (ISO OID: digits and dots).
OID = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)+$", max_length=128)]


class Service(BaseModel):
    """A referenced app (catalogue service) acting for one person through one pairing, with a service access token:
    `id_pe` is the pairwise patient id (it means nothing outside this pairing; the INS is never in the token),
    `scope` the purpose codes the person consented to, space-separated (authorizer contexts are flat strings)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["service"] = "service"
    oid: OID
    id_pe: str = Field(min_length=1, max_length=128)
    pairing: str = Field(min_length=1, max_length=128)
    pv: int = Field(ge=0)
    scope: str = ""
    name: str | None = None

    @property
    def purposes(self) -> frozenset[str]:
        return frozenset(self.scope.split())

    @property
    def actor_id(self) -> str:
        return self.oid

    @property
    def pseudonym(self) -> str:
        return digest("service", f"{self.oid}|{self.pairing}")


Principal = Annotated[Citizen | Professional | Organisation | Service, Field(discriminator="kind")]
_PRINCIPAL: TypeAdapter[Citizen | Professional | Organisation | Service] = TypeAdapter(Principal)


def to_context(principal: Citizen | Professional | Organisation | Service) -> dict[str, str]:
    """API Gateway authorizer contexts only carry flat strings."""
    return {k: str(v) for k, v in principal.model_dump(exclude_none=True).items()}


def from_context(context: dict[str, object] | None) -> Citizen | Professional | Organisation | Service:
    fields = {"kind", "ins", "rpps", "profession", "finess", "specialty", "name", "auth_time", "space_status", "oid",
              "id_pe", "pairing", "pv", "scope"}
    data = {k: v for k, v in (context or {}).items() if k in fields}
    try:
        return _PRINCIPAL.validate_python(data)
    except ValidationError as exc:
        raise Unauthenticated("missing or invalid credentials") from exc
