"""Every route of the app, called by every kind of caller, answers the expected status. The table below is the
route inventory: a route added to the app without a row here fails `test_every_route_has_a_rule`."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from functions.identity.ins import with_key
from tests.integration.conftest import Stack, declaration, post_file
from tests.integration.contract import assert_documented

KINDS = ["none", "expired", "citizen", "other_citizen", "pro_10", "pro_50", "pro_21", "pro_60", "pro_70", "pro_40",
         "blocked", "organisation"]
PROS = [k for k in KINDS if k.startswith("pro_")]
PDF = b"%PDF-1.4\n% route walk\n"
ABSENT_RPPS = "10000000099"
PREVENTION_CODE = "VAC_DTP"  # the walk's citizens have no birth date: recording a status is a 422
_counter = itertools.count()
ENROLEE = {"ins": with_key("1840675999999"), "birth_date": "1984-06-12", "vitale_serial": "12345678901"}


def statuses(citizen: int | None = None, other: int | None = None, pros: int | dict[str, int] | None = None,
             blocked: int | None = None, organisation: int = 403) -> dict[str, int]:
    """Expected status per caller kind; citizens default to 403 on professional routes and vice versa."""
    table = {"none": 401, "expired": 401, "citizen": citizen or 403, "other_citizen": other or citizen or 403,
             "blocked": blocked or 403, "organisation": organisation}
    for kind in PROS:
        table[kind] = pros.get(kind, 200) if isinstance(pros, dict) else (pros or 403)
    return table


def upload_body() -> dict[str, Any]:
    return declaration(PDF + str(next(_counter)).encode())


RULES: dict[tuple[str, str], tuple[Any, dict[str, int]]] = {
    ("GET", "/v1/health"): (None, dict.fromkeys(KINDS, 200)),
    ("GET", "/v1/openapi.json"): (None, dict.fromkeys(KINDS, 200)),
    # professionals
    # professionals, and organisations for their own documents (the walk's document is another organisation's; a
    # declaration without the professional author it names is 422)
    ("GET", "/v1/patients/{ins}/documents"): (None, statuses(pros=200, blocked=404, organisation=200)),
    ("GET", "/v1/patients/{ins}/documents/{document_id}"): (
        None, statuses(pros={"pro_70": 404, "pro_40": 404}, blocked=404, organisation=404)),
    ("POST", "/v1/patients/{ins}/documents"): (upload_body, statuses(pros=201, blocked=201, organisation=422)),
    ("POST", "/v1/patients/{ins}/documents/{document_id}/release"): (
        None, statuses(pros=404, blocked=404, organisation=404)),
    ("POST", "/v1/patients/{ins}/emergency-access"): (
        {"purpose": "BTG", "reason": "unconscious"}, statuses(pros=201, blocked=404)),
    # citizens: the record
    ("GET", "/v1/me/documents"): (None, statuses(citizen=200)),
    ("POST", "/v1/me/documents"): (upload_body, statuses(citizen=201)),
    ("GET", "/v1/me/documents/{document_id}"): (None, statuses(citizen=200, other=404)),
    ("PATCH", "/v1/me/documents/{document_id}"): (
        {"hidden_from_professionals": False}, statuses(citizen=200, other=404)),
    ("DELETE", "/v1/me/documents/{document_id}"): (None, statuses(citizen=403, other=404)),
    ("GET", "/v1/me/notifications"): (None, statuses(citizen=200)),
    ("GET", "/v1/me/traces"): (None, statuses(citizen=200)),
    ("GET", "/v1/me/traces/export"): (None, statuses(citizen=200)),
    # citizens: who may access
    ("GET", "/v1/me/care-team"): (None, statuses(citizen=200)),
    ("POST", "/v1/me/care-team"): ({"rpps": "10000000098"}, statuses(citizen=201)),
    ("DELETE", "/v1/me/care-team/{rpps}"): (None, statuses(citizen=404)),
    ("GET", "/v1/me/blocked-professionals"): (None, statuses(citizen=200)),
    ("POST", "/v1/me/blocked-professionals"): ({"rpps": "10000000097"}, statuses(citizen=201)),
    ("DELETE", "/v1/me/blocked-professionals/{rpps}"): (None, statuses(citizen=404)),
    ("PUT", "/v1/me/administrator"): ({"rpps": "10000000096"}, statuses(citizen=200)),
    ("DELETE", "/v1/me/administrator"): (None, statuses(citizen=200)),
    ("GET", "/v1/me/settings"): (None, statuses(citizen=200)),
    ("PUT", "/v1/me/settings"): ({}, statuses(citizen=200)),
    ("GET", "/v1/me/professionals"): (None, statuses(citizen=200)),
    # citizens: agenda and prevention (ids in the path are not theirs: 404 like a missing one)
    ("GET", "/v1/me/appointments"): (None, statuses(citizen=200)),
    ("POST", "/v1/me/appointments"): (
        {"start": "2030-05-04T09:30:00+02:00", "professional": "Dr Martin", "reminder_lead_days": 1},
        statuses(citizen=201)),
    ("GET", "/v1/me/appointments/{appointment_id}"): (None, statuses(citizen=404)),
    ("PATCH", "/v1/me/appointments/{appointment_id}"): ({"note": "à jeun"}, statuses(citizen=404)),
    ("DELETE", "/v1/me/appointments/{appointment_id}"): (None, statuses(citizen=404)),
    ("GET", "/v1/me/reminders"): (None, statuses(citizen=200)),
    ("POST", "/v1/me/reminders"): ({"label": "Renouveler l'ordonnance", "date": "2030-01-15"},
                                   statuses(citizen=201)),
    ("GET", "/v1/me/reminders/{reminder_id}"): (None, statuses(citizen=404)),
    ("PATCH", "/v1/me/reminders/{reminder_id}"): ({"label": "x"}, statuses(citizen=404)),
    ("DELETE", "/v1/me/reminders/{reminder_id}"): (None, statuses(citizen=404)),
    ("GET", "/v1/me/prevention"): (None, statuses(citizen=200)),
    ("PATCH", "/v1/me/prevention/{code}"): ({"status": "DONE", "date": "2026-01-10"}, statuses(citizen=422)),
    # discovery, for every authenticated caller
    ("GET", "/v1/reference/document-types"): (None, statuses(citizen=200, pros=200, blocked=200, organisation=200)),
    ("GET", "/v1/reference/professions"): (None, statuses(citizen=200, pros=200, blocked=200, organisation=200)),
    ("GET", "/v1/me/notification-preferences"): (None, statuses(citizen=200)),
    ("PUT", "/v1/me/notification-preferences"): ({"preferences": {}}, statuses(citizen=200)),
    # messaging: professionals and organisations write (a block governs the record, not messages: README);
    # the walk's conversation id is nobody's, so every citizen route on it is a 404
    ("POST", "/v1/patients/{ins}/messages"): (
        {"subject": "Résultats", "text": "Bonjour"}, statuses(pros=201, blocked=201, organisation=201)),
    ("GET", "/v1/me/mailbox"): (None, statuses(citizen=200)),
    ("GET", "/v1/me/conversations"): (None, statuses(citizen=200)),
    ("GET", "/v1/me/conversations/{conversation_id}"): (None, statuses(citizen=404)),
    ("POST", "/v1/me/conversations/{conversation_id}/messages"): ({"content": "Merci"}, statuses(citizen=404)),
    ("PUT", "/v1/me/conversations/{conversation_id}/draft"): ({"content": "Merci"}, statuses(citizen=404)),
    ("GET", "/v1/me/conversations/{conversation_id}/draft"): (None, statuses(citizen=404)),
    ("DELETE", "/v1/me/conversations/{conversation_id}/draft"): (None, statuses(citizen=404)),
    ("POST", "/v1/me/conversations/{conversation_id}/trash"): (None, statuses(citizen=404)),
    # the export: none yet (404), asked (202, the other citizen too: their own), no archive while it is built
    ("GET", "/v1/me/export"): (None, statuses(citizen=404)),
    ("POST", "/v1/me/export"): (None, statuses(citizen=202)),
    ("GET", "/v1/me/export/{part}"): (None, statuses(citizen=404)),
    # message attachments: the walk's message and attachment ids are nobody's
    ("GET", "/v1/me/conversations/{conversation_id}/messages/{message_id}/attachments/{attachment_id}"): (
        None, statuses(citizen=404)),
    ("POST", "/v1/me/conversations/{conversation_id}/messages/{message_id}/attachments/{attachment_id}/record"): (
        {}, statuses(citizen=404)),
    # messaging out: the patient writes first only to a writer or a pharmacy they added (the walk's is nobody)
    ("POST", "/v1/me/conversations"): ({"to": ABSENT_RPPS, "subject": "Question", "content": "Bonjour"},
                                       statuses(citizen=422)),
    ("GET", "/v1/me/contacts/pharmacies"): (None, statuses(citizen=200)),
    ("POST", "/v1/me/contacts/pharmacies"): ({"finess": "750012345", "name": "Pharmacie du Centre",
                                              "address": "contact@pharmacie-centre.mssante.fr"}, statuses(citizen=201)),
    ("DELETE", "/v1/me/contacts/pharmacies/{finess}"): (None, statuses(citizen=404)),
    # enrolment: public at the gateway, the identity check and the code are the proof (the walk's identity is
    # nobody's: 404 whoever calls); activation also needs a citizen's token (none or expired: 401, others: 403)
    ("POST", "/v1/enrolment/code"): (ENROLEE, dict.fromkeys(KINDS, 404)),
    ("POST", "/v1/enrolment/activation"): (
        {**ENROLEE, "code": "ABCDEFGHJK", "terms_version": "2026-12"}, statuses(citizen=404)),
    ("POST", "/v1/enrolment/opposition"): ({**ENROLEE, "code": "ABCDEFGHJK"}, dict.fromkeys(KINDS, 404)),
    ("GET", "/v1/enrolment/opposition/{reference}"): (None, dict.fromkeys(KINDS, 422)),  # no identity: 422
    ("GET", "/v1/me"): (None, statuses(citizen=200)),
    ("POST", "/v1/me/terms"): ({"terms_version": "2026-12"}, statuses(citizen=200)),
    # closure (the walk must not close its citizens' spaces: a bad body, and deletion/reopening of an open space)
    ("POST", "/v1/me/closure"): ({"delete_data": "yes"}, statuses(citizen=422)),
    ("POST", "/v1/me/closure/deletion"): (None, statuses(citizen=409)),
    ("POST", "/v1/me/reopening"): (None, statuses(citizen=409)),
    # catalogue and pairing: the walk's OID is referenced nowhere; the OAuth routes are called without their
    # parameters (422 for the query, 400 for no JSON body); the token endpoint takes a form only (415 for none)
    ("GET", "/v1/catalogue/services"): (None, statuses(citizen=200)),
    ("GET", "/v1/catalogue/services/{oid}"): (None, statuses(citizen=404)),
    ("GET", "/v1/oauth/authorize"): (None, statuses(citizen=422)),
    ("POST", "/v1/oauth/authorize"): (None, statuses(citizen=400)),
    ("POST", "/v1/oauth/token"): (None, dict.fromkeys(KINDS, 415)),
    ("GET", "/v1/me/services"): (None, statuses(citizen=200)),
    ("PUT", "/v1/me/services/{oid}/purposes/{code}"): (None, statuses(citizen=404)),
    ("DELETE", "/v1/me/services/{oid}/purposes/{code}"): (None, statuses(citizen=404)),
    ("POST", "/v1/me/services/{oid}/acknowledgement"): (None, statuses(citizen=404)),
    ("DELETE", "/v1/me/services/{oid}"): (None, statuses(citizen=404)),
    # measures: the person's own (the walk's code is no measure type: 404); FHIR routes are for paired apps only
    ("GET", "/v1/me/measures"): (None, statuses(citizen=200)),
    ("POST", "/v1/me/measures"): ({"code": "WEIGHT", "effective": "2026-11-30T08:00:00+01:00", "value": 70},
                                  statuses(citizen=201)),
    ("GET", "/v1/me/measures/{code}"): (None, statuses(citizen=404)),
    ("PUT", "/v1/me/measures/{code}/{measure_id}"): ({"value": 70}, statuses(citizen=404)),
    ("DELETE", "/v1/me/measures/{code}/{measure_id}"): (None, statuses(citizen=404)),
    ("POST", "/v1/fhir"): ({"resourceType": "Bundle", "type": "transaction", "entry": []}, statuses()),
    ("GET", "/v1/fhir/Observation"): (None, statuses()),
}
METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}


def app_routes() -> set[tuple[str, str]]:
    import app as api

    return {(method, path) for path, entries in api.app.routes.items() for method in entries}


def test_every_route_has_a_rule() -> None:
    assert app_routes() == set(RULES)


def test_only_health_and_the_contract_go_without_the_authorizer() -> None:
    import app as api

    open_routes = {(m, p) for p, entries in api.app.routes.items() for m, e in entries.items() if e.authorizer is None}
    assert open_routes == {("GET", "/v1/health"), ("GET", "/v1/openapi.json"),
                           # enrolment: no linked login yet, the code and identity check are the proof (issue 12)
                           ("POST", "/v1/enrolment/code"), ("POST", "/v1/enrolment/activation"),
                           ("POST", "/v1/enrolment/opposition"), ("GET", "/v1/enrolment/opposition/{reference}"),
                           # and the OAuth token endpoint, where the client authenticates with its own assertion
                           # (private_key_jwt)
                           ("POST", "/v1/oauth/token")}


def test_every_route_is_declared_once_with_its_role_and_authorizer() -> None:
    """A route registered without `route(...)` (a bare @bp.route) has no spec, so no OpenAPI entry: it fails here;
    a declared role other than "none" must sit behind the one shared bearer authorizer."""
    import app as api
    from chalicelib.registry import ROUTES

    specs = {(s.method, s.path): s for s in ROUTES}
    assert len(specs) == len(ROUTES) and set(specs) == app_routes()
    for path, entries in api.app.routes.items():
        for method, entry in entries.items():
            spec = specs[(method, path)]
            assert (entry.authorizer is None) == (spec.roles == ("none",)), (method, path)
            assert entry.authorizer in (None, api.bearer), (method, path)
            assert tuple(entry.view_args) == spec.path_params, (method, path)
            schemes = {"none": (), "citizen": ("citizen_bearer",), "professional": ("professional_bearer",),
                       "organisation": ("organisation_bearer",), "service": ("service_bearer",)}
            assert spec.security == tuple(s for role in spec.roles for s in schemes[role]), (method, path)


def test_every_status_the_walk_sees_is_declared() -> None:
    """The statuses a route answers (the walk's table) are all in its declaration, so a contract generated from
    the registry documents them."""
    from chalicelib.registry import ROUTES

    specs = {(s.method, s.path): s for s in ROUTES}
    undeclared = {route: sorted(set(expected.values()) - set(specs[route].statuses))
                  for route, (_, expected) in RULES.items()}
    assert {r: s for r, s in undeclared.items() if s} == {}


@pytest.fixture(scope="module")
def callers(stack: Stack) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    ins, owner = stack.citizen()
    _, other = stack.citizen()
    headers = {**stack.professional(), "Idempotency-Key": "route-walk-doc-1"}
    ticket = stack.call("POST", f"/v1/patients/{ins}/documents", headers, json=declaration(PDF)).json()
    post_file(ticket["upload"], PDF)
    stack.pump.drain()
    pros = {f"pro_{p}": f"100000001{p}" for p in ("10", "50", "21", "60", "70", "40")}
    for rpps in pros.values():
        stack.call("POST", "/v1/me/care-team", owner, json={"rpps": rpps})
    stack.call("POST", "/v1/me/blocked-professionals", owner, json={"rpps": "10000000190"})
    expired = stack.issuer.mint("https://dev-issuer.localhost/pro", "psc-x", {"rpps": "10000000110",
                                "profession": "10", "finess": "690000002"}, ttl_seconds=-300)
    org = stack.issuer.mint("https://dev-issuer.localhost/pro", "psc-org", {"finess": "690000002"})
    who: dict[str, dict[str, str]] = {"none": {}, "expired": {"Authorization": f"Bearer {expired}"},
                                      "citizen": owner, "other_citizen": other,
                                      "blocked": stack.professional(rpps="10000000190", finess="690000002"),
                                      "organisation": {"Authorization": f"Bearer {org}"}}
    for kind, rpps in pros.items():
        who[kind] = stack.professional(rpps=rpps, profession=kind.removeprefix("pro_"), finess="690000002")
    params = {"ins": ins, "document_id": ticket["document_id"], "rpps": ABSENT_RPPS,
              "appointment_id": "appt_" + "0" * 24, "reminder_id": "rem_" + "0" * 24, "code": PREVENTION_CODE,
              "conversation_id": "conv_" + "0" * 24, "message_id": "msg_" + "0" * 24,
              "attachment_id": "att_" + "0" * 24, "part": "record", "finess": "750099999",
              "reference": "opp_" + "0" * 24, "oid": "1.2.250.1.213.4.0.0",
              "measure_id": "20260101T000000000000Z-00000000"}
    return who, params


def _walk_order(route: tuple[str, str]) -> tuple[str, int]:
    return route[1], METHOD_ORDER[route[0]]


WALK: list[tuple[str, str]] = sorted(RULES, key=_walk_order)


@pytest.mark.parametrize("route", WALK, ids=" ".join)
def test_route_answers_each_caller_as_the_rules_say(stack: Stack, callers: Any, route: tuple[str, str]) -> None:
    who, params = callers
    method, template = route
    body, expected = RULES[route]
    got = {}
    for kind in KINDS:
        headers = {**who[kind], "Idempotency-Key": f"route-walk-{next(_counter):06d}"}
        payload = body() if callable(body) else body
        response = stack.call(method, template.format(**params), headers, json=payload)
        got[kind] = response.status_code
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}, (kind, response.text)
        assert_documented(method, template, response)  # status, content type and body as the contract says
    assert got == expected


CLOSURE_ROUTES = {("POST", "/v1/me/closure"), ("POST", "/v1/me/closure/deletion"), ("POST", "/v1/me/reopening")}


def test_a_closed_spaces_holder_gets_space_closed_on_every_citizen_route_but_closure_deletion_and_reopening(
        stack: Stack, callers: Any) -> None:
    """Issue 12 point 4: once closed, every route answers as for a closed space; only the lifecycle routes that
    act on a closed space take it (and nothing is read or written for the others)."""
    from chalicelib.registry import ROUTES

    _, params = callers
    ins, holder = stack.citizen()
    assert stack.call("POST", "/v1/me/closure", holder, json={}).status_code == 200
    citizen_routes = sorted((s.method, s.path) for s in ROUTES if "citizen" in s.roles)
    assert {(s.method, s.path) for s in ROUTES if s.closed_space} == CLOSURE_ROUTES
    got = {}
    for method, template in citizen_routes:
        if (method, template) in CLOSURE_ROUTES:
            continue
        body, _ = RULES[(method, template)]
        headers = {**holder, "Idempotency-Key": f"route-walk-closed-{next(_counter):06d}"}
        response = stack.call(method, template.format(**{**params, "ins": ins}), headers,
                              json=body() if callable(body) else body)
        got[(method, template)] = (response.status_code, response.json()["error"]["code"])
    assert got and set(got.values()) == {(403, "space_closed")}, got
