"""accounts' `SpaceDirectory` over the fake and the DynamoDB adapter: opening is idempotent, logins resolve,
contacts come back in a batch, and the open-space condition refuses another owner's transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from functions.accounts.models import Contact, Space, SpaceStatus
from functions.accounts.ports import SpaceDirectory
from functions.shared.dynamo import TransactionCancelled
from tests.contract.conftest import World, new_ins
from tests.unit.fakes import FakeSpaceDirectory

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


@pytest.fixture
def spaces(side: str) -> SpaceDirectory:
    if side == "fake":
        return FakeSpaceDirectory()
    from functions.accounts.storage import DynamoSpaceStore

    return DynamoSpaceStore()


def space(ins: str, status: SpaceStatus = SpaceStatus.OPEN, email: str | None = "a@example.org") -> Space:
    return Space(ins=ins, status=status, created_at=T0, birth_date=date(1984, 6, 7), email=email)


def test_opening_twice_keeps_the_first_space(spaces: SpaceDirectory) -> None:
    ins = new_ins()
    first = space(ins)
    assert spaces.open(first) == first
    assert spaces.open(space(ins, SpaceStatus.CLOSED, email=None)) == first
    found = spaces.get(ins)
    assert found == first and found.sex == int(ins[0])


def test_an_unknown_space_is_none(spaces: SpaceDirectory) -> None:
    assert spaces.get(new_ins()) is None


def test_a_login_resolves_to_its_space_and_activates_it(spaces: SpaceDirectory) -> None:
    ins = new_ins()
    spaces.open(space(ins))
    assert spaces.resolve_login("https://issuer", "sub-1") is None
    spaces.link_login("https://issuer", "sub-1", ins, T0)
    assert spaces.resolve_login("https://issuer", "sub-1") == ins
    assert spaces.resolve_login("https://issuer", "sub-2") is None
    assert spaces.resolve_login("https://other", "sub-1") is None
    found = spaces.get(ins)
    assert found is not None and found.activated_at == T0


def test_contacts_come_back_in_one_batch_without_the_spaces_that_do_not_exist(spaces: SpaceDirectory,
                                                                              world: World) -> None:
    open_, closed, missing = new_ins(), new_ins(), new_ins()
    spaces.open(space(open_))
    spaces.open(space(closed, SpaceStatus.CLOSED, email=None))
    [contacts] = world.batch_get([spaces.contacts([open_, closed, missing, open_])])
    assert contacts == {open_: Contact(ins=open_, status=SpaceStatus.OPEN, email="a@example.org"),
                        closed: Contact(ins=closed, status=SpaceStatus.CLOSED)}


def test_the_open_condition_passes_only_for_an_open_space(spaces: SpaceDirectory, world: World) -> None:
    open_, closed, missing = new_ins(), new_ins(), new_ins()
    spaces.open(space(open_))
    spaces.open(space(closed, SpaceStatus.CLOSED))
    world.commit([spaces.open_condition(open_)])
    for ins in (closed, missing):
        with pytest.raises(TransactionCancelled) as refused:
            world.commit([spaces.open_condition(open_), spaces.open_condition(ins)])
        assert refused.value.failed == {"space"}


def test_the_switches_ride_on_the_space_and_come_back_with_its_contact(spaces: SpaceDirectory, world: World) -> None:
    from functions.notifications.models import Channels, NotificationPreferences, PreferenceCode

    chose, never = new_ins(), new_ins()
    spaces.open(space(chose))
    spaces.open(space(never))
    prefs = NotificationPreferences(channels={PreferenceCode.NOTIF_APPOINTMENT: Channels(in_app=True, email=False)})
    world.commit([spaces.notification_switches(chose, prefs)])
    [contacts] = world.batch_get([spaces.contacts([chose, never])])
    assert contacts[chose].preferences == prefs
    assert contacts[never].preferences == NotificationPreferences()
    assert contacts[chose].email == "a@example.org"  # an update: the rest of the space item is untouched


def test_switches_for_a_space_that_does_not_exist_fail_as_space(spaces: SpaceDirectory, world: World) -> None:
    from functions.notifications.models import NotificationPreferences

    with pytest.raises(TransactionCancelled) as refused:
        world.commit([spaces.notification_switches(new_ins(), NotificationPreferences())])
    assert "space" in refused.value.failed
