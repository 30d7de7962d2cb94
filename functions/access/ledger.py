"""What access keeps in the patient's ledger partition (owned and written by the journal, see journal/ports.py),
and how those facts read back as an AccessProfile. Storage-free: facts are namespace + key -> opaque body."""

from __future__ import annotations

import json
from collections.abc import Sequence

from functions.access.changes import ADMIN, BLOCK, CARE, GRANT, ORG_SEEN, SEEN, SETTINGS, AccessChange
from functions.access.models import (
    AccessProfile,
    Acquaintance,
    CareTeamMember,
    EmergencyGrant,
    OrganisationSeen,
    PatientSettings,
)
from functions.journal.ports import Fact, Ledger


def profile_from(ledger: Ledger) -> AccessProfile:
    """Kinds no longer written are ignored: `OBJECT#` items, and care team members with `"source": "author"`
    (writing a document used to put its author in the care team; it is no basis to read any more)."""
    fields: dict[str, object] = {"patient_ins": ledger.patient_ins, "head": ledger.head}
    care, blocked, grants, seen, organisations = {}, {}, {}, {}, {}
    for fact in ledger.facts:
        namespace, key, body = fact.namespace, fact.key, fact.body
        if namespace == SETTINGS and not key:
            fields["settings"] = PatientSettings.model_validate_json(body)
        elif namespace == ADMIN and not key:
            fields["administrator"] = body
        elif namespace == CARE and key:
            if json.loads(body).get("source", "declared") != "declared":
                continue
            member = CareTeamMember.model_validate_json(body)
            care[member.rpps] = member
        elif namespace == BLOCK and key:
            blocked[key] = body
        elif namespace == GRANT and key:
            grant = EmergencyGrant.model_validate_json(body)
            grants[grant.rpps] = grant
        elif namespace == SEEN and key:
            acquaintance = Acquaintance.model_validate_json(body)
            seen[acquaintance.rpps] = acquaintance
        elif namespace == ORG_SEEN and key:
            organisation = OrganisationSeen.model_validate_json(body)
            organisations[organisation.finess] = organisation
    return AccessProfile.model_validate({**fields, "care_team": care, "blocked": blocked, "grants": grants,
                                         "seen": seen, "organisations_seen": organisations,
                                         "withheld": dict(ledger.withheld)})


def facts_of(changes: Sequence[AccessChange]) -> tuple[list[Fact], list[Fact]]:
    """The ledger writes of access changes: facts to write, facts to forget."""
    puts: list[Fact] = []
    forgets: list[Fact] = []
    for change in changes:
        puts += change.puts()
        forgets += change.forgets()
    return puts, forgets
