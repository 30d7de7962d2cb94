"""Token verification: every way to forge or misuse a token is a 401 (security-tests.md, Authentication)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from functions.identity.principal import Citizen, Organisation, Professional, Service
from functions.identity.service import authenticate
from functions.identity.tokens import TokenVerifier
from functions.shared.errors import Unauthenticated
from functions.shared.settings import IssuerSettings

CITIZEN = IssuerSettings(issuer="https://citizen.example", audience="mes", jwks_uri="https://citizen.example/jwks")
PRO = IssuerSettings(issuer="https://pro.example", audience="mes", jwks_uri="https://pro.example/jwks")
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ROGUE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "k1"


def lookup(issuer: IssuerSettings, kid: str) -> Any:
    if kid != KID:
        raise jwt.PyJWKClientError(f'Unable to find a signing key that matches: "{kid}"')
    return KEY.public_key()


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": CITIZEN.issuer, "aud": "mes", "sub": "pairwise-1", "iat": now, "nbf": now, "exp": now + 600}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], key: Any = KEY, kid: str | None = KID, alg: str = "RS256") -> str:
    headers = {"kid": kid} if kid else {}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


class Logins:
    def __init__(self, links: dict[tuple[str, str], str]) -> None:
        self.links = links

    def resolve_login(self, issuer: str, subject: str) -> str | None:
        return self.links.get((issuer, subject))


VERIFIER = TokenVerifier([CITIZEN, PRO], keys=lookup)
LOGINS = Logins({(CITIZEN.issuer, "pairwise-1"): "284067512345688"})


def auth(token: str) -> Citizen | Professional | Organisation | Service:
    return authenticate(VERIFIER, CITIZEN.issuer, LOGINS, f"Bearer {token}")


def test_a_valid_citizen_token_resolves_to_the_linked_ins() -> None:
    assert auth(sign(claims())) == Citizen(ins="284067512345688")


def test_a_valid_professional_token_carries_rpps_profession_and_finess() -> None:
    who = auth(sign(claims(iss=PRO.issuer, rpps="10000000001", profession="10", finess="750000001")))
    assert who == Professional(rpps="10000000001", profession="10", finess="750000001")


def _alg_none_token() -> str:
    def b64(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{b64({'alg': 'none', 'kid': KID})}.{b64(claims())}."


def _hs256_with_public_key() -> str:
    pem = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "kid": KID, "typ": "JWT"}

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    import hashlib
    import hmac

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda: sign(claims(iss="https://evil.example")), id="wrong iss"),
        pytest.param(lambda: sign(claims(aud="another-api")), id="wrong aud"),
        pytest.param(lambda: sign(claims(exp=int(time.time()) - 120, iat=int(time.time()) - 900)), id="expired"),
        pytest.param(lambda: sign(claims(exp=None)), id="no exp"),
        pytest.param(lambda: sign(claims(nbf=int(time.time()) + 600)), id="not yet valid"),
        pytest.param(lambda: sign(claims(sub=None)), id="no sub"),
        pytest.param(_alg_none_token, id="alg none"),
        pytest.param(_hs256_with_public_key, id="HS256 signed with the public key"),
        pytest.param(lambda: sign(claims(), kid="unknown"), id="unknown kid"),
        pytest.param(lambda: sign(claims(), kid=None), id="no kid"),
        pytest.param(lambda: sign(claims(), key=ROGUE), id="another key under a known kid"),
        pytest.param(lambda: "not.a.jwt", id="garbage"),
        pytest.param(lambda: sign(claims(iss=PRO.issuer, rpps="123")), id="professional without valid claims"),
        pytest.param(lambda: sign(claims(sub="not-linked")), id="citizen login without a space"),
    ],
)
def test_forged_or_misused_tokens_are_unauthenticated(make_token: Any) -> None:
    with pytest.raises(Unauthenticated):
        auth(make_token())


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer"])
def test_missing_or_non_bearer_authorization_is_unauthenticated(header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        authenticate(VERIFIER, CITIZEN.issuer, LOGINS, header)


# ---- issue 9.3: the algorithm comes from the key and the issuer, never from the token header alone -------------

EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC_P384 = ec.generate_private_key(ec.SECP384R1())


def verifier_with(key: Any, *issuers: IssuerSettings) -> TokenVerifier:
    def only(issuer: IssuerSettings, kid: str) -> Any:
        return key

    return TokenVerifier(list(issuers) or [CITIZEN, PRO], keys=only)


def pro_claims() -> dict[str, Any]:
    return claims(iss=PRO.issuer, rpps="10000000001", profession="10", finess="750000001")


def test_an_es256_token_under_the_rsa_kid_is_unauthenticated_not_a_crash() -> None:
    forged = sign(claims(), key=EC_KEY, alg="ES256")
    with pytest.raises(Unauthenticated):
        auth(forged)


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_an_rsa_key_verifies_rs256_and_ps256(alg: str) -> None:
    assert auth(sign(claims(), alg=alg)) == Citizen(ins="284067512345688")


def test_an_ec_p256_key_verifies_es256_and_nothing_else() -> None:
    verifier = verifier_with(EC_KEY.public_key())
    assert verifier.verify(sign(pro_claims(), key=EC_KEY, alg="ES256")).subject == "pairwise-1"
    for forged in (sign(pro_claims(), key=KEY, alg="RS256"), sign(pro_claims(), key=KEY, alg="PS256")):
        with pytest.raises(Unauthenticated):
            verifier.verify(forged)


def test_an_ec_key_on_another_curve_verifies_nothing() -> None:
    verifier = verifier_with(EC_P384.public_key())
    for forged in (sign(pro_claims(), key=EC_P384, alg="ES384"), sign(pro_claims(), key=EC_KEY, alg="ES256")):
        with pytest.raises(Unauthenticated):
            verifier.verify(forged)


def test_an_algorithm_the_issuer_does_not_allow_is_unauthenticated() -> None:
    rs256_only = IssuerSettings(issuer=PRO.issuer, audience="mes", jwks_uri=PRO.jwks_uri, algorithms=("RS256",))
    verifier = verifier_with(KEY.public_key(), rs256_only)
    assert verifier.verify(sign(pro_claims(), alg="RS256")).issuer == PRO.issuer
    with pytest.raises(Unauthenticated):
        verifier.verify(sign(pro_claims(), alg="PS256"))


@pytest.mark.parametrize("failure", [TypeError("Expecting a PEM-formatted key."), ValueError("bad jwk"),
                                     jwt.PyJWKClientError("jwks unreachable"), RuntimeError("anything"),
                                     jwt.InvalidKeyError("wrong key")])
def test_any_failure_inside_verification_is_unauthenticated(failure: Exception) -> None:
    def broken(issuer: IssuerSettings, kid: str) -> Any:
        raise failure

    with pytest.raises(Unauthenticated):
        TokenVerifier([CITIZEN], keys=broken).verify(sign(claims()))


@pytest.mark.parametrize("key", ["a PEM string", b"raw bytes", None, 42])
def test_a_key_that_is_not_an_rsa_or_ec_public_key_verifies_nothing(key: Any) -> None:
    with pytest.raises(Unauthenticated):
        verifier_with(key).verify(sign(claims()))


@pytest.mark.parametrize("kid", [42, ["k1"], {"k": 1}])
def test_a_kid_that_is_not_a_string_is_unauthenticated(kid: Any) -> None:
    with pytest.raises(Unauthenticated):
        auth(_with_header({"alg": "RS256", "kid": kid}))


def _with_header(header: dict[str, Any]) -> str:
    def b64(d: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{b64(header)}.{b64(claims())}.{b64('not a signature')}"


# ---- issue 9.11: identifiers are ASCII digits only ------------------------------------------------------------

FULLWIDTH = str.maketrans("0123456789", "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19")
ARABIC_INDIC = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")


@pytest.mark.parametrize("digits", [FULLWIDTH, ARABIC_INDIC])
@pytest.mark.parametrize("field", ["rpps", "profession"])
def test_rpps_and_profession_in_non_ascii_digits_are_refused(digits: dict[int, str], field: str) -> None:
    from pydantic import ValidationError

    from functions.access.api import RppsIn
    from functions.access.models import PatientSettings

    valid = {"rpps": "10000000003", "profession": "10", "finess": "750000001"}
    with pytest.raises(ValidationError):
        Professional.model_validate({**valid, field: valid[field].translate(digits)})
    with pytest.raises(Unauthenticated):
        auth(sign(claims(iss=PRO.issuer, **{**valid, field: valid[field].translate(digits)})))
    if field == "rpps":
        with pytest.raises(ValidationError):
            RppsIn.model_validate({"rpps": "10000000003".translate(digits)})
        with pytest.raises(ValidationError):
            PatientSettings.model_validate({"general_practitioner": "10000000003".translate(digits)})


# ---- issue 14.5: a refused token says why (a stable code for the JSON error and the RFC 6750 description) -------


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        pytest.param(lambda: sign(claims(iss="https://evil.example")), "unknown_issuer", id="wrong iss"),
        pytest.param(lambda: sign(claims(aud="another-api")), "wrong_audience", id="wrong aud"),
        pytest.param(lambda: sign(claims(exp=int(time.time()) - 120, iat=int(time.time()) - 900)), "token_expired",
                     id="expired"),
        pytest.param(lambda: sign(claims(exp=None)), "missing_claim", id="no exp"),
        pytest.param(lambda: sign(claims(nbf=int(time.time()) + 600)), "token_not_yet_valid", id="not yet valid"),
        pytest.param(_alg_none_token, "unsupported_algorithm", id="alg none"),
        pytest.param(_hs256_with_public_key, "unsupported_algorithm", id="HS256 signed with the public key"),
        pytest.param(lambda: sign(claims(), kid="unknown"), "unknown_key", id="unknown kid"),
        pytest.param(lambda: sign(claims(), kid=None), "unknown_key", id="no kid"),
        pytest.param(lambda: sign(claims(), key=ROGUE), "bad_signature", id="another key under a known kid"),
        pytest.param(lambda: "not.a.jwt", "malformed_token", id="garbage"),
        pytest.param(lambda: sign(claims(iss=PRO.issuer, rpps="123")), "missing_claim", id="bad professional claims"),
        pytest.param(lambda: sign(claims(sub="not-linked")), "login_not_linked", id="citizen login without a space"),
    ],
)
def test_a_refused_token_names_the_reason(make_token: Any, code: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        auth(make_token())
    assert refused.value.code == code


def test_no_bearer_token_is_missing_token() -> None:
    with pytest.raises(Unauthenticated) as refused:
        authenticate(VERIFIER, CITIZEN.issuer, LOGINS, None)
    assert refused.value.code == "missing_token"


def test_a_professional_token_brings_the_professionals_name() -> None:
    """Given Pro Santé Connect's given_name/family_name, When authenticated, Then the patient will read the name."""
    who = auth(sign(claims(iss=PRO.issuer, rpps="10000000001", profession="10", finess="750000001",
                           given_name="Claire", family_name="Martin")))
    assert isinstance(who, Professional) and who.name == "Claire Martin"
    by_name = auth(sign(claims(iss=PRO.issuer, rpps="10000000001", profession="10", finess="750000001",
                               name="Dr Claire Martin")))
    assert isinstance(by_name, Professional) and by_name.name == "Dr Claire Martin"


def test_an_organisation_token_is_the_organisation_with_its_name() -> None:
    """Given a client-credentials token (FINESS, no RPPS), Then the caller is the organisation, named."""
    who = auth(sign(claims(iss=PRO.issuer, finess="750000001", organisation_name="Hôpital Saint-Louis")))
    assert who == Organisation(finess="750000001", name="Hôpital Saint-Louis")


@pytest.mark.parametrize("raw", ["", "   ", 42, None, ["Martin"], "\u202e\n\t"])
def test_a_missing_or_unusable_name_claim_is_no_name_not_a_refusal(raw: Any) -> None:
    who = auth(sign(claims(iss=PRO.issuer, finess="750000001", organisation_name=raw)))
    assert who == Organisation(finess="750000001")


def test_a_name_claim_loses_line_breaks_and_bidi_controls_and_is_bounded() -> None:
    """A name lands in trace lists and notification titles: no line break, no right-to-left override, no essay."""
    who = auth(sign(claims(iss=PRO.issuer, finess="750000001",
                           organisation_name="Hôpital\n\u202eX\u200b  Nord " + "y" * 500)))
    assert isinstance(who, Organisation) and who.name is not None
    assert who.name.startswith("Hôpital X Nord ") and len(who.name) == 120
    assert not any(c in who.name for c in "\n\u202e\u200b")
