"""Access use cases: professionals reading a record (through the policy), emergencies, and the holder's
controls (care team, blocks, administrator, settings) and view of who accessed their record.

Cost of a professional's read: one Query of the control partition (settings, blocks, care team, grants,
professionals seen and the trace chain head), one read of the document(s), one transaction (trace, last access,
notifications). Deciding a list costs nothing per document."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from functions.access import policy
from functions.access.changes import (
    AccessChange,
    AdministratorNamed,
    AdministratorRemoved,
    Blocked,
    CareTeamAdded,
    CareTeamRemoved,
    GrantIssued,
    OrganisationAccessed,
    ProfessionalSeen,
    SettingsChanged,
    Unblocked,
)
from functions.access.matrix import Matrix
from functions.access.models import (
    AccessProfile,
    Acquaintance,
    Basis,
    CareTeamMember,
    DocumentFacts,
    EmergencyGrant,
    EmergencyPurpose,
    OrganisationSeen,
    PatientSettings,
    Refusal,
)
from functions.access.ports import ControlStore, ControlWrite, D, DownloadLinks, PatientDocuments
from functions.access.thresholds import Thresholds, thresholds
from functions.identity.ins import parse_ins
from functions.identity.principal import Citizen, Organisation, Professional
from functions.journal.models import Actor, ChainHead, Trace, TraceAction
from functions.journal.retry import until_settled
from functions.notifications.models import (
    Notification,
    NotificationPreferences,
    professional_recipient,
)
from functions.shared import cursor, quota
from functions.shared.clock import Clock, paris_day
from functions.shared.errors import Forbidden, NotFound
from functions.shared.observability import ACCESS_REFUSED, DOCUMENT_READS, EMERGENCY_GRANTS, count

T = TypeVar("T")


@dataclass(frozen=True)
class AccessDeps(Generic[D]):
    """`documents`/`blobs`: the record as its owner keeps it (records' stores, handed over by functions/deps.py);
    the documents come back to the caller as the owner's type `D`."""

    control: ControlStore
    documents: PatientDocuments[D]
    blobs: DownloadLinks
    clock: Clock
    matrix: Callable[[], Matrix]
    download_ttl_seconds: int
    thresholds: Callable[[], Thresholds] = thresholds
    preferences: Callable[[str], NotificationPreferences] = lambda _ins: NotificationPreferences()


class ConsentRequired(Forbidden):
    code = "consent_required"


Outcome = Callable[[], T]


def _decide_and_record(deps: AccessDeps[D], ins: str,
                       decide: Callable[[AccessProfile, datetime], tuple[ControlWrite, Outcome[T]]]) -> T:
    """Read the profile, decide, and write the decision's traces on the head that was read. If another action
    moved the chain meanwhile (a block, a consent withdrawn...), decide again on fresh data: a stale decision is
    never committed. Whatever the decision, an INS with no open space answers the 404 of a declaration and
    keeps nothing (the write is conditioned on the space, at no extra read)."""
    def attempt() -> T:
        now = deps.clock.now()
        profile = deps.control.profile(ins)
        change, outcome = decide(profile, now)
        deps.control.write(ins, change.model_copy(update={"needs_open_space": True}), profile.head, retry=False)
        return outcome()

    return until_settled(attempt)


def _named(notice: Notification, who: Professional) -> Notification:
    """The professional's name as their token's claims gave it, for the holder to read in the notice."""
    return notice.model_copy(update={"professional": who.name}) if who.name else notice


def _refusal(who: Professional | Organisation, profile: AccessProfile, refusal: Refusal, document_id: str | None,
             now: datetime) -> tuple[ControlWrite, Outcome[Any]]:
    """Refusals are traced (the holder sees them), then answered: 404 like a stranger, or 403 consent_required."""
    trace = Trace.new(profile.patient_ins, now, Actor.of(who), TraceAction.ACCESS_REFUSED, document_id,
                      reason=refusal.value)

    def answer() -> Any:
        count(ACCESS_REFUSED, reason=refusal.value)  # once, after the commit (a retried decision is not counted)
        if refusal is Refusal.CONSENT_REQUIRED:
            raise ConsentRequired("the patient's consent is required: present it with X-Access-Reason: consent")
        raise NotFound("document")

    return ControlWrite(traces=[trace]), answer


def _unless_withheld(doc: DocumentFacts | None, profile: AccessProfile,
                     decided: tuple[ControlWrite, Outcome[T]]) -> tuple[ControlWrite, Outcome[T]]:
    """An access to a document withheld from its patient (INVISIBLE_PATIENT, not released) changes nothing the
    patient can read: its traces go to the document's withheld chain (merged into the patient's at the release),
    and there is no last-access update, no first-access or unusual-access notice and no count toward one, since
    each would show the document exists. The answer to the professional is the same."""
    change, outcome = decided
    if doc is None or not doc.withheld_from_patient:
        return decided
    head = profile.withheld.get(doc.document_id, ChainHead())
    return ControlWrite(traces=change.traces, withheld={doc.document_id: head}), outcome


def _note_organisation(who: Organisation, profile: AccessProfile, action: TraceAction,
                       document_ids: list[str | None], now: datetime) -> ControlWrite:
    """An organisation's access to its own documents: traced, and its last access kept for the holder's list of
    who accessed the record (its name kept from the first access that carried one). No notice: it is the author."""
    traces = [Trace.new(profile.patient_ins, now, Actor.of(who), action, doc_id, reason=f"basis:{Basis.AUTHOR}")
              for doc_id in document_ids]
    before = profile.organisations_seen.get(who.finess)
    seen = OrganisationSeen(finess=who.finess, first_access_at=before.first_access_at if before else now,
                            last_access_at=now, name=(before.name if before and before.name else who.name))
    return ControlWrite(traces=traces, changes=[OrganisationAccessed(seen=seen)])


def _note_access(deps: AccessDeps[D], who: Professional | Organisation, profile: AccessProfile, basis: Basis,
                 action: TraceAction, document_ids: list[str | None], now: datetime,
                 disclosed: int | None = None) -> ControlWrite:
    """Traces for what was read, the professional's last access, and the notifications it triggers: first
    access of this professional (reading their own organisation's documents does not count), and unusual
    access (many documents outside the care team in a day). `disclosed`: how many documents the action showed
    when that is not one per id (a listing's page): they count toward the alert like reads."""
    if isinstance(who, Organisation):
        return _note_organisation(who, profile, action, document_ids, now)
    ins = profile.patient_ins
    reason = f"basis:{basis.value}"
    traces = [Trace.new(ins, now, Actor.of(who), action, doc_id, reason=reason) for doc_id in document_ids]
    notifications: list[Notification] = []
    seen = profile.seen.get(who.rpps)
    today = paris_day(now)
    shown = len([d for d in document_ids if d]) if disclosed is None else disclosed
    reads = shown + (seen.reads_that_day if seen and seen.day == today else 0)
    alerted_on = seen.alerted_on if seen else None
    notified = bool(seen and seen.first_access_notified)
    if not notified and basis is not Basis.AUTHOR:
        notifications.append(_named(Notification.for_first_access(ins, who.rpps, now), who)
                             .honouring(deps.preferences(ins)))
        notified = True
    outside_care = basis in {Basis.CONSENT, Basis.EMERGENCY}
    if outside_care and reads >= deps.thresholds().unusual_reads_per_day and alerted_on != today:
        notifications.append(_named(Notification.for_unusual_reads(ins, who.rpps, today, now), who))
        alerted_on = today
    acquaintance = Acquaintance(rpps=who.rpps, profession=who.profession, finess=who.finess,
                                first_access_at=seen.first_access_at if seen else now, last_access_at=now,
                                day=today, reads_that_day=reads, alerted_on=alerted_on,
                                first_access_notified=notified,
                                name=seen.name if seen and seen.name else who.name)
    return ControlWrite(traces=traces, changes=[ProfessionalSeen(acquaintance=acquaintance)],
                        notifications=notifications)


def read_patient_document(deps: AccessDeps[D], who: Professional | Organisation, patient: str, document_id: str,
                          consent: bool) -> tuple[D, str | None]:
    ins = parse_ins(patient).value

    def decide(profile: AccessProfile, now: datetime) -> tuple[ControlWrite, Outcome[tuple[D, str | None]]]:
        doc = deps.documents.get(ins, document_id) if document_id.startswith("doc_") else None
        decision = policy.professional_reads(who, profile, doc, deps.matrix(), now, consent)
        if isinstance(decision, Refusal):
            return _unless_withheld(doc, profile, _refusal(who, profile, decision, document_id if doc else None, now))
        assert doc is not None
        found = doc

        def answer() -> tuple[D, str | None]:
            count(DOCUMENT_READS, reader="professional")
            url = None
            if found.available:
                url = deps.blobs.presign_download(found.record_key, deps.download_ttl_seconds, found.content_type,
                                                  found.download_name, patient_ins=patient)
            return found, url

        noted = _note_access(deps, who, profile, decision, TraceAction.DOCUMENT_READ, [doc.document_id], now)
        return _unless_withheld(doc, profile, (noted, answer))

    return _decide_and_record(deps, ins, decide)


def list_patient_documents(deps: AccessDeps[D], who: Professional | Organisation, patient: str, consent: bool,
                           raw_cursor: str | None, limit: int) -> tuple[list[D], str | None]:
    """Available documents the professional may see (an organisation: those its FINESS authored), newest first.
    Filtering a page can leave it short: follow
    `next` until it is null."""
    ins = parse_ins(patient).value
    after = cursor.decode(raw_cursor)

    def decide(profile: AccessProfile,
               now: datetime) -> tuple[ControlWrite, Outcome[tuple[list[D], str | None]]]:
        basis = policy.record_basis(who, profile, now, consent)
        if isinstance(basis, Refusal):
            return _refusal(who, profile, basis, None, now)
        docs, last = deps.documents.list_available(ins, after, limit)
        matrix = deps.matrix()
        visible = [d for d in docs if policy.is_author(who, d)
                   or policy.document_visible(who, profile, d, basis, matrix, now)]
        page = (visible, cursor.encode(last))
        # a document still withheld from its patient counts for nothing the patient can see (an alert would reveal it)
        shown = len([d for d in visible if not d.withheld_from_patient])
        change = _note_access(deps, who, profile, basis, TraceAction.DOCUMENT_LISTED, [None], now, shown)
        return change, lambda: page

    return _decide_and_record(deps, ins, decide)


def request_emergency_access(deps: AccessDeps[D], who: Professional, patient: str, purpose: EmergencyPurpose,
                             reason: str) -> EmergencyGrant:
    """A time-boxed grant if the patient allowed this kind of emergency access; the patient and their GP are
    told. SAMU regulation (ETREAT) is for physicians; break-glass (BTG) for any professional."""
    ins = parse_ins(patient).value
    if purpose == "ETREAT" and who.profession != "10":
        raise Forbidden("SAMU regulation access (ETREAT) is for physicians", code="emergency_not_allowed")
    actor = Actor.of(who)

    def decide(profile: AccessProfile, now: datetime) -> tuple[ControlWrite, Outcome[EmergencyGrant]]:
        if who.rpps in profile.blocked:
            return _refusal(who, profile, Refusal.NOT_FOUND, None, now)
        if not profile.settings.emergency.allows(purpose):
            trace = Trace.new(ins, now, actor, TraceAction.EMERGENCY_ACCESS_REFUSED, reason=f"{purpose}:refused")

            def refuse() -> EmergencyGrant:
                count(ACCESS_REFUSED, reason="emergency_refused")
                raise Forbidden("the patient refused this kind of emergency access", code="emergency_refused")

            return ControlWrite(traces=[trace]), refuse
        grant = EmergencyGrant(rpps=who.rpps, purpose=purpose, reason=reason, granted_at=now,
                               expires_at=now + deps.thresholds().emergency_grant)
        told = _named(Notification.for_emergency_access(ins, who.rpps, purpose, now), who)
        notifications = [told]
        gp = profile.settings.general_practitioner
        if gp:
            notifications.append(told.to(professional_recipient(gp)))
        if deps.thresholds().night.contains(now):
            notifications.append(_named(Notification.for_night_emergency(ins, who.rpps, now), who))
        trace = Trace.new(ins, now, actor, TraceAction.EMERGENCY_ACCESS_GRANTED, reason=f"{purpose}: {reason}")
        change = ControlWrite(traces=[trace], changes=[GrantIssued(grant=grant)], notifications=notifications)

        def granted() -> EmergencyGrant:
            count(EMERGENCY_GRANTS, purpose=purpose)
            return grant

        return change, granted

    def counted(profile: AccessProfile, now: datetime) -> tuple[ControlWrite, Outcome[EmergencyGrant]]:
        """Granted, refused or blocked alike, each request counts against the professional's hourly limit."""
        change, outcome = decide(profile, now)
        return change.model_copy(update={"quota": quota.emergency_requests(who.rpps)}), outcome

    return _decide_and_record(deps, ins, counted)


# ---- the holder's controls --------------------------------------------------------------------------------
# `who` acts, `space` is acted on (the edge resolves it once: `functions.identity.spaces.space_of`). Today they are
# the same person; family and caregiver access will change only that function, not these.


def _own(deps: AccessDeps[D], who: Citizen, space: str, action: TraceAction, change: AccessChange,
         subject: str | None = None) -> None:
    """A consent change: its trace, and the holder told in the same transaction (security-tests.md: consent
    changes are traced, notified and rate-limited)."""
    now = deps.clock.now()
    trace = Trace.new(space, now, Actor.acting_on(who, space), action, reason=subject)
    told = Notification.for_access_rules_change(space, trace.trace_id, action.value, now)
    deps.control.write(space, ControlWrite(traces=[trace], changes=[change], notifications=[told],
                                           quota=quota.consent_changes(space)))


def profile_of(deps: AccessDeps[D], space: str) -> AccessProfile:
    return deps.control.profile(space)


def add_to_care_team(deps: AccessDeps[D], who: Citizen, space: str, rpps: str) -> CareTeamMember:
    """The care team is the patient's declaration: only this puts a professional in it."""
    member = CareTeamMember(rpps=rpps, since=deps.clock.now())
    _own(deps, who, space, TraceAction.CARE_TEAM_ADDED, CareTeamAdded(member=member), subject=rpps)
    return member


def remove_from_care_team(deps: AccessDeps[D], who: Citizen, space: str, rpps: str) -> None:
    if rpps not in profile_of(deps, space).care_team:
        raise NotFound("care team member")
    _own(deps, who, space, TraceAction.CARE_TEAM_REMOVED, CareTeamRemoved(rpps=rpps), subject=rpps)


def block(deps: AccessDeps[D], who: Citizen, space: str, rpps: str) -> None:
    _own(deps, who, space, TraceAction.PROFESSIONAL_BLOCKED, Blocked(rpps=rpps, at=deps.clock.now()), subject=rpps)


def unblock(deps: AccessDeps[D], who: Citizen, space: str, rpps: str) -> None:
    if rpps not in profile_of(deps, space).blocked:
        raise NotFound("blocked professional")
    _own(deps, who, space, TraceAction.PROFESSIONAL_UNBLOCKED, Unblocked(rpps=rpps), subject=rpps)


def name_administrator(deps: AccessDeps[D], who: Citizen, space: str, rpps: str) -> None:
    _own(deps, who, space, TraceAction.ADMINISTRATOR_NAMED, AdministratorNamed(rpps=rpps), subject=rpps)


def remove_administrator(deps: AccessDeps[D], who: Citizen, space: str) -> None:
    if profile_of(deps, space).administrator is None:
        raise NotFound("administrator")
    _own(deps, who, space, TraceAction.ADMINISTRATOR_REMOVED, AdministratorRemoved())


def change_settings(deps: AccessDeps[D], who: Citizen, space: str, settings: PatientSettings) -> PatientSettings:
    _own(deps, who, space, TraceAction.SETTINGS_CHANGED, SettingsChanged(settings=settings))
    return settings
