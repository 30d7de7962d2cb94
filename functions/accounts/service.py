"""Opening and activating spaces. Opt-out: a space is opened by default (informed first); activation, with a
provisional code and an identity check, links a login to it; an informed person may oppose (B.2, B.3)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from functions.accounts.codes import code_digest, new_code
from functions.accounts.errors import (
    CodeAlreadyUsed,
    CodeExpired,
    ContactsNotFound,
    DeceasedIndividual,
    LoginAlreadyLinked,
    MinDelay,
    NotLegalRepresentative,
    NoUserFound,
    ProfileAlreadyExists,
    SpaceAlreadyCreated,
    TermsOutdated,
)
from functions.accounts.models import CodeChannel, Enrolment, Identity, OppositionProof, Space, SpaceStatus
from functions.accounts.ports import Enrolments, Letters, ProofStore, SpaceDirectory
from functions.accounts.proof import render as render_proof
from functions.identity.ins import parse_ins
from functions.identity.principal import Citizen
from functions.journal.models import Actor, Trace, TraceAction
from functions.journal.ports import Entry, PatientJournal, Refused
from functions.notifications.models import Email
from functions.notifications.ports import Mailer
from functions.shared.clock import PARIS, Clock
from functions.shared.errors import Conflict, NotFound
from functions.shared.ids import new_id
from functions.shared.observability import logger


def open_space(store: SpaceDirectory, clock: Clock, ins: str, birth_date: date | None = None,
               email: str | None = None) -> Space:
    checked = parse_ins(ins)
    return store.open(Space(ins=checked.value, status=SpaceStatus.OPEN, created_at=clock.now(), birth_date=birth_date,
                            email=email))


def activate(store: SpaceDirectory, clock: Clock, ins: str, issuer: str, subject: str) -> Space:
    """Link a citizen login (pairwise `sub` of one issuer) to the space of one INS."""
    space = store.get(parse_ins(ins).value)
    if space is None:
        raise LookupError("no space for this INS")
    store.link_login(issuer, subject, space.ins, clock.now())
    refreshed = store.get(space.ins)
    assert refreshed is not None
    return refreshed


# ---- Enrolment: provisional codes, activation, opposition, terms (mes-rules-next.md B.2, B.3, B.6) ----------

MIN_DELAY = timedelta(seconds=30)  # between two code requests of one person (MIN_DELAY_ERROR)
REQUESTED = Actor(kind="patient", id="patient")  # the person, proven by identity and code (no login yet)


@dataclass(frozen=True)
class EnrolmentDeps:
    enrolments: Enrolments
    spaces: SpaceDirectory
    journal: PatientJournal
    mailer: Mailer
    letters: Letters
    proofs: ProofStore
    clock: Clock
    terms_version: str
    mail_code_ttl: timedelta
    letter_code_ttl: timedelta
    proof_link_ttl_seconds: int = 300


@dataclass(frozen=True)
class CodeSent:
    channel: CodeChannel
    expires_at: datetime


@dataclass(frozen=True)
class Opposition:
    proof: OppositionProof
    proof_url: str


def identified(found: Enrolment | None, who: Identity, representative: Enrolment | None = None) -> Enrolment:
    """The space `who` may act on, or NO_USER_FOUND. For a child (`child_ins`) the identity checked is the
    representative's (their own space's birth date and Vitale serial) and the child must be attached to them:
    otherwise NOT_LEGAL_REPRESENTATIVE ("Je ne suis pas le représentant légal" refuses the same way)."""
    checked = representative if who.child_ins else found
    if found is None or checked is None:
        raise NoUserFound()
    if checked.space.birth_date != who.birth_date:
        raise NoUserFound()
    if checked.vitale_serial is not None and checked.vitale_serial != who.vitale_serial:
        raise NoUserFound()
    if who.child_ins and found.representative_ins != who.ins:
        raise NotLegalRepresentative()
    if found.deceased_on is not None:
        raise DeceasedIndividual()
    return found


def may_receive_code(e: Enrolment, now: datetime) -> None:
    if e.space.activated_at is not None or e.space.status is SpaceStatus.CLOSED:
        raise ProfileAlreadyExists()
    if e.code_sent_at is not None and now - e.code_sent_at < MIN_DELAY:
        raise MinDelay()


def code_holds(e: Enrolment, code: str, now: datetime, used_ok: bool = False) -> None:
    """The code typed is the space's current one, unused (unless `used_ok`) and not expired. A wrong code is
    NO_USER_FOUND, like a wrong identity."""
    if e.code_digest is None or not hmac.compare_digest(e.code_digest, code_digest(e.ins, code)):
        raise NoUserFound()
    if e.code_used_at is not None and not used_ok:
        raise CodeAlreadyUsed()
    if e.code_expires_at is None or now >= e.code_expires_at:
        raise CodeExpired(by_letter=e.code_channel is CodeChannel.LETTER)


def may_activate(e: Enrolment, code: str, now: datetime) -> None:
    code_holds(e, code, now)
    if e.space.activated_at is not None or e.space.status is SpaceStatus.CLOSED:
        raise ProfileAlreadyExists()


def may_oppose(e: Enrolment, code: str, now: datetime) -> None:
    if e.space.status in (SpaceStatus.OPEN, SpaceStatus.CLOSED):
        raise SpaceAlreadyCreated()
    code_holds(e, code, now, used_ok=e.space.status is SpaceStatus.OPPOSED)


def inform_one(enrolments: Enrolments, clock: Clock, ins: str, birth_date: date | None = None,
               email: str | None = None, **identity: Any) -> Enrolment:
    """An informed space, as the bulk intake makes them (tests and the local shortcut only)."""
    space = Space(ins=parse_ins(ins).value, status=SpaceStatus.INFORMED, created_at=clock.now(),
                  informed_at=clock.now(), birth_date=birth_date, email=email)
    enrolments.inform(Enrolment(space=space, **identity))
    found = enrolments.enrolment(space.ins)
    assert found is not None
    return found


def _read(deps: EnrolmentDeps, who: Identity) -> Enrolment:
    target = parse_ins(who.target).value
    representative = deps.enrolments.enrolment(parse_ins(who.ins).value) if who.child_ins else None
    return identified(deps.enrolments.enrolment(target), who, representative)


def _actor(who: Identity) -> Actor:
    """The person themselves, or the representative acting for the child (by pseudonym, never the INS)."""
    return Actor.acting_on(Citizen(ins=who.ins), who.target) if who.child_ins else REQUESTED


def _record(deps: EnrolmentDeps, entry: Entry, again: Callable[[], None]) -> None:
    """Commit; a condition lost to a race re-reads and re-checks (`again` raises the refusal that now holds)."""
    try:
        deps.journal.record(entry)
    except Refused as exc:
        if "login" in exc.failed:
            raise LoginAlreadyLinked() from exc
        again()
        raise Conflict("the profile changed meanwhile: try again", code="profile_changed") from exc


def issue_code(deps: EnrolmentDeps, who: Identity, channel: CodeChannel | None = None) -> tuple[str, CodeSent]:
    """A new provisional code for the identified person, replacing the previous one, committed with its trace
    before it is sent (a send that fails leaves a code nobody received: the person asks again after 30 s).
    Returns the code for the sender; the API never shows it."""
    e = _read(deps, who)
    now = deps.clock.now()
    may_receive_code(e, now)
    chosen = channel or (CodeChannel.MAIL if e.space.email else CodeChannel.LETTER)
    if (chosen is CodeChannel.MAIL and not e.space.email) or (chosen is CodeChannel.LETTER and not e.postal_address) \
            or chosen is CodeChannel.SMS:
        raise ContactsNotFound()
    code = new_code()
    expires = now + (deps.letter_code_ttl if chosen is CodeChannel.LETTER else deps.mail_code_ttl)
    staged = deps.enrolments.code_issued(e.ins, code_digest(e.ins, code), chosen, expires, now, now - MIN_DELAY)
    trace = Trace.new(e.ins, now, _actor(who), TraceAction.ENROLMENT_CODE_SENT, reason=chosen.value)
    _record(deps, Entry(e.ins, traces=[trace], staged=[staged]), lambda: may_receive_code(_read(deps, who), now))
    return code, CodeSent(channel=chosen, expires_at=expires)


def request_code(deps: EnrolmentDeps, who: Identity, channel: CodeChannel | None) -> CodeSent:
    """POST /v1/enrolment/code: a code sent by e-mail (the notifications mailer) or as a letter's print record."""
    code, sent = issue_code(deps, who, channel)
    e = deps.enrolments.enrolment(parse_ins(who.target).value)
    assert e is not None
    until = sent.expires_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
    if sent.channel is CodeChannel.MAIL and e.space.email:
        deps.mailer.send([Email(address=e.space.email, data={
            "subject": "votre code provisoire",
            "text": f"Votre code provisoire Mon espace santé est {code}. Il est valable jusqu'au {until} et ne "
                    "sert qu'une seule fois."})])
    elif e.postal_address:
        deps.letters.print_code(e.ins, e.display_name, e.postal_address, code, sent.expires_at)
    return sent


def activate_with_code(deps: EnrolmentDeps, who: Identity, code: str, terms_version: str,
                       login: tuple[str, str] | None) -> Space:
    """POST /v1/enrolment/activation: the code used once (a conditional write), the space open and activated,
    the terms' version kept and, for an adult, the citizen login (issuer, subject) linked to the INS, with the
    trace, in one transaction. A representative activating a child links no login: the child's space is reached
    through the family rights (`functions.identity.spaces.space_of`), not by the parent's login."""
    if terms_version != deps.terms_version:
        raise TermsOutdated(deps.terms_version)
    e = _read(deps, who)
    now = deps.clock.now()
    may_activate(e, code, now)
    linked = login if login is not None and not who.child_ins else None
    staged = [deps.enrolments.activated(e.ins, code_digest(e.ins, code), now, terms_version, linked)]
    if login is not None and not who.child_ins:
        staged.append(deps.enrolments.login_linked(login[0], login[1], e.ins, now))
    trace = Trace.new(e.ins, now, _actor(who), TraceAction.SPACE_ACTIVATED, reason=f"terms {terms_version}")
    _record(deps, Entry(e.ins, traces=[trace], staged=staged), lambda: may_activate(_read(deps, who), code, now))
    space = deps.spaces.get(e.ins)
    assert space is not None
    if space.email:  # after the commit, best effort: it also warns a holder who did not activate it themselves
        day = now.astimezone(PARIS).strftime("%d/%m/%Y")
        try:
            deps.mailer.send([Email(address=space.email, data={
                "subject": "votre profil est activé",
                "text": f"Votre profil Mon espace santé a été activé le {day}. Si vous n'êtes pas à l'origine de "
                        "cette activation, contactez votre caisse d'assurance maladie."})])
        except Exception:  # the activation is committed; the notice is logged, never an error
            logger.warning("activation notice not sent")
    return space


def oppose(deps: EnrolmentDeps, who: Identity, code: str) -> Opposition:
    """POST /v1/enrolment/opposition: an informed space becomes opposed (no space: nothing flows in) with its
    trace and the proof's reference; the proof (PDF) is then stored and e-mailed as a notice with its reference
    (never the PDF: it names the INS). Opposing again gives the same proof. The code is not used up: it still
    downloads the proof and may activate the space later."""
    e = _read(deps, who)
    now = deps.clock.now()
    may_oppose(e, code, now)
    if e.space.status is not SpaceStatus.OPPOSED:
        reference = new_id("opp")
        staged = deps.enrolments.opposed(e.ins, code_digest(e.ins, code), now, reference)
        trace = Trace.new(e.ins, now, _actor(who), TraceAction.SPACE_OPPOSED, reason=reference)
        _record(deps, Entry(e.ins, traces=[trace], staged=[staged]), lambda: may_oppose(_read(deps, who), code, now))
        found = deps.enrolments.enrolment(e.ins)
        assert found is not None
        e = found
        if e.space.email:
            deps.mailer.send([Email(address=e.space.email, data={
                "subject": "votre opposition est enregistrée",
                "text": f"Votre opposition à la création de Mon espace santé est enregistrée sous la référence "
                        f"{reference}. Votre attestation se télécharge avec cette référence et votre code "
                        "provisoire."})])
    else:  # opposed already: the same proof again, a read like its download
        deps.journal.record(Entry(e.ins, traces=[Trace.new(e.ins, now, _actor(who), TraceAction.OPPOSITION_PROOF_READ,
                                                           reason=e.opposition_reference)]))
    return Opposition(proof=_proof(e), proof_url=_stored_link(deps, _proof(e)))


def proof_of_opposition(deps: EnrolmentDeps, who: Identity, code: str, reference: str) -> Opposition:
    """GET /v1/enrolment/opposition/{reference}: the proof again, on identity and code (a 404 for a reference
    that is not this person's), the read traced."""
    e = _read(deps, who)
    now = deps.clock.now()
    code_holds(e, code, now, used_ok=True)
    if e.opposition_reference is None or not hmac.compare_digest(e.opposition_reference, reference):
        raise NotFound("opposition")
    deps.journal.record(Entry(e.ins, traces=[Trace.new(e.ins, now, _actor(who), TraceAction.OPPOSITION_PROOF_READ,
                                                       reason=reference)]))
    return Opposition(proof=_proof(e), proof_url=_stored_link(deps, _proof(e)))


def _proof(e: Enrolment) -> OppositionProof:
    assert e.opposition_reference is not None and e.space.opposed_at is not None
    return OppositionProof(reference=e.opposition_reference, ins=e.ins, name=e.display_name,
                           opposed_at=e.space.opposed_at)


def _stored_link(deps: EnrolmentDeps, proof: OppositionProof) -> str:
    """The proof is a function of the space item: built and stored after the commit, again if it is missing (a
    crash between the two), never before (no proof of an opposition that did not commit)."""
    if not deps.proofs.has(proof.reference):
        deps.proofs.put(proof.reference, proof.ins, render_proof(proof))
    return deps.proofs.link(proof.reference, proof.ins, deps.proof_link_ttl_seconds)


def should_accept_terms(space: Space, current: str) -> bool:
    """Advisory: an activated holder whose accepted version is not the one in force is asked again."""
    return space.activated_at is not None and space.terms_version != current


def accept_terms(deps: EnrolmentDeps, ins: str, version: str) -> Space:
    """POST /v1/me/terms: the version in force accepted, traced."""
    if version != deps.terms_version:
        raise TermsOutdated(deps.terms_version)
    now = deps.clock.now()
    trace = Trace.new(ins, now, REQUESTED, TraceAction.TERMS_ACCEPTED, reason=f"terms {version}")
    try:
        deps.journal.record(Entry(ins, traces=[trace], staged=[deps.enrolments.terms_accepted(ins, version, now)]))
    except Refused as exc:
        raise NotFound("space") from exc
    space = deps.spaces.get(ins)
    assert space is not None
    return space


def activate_for_development(deps: EnrolmentDeps, ins: str, birth_date: date | None, email: str | None,
                             login: tuple[str, str]) -> Space:
    """`python -m local token citizen`: inform the space if it has none, issue a code internally and activate
    with it through the same checks as the API. An already activated space only gets the development login."""
    checked = parse_ins(ins).value
    e = deps.enrolments.enrolment(checked)
    if e is None:
        e = inform_one(deps.enrolments, deps.clock, checked, birth_date, email)
    if e.space.activated_at is not None:
        deps.spaces.link_login(login[0], login[1], checked, deps.clock.now())
    else:
        who = Identity(ins=checked, birth_date=e.space.birth_date, vitale_serial=e.vitale_serial)
        channel = CodeChannel.MAIL if e.space.email else CodeChannel.LETTER
        code, _ = _issue_anyhow(deps, who, channel)
        activate_with_code(deps, who, code, deps.terms_version, login)
    space = deps.spaces.get(checked)
    assert space is not None
    return space


def _issue_anyhow(deps: EnrolmentDeps, who: Identity, channel: CodeChannel) -> tuple[str, CodeSent]:
    """A development code: no contact needed and no 30 s delay (it is never sent)."""
    e = _read(deps, who)
    now = deps.clock.now()
    code = new_code()
    staged = deps.enrolments.code_issued(e.ins, code_digest(e.ins, code), channel, now + deps.mail_code_ttl, now, now)
    trace = Trace.new(e.ins, now, REQUESTED, TraceAction.ENROLMENT_CODE_SENT, reason="development")
    _record(deps, Entry(e.ins, traces=[trace], staged=[staged]), lambda: may_receive_code(_read(deps, who), now))
    return code, CodeSent(channel=channel, expires_at=now + deps.mail_code_ttl)
def space_status(store: SpaceDirectory, ins: str) -> str | None:
    """The status the authorizer hands the edge with a citizen (a closed space answers only its lifecycle
    routes); None for a login whose space is gone."""
    space = store.get(ins)
    return space.status.value if space is not None else None
