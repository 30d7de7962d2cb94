"""Service access tokens: recognised by their issuer, verified by signature, audience, expiry and the revocation
snapshot (pairing version, suspended service), which is read at most once a minute."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from functions.identity.principal import Service, from_context, to_context
from functions.identity.service_tokens import CachedRevocations, ServiceTokenVerifier
from functions.shared.errors import Unauthenticated
from tests.unit.fakes import FakePairings

ISSUER = "https://mes.local/oauth"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OID = "1.2.250.1.999.1"


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": "mes-fhir", "sub": "idpe-1", "oid": OID, "pid": "pair-1", "pv": 2,
            "scope": "22 11", "iat": now, "exp": now + 300, "jti": "j1"}
    base.update(over)
    return base


def sign(body: dict[str, Any], key: Any = KEY, alg: str = "RS256") -> str:
    return jwt.encode(body, key, algorithm=alg)


def verifier(pairings: FakePairings | None = None) -> ServiceTokenVerifier:
    return ServiceTokenVerifier(ISSUER, KEY.public_key, pairings or FakePairings())


def refused(token: str, pairings: FakePairings | None = None) -> str:
    with pytest.raises(Unauthenticated) as caught:
        verifier(pairings).verify(token)
    return caught.value.code


def test_a_valid_token_names_the_service_the_pairing_and_its_purposes() -> None:
    who = verifier().verify(sign(claims()))
    assert (who.oid, who.id_pe, who.pairing, who.pv, who.purposes) == (OID, "idpe-1", "pair-1", 2,
                                                                       frozenset({"11", "22"}))
    assert from_context(dict(to_context(who))) == who


def test_only_our_issuer_is_recognised() -> None:
    assert verifier().recognises(sign(claims()))
    assert not verifier().recognises(sign(claims(iss="https://dev-issuer.localhost/pro")))
    assert not verifier().recognises("not-a-jwt")


def test_signature_audience_expiry_and_claims_are_checked() -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refused(sign(claims(), key=other)) == "bad_signature"
    assert refused(sign(claims(aud="mes-api"))) == "wrong_audience"
    assert refused(sign(claims(exp=int(time.time()) - 120))) == "token_expired"
    assert refused(sign({k: v for k, v in claims().items() if k != "pid"})) == "missing_claim"
    assert refused(sign(claims(oid="not an oid"))) == "missing_claim"
    assert refused(sign(claims(), key="a-shared-secret-of-32-bytes-or-more!", alg="HS256")) == "unsupported_algorithm"


def test_a_revoked_pairing_or_a_suspended_service_is_refused() -> None:
    pairings = FakePairings()
    pairings.revoke("pair-1", 3)
    assert refused(sign(claims()), pairings) == "pairing_revoked"
    assert verifier(pairings).verify(sign(claims(pv=3))).pv == 3
    pairings.revoke(f"svc:{OID}", int(time.time()) + 10)
    assert refused(sign(claims(pv=3)), pairings) == "service_suspended"


def test_an_ended_pairing_refuses_every_version_of_its_tokens() -> None:
    """The catalogue ends a pairing with a negative minimum (DEAD): the check read it as "version -1 and up alive"
    and let the ended pairing's tokens through the edge."""
    pairings = FakePairings()
    pairings.revoke("pair-1", -1)
    assert refused(sign(claims()), pairings) == "pairing_revoked"
    assert refused(sign(claims(pv=7)), pairings) == "pairing_revoked"


def test_the_revocation_snapshot_is_read_at_most_once_a_minute() -> None:
    pairings, at = FakePairings(), [0.0]
    cached = CachedRevocations(pairings, ttl=60, now=lambda: at[0])
    assert cached.snapshot() == {}
    pairings.revoke("pair-1", 3)
    at[0] = 59.0
    assert cached.snapshot() == {}  # stale for at most the bound
    at[0] = 60.0
    assert cached.snapshot() == {"pair-1": 3}


def test_a_service_principal_never_carries_an_ins() -> None:
    who = Service(oid=OID, id_pe="idpe-1", pairing="pair-1", pv=1, scope="22")
    assert "ins" not in to_context(who) and who.pseudonym != who.id_pe


def test_a_services_traces_name_it_by_its_oid_as_service_tiers() -> None:
    from functions.journal.models import Actor

    actor = Actor.of(Service(oid=OID, id_pe="idpe-1", pairing="pair-1", pv=1, scope="22", name="GlucoApp"))
    assert (actor.kind, actor.id, actor.name) == ("SERVICE_TIERS", OID, "GlucoApp")


def test_an_apps_idpe_is_resolved_once_a_minute_and_an_unknown_one_every_time() -> None:
    from functions.identity.service_tokens import CachedDirectory

    pairings, at = FakePairings(), [0.0]
    directory = CachedDirectory(pairings, ttl=60, now=lambda: at[0])
    assert directory.resolve(OID, "idpe-1") is None
    pairings.pair(OID, "idpe-1", "284067512345688")
    assert directory.resolve(OID, "idpe-1") == "284067512345688"  # a pairing made a moment ago resolves at once
    for _ in range(5):
        assert directory.resolve(OID, "idpe-1") == "284067512345688"
    assert pairings.resolved == 2  # a batch of writes of one app read the directory once
    pairings.unpair(OID, "idpe-1")
    at[0] = 60.0
    assert directory.resolve(OID, "idpe-1") is None  # at most the revocation snapshot's bound
