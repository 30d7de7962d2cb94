"""Who may access the record: professionals reading it (consent, emergency access), and the holder's choices
(care team, blocked professionals, administrator, settings, the professionals who came)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib.edge import header, route
from chalicelib.registry import Models, paged
from functions import deps
from functions.shared.cursor import Page
from functions.shared.errors import InvalidRequest

if TYPE_CHECKING:
    from functions.access import api, models
    from functions.identity.principal import Citizen, Organisation, Professional
    from functions.records import api as records_api
    from functions.shared.cursor import PageRequest
else:
    api, models = Models("functions.access.api"), Models("functions.access.models")
    records_api = Models("functions.records.api")

bp = Blueprint(__name__)


def _profile(space: str) -> models.AccessProfile:
    """The access profile of the space acted on (one Query), which the read routes below each show a part of."""
    from functions.access import service

    return service.profile_of(deps.access(), space)


def consent_presented() -> bool:
    """The patient's consent, asserted by the professional's software for this access (recorded in the trace).
    A reason the contract does not name is refused rather than read as none: the software meant something."""
    reason = header("x-access-reason")
    if reason is None:
        return False
    if reason.strip() != "consent":
        raise InvalidRequest("X-Access-Reason is `consent` (the patient's consent to this access) or absent",
                             code="invalid_access_reason")
    return True


@route(bp, "GET", "/v1/patients/{ins}/documents", role=("professional", "organisation"), paginated=True,
       access_reason=True, response=paged(records_api.DocumentOut), errors=(400, 403, 404))
def professional_list(who: Professional | Organisation, ins: str, page: PageRequest) -> Page[records_api.DocumentOut]:
    from functions.access import service

    docs, nxt = service.list_patient_documents(deps.access(), who, ins, consent_presented(), page.cursor, page.limit)
    return Page(items=[records_api.DocumentOut.from_domain(d) for d in docs], next=nxt)


@route(bp, "GET", "/v1/patients/{ins}/documents/{document_id}", role=("professional", "organisation"),
       access_reason=True, response=records_api.DocumentOut, errors=(400, 403, 404))
def professional_read(who: Professional | Organisation, ins: str, document_id: str) -> records_api.DocumentOut:
    from functions.access import service

    doc, url = service.read_patient_document(deps.access(), who, ins, document_id, consent_presented())
    return records_api.DocumentOut.from_domain(doc, url)


@route(bp, "POST", "/v1/patients/{ins}/emergency-access", role="professional", request=api.EmergencyIn,
       response=api.GrantOut, status=201, errors=(400, 403, 404, 429), idempotent=True)
def emergency_access(who: Professional, ins: str, body: api.EmergencyIn) -> api.GrantOut:
    from functions.access import service

    return api.GrantOut.from_domain(service.request_emergency_access(deps.access(), who, ins, body.purpose,
                                                                     body.reason))


@route(bp, "GET", "/v1/me/care-team", role="citizen", response=api.CareTeamOut)
def my_care_team(who: Citizen, space: str) -> api.CareTeamOut:
    return api.CareTeamOut.from_domain(_profile(space).care_team)


@route(bp, "POST", "/v1/me/care-team", role="citizen", request=api.RppsIn, response=api.CareTeamMemberOut,
       status=201, errors=(409, 429), idempotent=True)
def my_care_team_add(who: Citizen, space: str, body: api.RppsIn) -> api.CareTeamMemberOut:
    from functions.access import service

    return api.CareTeamMemberOut.from_domain(service.add_to_care_team(deps.access(), who, space, body.rpps))


@route(bp, "DELETE", "/v1/me/care-team/{rpps}", role="citizen", response=api.RppsStatusOut, errors=(404, 429))
def my_care_team_remove(who: Citizen, space: str, rpps: str) -> api.RppsStatusOut:
    from functions.access import service

    service.remove_from_care_team(deps.access(), who, space, rpps)
    return api.RppsStatusOut(rpps=rpps, status="removed")


@route(bp, "GET", "/v1/me/blocked-professionals", role="citizen", response=api.BlockedOut)
def my_blocks(who: Citizen, space: str) -> api.BlockedOut:
    return api.BlockedOut.from_domain(_profile(space).blocked)


@route(bp, "POST", "/v1/me/blocked-professionals", role="citizen", request=api.RppsIn, response=api.RppsStatusOut,
       status=201, errors=(409, 429), idempotent=True)
def my_blocks_add(who: Citizen, space: str, body: api.RppsIn) -> api.RppsStatusOut:
    from functions.access import service

    service.block(deps.access(), who, space, body.rpps)
    return api.RppsStatusOut(rpps=body.rpps, status="blocked")


@route(bp, "DELETE", "/v1/me/blocked-professionals/{rpps}", role="citizen", response=api.RppsStatusOut,
       errors=(404, 429))
def my_blocks_remove(who: Citizen, space: str, rpps: str) -> api.RppsStatusOut:
    from functions.access import service

    service.unblock(deps.access(), who, space, rpps)
    return api.RppsStatusOut(rpps=rpps, status="unblocked")


@route(bp, "PUT", "/v1/me/administrator", role="citizen", request=api.RppsIn, response=api.RppsOut, errors=(409, 429))
def my_administrator(who: Citizen, space: str, body: api.RppsIn) -> api.RppsOut:
    from functions.access import service

    service.name_administrator(deps.access(), who, space, body.rpps)
    return api.RppsOut(rpps=body.rpps)


@route(bp, "DELETE", "/v1/me/administrator", role="citizen", response=api.RemovedOut, errors=(404, 429))
def my_administrator_remove(who: Citizen, space: str) -> api.RemovedOut:
    from functions.access import service

    service.remove_administrator(deps.access(), who, space)
    return api.RemovedOut()


@route(bp, "GET", "/v1/me/settings", role="citizen", response=api.SettingsOut)
def my_settings(who: Citizen, space: str) -> api.SettingsOut:
    return api.SettingsOut.from_domain(_profile(space).settings)


@route(bp, "PUT", "/v1/me/settings", role="citizen", request=models.PatientSettings, response=api.SettingsOut,
       errors=(409, 429))
def my_settings_put(who: Citizen, space: str, body: models.PatientSettings) -> api.SettingsOut:
    from functions.access import service

    return api.SettingsOut.from_domain(service.change_settings(deps.access(), who, space, body))


@route(bp, "GET", "/v1/me/professionals", role="citizen", response=api.ProfessionalsOut)
def my_professionals(who: Citizen, space: str) -> api.ProfessionalsOut:
    return api.ProfessionalsOut.from_domain(_profile(space))
