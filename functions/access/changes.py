"""Typed changes of a patient's access facts: each knows its ledger namespace/key and body, so the services say
what happened (a block, a grant) and never handle sort keys or JSON bags."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from functions.access.models import Acquaintance, CareTeamMember, EmergencyGrant, OrganisationSeen, PatientSettings
from functions.journal.ports import Fact

SETTINGS, ADMIN = "SETTINGS", "ADMIN"
CARE, BLOCK, GRANT, SEEN, ORG_SEEN = "CARE", "BLOCK", "GRANT", "SEEN", "ORGSEEN"


class AccessChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    def puts(self) -> list[Fact]:
        return []

    def forgets(self) -> list[Fact]:
        return []


class CareTeamAdded(AccessChange):
    member: CareTeamMember

    def puts(self) -> list[Fact]:
        return [Fact(CARE, self.member.rpps, self.member.model_dump_json())]


class CareTeamRemoved(AccessChange):
    """The patient's objection: the professional leaves the care team."""

    rpps: str

    def forgets(self) -> list[Fact]:
        return [Fact(CARE, self.rpps)]


class Blocked(AccessChange):
    """A block also ends the professional's emergency grant."""

    rpps: str
    at: datetime

    def puts(self) -> list[Fact]:
        return [Fact(BLOCK, self.rpps, self.at.isoformat())]

    def forgets(self) -> list[Fact]:
        return [Fact(GRANT, self.rpps)]


class Unblocked(AccessChange):
    rpps: str

    def forgets(self) -> list[Fact]:
        return [Fact(BLOCK, self.rpps)]


class AdministratorNamed(AccessChange):
    rpps: str

    def puts(self) -> list[Fact]:
        return [Fact(ADMIN, "", self.rpps)]


class AdministratorRemoved(AccessChange):
    def forgets(self) -> list[Fact]:
        return [Fact(ADMIN)]


class SettingsChanged(AccessChange):
    settings: PatientSettings

    def puts(self) -> list[Fact]:
        return [Fact(SETTINGS, "", self.settings.model_dump_json())]


class GrantIssued(AccessChange):
    grant: EmergencyGrant

    def puts(self) -> list[Fact]:
        return [Fact(GRANT, self.grant.rpps, self.grant.model_dump_json())]


class ProfessionalSeen(AccessChange):
    """The professional's last access (and what it counted toward the alerts)."""

    acquaintance: Acquaintance

    def puts(self) -> list[Fact]:
        return [Fact(SEEN, self.acquaintance.rpps, self.acquaintance.model_dump_json())]


class OrganisationAccessed(AccessChange):
    """An organisation's system's last access (by FINESS: a namespace of its own, never taken for an RPPS)."""

    seen: OrganisationSeen

    def puts(self) -> list[Fact]:
        return [Fact(ORG_SEEN, self.seen.finess, self.seen.model_dump_json())]
