"""The pairing's rules on fakes: PKCE, the client assertion's checks, code and refresh-token single use with
rotation and reuse detection, the pairwise idPe, consents per purpose, new versions, suspension and
dereferencing."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from functions.accounts.models import Space, SpaceStatus
from functions.catalogue import oauth, operations, service
from functions.catalogue.models import (
    AuthorizationCode,
    Catalogue,
    Pairing,
    PairingState,
    RefreshToken,
    Service,
    ServiceStatus,
    StatusChange,
)
from functions.catalogue.service import AuthorizationRequest, CatalogueDeps, TokenRequest
from functions.identity.principal import Citizen
from functions.shared.clock import FixedClock
from functions.shared.errors import Conflict, NotFound
from functions.shared.oauth import OAuthError
from functions.shared.staging import Staged, WriteSink
from tests.unit.fakes import FakeJournal, FakeSpaceDirectory, FakeWrite

NOW = datetime.now(UTC).replace(microsecond=0)  # the tokens issued are checked by PyJWT against the wall clock
OID = "1.2.250.1.213.4.99.1"
OTHER_OID = "1.2.250.1.213.4.99.2"
REDIRECT = "https://app.example.test/cb"
ISSUER = "https://mes.local/oauth"
INS = "284067512345688"
APP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
MES_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PURPOSES = [{"code": "22", "label": "Ajouter mon poids", "action": "write", "measure_codes": ["29463-7"]},
            {"code": "11", "label": "Consulter mon poids", "action": "read", "measure_codes": ["29463-7"]}]


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "alg": "RS256"}


def a_service(oid: str = OID, status: str = "EN_LIGNE", versions: list[dict[str, Any]] | None = None) -> Service:
    return Service.model_validate({
        "oid": oid, "name": f"App {oid[-1]}", "editor": {"name": "Tests"}, "description": "x",
        "economical_model": "GRATUIT", "status": status, "redirect_uris": [REDIRECT],
        "jwks": {"keys": [jwk(APP_KEY, "k1")]},
        "versions": versions or [{"version": 1, "purposes": PURPOSES}]})


@dataclass
class FakePairingStore:
    """PairingStore in memory, with the adapter's conditions on staged writes."""

    pairings_by_key: dict[tuple[str, str], Pairing] = field(default_factory=dict)
    directory: dict[tuple[str, str], str] = field(default_factory=dict)
    codes: dict[str, tuple[AuthorizationCode, str | None]] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    jtis: set[tuple[str, str]] = field(default_factory=set)
    revoked: dict[str, int] = field(default_factory=dict)
    status_overrides: dict[str, ServiceStatus] = field(default_factory=dict)
    status_log: list[StatusChange] = field(default_factory=list)

    def pairing(self, holder_ins: str, oid: str) -> Pairing | None:
        return self.pairings_by_key.get((holder_ins, oid))

    def pairings(self, holder_ins: str) -> list[Pairing]:
        return [p for (h, _), p in self.pairings_by_key.items() if h == holder_ins]

    def pairings_of_service(self, oid: str, after: str | None, limit: int) -> tuple[list[Pairing], str | None]:
        found = sorted((p for p in self.pairings_by_key.values()
                        if p.oid == oid and p.state is PairingState.ACTIVE), key=lambda p: p.holder_ins)
        found = [p for p in found if after is None or p.holder_ins > after][:limit]
        return found, (found[-1].holder_ins if len(found) == limit else None)

    def pairings_in_cycle(self, slot: int, shard: int, after: str | None,
                          limit: int) -> tuple[list[Pairing], str | None]:
        from functions.catalogue.models import summary_cycle

        found = [p for p in self.pairings_by_key.values()
                 if p.state is PairingState.ACTIVE and summary_cycle(p.holder_ins) == (slot, shard)]
        return found, None

    def commit_once(self, staged: Sequence[Staged]) -> bool:
        from functions.shared.dynamo import TransactionCancelled

        try:
            self.commit(staged)
        except TransactionCancelled:
            return False
        return True

    def _staged(self, label: str, apply: Any, ok: Any = lambda: True) -> Staged:
        @dataclass(frozen=True)
        class _S:
            def stage(self, tx: WriteSink) -> None:
                tx.put(label, FakeWrite(apply=apply, ok=ok))
        return _S()

    def staged_pairing(self, pairing: Pairing, previous: Pairing | None) -> Staged:
        key = (pairing.holder_ins, pairing.oid)

        def apply() -> None:
            self.pairings_by_key[key] = pairing
            if pairing.state is PairingState.ACTIVE:
                self.directory[(pairing.oid, pairing.id_pe)] = pairing.holder_ins
            else:
                self.directory.pop((pairing.oid, pairing.id_pe), None)

        def ok() -> bool:
            current = self.pairings_by_key.get(key)
            return current is None if previous is None else (current is not None
                                                             and current.version == previous.version)
        return self._staged("pairing", apply, ok)

    def resolve(self, oid: str, id_pe: str) -> str | None:
        return self.directory.get((oid, id_pe))

    def staged_revocation(self, key: str, min_version: int, at: datetime) -> Staged:
        return self._staged("revocation", lambda: self.revoked.__setitem__(key, min_version))

    def snapshot(self) -> dict[str, int]:
        return dict(self.revoked)

    def staged_code(self, code_hash: str, code: AuthorizationCode) -> Staged:
        return self._staged("code", lambda: self.codes.__setitem__(code_hash, (code, None)))

    def code(self, code_hash: str) -> tuple[AuthorizationCode, str | None] | None:
        return self.codes.get(code_hash)

    def staged_code_use(self, code_hash: str, family: str) -> Staged:
        def apply() -> None:
            self.codes[code_hash] = (self.codes[code_hash][0], family)
        return self._staged("code", apply, lambda: code_hash in self.codes and self.codes[code_hash][1] is None)

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        return self.refresh.get(token_hash)

    def staged_refresh_token(self, token_hash: str, token: RefreshToken) -> Staged:
        return self._staged("refresh_token", lambda: self.refresh.__setitem__(token_hash, token))

    def staged_refresh_use(self, token_hash: str) -> Staged:
        def apply() -> None:
            self.refresh[token_hash] = self.refresh[token_hash].model_copy(update={"state": "used"})
        return self._staged("refresh_use", apply, lambda: self.refresh[token_hash].state == "current")

    def use_assertion_id(self, oid: str, jti: str, expires_at: datetime) -> bool:
        if (oid, jti) in self.jtis:
            return False
        self.jtis.add((oid, jti))
        return True

    def statuses(self) -> dict[str, ServiceStatus]:
        return dict(self.status_overrides)

    def staged_status(self, change: StatusChange) -> Staged:
        def apply() -> None:
            self.status_overrides[change.oid] = change.status
            self.status_log.append(change)
        return self._staged("status", apply)

    def status_history(self, oid: str) -> list[StatusChange]:
        return [c for c in self.status_log if c.oid == oid]

    def commit(self, staged: Sequence[Staged]) -> None:
        from tests.unit.fakes import FakeTransaction

        tx = FakeTransaction()
        for s in staged:
            s.stage(tx)
        tx.commit()


class LocalSigner:
    """The KMS key's stand-in: RS256 with a key held here."""

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, MES_KEY, algorithm="RS256")


@dataclass
class World:
    deps: CatalogueDeps
    store: FakePairingStore
    journal: FakeJournal
    spaces: FakeSpaceDirectory
    clock: FixedClock


@pytest.fixture
def world() -> World:
    store, journal, spaces, clock = FakePairingStore(), FakeJournal(), FakeSpaceDirectory(), FixedClock(NOW)
    for ins in (INS, "184067512345699"):
        spaces.open(Space(ins=ins, status=SpaceStatus.OPEN, created_at=NOW, birth_date=date(2010, 3, 4)))
    cat = Catalogue(version="test", services=(a_service(), a_service(OTHER_OID)))
    deps = CatalogueDeps(store=store, journal=journal, spaces=spaces, signer=LocalSigner(), clock=clock,
                         published=lambda: cat, issuer=ISSUER)
    return World(deps, store, journal, spaces, clock)


def use(w: World, *services: Service) -> None:
    cat = Catalogue(version="test", services=services)
    w.deps = CatalogueDeps(store=w.store, journal=w.journal, spaces=w.spaces, signer=LocalSigner(), clock=w.clock,
                           published=lambda: cat, issuer=ISSUER)


def assertion(w: World, key: rsa.RSAPrivateKey = APP_KEY, kid: str = "k1", **over: Any) -> str:
    now = int(w.clock.now().timestamp())
    claims = {"iss": OID, "sub": OID, "aud": f"{ISSUER}/token", "iat": now, "exp": now + 60,
              "jti": secrets.token_hex(8), **over}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def request(verifier: str, oid: str = OID) -> AuthorizationRequest:
    return AuthorizationRequest(response_type="code", client_id=oid, redirect_uri=REDIRECT, scope="22 11",
                                state="s", code_challenge=oauth.challenge_of(verifier),
                                code_challenge_method="S256")


def paired(w: World, accepted: tuple[str, ...] = ("22", "11"), ins: str = INS, oid: str = OID) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(40)
    redirect = service.authorize(w.deps, Citizen(ins=ins), ins, request(verifier, oid), accepted)
    return parse_qs(urlsplit(redirect).query)["code"][0], verifier


def by_code(w: World, code: str, verifier: str, **over: Any) -> Any:
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier,
              "client_assertion_type": oauth.ASSERTION_TYPE, "client_assertion": assertion(w), **over}
    return service.issue_tokens(w.deps, TokenRequest(**fields))


def by_refresh(w: World, refresh: str) -> Any:
    return service.issue_tokens(w.deps, TokenRequest(
        grant_type="refresh_token", refresh_token=refresh, client_assertion_type=oauth.ASSERTION_TYPE,
        client_assertion=assertion(w)))


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, MES_KEY.public_key(), algorithms=["RS256"], audience="mes-fhir",
                                         issuer=ISSUER)
    return decoded


# ---- PKCE -----------------------------------------------------------------------------------------------------


def test_pkce_s256_matches_the_rfc_7636_example_and_nothing_else() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth.challenge_of(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert oauth.pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not oauth.pkce_matches(verifier[:-1] + "l", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not oauth.pkce_matches("short", oauth.challenge_of("short"))
    assert not oauth.pkce_matches(None, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not oauth.valid_challenge(verifier, "plain")


def test_an_authorization_without_s256_is_refused(world: World) -> None:
    plain = request(secrets.token_urlsafe(40)).model_copy(update={"code_challenge_method": "plain"})
    with pytest.raises(OAuthError) as refused:
        service.check_authorization(world.deps, plain)
    assert refused.value.error == "invalid_request"


def test_a_wrong_verifier_is_invalid_grant_and_the_code_stays_unused(world: World) -> None:
    code, verifier = paired(world)
    with pytest.raises(OAuthError) as refused:
        by_code(world, code, secrets.token_urlsafe(40))
    assert refused.value.error == "invalid_grant"
    assert by_code(world, code, verifier).access_token


# ---- the client assertion ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("over", "why"), [
    ({"aud": "https://elsewhere.example/token"}, "aud"),
    ({"exp": int(NOW.timestamp()) - 120}, "expired"),
    ({"exp": int(NOW.timestamp()) + 3600}, "5 minutes"),
    ({"sub": OTHER_OID}, "sub"),
])
def test_a_client_assertion_breaking_a_rule_is_invalid_client(world: World, over: dict[str, Any], why: str) -> None:
    code, verifier = paired(world)
    with pytest.raises(OAuthError) as refused:
        by_code(world, code, verifier, client_assertion=assertion(world, **over))
    assert (refused.value.error, refused.value.status) == ("invalid_client", 401)
    assert why in refused.value.description


def test_an_assertion_signed_by_a_key_not_registered_is_invalid_client(world: World) -> None:
    code, verifier = paired(world)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for forged in (assertion(world, key=stranger), assertion(world, key=stranger, kid="unknown")):
        with pytest.raises(OAuthError) as refused:
            by_code(world, code, verifier, client_assertion=forged)
        assert refused.value.error == "invalid_client"


def test_a_reused_jti_is_invalid_client(world: World) -> None:
    code, verifier = paired(world)
    once = assertion(world)
    by_code(world, code, verifier, client_assertion=once)
    code2, verifier2 = paired(world)
    with pytest.raises(OAuthError) as refused:
        by_code(world, code2, verifier2, client_assertion=once)
    assert refused.value.error == "invalid_client" and "jti" in refused.value.description


def test_a_token_request_of_one_service_cannot_use_anothers_code(world: World) -> None:
    code, verifier = paired(world, oid=OTHER_OID)
    with pytest.raises(OAuthError) as refused:
        by_code(world, code, verifier)  # authenticated as OID
    assert refused.value.error == "invalid_grant"


# ---- codes and refresh tokens -------------------------------------------------------------------------------------


def test_a_code_lives_sixty_seconds(world: World) -> None:
    code, verifier = paired(world)
    world.clock.at = NOW + timedelta(seconds=61)
    with pytest.raises(OAuthError) as refused:
        by_code(world, code, verifier)
    assert refused.value.error == "invalid_grant"


def test_refresh_tokens_rotate_and_a_replayed_one_ends_the_pairing(world: World) -> None:
    code, verifier = paired(world)
    first = by_code(world, code, verifier)
    second = by_refresh(world, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    third = by_refresh(world, second.refresh_token)
    with pytest.raises(OAuthError):
        by_refresh(world, first.refresh_token)  # stolen and replayed after rotation
    pairing = world.store.pairing(INS, OID)
    assert pairing is not None and pairing.state is PairingState.REVOKED
    assert world.store.revoked[pairing.pairing_id] == -1
    with pytest.raises(OAuthError):
        by_refresh(world, third.refresh_token)  # the honest copy is dead too
    assert world.store.resolve(OID, pairing.id_pe) is None


def test_issuing_tokens_is_traced_as_the_service(world: World) -> None:
    code, verifier = paired(world)
    by_code(world, code, verifier)
    actors = [(t.action.value, t.actor.kind) for t in world.journal.traces[INS]]
    assert actors == [("service.paired", "patient"), ("service.token_issued", "SERVICE_TIERS")]


# ---- the pairwise idPe ----------------------------------------------------------------------------------------


def test_the_id_pe_is_pairwise_stable_and_never_the_ins(world: World) -> None:
    code, verifier = paired(world)
    here = claims(by_code(world, code, verifier).access_token)["sub"]
    code2, verifier2 = paired(world, oid=OTHER_OID)
    there = service.issue_tokens(world.deps, TokenRequest(
        grant_type="authorization_code", code=code2, redirect_uri=REDIRECT, code_verifier=verifier2,
        client_assertion_type=oauth.ASSERTION_TYPE,
        client_assertion=assertion(world, iss=OTHER_OID, sub=OTHER_OID)))
    assert here != claims(there.access_token)["sub"]
    assert here == service.pairwise_id(INS, OID) != service.pairwise_id("184067512345699", OID)
    assert INS not in here and world.store.resolve(OID, here) == INS


# ---- consents ---------------------------------------------------------------------------------------------------


def test_switching_off_a_purpose_revokes_older_tokens_but_never_the_last(world: World) -> None:
    code, verifier = paired(world)
    issued = by_code(world, code, verifier)
    before = claims(issued.access_token)
    assert before["scope"] == "11 22"
    _, pairing = service.set_purpose(world.deps, Citizen(ins=INS), INS, OID, "11", False)
    assert world.store.revoked[pairing.pairing_id] == before["pv"] + 1
    with pytest.raises(Conflict) as last:
        service.set_purpose(world.deps, Citizen(ins=INS), INS, OID, "22", False)
    assert last.value.code == "last_purpose_unpair_instead"
    assert claims(by_refresh(world, issued.refresh_token).access_token)["scope"] == "22"
    with pytest.raises(NotFound):
        service.set_purpose(world.deps, Citizen(ins=INS), INS, OID, "77", True)


def test_a_new_version_grants_nothing_new_until_acknowledged(world: World) -> None:
    code, verifier = paired(world, accepted=("22",))
    issued = by_code(world, code, verifier)
    glucose = {"code": "21", "label": "Ajouter ma glycémie", "action": "write", "measure_codes": ["2339-0"]}
    use(world, a_service(versions=[{"version": 1, "purposes": PURPOSES},
                                   {"version": 2, "purposes": [*PURPOSES, glucose]}]))
    found, sync = service.service_detail(world.deps, INS, OID)
    assert sync.is_synchronized and not sync.is_acknowledged
    assert claims(by_refresh(world, issued.refresh_token).access_token)["scope"] == "22"
    _, pairing = service.acknowledge(world.deps, Citizen(ins=INS), INS, OID)
    assert pairing.granted(found) == ("21", "22")  # what they had switched off (11) stays off


def test_a_representatives_pairing_carries_a_reapproval_date(world: World) -> None:
    parent = Citizen(ins="184067512345699")
    verifier = secrets.token_urlsafe(40)
    service.authorize(world.deps, parent, INS, request(verifier), ("22",))
    pairing = world.store.pairing(INS, OID)
    assert pairing is not None and pairing.by_representative
    assert pairing.reapproval_limit_date == date(2028, 3, 4) + service.REAPPROVAL_DELAY


# ---- suspension and dereferencing ---------------------------------------------------------------------------------


def test_suspension_bites_at_once_and_dereferencing_ends_every_pairing(world: World) -> None:
    code, verifier = paired(world)
    issued = by_code(world, code, verifier)
    paired(world, ins="184067512345699")
    operations.change_status(world.deps, OID, ServiceStatus.SUSPENDUE, "ops-jeanne")
    assert world.store.revoked[f"svc:{OID}"] > NOW.timestamp()
    with pytest.raises(OAuthError) as refused:
        by_refresh(world, issued.refresh_token)
    assert refused.value.error == "unauthorized_client"
    service.unpair(world.deps, Citizen(ins=INS), INS, OID)  # a suspended service can still be unpaired
    ended = operations.change_status(world.deps, OID, ServiceStatus.DEREFERENCEE, "ops-jeanne")
    assert ended == 1
    other = world.store.pairing("184067512345699", OID)
    assert other is not None and other.state is PairingState.ENDED
    assert world.store.revoked[other.pairing_id] == -1
    assert [s.oid for s, _ in service.list_services(world.deps, INS)] == [OTHER_OID]


def test_every_status_change_is_traced_with_its_operator_and_what_it_replaced(world: World) -> None:
    published = world.deps.published()
    operations.change_status(world.deps, OID, ServiceStatus.SUSPENDUE, "ops-jeanne")
    operations.change_status(world.deps, OID, ServiceStatus.EN_LIGNE, "ops-karim")
    history = world.store.status_history(OID)
    assert [(c.previous, c.status, c.operator) for c in history] == [
        (ServiceStatus.EN_LIGNE, ServiceStatus.SUSPENDUE, "ops-jeanne"),
        (ServiceStatus.SUSPENDUE, ServiceStatus.EN_LIGNE, "ops-karim")]
    assert all(c.catalogue_version == published.version and c.at == NOW for c in history)
    assert world.store.status_history(OTHER_OID) == []
    with pytest.raises(NotFound):
        operations.change_status(world.deps, "1.2.250.1.999.9", ServiceStatus.SUSPENDUE, "ops-jeanne")
    assert len(world.store.status_history(OID)) == 2


# ---- the 90-day summary -------------------------------------------------------------------------------------------


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, emails: list[Any]) -> int:
        self.sent.extend(emails)
        return 0


def test_the_ninety_day_summary_lists_paired_services_once_unless_switched_off(world: World) -> None:
    from functions.catalogue.models import summary_cycle
    from functions.catalogue.summary import SummaryDeps, send_summaries
    from functions.notifications.delivery import ClaimThenSend
    from functions.notifications.models import Channels, NotificationPreferences, PreferenceCode
    from tests.unit.fakes import FakeNotificationStore

    other = "184067512345699"
    world.spaces.spaces[INS] = world.spaces.spaces[INS].model_copy(update={"email": "a@example.fr"})
    world.spaces.spaces[other] = world.spaces.spaces[other].model_copy(update={"email": "b@example.fr"})
    paired(world)
    paired(world, oid=OTHER_OID)
    paired(world, ins=other)
    notifications, mailer = FakeNotificationStore(), FakeMailer()
    notifications.prefs[other] = NotificationPreferences(
        channels={PreferenceCode.NOTIF_SYNCHRONIZED_SERVICE: Channels(in_app=True, email=False)})
    deps = SummaryDeps(store=world.store, spaces=world.spaces, notifications=notifications,
                       email=ClaimThenSend(notifications, mailer), clock=world.clock, published=world.deps.published)
    def summary_day(ins: str) -> date:
        slot, _ = summary_cycle(ins)
        return next(d for d in (date(2027, 1, 1) + timedelta(days=i) for i in range(90)) if d.toordinal() % 90 == slot)

    day = summary_day(INS)
    report = send_summaries(deps, day)
    mine = [n for (r, _), (n, _) in notifications.items.items() if r == INS]
    assert [n.wording().text.split(" : ")[1].split(".")[0] for n in mine] == ["App 1, App 2"]
    assert [e.address for e in mailer.sent] == ["a@example.fr"]
    again = send_summaries(deps, day)  # a rerun of the day notifies nobody twice
    assert (report.notified, again.notified, len(mailer.sent)) == (1, 0, 1)
    assert send_summaries(deps, summary_day(other)).notified == 0  # e-mail switched off: no summary
    assert not any(r == other for r, _ in notifications.items)
