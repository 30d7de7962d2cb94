"""HTTP shapes of the catalogue, the OAuth endpoints and the holder's paired services."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.catalogue.models import Catalogue, Pairing, Purpose, Service, Synchronization
from functions.catalogue.service import AuthorizationRequest, TokenRequest

STRICT = ConfigDict(extra="forbid")
_TEXT = Field(default=None, max_length=2048)


class CatalogueQuery(BaseModel):
    model_config = STRICT

    thematic: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=8)


class PurposeOut(BaseModel):
    code: str
    label: str
    description: str
    action: Literal["read", "write"]
    categories: list[str]
    measure_codes: list[str]

    @classmethod
    def from_domain(cls, p: Purpose) -> PurposeOut:
        return cls(code=p.code, label=p.label, description=p.description, action=p.action,
                   categories=list(p.categories), measure_codes=list(p.measure_codes))


class SynchronizationOut(BaseModel):
    is_synchronized: bool
    is_acknowledged: bool
    reapproval_limit_date: date | None

    @classmethod
    def from_domain(cls, s: Synchronization) -> SynchronizationOut:
        return cls(is_synchronized=s.is_synchronized, is_acknowledged=s.is_acknowledged,
                   reapproval_limit_date=s.reapproval_limit_date)


class ServiceOut(BaseModel):
    """One service as the catalogue shows it; `available` false when it is SUSPENDUE (C.1) and `can_pair` false
    unless it is EN_LIGNE (a PRESERIE pilot is shown but the public cannot pair it)."""

    oid: str
    name: str
    editor: str
    description: str
    long_description: str
    web_url: str | None
    ios_url: str | None
    android_url: str | None
    cgu_url: str | None
    url_synchronisation: str | None
    economical_model: str
    consumer_device: bool
    medical_device: bool
    regions: list[str]
    thematics: list[str]
    status: str
    available: bool
    can_pair: bool
    version: int
    purposes: list[PurposeOut]
    synchronization: SynchronizationOut

    @classmethod
    def from_domain(cls, s: Service, sync: Synchronization) -> ServiceOut:
        return cls(oid=s.oid, name=s.name, editor=s.editor.name, description=s.description,
                   long_description=s.long_description, web_url=s.web_url, ios_url=s.ios_url,
                   android_url=s.android_url, cgu_url=s.cgu_url, url_synchronisation=s.url_synchronisation,
                   economical_model=s.economical_model, consumer_device=s.consumer_device,
                   medical_device=s.medical_device, regions=list(s.regions), thematics=list(s.thematics),
                   status=s.status.value, available=s.status.value != "SUSPENDUE",
                   can_pair=s.status.value == "EN_LIGNE", version=s.current.version,
                   purposes=[PurposeOut.from_domain(p) for p in s.current.purposes],
                   synchronization=SynchronizationOut.from_domain(sync))


class LabelOut(BaseModel):
    code: str
    label: str


class CatalogueOut(BaseModel):
    version: str
    thematics: list[LabelOut]
    regions: list[LabelOut]
    services: list[ServiceOut]

    @classmethod
    def from_domain(cls, cat: Catalogue, found: list[tuple[Service, Synchronization]]) -> CatalogueOut:
        return cls(version=cat.version, thematics=[LabelOut(code=t.code, label=t.label) for t in cat.thematics],
                   regions=[LabelOut(code=r.code, label=r.label) for r in cat.regions],
                   services=[ServiceOut.from_domain(s, sync) for s, sync in found])


# ---- OAuth ---------------------------------------------------------------------------------------------------


class AuthorizeQuery(BaseModel):
    """RFC 6749 4.1.1 with PKCE (RFC 7636 4.3): what the app puts in the URL it sends the person to."""

    model_config = STRICT

    response_type: str = Field(max_length=32)
    client_id: str = Field(max_length=128)
    redirect_uri: str = Field(max_length=2048)
    scope: str = Field(max_length=512)
    state: str | None = Field(default=None, max_length=512)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(max_length=16)

    def to_domain(self) -> AuthorizationRequest:
        return AuthorizationRequest.model_validate(self.model_dump())


class AuthorizeIn(AuthorizeQuery):
    """The same request, and the purposes the person accepts (at least one)."""

    accepted: list[str] = Field(min_length=1, max_length=50)


class ConsentServiceOut(BaseModel):
    oid: str
    name: str
    editor: str
    cgu_url: str | None


class ConsentScreenOut(BaseModel):
    """What the consent screen shows: who asks, for which purposes, and where the answer goes."""

    service: ConsentServiceOut
    purposes: list[PurposeOut]
    redirect_uri: str
    state: str | None

    @classmethod
    def from_domain(cls, s: Service, purposes: tuple[Purpose, ...], q: AuthorizeQuery) -> ConsentScreenOut:
        return cls(service=ConsentServiceOut(oid=s.oid, name=s.name, editor=s.editor.name, cgu_url=s.cgu_url),
                   purposes=[PurposeOut.from_domain(p) for p in purposes], redirect_uri=q.redirect_uri,
                   state=q.state)


class RedirectOut(BaseModel):
    redirect: str


class TokenIn(BaseModel):
    """The token request, form-encoded (RFC 6749 4.1.3, 6; RFC 7523 2.2)."""

    grant_type: str = Field(max_length=64)
    client_id: str | None = Field(default=None, max_length=128)
    client_assertion_type: str | None = Field(default=None, max_length=128)
    client_assertion: str | None = Field(default=None, max_length=8192)
    code: str | None = Field(default=None, max_length=256)
    redirect_uri: str | None = _TEXT
    code_verifier: str | None = Field(default=None, max_length=256)
    refresh_token: str | None = Field(default=None, max_length=256)

    def to_domain(self) -> TokenRequest:
        return TokenRequest.model_validate(self.model_dump())


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (the RFC 6750 scheme name)
    expires_in: int
    refresh_token: str
    id_token: str
    scope: str


class OAuthErrorOut(BaseModel):
    """RFC 6749 5.2: the OAuth routes' errors (not the API's `{"error": {...}}` schema)."""

    error: str
    error_description: str


# ---- the holder's paired services ------------------------------------------------------------------------------


class PurposeConsentOut(PurposeOut):
    consented: bool
    pending: bool  # of a new version the holder has not acknowledged yet: not granted until then

    @classmethod
    def of(cls, p: Purpose, consented: bool, pending: bool) -> PurposeConsentOut:
        return cls(**PurposeOut.from_domain(p).model_dump(), consented=consented, pending=pending)


class MyServiceOut(BaseModel):
    oid: str
    name: str
    status: str
    paired_at: datetime
    is_acknowledged: bool
    reapproval_limit_date: date | None
    purposes: list[PurposeConsentOut]

    @classmethod
    def from_domain(cls, s: Service, p: Pairing) -> MyServiceOut:
        granted = set(p.granted(s))
        acknowledged = s.version(p.acknowledged_version)
        shown = list(acknowledged.purposes) + [x for x in s.current.purposes if x.code not in acknowledged.codes]
        return cls(oid=s.oid, name=s.name, status=s.status.value, paired_at=p.paired_at,
                   is_acknowledged=p.is_acknowledged(s), reapproval_limit_date=p.reapproval_limit_date,
                   purposes=[PurposeConsentOut.of(x, x.code in granted, x.code not in acknowledged.codes)
                             for x in shown])


class MyServicesOut(BaseModel):
    items: list[MyServiceOut]


class UnpairedOut(BaseModel):
    oid: str
    unpaired: Literal[True] = True
