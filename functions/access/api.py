"""Request and response shapes of the access routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.access.models import AccessProfile, CareTeamMember, EmergencyGrant, PatientSettings
from functions.identity.principal import RPPS


class RppsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rpps: RPPS


class EmergencyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    purpose: Literal["ETREAT", "BTG"]
    reason: str = Field(min_length=3, max_length=500)


class GrantOut(BaseModel):
    purpose: str
    granted_at: datetime
    expires_at: datetime

    @classmethod
    def from_domain(cls, grant: EmergencyGrant) -> GrantOut:
        return cls(purpose=grant.purpose, granted_at=grant.granted_at, expires_at=grant.expires_at)


class SettingsOut(BaseModel):
    """Stored choices, plus what applies when the patient made none (the legal defaults)."""

    hide_new_documents: bool
    emergency: dict[str, bool | None]
    effective_emergency: dict[str, bool]
    general_practitioner: str | None

    @classmethod
    def from_domain(cls, s: PatientSettings) -> SettingsOut:
        e = s.emergency
        return cls(hide_new_documents=s.hide_new_documents, emergency=e.model_dump(),
                   effective_emergency={"samu_access": e.allows("ETREAT"), "break_glass": e.allows("BTG"),
                                        "hidden_in_emergency": e.shows_hidden},
                   general_practitioner=s.general_practitioner)


class ProfessionalOut(BaseModel):
    """One professional (`kind` professional, by RPPS) or organisation's system (`kind` organisation, by FINESS in
    `organisation`, no RPPS) the holder's record knows; `name` as the identity provider gave it at first sight."""

    kind: Literal["professional", "organisation"] = "professional"
    rpps: str | None = None
    name: str | None = None
    profession: str | None = None
    organisation: str | None = None
    first_access_at: datetime | None = None
    last_access_at: datetime | None = None
    care_team: bool
    blocked: bool
    administrator: bool


class ProfessionalsOut(BaseModel):
    items: list[ProfessionalOut]

    @classmethod
    def from_domain(cls, p: AccessProfile) -> ProfessionalsOut:
        known = set(p.seen) | set(p.care_team) | set(p.blocked) | ({p.administrator} if p.administrator else set())
        items = []
        for rpps in sorted(known):
            seen = p.seen.get(rpps)
            items.append(ProfessionalOut(
                rpps=rpps, name=seen.name if seen else None, profession=seen.profession if seen else None,
                organisation=seen.finess if seen else None, first_access_at=seen.first_access_at if seen else None,
                last_access_at=seen.last_access_at if seen else None,
                care_team=rpps in p.care_team, blocked=rpps in p.blocked, administrator=rpps == p.administrator))
        for org in p.organisations_seen.values():
            items.append(ProfessionalOut(kind="organisation", name=org.name, organisation=org.finess,
                                         first_access_at=org.first_access_at, last_access_at=org.last_access_at,
                                         care_team=False, blocked=False, administrator=False))
        items.sort(key=lambda i: i.last_access_at.isoformat() if i.last_access_at else "", reverse=True)
        return cls(items=items)


class CareTeamMemberOut(BaseModel):
    rpps: str
    source: str
    since: str  # ISO 8601 as the domain datetime gives it (isoformat: "+00:00", not "Z")

    @classmethod
    def from_domain(cls, m: CareTeamMember) -> CareTeamMemberOut:
        return cls(rpps=m.rpps, source=m.source, since=m.since.isoformat())


class CareTeamOut(BaseModel):
    items: list[CareTeamMemberOut]

    @classmethod
    def from_domain(cls, team: dict[str, CareTeamMember]) -> CareTeamOut:
        return cls(items=[CareTeamMemberOut.from_domain(m) for m in sorted(team.values(), key=lambda m: m.rpps)])


class RppsOut(BaseModel):
    rpps: str


class BlockedOut(BaseModel):
    items: list[RppsOut]

    @classmethod
    def from_domain(cls, blocked: dict[str, datetime]) -> BlockedOut:
        return cls(items=[RppsOut(rpps=r) for r in sorted(blocked)])


class RppsStatusOut(BaseModel):
    """What became of one professional in the holder's lists (removed, blocked, unblocked)."""

    rpps: str
    status: Literal["removed", "blocked", "unblocked"]


class RemovedOut(BaseModel):
    status: Literal["removed"] = "removed"
