"""The every-90-days e-mail listing the services paired with a space (C.2, preference NOTIF_SYNCHRONIZED_SERVICE,
which the holder may switch off). A holder's summary day is fixed by their INS (`summary_cycle`): the day's job
reads, shard by shard, the `by-cycle` index of active pairings (0 Scan), writes one once-only notification per
holder (id per holder and day: a rerun notifies nobody twice) and sends the e-mails claim-then-send."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time

from pydantic import BaseModel

from functions.accounts.ports import SpaceDirectory
from functions.catalogue.models import SUMMARY_SHARDS, Catalogue, summary_slot
from functions.catalogue.ports import PairingStore
from functions.notifications.models import Notification, PreferenceCode
from functions.notifications.ports import EmailDelivery, InAppNotifications
from functions.shared.clock import PARIS, Clock

PAGE = 100


@dataclass(frozen=True)
class SummaryDeps:
    store: PairingStore
    spaces: SpaceDirectory
    notifications: InAppNotifications
    email: EmailDelivery
    clock: Clock
    published: Callable[[], Catalogue]


class SummaryReport(BaseModel):
    holders: int = 0
    notified: int = 0
    emails: int = 0


def send_summaries(deps: SummaryDeps, day: date, shards: range = range(SUMMARY_SHARDS)) -> SummaryReport:
    """The summaries due on `day` (a Paris day), for the given shards (all by default)."""
    report = SummaryReport()
    slot = summary_slot(day)
    names = {s.oid: s.name for s in deps.published().services}
    # Dated by its day, not by the run: the notification's key includes its time, so a rerun finds it there.
    at = datetime.combine(day, time(8, 0), tzinfo=PARIS)
    for shard in shards:
        by_holder: dict[str, list[str]] = {}
        after: str | None = None
        while True:
            page, after = deps.store.pairings_in_cycle(slot, shard, after, PAGE)
            for pairing in page:
                by_holder.setdefault(pairing.holder_ins, []).append(names.get(pairing.oid, pairing.oid))
            if after is None:
                break
        mail: list[tuple[Notification, str]] = []
        for ins, services in by_holder.items():
            report.holders += 1
            space = deps.spaces.get(ins)
            prefs = deps.notifications.preferences(ins)
            if space is None or not space.is_open or not prefs.for_code(
                    PreferenceCode.NOTIF_SYNCHRONIZED_SERVICE).email:
                continue
            notification = Notification.for_synchronized_services(ins, day, at, sorted(services))
            notification = notification.honouring(prefs)
            email = space.email is not None
            if deps.store.commit_once([deps.notifications.staged_once(notification, email_pending=email)]):
                report.notified += 1
                if space.email is not None:
                    mail.append((notification, space.email))
        report.emails += deps.email.send_once(mail).sent
    return report
