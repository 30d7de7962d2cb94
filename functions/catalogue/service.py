"""The catalogue of referenced services, pairing them (OAuth 2.0 authorization code + PKCE, private_key_jwt) and the
holder's per-purpose consents. Every pairing, consent change, token issue and unpairing commits with its trace in
the holder's chain through the journal; every change that narrows what a token may do writes a revocation entry in
the same transaction, so tokens already issued die at once (the measures flow reads that deny list)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict

from functions.accounts.ports import SpaceDirectory
from functions.catalogue import oauth
from functions.catalogue.models import (
    LISTED,
    PAIRABLE,
    AuthorizationCode,
    Catalogue,
    IssuedTokens,
    Pairing,
    PairingState,
    Purpose,
    RefreshToken,
    Service,
    ServiceStatus,
    Synchronization,
)
from functions.catalogue.ports import PairingStore, TokenSigner
from functions.journal.models import Actor, Trace, TraceAction
from functions.journal.ports import Entry, PatientJournal, Refused
from functions.shared.clock import Clock
from functions.shared.errors import Conflict, NotFound
from functions.shared.ids import new_id
from functions.shared.oauth import OAuthError
from functions.shared.privacy import digest
from functions.shared.staging import Staged

DEAD = -1  # a revocation entry's minimum version for a pairing that ended
REFRESH_LIFETIME = timedelta(days=180)
# A pairing made by a legal representative must be re-approved by the person within this delay after they turn 18
# (C.2: the minors' issue will act on the date; the delay is our choice, see the README).
REAPPROVAL_DELAY = timedelta(days=183)


@dataclass(frozen=True)
class CatalogueDeps:
    store: PairingStore
    journal: PatientJournal
    spaces: SpaceDirectory
    signer: TokenSigner
    clock: Clock
    published: Callable[[], Catalogue]
    issuer: str  # `iss` of the tokens MES issues (MES_SERVICE_TOKEN_ISSUER)

    @property
    def token_endpoint(self) -> str:
        """The `aud` a client assertion must name (RFC 7523 3)."""
        return f"{self.issuer}/token"


class AuthorizationRequest(BaseModel):
    """The parameters of an authorization request (RFC 6749 4.1.1, RFC 7636 4.3)."""

    model_config = ConfigDict(frozen=True)

    response_type: str
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None = None
    code_challenge: str
    code_challenge_method: str


class TokenRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    grant_type: str
    client_id: str | None = None
    client_assertion_type: str | None = None
    client_assertion: str | None = None
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: str | None = None
    refresh_token: str | None = None


def pairwise_id(holder_ins: str, oid: str) -> str:
    """The idPe: a keyed hash of (INS, OID), the same for every token of this pairing and meaningless elsewhere."""
    return digest("idpe", f"{holder_ins}:{oid}")


# ---- the catalogue -----------------------------------------------------------------------------------------


def current_catalogue(deps: CatalogueDeps) -> Catalogue:
    """The published file with the statuses operations changed since (one Query of a small partition)."""
    published = deps.published()
    overrides = deps.store.statuses()
    if not overrides:
        return published
    return published.model_copy(update={"services": tuple(
        s.model_copy(update={"status": overrides.get(s.oid, s.status)}) for s in published.services)})


def _synchronization(service: Service, pairing: Pairing | None) -> Synchronization:
    if pairing is None or pairing.state is not PairingState.ACTIVE:
        return Synchronization()
    return Synchronization(is_synchronized=True, is_acknowledged=pairing.is_acknowledged(service),
                           reapproval_limit_date=pairing.reapproval_limit_date)


def list_services(deps: CatalogueDeps, space: str, thematic: str | None = None,
                  region: str | None = None) -> list[tuple[Service, Synchronization]]:
    """What a citizen may see (EN_LIGNE, SUSPENDUE, PRESERIE), filtered, each with their own pairing state."""
    cat = current_catalogue(deps)
    mine = {p.oid: p for p in deps.store.pairings(space)}
    return [(s, _synchronization(s, mine.get(s.oid))) for s in cat.services
            if s.status in LISTED and (thematic is None or thematic in s.thematics) and s.serves(region)]


def service_detail(deps: CatalogueDeps, space: str, oid: str) -> tuple[Service, Synchronization]:
    service = current_catalogue(deps).service(oid)
    if service is None or service.status not in LISTED:
        raise NotFound("service")
    return service, _synchronization(service, deps.store.pairing(space, oid))


# ---- pairing: authorization --------------------------------------------------------------------------------


def check_authorization(deps: CatalogueDeps, req: AuthorizationRequest) -> tuple[Service, tuple[Purpose, ...]]:
    """The consent screen's data once the request is one MES may answer: a known client that may be paired, a
    redirect URI registered for it (exactly), PKCE S256, and purposes of its current version."""
    service = current_catalogue(deps).service(req.client_id)
    if service is None or service.status not in LISTED:
        raise OAuthError("invalid_request", "unknown client_id")
    if req.redirect_uri not in service.redirect_uris:
        raise OAuthError("invalid_request", "redirect_uri is not registered for this client")
    if service.status not in PAIRABLE:
        raise OAuthError("unauthorized_client", "this service cannot be paired now")
    if req.response_type != "code":
        raise OAuthError("unsupported_response_type", "response_type must be code")
    if not oauth.valid_challenge(req.code_challenge, req.code_challenge_method):
        raise OAuthError("invalid_request", "PKCE is required: code_challenge_method S256 and a 43-character "
                                            "code_challenge")
    codes = req.scope.split()
    version = service.current
    wanted = tuple(p for p in version.purposes if p.code in codes)
    if not codes or len(wanted) != len(set(codes)):
        raise OAuthError("invalid_scope", "scope must list purpose codes of this service")
    return service, wanted


def _reapproval_date(deps: CatalogueDeps, space: str) -> date | None:
    found = deps.spaces.get(space)
    born = found.birth_date if found is not None else None
    if born is None:
        return None
    try:
        adult = born.replace(year=born.year + 18)
    except ValueError:  # born on 29 February
        adult = born.replace(year=born.year + 18, day=28)
    return adult + REAPPROVAL_DELAY


def _commit(deps: CatalogueDeps, entry: Entry) -> None:
    try:
        deps.journal.record(entry)
    except Refused as exc:
        if "space" in exc.failed:
            raise NotFound("space") from exc
        raise Conflict("the pairing changed meanwhile: try again", code="pairing_changed") from exc


def authorize(deps: CatalogueDeps, who: object, space: str, req: AuthorizationRequest,
              accepted: tuple[str, ...]) -> str:
    """The holder accepts some of the requested purposes (at least one): the pairing is created (or its consents
    replaced), a single-use code is issued for 60 s, and the redirect to the app carries it with `state`."""
    service, wanted = check_authorization(deps, req)
    if not accepted or not set(accepted) <= {p.code for p in wanted}:
        raise OAuthError("invalid_scope", "accepted purposes must be among those requested")
    now = deps.clock.now()
    previous = deps.store.pairing(space, service.oid)
    holder = getattr(who, "ins", space)
    by_representative = holder != space
    staged: list[Staged] = [deps.spaces.open_condition(space)]
    if previous is not None and previous.state is PairingState.ACTIVE:
        pairing = previous.model_copy(update={
            "consented": tuple(sorted(set(accepted))), "acknowledged_version": service.current.version,
            "version": previous.version + 1, "changed_at": now})
        staged.append(deps.store.staged_revocation(pairing.pairing_id, pairing.version, now))
    else:
        pairing = Pairing(
            pairing_id=new_id("pair"), holder_ins=space, oid=service.oid, id_pe=pairwise_id(space, service.oid),
            version=(previous.version + 1) if previous is not None else 1, consented=tuple(sorted(set(accepted))),
            acknowledged_version=service.current.version, paired_at=now, changed_at=now,
            by_representative=by_representative,
            reapproval_limit_date=_reapproval_date(deps, space) if by_representative else None)
    code = oauth.new_secret()
    staged.append(deps.store.staged_pairing(pairing, previous))
    staged.append(deps.store.staged_code(oauth.hashed(code), AuthorizationCode(
        oid=service.oid, holder_ins=space, pairing_id=pairing.pairing_id, redirect_uri=req.redirect_uri,
        code_challenge=req.code_challenge, expires_at=now + timedelta(seconds=oauth.CODE_SECONDS))))
    trace = Trace.new(space, now, Actor.acting_on(who, space), TraceAction.SERVICE_PAIRED,
                      reason=f"service:{service.oid};purposes:{','.join(pairing.consented)}")
    _commit(deps, Entry(space, traces=[trace], staged=staged))
    params = {"code": code, **({"state": req.state} if req.state is not None else {})}
    return req.redirect_uri + ("&" if "?" in req.redirect_uri else "?") + urlencode(params)


# ---- pairing: the token endpoint ---------------------------------------------------------------------------


def _client(deps: CatalogueDeps, req: TokenRequest) -> Service:
    """The client, authenticated by its private_key_jwt assertion (whose jti is then spent)."""
    import jwt

    oid = req.client_id
    if oid is None and req.client_assertion:
        try:
            oid = str(jwt.decode(req.client_assertion, options={"verify_signature": False}).get("iss") or "")
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise OAuthError("invalid_client", "the client assertion is not a JWT", status=401) from exc
    service = current_catalogue(deps).service(oid or "")
    if service is None or service.status is ServiceStatus.DEREFERENCEE:
        raise OAuthError("invalid_client", "unknown client", status=401)
    now = deps.clock.now()
    claims = oauth.verify_assertion(service, req.client_assertion, req.client_assertion_type,
                                    deps.token_endpoint, now)
    if not deps.store.use_assertion_id(service.oid, str(claims["jti"]),
                                       datetime.fromtimestamp(float(claims["exp"]), tz=now.tzinfo)):
        raise OAuthError("invalid_client", "this client assertion was used already (jti)", status=401)
    if service.status not in PAIRABLE:
        raise OAuthError("unauthorized_client", "this service may not obtain tokens now")
    return service


def issue_tokens(deps: CatalogueDeps, req: TokenRequest) -> IssuedTokens:
    """RFC 6749 4.1.3 and 6: an authorization code (with its PKCE verifier) or a refresh token for tokens."""
    if req.grant_type not in ("authorization_code", "refresh_token"):
        raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
    service = _client(deps, req)
    if req.grant_type == "authorization_code":
        return _from_code(deps, service, req)
    return _from_refresh(deps, service, req)


def _signed(deps: CatalogueDeps, service: Service, pairing: Pairing, refresh: str) -> IssuedTokens:
    now = deps.clock.now()
    scope = pairing.granted(service)
    access = deps.signer.sign(oauth.access_claims(deps.issuer, pairing.id_pe, service.oid, pairing.pairing_id,
                                                  pairing.version, scope, now))
    id_token = deps.signer.sign(oauth.id_claims(deps.issuer, pairing.id_pe, service.oid, now))
    return IssuedTokens(access_token=access, refresh_token=refresh, id_token=id_token,
                        expires_in=oauth.ACCESS_TOKEN_SECONDS, scope=" ".join(scope))


def _new_refresh(deps: CatalogueDeps, pairing: Pairing, family: str) -> tuple[str, Staged]:
    refresh = oauth.new_secret()
    record = RefreshToken(oid=pairing.oid, holder_ins=pairing.holder_ins, pairing_id=pairing.pairing_id,
                          family=family, expires_at=deps.clock.now() + REFRESH_LIFETIME)
    return refresh, deps.store.staged_refresh_token(oauth.hashed(refresh), record)


def _token_trace(deps: CatalogueDeps, service: Service, pairing: Pairing) -> Trace:
    return Trace.new(pairing.holder_ins, deps.clock.now(), Actor.service_tiers(service.oid, service.name),
                     TraceAction.SERVICE_TOKEN_ISSUED, reason=f"service:{service.oid}")


def _from_code(deps: CatalogueDeps, service: Service, req: TokenRequest) -> IssuedTokens:
    invalid = OAuthError("invalid_grant", "the authorization code is invalid, expired or used")
    if not req.code:
        raise OAuthError("invalid_request", "code is required")
    code_hash = oauth.hashed(req.code)
    found = deps.store.code(code_hash)
    if found is None or found[0].oid != service.oid:
        raise invalid
    code, used_by = found
    if used_by is not None:  # replayed: the tokens it gave are revoked (RFC 6749 4.1.2)
        _revoke_family(deps, service, code.holder_ins, used_by)
        raise invalid
    if code.expires_at <= deps.clock.now():
        raise invalid
    if req.redirect_uri != code.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request's")
    if not oauth.pkce_matches(req.code_verifier, code.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    previous = deps.store.pairing(code.holder_ins, service.oid)
    if previous is None or previous.state is not PairingState.ACTIVE or previous.pairing_id != code.pairing_id:
        raise invalid
    family = new_id("fam")
    pairing = previous.model_copy(update={"family": family})
    refresh, staged_refresh = _new_refresh(deps, pairing, family)
    staged = [deps.spaces.open_condition(pairing.holder_ins), deps.store.staged_code_use(code_hash, family),
              deps.store.staged_pairing(pairing, previous), staged_refresh]
    try:
        deps.journal.record(Entry(pairing.holder_ins, traces=[_token_trace(deps, service, pairing)],
                                  staged=staged))
    except Refused as exc:
        raise invalid from exc
    return _signed(deps, service, pairing, refresh)


def _from_refresh(deps: CatalogueDeps, service: Service, req: TokenRequest) -> IssuedTokens:
    invalid = OAuthError("invalid_grant", "the refresh token is invalid, expired or revoked")
    if not req.refresh_token:
        raise OAuthError("invalid_request", "refresh_token is required")
    token_hash = oauth.hashed(req.refresh_token)
    record = deps.store.refresh_token(token_hash)
    if record is None or record.oid != service.oid or record.expires_at <= deps.clock.now():
        raise invalid
    if record.state == "used":  # rotated already: a copy is being replayed, the pairing is no longer safe
        end_pairing(deps, service, record.holder_ins, "refresh_token_reused", Actor.system("catalogue"))
        raise invalid
    pairing = deps.store.pairing(record.holder_ins, service.oid)
    if (pairing is None or pairing.state is not PairingState.ACTIVE or pairing.pairing_id != record.pairing_id
            or pairing.family != record.family):
        raise invalid
    refresh, staged_refresh = _new_refresh(deps, pairing, record.family)
    staged = [deps.spaces.open_condition(pairing.holder_ins), deps.store.staged_refresh_use(token_hash),
              staged_refresh]
    try:
        deps.journal.record(Entry(pairing.holder_ins, traces=[_token_trace(deps, service, pairing)],
                                  staged=staged))
    except Refused as exc:
        if any("refresh_use" in label for label in exc.failed):  # used concurrently: a replay as well
            end_pairing(deps, service, record.holder_ins, "refresh_token_reused", Actor.system("catalogue"))
        raise invalid from exc
    return _signed(deps, service, pairing, refresh)


def _revoke_family(deps: CatalogueDeps, service: Service, holder_ins: str, family: str) -> None:
    """A replayed code: the refresh chain it started dies, and so do the access tokens issued from it."""
    previous = deps.store.pairing(holder_ins, service.oid)
    if previous is None or previous.state is not PairingState.ACTIVE or previous.family != family:
        return
    now = deps.clock.now()
    pairing = previous.model_copy(update={"family": None, "version": previous.version + 1, "changed_at": now})
    trace = Trace.new(holder_ins, now, Actor.system("catalogue"), TraceAction.SERVICE_TOKENS_REVOKED,
                      reason=f"service:{service.oid};authorization_code_replayed")
    deps.journal.record(Entry(holder_ins, traces=[trace], staged=[
        deps.store.staged_pairing(pairing, previous),
        deps.store.staged_revocation(pairing.pairing_id, pairing.version, now)]))


def end_pairing(deps: CatalogueDeps, service: Service, holder_ins: str, reason: str, actor: Actor,
         state: PairingState = PairingState.REVOKED) -> Pairing | None:
    """End a pairing: no token of it is accepted any more (revocation entry), its idPe resolves to nobody."""
    previous = deps.store.pairing(holder_ins, service.oid)
    if previous is None or previous.state is not PairingState.ACTIVE:
        return None
    now = deps.clock.now()
    pairing = previous.model_copy(update={"state": state, "family": None, "version": previous.version + 1,
                                          "changed_at": now})
    trace = Trace.new(holder_ins, now, actor, TraceAction.SERVICE_UNPAIRED,
                      reason=f"service:{service.oid};{reason}")
    _commit(deps, Entry(holder_ins, traces=[trace], staged=[
        deps.store.staged_pairing(pairing, previous), deps.store.staged_revocation(pairing.pairing_id, DEAD, now)]))
    return pairing


# ---- the holder's paired services ----------------------------------------------------------------------------


def my_services(deps: CatalogueDeps, space: str) -> list[tuple[Service, Pairing]]:
    cat = current_catalogue(deps)
    found = []
    for p in deps.store.pairings(space):
        service = cat.service(p.oid)
        if p.state is PairingState.ACTIVE and service is not None:
            found.append((service, p))
    return found


def _active(deps: CatalogueDeps, space: str, oid: str) -> tuple[Service, Pairing]:
    service = current_catalogue(deps).service(oid)
    pairing = deps.store.pairing(space, oid)
    if service is None or pairing is None or pairing.state is not PairingState.ACTIVE:
        raise NotFound("paired service")
    return service, pairing


def _change(deps: CatalogueDeps, who: object, space: str, service: Service, previous: Pairing,
            pairing: Pairing, action: TraceAction, reason: str) -> Pairing:
    now = deps.clock.now()
    pairing = pairing.model_copy(update={"version": previous.version + 1, "changed_at": now})
    trace = Trace.new(space, now, Actor.acting_on(who, space), action, reason=f"service:{service.oid};{reason}")
    _commit(deps, Entry(space, traces=[trace], staged=[
        deps.spaces.open_condition(space), deps.store.staged_pairing(pairing, previous),
        deps.store.staged_revocation(pairing.pairing_id, pairing.version, now)]))
    return pairing


def set_purpose(deps: CatalogueDeps, who: object, space: str, oid: str, code: str,
                consent: bool) -> tuple[Service, Pairing]:
    """Switch one purpose on or off. Off for the last granted one is refused: the holder unpairs instead (C.2)."""
    service, previous = _active(deps, space, oid)
    if service.version(previous.acknowledged_version).purpose(code) is None:
        raise NotFound("purpose")
    granted = set(previous.granted(service))
    if consent == (code in granted):
        return service, previous
    if not consent and granted == {code}:
        raise Conflict("this is the last purpose still accepted: unpair the service instead",
                       code="last_purpose_unpair_instead")
    consented = set(previous.consented) | {code} if consent else set(previous.consented) - {code}
    pairing = previous.model_copy(update={"consented": tuple(sorted(consented))})
    return service, _change(deps, who, space, service, previous, pairing, TraceAction.SERVICE_CONSENT_CHANGED,
                            f"purpose:{code};{'on' if consent else 'off'}")


def acknowledge(deps: CatalogueDeps, who: object, space: str, oid: str) -> tuple[Service, Pairing]:
    """Accept the service's current version: purposes it added are granted, those it dropped are gone, those the
    holder had switched off stay off."""
    service, previous = _active(deps, space, oid)
    if previous.is_acknowledged(service):
        return service, previous
    old = service.version(previous.acknowledged_version).codes
    current = service.current.codes
    consented = (set(previous.consented) & current) | (current - old)
    if not consented:
        raise Conflict("no purpose is current any more after the service's update: unpair it instead",
                       code="no_current_purpose")
    pairing = previous.model_copy(update={"consented": tuple(sorted(consented)),
                                          "acknowledged_version": service.current.version})
    return service, _change(deps, who, space, service, previous, pairing, TraceAction.SERVICE_ACKNOWLEDGED,
                            f"version:{service.current.version}")


def unpair(deps: CatalogueDeps, who: object, space: str, oid: str) -> None:
    """Unpair (a SUSPENDUE service too): its tokens are refused at once, its refresh token is dead."""
    service, _ = _active(deps, space, oid)
    end_pairing(deps, service, space, "unpaired_by_holder", Actor.acting_on(who, space))
