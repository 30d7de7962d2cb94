"""The acting principal and the space acted on are two things (issue 10, point 6): a citizen route acts on the
space `space_of` resolves, and its trace names who acted. Today `space_of` is the identity; here it is
monkeypatched to map a caregiver to the space they help, as family and caregiver access will, and the routes run
in-process (Chalice's test client, its local authorizer) over in-memory stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from functions.access.matrix import matrix
from functions.access.service import AccessDeps
from functions.identity.principal import Citizen
from functions.notifications.models import Notification, NotificationPreferences
from functions.shared.clock import FixedClock
from functions.shared.staging import Staged
from tests.unit.fakes import FakeBlobStore, FakeControlStore, FakeDocumentStore

HELPED = "284067512345688"  # the space acted on
CAREGIVER = Citizen(ins="190017512345677")  # who acts (their own space is another one)
RPPS = "10000000005"
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class FakeNotifications:
    """The slice of `InAppNotifications` the holder's routes use: each space's notifications and choices."""

    listed: dict[str, list[Notification]]
    chosen: dict[str, NotificationPreferences]
    staged: list[Staged]

    def preferences(self, ins: str) -> NotificationPreferences:
        return self.chosen.get(ins, NotificationPreferences())

    def put_preferences(self, ins: str, prefs: NotificationPreferences, also: list[Staged] | None = None) -> None:
        self.chosen[ins] = prefs
        self.staged.extend(also or [])

    # last: a method named `list` shadows the builtin in the annotations after it
    def list(self, recipient_ins: str, after: str | None, limit: int) -> tuple[list[Notification], str | None]:
        return self.listed.get(recipient_ins, [])[:limit], None


@dataclass(frozen=True)
class StagedSwitches:
    """What accounts' `notification_switches` stages, as this test sees it: which space, which choices."""

    ins: str
    prefs: NotificationPreferences

    def stage(self, tx: object) -> None: ...


class FakeSwitches:
    def notification_switches(self, ins: str, prefs: NotificationPreferences) -> Staged:
        return StagedSwitches(ins, prefs)

    def get(self, ins: str) -> None:
        """The authorizer reads the caller's space status (a closed space answers only its lifecycle routes)."""
        return None


@pytest.fixture
def control() -> FakeControlStore:
    return FakeControlStore()


@pytest.fixture
def notices() -> FakeNotifications:
    first = Notification.for_first_access(HELPED, RPPS, AT)
    return FakeNotifications(listed={HELPED: [first]}, chosen={}, staged=[])


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, control: FakeControlStore,
           notices: FakeNotifications) -> Iterator[Client]:
    """The app with the caregiver authenticated, `space_of` mapping them to HELPED, and in-memory stores."""
    import app
    from chalicelib import edge
    from functions import deps
    from functions.identity import service as identity

    store = FakeDocumentStore(control, {HELPED, CAREGIVER.ins})
    access = AccessDeps(control=control, documents=store, blobs=FakeBlobStore(), clock=FixedClock(AT),
                        matrix=matrix, download_ttl_seconds=300)
    monkeypatch.setattr(identity, "authenticate", lambda *_args: CAREGIVER)
    for name in ("token_verifier", "citizen_issuer", "service_tokens"):
        monkeypatch.setattr(deps, name, lambda: None)
    monkeypatch.setattr(deps, "spaces", FakeSwitches)
    monkeypatch.setattr(deps, "access", lambda: access)
    monkeypatch.setattr(deps, "notifications", lambda: notices)
    monkeypatch.setattr(edge, "space_of", lambda who: HELPED if who == CAREGIVER else who.ins)
    with Client(app.app) as c:
        yield c


def call(client: Client, method: str, path: str, body: object | None = None) -> tuple[int, Any]:
    headers = {"Authorization": "Bearer caregiver", "Content-Type": "application/json"}
    raw = json.dumps(body).encode() if body is not None else b""
    answer = client.http.request(method, path, headers=headers, body=raw)
    return answer.status_code, json.loads(answer.body)


def test_a_citizen_route_acts_on_the_resolved_space_and_its_trace_names_the_acting_principal(
        client: Client, control: FakeControlStore) -> None:
    """Given a caregiver whom space_of maps to the space they help, when they block a professional, then the
    helped space holds the block and its trace, whose actor is the caregiver (by pseudonym, not `patient`), and
    the caregiver's own space is untouched."""
    status, _ = call(client, "POST", "/v1/me/blocked-professionals", {"rpps": RPPS})

    assert status == 201
    assert RPPS in control.profile(HELPED).blocked
    assert control.profile(CAREGIVER.ins).blocked == {}
    (trace,) = control.traces[HELPED]
    assert trace.action.value == "professional.blocked"
    assert (trace.actor.kind, trace.actor.id) == ("citizen", CAREGIVER.pseudonym)
    assert CAREGIVER.ins not in trace.model_dump_json()
    assert CAREGIVER.ins not in control.traces


def test_the_read_routes_show_the_resolved_space_not_the_callers_own(
        client: Client, control: FakeControlStore, notices: FakeNotifications) -> None:
    """Given the same mapping, what the caregiver reads (blocks, notifications, preferences) is the helped
    space's, and the preferences they set are the helped space's."""
    call(client, "POST", "/v1/me/blocked-professionals", {"rpps": RPPS})

    assert call(client, "GET", "/v1/me/blocked-professionals")[1] == {"items": [{"rpps": RPPS}]}
    listed = call(client, "GET", "/v1/me/notifications")[1]["items"]
    assert [n["professional_rpps"] for n in listed] == [RPPS]
    status, _ = call(client, "PUT", "/v1/me/notification-preferences",
                     {"preferences": {"NOTIF_DOCUMENT": {"in_app": False, "email": False}}})
    assert status == 200
    assert set(notices.chosen) == {HELPED}
    copied = [(s.ins, s.prefs) for s in notices.staged if isinstance(s, StagedSwitches)]
    assert copied == [(HELPED, notices.chosen[HELPED])]  # the switches go onto the helped space's contact


def test_the_holder_acting_on_their_own_space_is_traced_as_the_patient() -> None:
    """Today's case, unchanged: the holder's own actions are traced as `patient`."""
    from functions.journal.models import Actor

    assert Actor.acting_on(CAREGIVER, CAREGIVER.ins) == Actor(kind="patient", id="patient")
