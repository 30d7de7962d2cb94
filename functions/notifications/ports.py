"""What notifications offers the capabilities above it: in-app notifications staged into their owners'
transactions, the holder's list and preferences, and e-mail delivery (claim before send, SES bulk sends).
Storage-free: no pynamodb, botocore or boto3 here; the adapters are `storage.py` and `mailer.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from functions.notifications.models import Email, Notification, NotificationPreferences
from functions.shared.staging import Staged


class OnceOnly(Staged, Protocol):
    """A notification written only if its key is new, its old item returned when it is not (label
    `notification`). `email_was_pending(old)` reads that old item: was its e-mail never claimed (a crash)?"""

    def email_was_pending(self, old: Mapping[str, Any]) -> bool: ...


class InAppNotifications(Protocol):
    def staged(self, notifications: list[Notification], once: bool = True) -> list[Staged]:
        """Puts for another owner's transaction (the journal commit, a capability's own), labelled
        `notification`. `once`: only if the key is new (a redelivered event cannot notify twice); `once=False`
        overwrites (the access partition's notices, which were always plain puts)."""
        ...

    def staged_once(self, notification: Notification, email_pending: bool) -> OnceOnly:
        """The delivery's write: once-only, marked `email_pending` when an e-mail is to follow (see EmailDelivery)."""
        ...

    def preferences(self, ins: str) -> NotificationPreferences:
        """The holder's choices; every code on when they never chose."""
        ...

    def put_preferences(self, ins: str, prefs: NotificationPreferences, also: Sequence[Staged] = ()) -> None:
        """Replace the holder's choices, committed in one transaction with `also` (other owners' staged writes:
        the copy of the switches delivery reads, see ContactSwitches). A failed condition of `also` labelled
        `space` (no such space) is a NotFound and writes nothing."""
        ...

    # last: a method named `list` shadows the builtin in the annotations after it
    def list(self, recipient_ins: str, after: str | None, limit: int) -> tuple[list[Notification], str | None]:
        """Newest first, hidden ones (turned off in-app) left out; `after` is the previous page's last key."""
        ...


class ContactSwitches(Protocol):
    """Where a holder's switches are read with their contact when notifications are delivered (accounts' space
    item: its SpaceDirectory fits this structurally, so notifications imports nothing above it). Delivery reads
    one item per person, the contact, instead of the contact and the `PREFS` item: DynamoDB bills a batch read per
    key requested, found or not."""

    def notification_switches(self, ins: str, prefs: NotificationPreferences) -> Staged:
        """The switches, staged for the preferences' transaction."""
        ...


class EmailClaims(Protocol):
    def claim_emails(self, notifications: list[Notification]) -> list[Notification]:
        """Clear `email_pending` where it is still set and return those notifications: their e-mail is this
        caller's to send. A concurrent delivery finds the marker cleared and gets nothing."""
        ...


class Mailer(Protocol):
    def send(self, emails: list[Email]) -> int:
        """Send them all (bulk, one template); returns how many destinations were refused."""
        ...


class EmailReport(BaseModel):
    """`sent` and `refused` count e-mails (one per person, whatever the number of reminders it covers);
    `reminders` counts the notifications those e-mails covered."""

    sent: int = 0
    refused: int = 0
    reminders: int = 0


class EmailDelivery(Protocol):
    def send_once(self, mail: list[tuple[Notification, str]]) -> EmailReport:
        """The e-mails of notifications committed with `email_pending` (each with its recipient's address): each
        is claimed first, and only the claimed ones are sent, so two deliveries of the same notification send it
        once; the claimed notifications of one person go out as ONE e-mail (the day's digest)."""
        ...
