"""The notifications port (`InAppNotifications` + `EmailClaims`) over the fake and the DynamoDB adapter: what a
holder's list shows and how it pages, once-only writes, the e-mail claim, and preferences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.notifications.models import Channels, Notification, NotificationPreferences, PreferenceCode
from functions.notifications.ports import EmailClaims, InAppNotifications
from functions.shared.dynamo import TransactionCancelled
from tests.contract.conftest import World, new_ins
from tests.unit.fakes import FakeNotificationStore

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


class Store(InAppNotifications, EmailClaims):
    """Both ports, as one adapter offers them."""


@pytest.fixture
def store(side: str) -> Store:
    if side == "fake":
        return FakeNotificationStore()  # type: ignore[return-value]
    from functions.notifications.storage import DynamoNotificationStore

    return DynamoNotificationStore()  # type: ignore[return-value]


def notice(ins: str, n: int, in_app: bool = True) -> Notification:
    return Notification.for_document(ins, f"doc_{n:026d}", T0 + timedelta(minutes=n)).model_copy(
        update={"in_app": in_app})


def test_the_list_is_newest_first_and_pages_through_every_notification_once(store: Store, world: World) -> None:
    ins = new_ins()
    world.commit(store.staged([notice(ins, n) for n in range(5)]))
    seen: list[str] = []
    after = None
    for _ in range(10):
        page, after = store.list(ins, after, 2)
        assert len(page) <= 2
        seen += [n.notification_id for n in page]
        if after is None:
            break
    assert seen == [notice(ins, n).notification_id for n in reversed(range(5))]


def test_hidden_notifications_are_skipped_and_a_page_still_holds_the_visible_ones(store: Store,
                                                                                   world: World) -> None:
    """Given notifications turned off in-app among others, a page of 2 holds the 2 newest visible ones (the
    adapter reads on past the hidden ones), and the hidden ones never show on any page."""
    ins = new_ins()
    world.commit(store.staged([notice(ins, 0), notice(ins, 1, in_app=False), notice(ins, 2, in_app=False),
                               notice(ins, 3), notice(ins, 4, in_app=False), notice(ins, 5)]))
    first, after = store.list(ins, None, 2)
    assert [n.notification_id for n in first] == [notice(ins, 5).notification_id, notice(ins, 3).notification_id]
    assert after is not None
    rest, after = store.list(ins, after, 2)
    assert [n.notification_id for n in rest] == [notice(ins, 0).notification_id] and after is None


def test_another_holders_notifications_and_preferences_never_show(store: Store, world: World) -> None:
    mine, theirs = new_ins(), new_ins()
    world.commit(store.staged([notice(theirs, 1)]))
    store.put_preferences(theirs, NotificationPreferences(channels={PreferenceCode.NOTIF_DOCUMENT: Channels(
        in_app=False)}))
    assert store.list(mine, None, 20) == ([], None)
    assert store.preferences(mine) == NotificationPreferences()


def test_a_once_only_notification_cannot_be_written_twice(store: Store, world: World) -> None:
    ins = new_ins()
    world.commit(store.staged([notice(ins, 1)]))
    with pytest.raises(TransactionCancelled) as refused:
        world.commit(store.staged([notice(ins, 1), notice(ins, 2)]))
    assert refused.value.failed == {"notification"}
    assert [n.notification_id for n in store.list(ins, None, 20)[0]] == [notice(ins, 1).notification_id]


def test_a_plain_put_overwrites_the_same_notification(store: Store, world: World) -> None:
    ins = new_ins()
    world.commit(store.staged([notice(ins, 1)], once=False))
    world.commit(store.staged([notice(ins, 1, in_app=False)], once=False))
    assert store.list(ins, None, 20) == ([], None)


def test_an_email_is_claimed_once_and_a_replay_says_whether_it_was_still_pending(store: Store,
                                                                                 world: World) -> None:
    """Given a notification committed with its e-mail pending, a replay of the same write is refused and says
    the e-mail is still pending; once claimed, a second claim gets nothing and a replay says it is done."""
    ins = new_ins()
    n = notice(ins, 1)
    world.commit([store.staged_once(n, email_pending=True)])
    replay = store.staged_once(n, email_pending=True)
    with pytest.raises(TransactionCancelled) as refused:
        world.commit([replay])
    assert refused.value.failed == {"notification"}
    assert replay.email_was_pending(refused.value.items["notification"])

    assert store.claim_emails([n, notice(ins, 2)]) == [n]  # the second was never written
    assert store.claim_emails([n]) == []
    with pytest.raises(TransactionCancelled) as again:
        world.commit([replay])
    assert not replay.email_was_pending(again.value.items.get("notification", {}))


def test_a_notification_without_email_is_never_claimed(store: Store, world: World) -> None:
    ins = new_ins()
    n = notice(ins, 1)
    world.commit([store.staged_once(n, email_pending=False)])
    assert store.claim_emails([n]) == []


def test_preferences_default_to_everything_on_and_read_back(store: Store) -> None:
    chose, never = new_ins(), new_ins()
    prefs = NotificationPreferences(channels={PreferenceCode.NOTIF_APPOINTMENT: Channels(in_app=True, email=False)})
    assert store.preferences(chose) == NotificationPreferences()
    store.put_preferences(chose, prefs)
    assert store.preferences(chose) == prefs
    assert store.preferences(never) == NotificationPreferences()
