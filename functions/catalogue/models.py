"""The catalogue's domain: referenced services (versioned purposes), pairings with their per-purpose consents, and
what the OAuth flow keeps between its steps (codes, refresh tokens). Pure: no I/O."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ServiceStatus(StrEnum):
    EN_LIGNE = "EN_LIGNE"
    HORS_LIGNE = "HORS_LIGNE"
    PRESERIE = "PRESERIE"
    SUSPENDUE = "SUSPENDUE"
    DEREFERENCEE = "DEREFERENCEE"


class StatusChange(BaseModel):
    """One status change operations made after publication: who, when, from what, on which published catalogue.
    Kept for good (an append-only history per service), so a suspension can always be accounted for."""

    model_config = ConfigDict(frozen=True)

    oid: str
    status: ServiceStatus
    previous: ServiceStatus
    operator: str = Field(min_length=1, max_length=128)
    at: datetime
    catalogue_version: str


# What a citizen may see in the catalogue (C.1: HORS_LIGNE and DEREFERENCEE are not listed).
LISTED = frozenset({ServiceStatus.EN_LIGNE, ServiceStatus.SUSPENDUE, ServiceStatus.PRESERIE})
# Who may be paired now: a PRESERIE pilot cannot be synced by the public, a SUSPENDUE service not at all.
PAIRABLE = frozenset({ServiceStatus.EN_LIGNE})


class Purpose(BaseModel):
    """One `codeFinalite`: a numeric string, read or write, over data categories (measure types) whose LOINC
    codes let the measures flow map an observation to the purpose that allows it."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=r"^[0-9]{1,6}$")
    label: str
    description: str = ""
    action: Literal["read", "write"]
    categories: tuple[str, ...] = ()
    measure_codes: tuple[str, ...] = ()


class ServiceVersion(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = Field(ge=1)
    purposes: tuple[Purpose, ...] = Field(min_length=1)

    def purpose(self, code: str) -> Purpose | None:
        return next((p for p in self.purposes if p.code == code), None)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(p.code for p in self.purposes)


class Editor(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str


class Service(BaseModel):
    """A referenced service as operations publish it (functions/catalogue/data/services.json)."""

    model_config = ConfigDict(frozen=True)

    oid: str = Field(pattern=r"^[0-2](\.[0-9]+)+$")
    name: str
    editor: Editor
    description: str
    long_description: str = ""
    web_url: str | None = None
    ios_url: str | None = None
    android_url: str | None = None
    cgu_url: str | None = None
    url_synchronisation: str | None = None
    economical_model: Literal["GRATUIT", "PAYANT", "GRATUIT_ACHATS_INTEGRES"]
    consumer_device: bool = False
    medical_device: bool = False
    regions: tuple[str, ...] = ()  # empty: the whole country
    thematics: tuple[str, ...] = ()
    status: ServiceStatus
    redirect_uris: tuple[str, ...] = Field(min_length=1)
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    versions: tuple[ServiceVersion, ...] = Field(min_length=1)

    @property
    def current(self) -> ServiceVersion:
        return max(self.versions, key=lambda v: v.version)

    def version(self, number: int) -> ServiceVersion:
        return next((v for v in self.versions if v.version == number), self.current)

    def serves(self, region: str | None) -> bool:
        return region is None or not self.regions or region in self.regions


class Label(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    label: str


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    thematics: tuple[Label, ...] = ()
    regions: tuple[Label, ...] = ()
    services: tuple[Service, ...]

    def service(self, oid: str) -> Service | None:
        return next((s for s in self.services if s.oid == oid), None)


class PairingState(StrEnum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"  # the holder unpaired, or a stolen refresh token was replayed
    ENDED = "ENDED"  # the service was dereferenced


class Pairing(BaseModel):
    """A holder's pairing with one service. `version` is the token's `pv`: +1 on every consent change, so an
    access token minted before it is refused (revocation entry). `consented` are the purpose codes the holder
    accepted; only those of the `acknowledged_version` are granted (a new version grants nothing new until the
    holder acknowledges it). `family`: the refresh-token chain alive for this pairing (None: none)."""

    model_config = ConfigDict(frozen=True)

    pairing_id: str
    holder_ins: str
    oid: str
    id_pe: str
    version: int = 1
    state: PairingState = PairingState.ACTIVE
    consented: tuple[str, ...]
    acknowledged_version: int
    paired_at: datetime
    changed_at: datetime
    by_representative: bool = False
    reapproval_limit_date: date | None = None
    family: str | None = None

    def granted(self, service: Service) -> tuple[str, ...]:
        """The purpose codes a token carries: consented and part of the version the holder acknowledged."""
        known = service.version(self.acknowledged_version).codes
        return tuple(sorted(c for c in self.consented if c in known))

    def is_acknowledged(self, service: Service) -> bool:
        return self.acknowledged_version >= service.current.version


class AuthorizationCode(BaseModel):
    """What an authorization code stands for, kept under its hash for 60 s and consumed once."""

    model_config = ConfigDict(frozen=True)

    oid: str
    holder_ins: str
    pairing_id: str
    redirect_uri: str
    code_challenge: str
    expires_at: datetime


class RefreshToken(BaseModel):
    """A refresh token's record, kept under its hash: `current` until used once (rotation), then `used`; a used
    one presented again is a stolen token replayed."""

    model_config = ConfigDict(frozen=True)

    oid: str
    holder_ins: str
    pairing_id: str
    family: str
    state: Literal["current", "used"] = "current"
    expires_at: datetime


class Synchronization(BaseModel):
    """What the catalogue shows of the caller's own pairing with a service (C.1 `synchronization`)."""

    model_config = ConfigDict(frozen=True)

    is_synchronized: bool = False
    is_acknowledged: bool = True
    reapproval_limit_date: date | None = None


class IssuedTokens(BaseModel):
    model_config = ConfigDict(frozen=True)

    access_token: str
    refresh_token: str
    id_token: str
    expires_in: int
    scope: str


SUMMARY_SHARDS = 16
SUMMARY_PERIOD_DAYS = 90


def summary_cycle(ins: str) -> tuple[int, int]:
    """The day of the 90-day cycle a holder's summary falls on, and its shard (the `by-cycle` index partition):
    spread evenly and fixed per person, so every holder gets one summary every 90 days with no due list to keep."""
    number = int(hashlib.sha256(f"summary:{ins}".encode()).hexdigest()[:12], 16)
    return number % SUMMARY_PERIOD_DAYS, (number // SUMMARY_PERIOD_DAYS) % SUMMARY_SHARDS


def summary_slot(day: date) -> int:
    """Which day of the cycle `day` is."""
    return day.toordinal() % SUMMARY_PERIOD_DAYS
