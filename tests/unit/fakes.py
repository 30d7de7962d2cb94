"""In-memory adapters with the same contracts as the DynamoDB and S3 ones, for service tests without AWS."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from functions.access.ledger import facts_of, profile_from
from functions.access.models import AccessProfile
from functions.access.ports import ControlWrite
from functions.accounts.models import Contact, Space
from functions.agenda.delivery import Effect, EffectKey, Outcome
from functions.agenda.models import PREVENTION_ID, Appointment, DueEntry, Prevention, Reminder, shard_of
from functions.journal.models import ChainHead, Trace, commitment, committed, link
from functions.journal.ports import ChainMoved, Entry, Fact, Ledger, Refused
from functions.journal.retry import until_settled
from functions.notifications.models import Notification, NotificationPreferences
from functions.notifications.ports import OnceOnly
from functions.records.models import Document, DocumentFilter, DocumentStatus, PresignedPost, QuarantinedObject
from functions.shared.clock import iso
from functions.shared.dynamo import TransactionCancelled
from functions.shared.errors import NotFound
from functions.shared.lookup import BatchLookup
from functions.shared.staging import Staged, WriteSink


class FakeControlStore:
    """Ledger partitions and trace chains in memory; `write` links traces on the head like the journal, and traces
    naming a withheld document on that document's withheld chain. A write given a head (main or withheld) that
    moved meanwhile raises ChainMoved (`retry=False`) or is tried again on a fresh read of the head with the
    journal's jittered loop (`retry`: Busy after too many, as when a withheld head stays stale)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[tuple[str, str], str]] = {}  # patient -> (namespace, key) -> body
        self.heads: dict[str, ChainHead] = {}
        self.traces: dict[str, list[Trace]] = {}
        self.withheld: dict[tuple[str, str], list[Trace]] = {}  # (patient, document) -> its withheld chain
        self.notifications: list[Notification] = []
        self.open_spaces: set[str] | None = None  # None: every space is open; FakeDocumentStore shares its set

    def profile(self, patient_ins: str) -> AccessProfile:
        facts = tuple(Fact(ns, key, body) for (ns, key), body in self.items.get(patient_ins, {}).items())
        withheld = {doc: self.withheld_head(p, doc) for (p, doc) in self.withheld if p == patient_ins}
        return profile_from(Ledger(patient_ins, self.head(patient_ins), withheld, facts))

    def withheld_head(self, patient_ins: str, document_id: str) -> ChainHead:
        chain = self.withheld.get((patient_ins, document_id))
        return ChainHead(seq=chain[-1].seq, hash=chain[-1].hash) if chain else ChainHead()

    def withhold(self, patient_ins: str, document_id: str, traces: list[Trace]) -> None:
        linked, _ = link(self.withheld_head(patient_ins, document_id), traces)
        self.withheld.setdefault((patient_ins, document_id), []).extend(linked)

    def merge(self, patient_ins: str, document_id: str, traces: list[Trace]) -> None:
        """A release: the withheld chain, checked and committed to, then the release's own traces."""
        head = self.withheld_head(patient_ins, document_id)
        entries = self.withheld.pop((patient_ins, document_id), [])
        self.append(patient_ins, entries + committed(traces, document_id, commitment(entries, head)))

    def head(self, patient_ins: str) -> ChainHead:
        return self.heads.get(patient_ins, ChainHead())

    def append(self, patient_ins: str, traces: list[Trace]) -> None:
        linked, head = link(self.head(patient_ins), traces)
        self.traces.setdefault(patient_ins, []).extend(linked)
        self.heads[patient_ins] = head

    def write(self, patient_ins: str, change: ControlWrite, head: ChainHead | None = None,
              retry: bool = True) -> None:
        def commit(on: ChainHead) -> None:
            main, withheld = self._on_heads(patient_ins, on, change.traces, change.withheld, guard=True)
            if change.needs_open_space and self.open_spaces is not None and patient_ins not in self.open_spaces:
                raise NotFound("patient")
            puts, forgets = facts_of(change.changes)
            self._apply(patient_ins, puts, forgets, main, withheld)
            self.notifications.extend(change.notifications)

        self._attempts(patient_ins, head, retry, commit)

    def record(self, entry: Entry, head: ChainHead | None = None, retry: bool = True) -> None:
        """The journal's commit (`PatientJournal.record`) of an entry of traces and ledger facts: what records and
        audit write, on the same head conditions as FakeJournal. Staged writes of other owners are not
        interpreted here (their fakes keep their own state)."""
        def commit(on: ChainHead) -> None:
            main, withheld = self._on_heads(entry.patient_ins, on, entry.traces, entry.withheld, entry.guard)
            self._apply(entry.patient_ins, entry.facts, entry.forget, main, withheld)

        self._attempts(entry.patient_ins, head, retry, commit)

    def _attempts(self, patient_ins: str, head: ChainHead | None, retry: bool,
                  commit: Callable[[ChainHead], None]) -> None:
        """`head` for the first attempt (None: read it); `retry`: the journal's jittered loop on fresh reads."""
        given = [head]

        def attempt() -> None:
            first = given.pop() if given else None
            commit(first if first is not None else self.head(patient_ins))

        if retry:
            until_settled(attempt)
        else:
            attempt()

    def _on_heads(self, patient_ins: str, head: ChainHead, traces: Sequence[Trace], heads: dict[str, ChainHead],
                  guard: bool) -> tuple[list[Trace], dict[str, list[Trace]]]:
        """The journal's conditions: a trace for the main chain (with `guard`, a withheld one too) needs the main
        head as read, a withheld document's traces its chain's head as read (both by `seq`), else ChainMoved.
        Returns the main chain's traces and the withheld ones by document."""
        withheld = {doc: [t for t in traces if t.document_id == doc] for doc in heads}
        withheld = {doc: found for doc, found in withheld.items() if found}
        main = [t for t in traces if t.document_id not in heads]
        moved = bool(main or (guard and withheld)) and head.seq != self.head(patient_ins).seq
        if moved or any(self.withheld_head(patient_ins, doc).seq != heads[doc].seq for doc in withheld):
            raise ChainMoved
        return main, withheld

    def _apply(self, patient_ins: str, puts: Sequence[Fact], forgets: Sequence[Fact], main: list[Trace],
               withheld: dict[str, list[Trace]]) -> None:
        partition = self.items.setdefault(patient_ins, {})
        for fact in puts:
            partition[(fact.namespace, fact.key)] = fact.body
        for fact in forgets:
            partition.pop((fact.namespace, fact.key), None)
        for document_id, traces in withheld.items():
            self.withhold(patient_ins, document_id, traces)
        self.append(patient_ins, main)

    def actions(self, patient_ins: str) -> list[str]:
        """Newest first, like GET /v1/me/traces."""
        return [t.action.value for t in reversed(self.traces.get(patient_ins, []))]


class FakeDocumentStore:
    def __init__(self, control: FakeControlStore, open_spaces: set[str]) -> None:
        self.docs: dict[tuple[str, str], Document] = {}
        self.control = control
        self.open_spaces = control.open_spaces = open_spaces  # one spaces table behind both adapters

    def create_pending(self, doc: Document) -> tuple[Document, bool]:
        if doc.patient_ins not in self.open_spaces:
            raise NotFound("patient")
        existing = self.docs.get((doc.patient_ins, doc.document_id))
        if existing:
            return existing, False
        self.docs[(doc.patient_ins, doc.document_id)] = doc
        return doc, True

    def get(self, patient_ins: str, document_id: str) -> Document | None:
        return self.docs.get((patient_ins, document_id))

    def get_with_head(self, patient_ins: str, document_id: str) -> tuple[Document | None, ChainHead]:
        return self.get(patient_ins, document_id), self.control.head(patient_ins)

    @staticmethod
    def position(doc: Document) -> str:
        """The sort key of the adapter's date indexes: service date, then arrival, then id."""
        return f"{doc.declaration.service_date.isoformat()}#{iso(doc.created_at)}#{doc.document_id}"

    def list_visible_to_patient(self, patient_ins: str, flt: DocumentFilter, after: str | None,
                                limit: int) -> tuple[list[Document], str | None]:
        """Newest service date first, between the filter's dates (inclusive), of one type if asked; the cursor
        is the index position (`<type>#` first when listing by type), as the adapter's."""
        low = flt.date_from.isoformat() if flt.date_from else "0000-00-00"
        high = (flt.date_to.isoformat() if flt.date_to else "9999-12-31") + "#\uffff"
        prefix = f"{flt.type_code}#" if flt.type_code else ""
        docs = [(prefix + self.position(d), d) for (p, _), d in self.docs.items()
                if p == patient_ins and d.visible_to_patient and low <= self.position(d) <= high
                and (not flt.type_code or d.declaration.type_code == flt.type_code)]
        return query_page(docs, after, limit)

    def list_available(self, patient_ins: str, after: str | None,
                       limit: int) -> tuple[list[Document], str | None]:
        docs = [(self.position(d), d) for (p, _), d in self.docs.items()
                if p == patient_ins and d.status is DocumentStatus.AVAILABLE]
        return query_page(docs, after, limit)

    def save(self, doc: Document, previous: Document, traces: list[Trace],
             notifications: list[Notification], head: ChainHead | None = None,
             retry: bool = True) -> bool:
        current = self.docs.get((doc.patient_ins, doc.document_id))
        if current is None or (current.status, current.updated_at) != (previous.status, previous.updated_at):
            return False  # the adapter's optimistic lock: same status and revision (`updated_at`)
        self.docs[(doc.patient_ins, doc.document_id)] = doc
        if doc.withheld_from_patient:
            self.control.withhold(doc.patient_ins, doc.document_id, traces)
            self.control.notifications.extend(notifications)
            return True
        if previous.withheld_from_patient:
            self.control.merge(doc.patient_ins, doc.document_id, traces)
            self.control.notifications.extend(notifications)
            return True
        self.control.write(doc.patient_ins, ControlWrite(traces=traces, notifications=notifications))
        return True

    def finish_release(self, doc: Document) -> None:
        """Releases merge everything at once here."""

    def delete(self, doc: Document, trace: Trace) -> bool:
        current = self.docs.get((doc.patient_ins, doc.document_id))
        if current is None or current.status is not doc.status:
            return False
        del self.docs[(doc.patient_ins, doc.document_id)]
        self.control.append(doc.patient_ins, [trace])
        return True

    def add(self, doc: Document, traces: list[Trace]) -> bool:
        if doc.patient_ins not in self.open_spaces:
            raise NotFound("patient")
        if (doc.patient_ins, doc.document_id) in self.docs:
            return False
        self.docs[(doc.patient_ins, doc.document_id)] = doc
        self.control.append(doc.patient_ins, traces)
        return True

    def due_invisible(self, day: date) -> Iterator[Document]:
        for doc in list(self.docs.values()):
            step = doc.invisibility_next_step
            if step is not None and timedelta(0) <= day - step.date() <= timedelta(days=7):
                yield doc


@dataclass
class FakeBlobStore:
    quarantine: dict[str, tuple[bytes, str, str, str | None, datetime]] = field(default_factory=dict)
    records: dict[str, bytes] = field(default_factory=dict)
    contexts: dict[str, dict[str, str]] = field(default_factory=dict)
    tickets: dict[str, tuple[dict[str, str], datetime]] = field(default_factory=dict)  # key -> (fields, signed at)
    elsewhere: dict[str, bytes] = field(default_factory=dict)  # objects of other buckets, "<bucket>/<key>"

    def presign_upload(self, key: str, patient_ins: str, uploader: str, content_type: str, size: int,
                       now: datetime, expires_at: datetime) -> PresignedPost:
        fields = {"key": key, "Content-Type": content_type, "x-amz-meta-patient": patient_ins,
                  "x-amz-meta-uploader": uploader}
        self.tickets[key] = (fields, now)
        return PresignedPost(url="https://quarantine.example", fields=fields)

    def put(self, key: str, data: bytes, content_type: str, patient_ins: str, uploader: str | None = None,
            at: datetime | None = None) -> None:
        """What the uploader's multipart POST does: by default with the fields of the ticket signed for `key`,
        arriving as soon as it was signed (S3's LastModified = `at`)."""
        fields, signed_at = self.tickets.get(key, ({}, datetime(2026, 1, 1, tzinfo=UTC)))
        self.quarantine[key] = (data, content_type, patient_ins,
                                uploader if uploader is not None else fields.get("x-amz-meta-uploader"),
                                at or signed_at)

    def open_quarantined(self, key: str) -> QuarantinedObject | None:
        if key not in self.quarantine:
            return None
        data, content_type, patient, uploader, at = self.quarantine[key]

        def chunks() -> Iterator[bytes]:
            for i in range(0, len(data), 4):
                yield data[i:i + 4]

        return QuarantinedObject(patient_ins=patient, content_type=content_type, etag=self._etag(data),
                                 chunks=chunks(), close=lambda: None, uploader=uploader, last_modified=at)

    @staticmethod
    def _etag(data: bytes) -> str:
        """S3's ETag of a single-part upload: the quoted MD5 of the bytes."""
        return f'"{hashlib.md5(data).hexdigest()}"'  # noqa: S324 - an ETag, not security

    def promote(self, key: str, etag: str, record_key: str, content_type: str, context: dict[str, str],
                patient_ins: str | None = None) -> None:
        """S3's CopyObject with CopySourceIfMatch: a version other than the verified one is refused (S3's error)."""
        from botocore.exceptions import ClientError

        if key not in self.quarantine:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "no such key"}}, "CopyObject")
        if self._etag(self.quarantine[key][0]) != etag:
            raise ClientError({"Error": {"Code": "PreconditionFailed", "Message": "At least one of the pre-"
                                         "conditions you specified did not hold"}}, "CopyObject")
        self.records[record_key] = self.quarantine[key][0]
        self.contexts[record_key] = context

    def discard_quarantined(self, key: str) -> None:
        self.quarantine.pop(key, None)

    def delete_record(self, record_key: str) -> None:
        self.records.pop(record_key, None)

    def presign_download(self, record_key: str, ttl_seconds: int, content_type: str, name: str,
                         patient_ins: str | None = None) -> str:
        return f"https://records.example/{record_key}?ttl={ttl_seconds}"

    def read_record(self, record_key: str, patient_ins: str) -> bytes:
        return self.records[record_key]
    def import_object(self, source_bucket: str, source_key: str, record_key: str, content_type: str,
                      context: dict[str, str], patient_ins: str | None = None) -> None:
        """Copies from `elsewhere`, the other buckets (`<bucket>/<key>` -> bytes)."""
        self.records[record_key] = self.elsewhere[f"{source_bucket}/{source_key}"]
        self.contexts[record_key] = context


# ---- the transaction and batch-read plumbing the fakes share (functions.shared.staging / lookup) ---------------


@dataclass
class FakeWrite:
    """One staged write of a fake adapter: `ok` is its condition on the current state, `apply` performs it and
    `old` is what DynamoDB returns of the item when the condition fails and ALL_OLD was asked."""

    apply: Callable[[], None]
    ok: Callable[[], bool] = lambda: True
    old: Callable[[], dict[str, Any]] = dict


class FakeTransaction:
    """`WriteSink` for the fakes' staged writes, all or nothing like `functions.shared.dynamo.Transaction`: every
    condition is checked before anything is applied, and a failure raises the same TransactionCancelled with the
    failed labels and (for puts asked with `return_old`) the items as they are."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, FakeWrite, bool]] = []

    def check(self, label: str, model: Any, hash_key: Any, range_key: Any, condition: Any) -> None:
        self.writes.append((label, FakeWrite(apply=lambda: None, ok=condition), False))

    def delete(self, label: str, item: Any, condition: Any | None = None) -> None:
        self.writes.append((label, item, False))

    def put(self, label: str, item: Any, condition: Any | None = None, return_old: bool = False) -> None:
        self.writes.append((label, item, return_old))

    def update(self, label: str, item: Any, actions: list[Any], condition: Any | None = None) -> None:
        self.writes.append((label, item, False))

    def commit(self) -> None:
        failed = {label for label, write, _ in self.writes if not write.ok()}
        if failed:
            items = {label: write.old() for label, write, return_old in self.writes
                     if return_old and label in failed and write.old()}
            raise TransactionCancelled(failed, items)
        for _, write, _ in self.writes:
            write.apply()


class FakeTable:
    """The `model` a fake lookup names: anything with `fetch(hash_key, range_key)`."""

    def __init__(self, fetch: Callable[[Any, Any], Any]) -> None:
        self.fetch = fetch


def batch_get(lookups: Sequence[BatchLookup[Any]]) -> list[Any]:
    """`functions.shared.dynamo.batch_get_many` over fake lookups: absent keys do not come back."""
    results = []
    for lookup in lookups:
        found = [item for table, hash_key, range_key in lookup.requested()
                 if (item := table.fetch(hash_key, range_key)) is not None]
        results.append(lookup.parse(found))
    return results


S = TypeVar("S")


def query_page(items: list[tuple[str, S]], after: str | None, limit: int, keep: Callable[[S], bool] = lambda _: True,
               newest_first: bool = True) -> tuple[list[S], str | None]:
    """One page as pynamodb's `Model.query(limit=n)` gives it on moto: DynamoDB pages of `n` examined items in
    sort-key order after the cursor, each filtered (`keep`) AFTER its limit, read until `n` items are kept or the
    key range ends. The cursor is the last kept item's key when the page stopped inside a DynamoDB page, else that
    page's LastEvaluatedKey (moto gives none when nothing is left after it)."""
    ordered = sorted(items, key=lambda pair: pair[0], reverse=newest_first)
    if after is not None:
        ordered = [p for p in ordered if (p[0] < after if newest_first else p[0] > after)]
    kept: list[tuple[str, S]] = []
    while True:
        examined, ordered = ordered[:limit], ordered[limit:]
        last_evaluated = examined[-1][0] if ordered and examined else None
        for n, (key, item) in enumerate(examined):
            if keep(item):
                kept.append((key, item))
                if len(kept) == limit:
                    cursor = key if n < len(examined) - 1 else last_evaluated
                    return [i for _, i in kept], cursor
        if last_evaluated is None:
            return [i for _, i in kept], None


# ---- accounts: the space directory ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _FakeContacts:
    store: FakeSpaceDirectory
    ins: list[str]

    def requested(self) -> list[tuple[Any, Any, Any]]:
        return [(self.store.table, i, None) for i in sorted(set(self.ins))]

    def parse(self, items: list[Any]) -> dict[str, Contact]:
        return {s.ins: Contact(ins=s.ins, status=s.status, email=s.email,
                               preferences=self.store.switches.get(s.ins, NotificationPreferences()))
                for s in items if isinstance(s, Space)}


class FakeSpaceDirectory:
    """`SpaceDirectory` in memory: spaces by INS, login links by (issuer, subject)."""

    def __init__(self) -> None:
        self.spaces: dict[str, Space] = {}
        self.logins: dict[tuple[str, str], str] = {}
        self.switches: dict[str, NotificationPreferences] = {}  # the copy kept on the space item
        self.table = FakeTable(lambda ins, _: self.spaces.get(ins))

    def open(self, space: Space) -> Space:
        return self.spaces.setdefault(space.ins, space)

    def get(self, ins: str) -> Space | None:
        return self.spaces.get(ins)

    def link_login(self, issuer: str, subject: str, ins: str, at: datetime) -> None:
        self.logins[(issuer, subject)] = ins
        if ins in self.spaces:
            self.spaces[ins] = self.spaces[ins].model_copy(update={"activated_at": at})

    def resolve_login(self, issuer: str, subject: str) -> str | None:
        return self.logins.get((issuer, subject))

    def contacts(self, ins: list[str]) -> BatchLookup[dict[str, Contact]]:
        return _FakeContacts(self, list(ins))

    def notification_switches(self, ins: str, prefs: NotificationPreferences) -> Staged:
        return _FakeSwitches(self, ins, prefs)

    def open_condition(self, ins: str) -> Staged:
        return _FakeCheck("space", lambda: (s := self.spaces.get(ins)) is not None and s.is_open)

    def contact(self, ins: str) -> Contact | None:
        return _FakeContacts(self, [ins]).parse([s for s in [self.spaces.get(ins)] if s is not None]).get(ins)


@dataclass(frozen=True)
class _FakeSwitches:
    """The switches written onto an existing space (an update conditioned on the space: label `space`)."""

    store: FakeSpaceDirectory
    ins: str
    prefs: NotificationPreferences

    def stage(self, tx: WriteSink) -> None:
        def apply() -> None:
            self.store.switches[self.ins] = self.prefs

        tx.update("space", FakeWrite(apply=apply, ok=lambda: self.ins in self.store.spaces), [])


@dataclass(frozen=True)
class _FakeCheck:
    label: str
    ok: Callable[[], bool]

    def stage(self, tx: WriteSink) -> None:
        tx.check(self.label, None, None, None, self.ok)


# ---- notifications: in-app notifications, preferences, e-mail claims ------------------------------------------


@dataclass(frozen=True)
class _FakeNotificationPut:
    store: FakeNotificationStore
    notification: Notification
    once: bool
    email_pending: bool = False
    return_old: bool = False

    def stage(self, tx: WriteSink) -> None:
        key = self.store.key(self.notification)
        stored = self.store.items

        def apply() -> None:
            stored[key] = (self.notification, self.email_pending)

        def old() -> dict[str, Any]:
            return {"email_pending": stored[key][1]} if key in stored else {}

        tx.put("notification", FakeWrite(apply=apply, ok=lambda: not self.once or key not in stored, old=old),
               return_old=self.return_old)

    def email_was_pending(self, old: Mapping[str, Any]) -> bool:
        return bool(old) and bool(old.get("email_pending"))


class FakeNotificationStore:
    """`InAppNotifications` + `EmailClaims` in memory, keyed like the table: (recipient, time#id)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], tuple[Notification, bool]] = {}  # key -> (notification, email_pending)
        self.prefs: dict[str, NotificationPreferences] = {}

    @staticmethod
    def key(n: Notification) -> tuple[str, str]:
        return n.recipient_ins, f"{iso(n.created_at)}#{n.notification_id}"

    def staged(self, notifications: list[Notification], once: bool = True) -> list[Staged]:
        return [_FakeNotificationPut(self, n, once) for n in notifications]

    def staged_once(self, notification: Notification, email_pending: bool) -> OnceOnly:
        return _FakeNotificationPut(self, notification, True, email_pending, return_old=True)

    def preferences(self, ins: str) -> NotificationPreferences:
        return self.prefs.get(ins, NotificationPreferences())

    def put_preferences(self, ins: str, prefs: NotificationPreferences, also: Sequence[Staged] = ()) -> None:
        def apply() -> None:
            self.prefs[ins] = prefs

        tx = FakeTransaction()
        tx.put("preferences", FakeWrite(apply=apply))
        for staged in also:
            staged.stage(tx)
        try:
            tx.commit()
        except TransactionCancelled as exc:
            if "space" in exc.failed:
                raise NotFound("space") from exc
            raise

    def claim_emails(self, notifications: list[Notification]) -> list[Notification]:
        claimed = []
        for n in notifications:
            found = self.items.get(self.key(n))
            if found is not None and found[1]:
                self.items[self.key(n)] = (found[0], False)
                claimed.append(n)
        return claimed

    def list(self, recipient_ins: str, after: str | None, limit: int) -> tuple[list[Notification], str | None]:
        mine = [(sk, n) for (r, sk), (n, _) in self.items.items() if r == recipient_ins]
        return query_page(mine, after, limit, keep=lambda n: n.in_app)


# ---- agenda: items, their due entries, the due index ------------------------------------------------------------

AgendaThing = Appointment | Reminder | Prevention


def _item_id(item: AgendaThing) -> str:
    if isinstance(item, Appointment):
        return item.appointment_id
    return item.reminder_id if isinstance(item, Reminder) else PREVENTION_ID


class FakeAgendaStore:
    """`AgendaStore` and `DueIndex` in memory, with the adapter's conditions: a new item must not exist, a change
    needs the version it was read at, and an item and its due entry change together (the old entry goes when the
    day moves). Due entries sit in (day, shard) buckets keyed `<ins>#<item id>`, as in the due table."""

    def __init__(self, shards: int = 8) -> None:
        self.shards = shards
        self.items: dict[tuple[str, str], AgendaThing] = {}
        self.due: dict[tuple[date, int], dict[str, DueEntry]] = {}

    def _get(self, ins: str, item_id: str, kind: type[S]) -> S | None:
        found = self.items.get((ins, item_id))
        return found if isinstance(found, kind) else None

    def get_appointment(self, ins: str, appointment_id: str) -> Appointment | None:
        return self._get(ins, appointment_id, Appointment)

    def get_reminder(self, ins: str, reminder_id: str) -> Reminder | None:
        return self._get(ins, reminder_id, Reminder)

    def get_prevention(self, ins: str) -> Prevention | None:
        return self._get(ins, PREVENTION_ID, Prevention)

    def list_appointments(self, ins: str, after: str | None, limit: int) -> tuple[list[Appointment], str | None]:
        mine = [(f"appointment#{iso(a.start)}#{a.appointment_id}", a) for (o, _), a in self.items.items()
                if o == ins and isinstance(a, Appointment)]
        return query_page(mine, after, limit, newest_first=False)

    def list_reminders(self, ins: str, after: str | None, limit: int) -> tuple[list[Reminder], str | None]:
        mine = [(f"reminder#{r.first_date.isoformat()}#{r.reminder_id}", r) for (o, _), r in self.items.items()
                if o == ins and isinstance(r, Reminder)]
        return query_page(mine, after, limit, newest_first=False)

    def _bucket(self, ins: str, day: date) -> dict[str, DueEntry]:
        return self.due.setdefault((day, shard_of(ins, self.shards)), {})

    def _save(self, item: AgendaThing, expected_version: int | None, old_due: date | None,
              due: DueEntry | None) -> bool:
        key = (item.owner_ins, _item_id(item))
        current = self.items.get(key)
        if (current is not None) if expected_version is None else (current is None
                                                                   or current.version != expected_version):
            return False
        if old_due is not None and (due is None or due.day != old_due):
            self._bucket(item.owner_ins, old_due).pop(f"{key[0]}#{key[1]}", None)
        self.items[key] = item
        if due is not None:
            self._bucket(due.owner_ins, due.day)[f"{due.owner_ins}#{due.item_id}"] = due.model_copy(
                update={"version": item.version})
        return True

    def save_appointment(self, a: Appointment, expected_version: int | None, old_due: date | None,
                         due: DueEntry | None) -> bool:
        return self._save(a, expected_version, old_due, due)

    def save_reminder(self, r: Reminder, expected_version: int | None, old_due: date | None,
                      due: DueEntry | None) -> bool:
        return self._save(r, expected_version, old_due, due)

    def save_prevention(self, p: Prevention, expected_version: int | None, old_due: date | None,
                        due: DueEntry | None) -> bool:
        return self._save(p, expected_version, old_due, due)

    def _delete(self, item: Appointment | Reminder) -> bool:
        key = (item.owner_ins, _item_id(item))
        current = self.items.get(key)
        if current is None or current.version != item.version:
            return False
        del self.items[key]
        if item.next_due is not None:
            self._bucket(item.owner_ins, item.next_due).pop(f"{key[0]}#{key[1]}", None)
        return True

    def delete_appointment(self, a: Appointment) -> bool:
        return self._delete(a)

    def delete_reminder(self, r: Reminder) -> bool:
        return self._delete(r)

    def shard(self, day: date, shard: int, page_size: int = 1000) -> Iterator[list[DueEntry]]:
        """The due entries of one shard of one day in key order, page by page."""
        bucket = self.due.get((day, shard), {})
        entries = [bucket[k] for k in sorted(bucket)]
        for start in range(0, len(entries), page_size):
            yield entries[start:start + page_size]


# ---- the patient journal: ledger partition, chain heads, trace chains -------------------------------------------


class FakeJournal:
    """`PatientJournal` and `TraceReader` in memory, with the adapter's conditions: traces for the main chain (and,
    with `guard`, withheld traces too) commit only on the head as given, compared by `seq` like the conditional
    write; a withheld chain's traces only on its head as given. A moved head is ChainMoved (retried with jitter on
    a fresh head when `retry`, Busy after too many); a staged write's failed condition is Refused(labels). Either
    way nothing is written. Staged writes come from the fakes (FakeSpaceDirectory, FakeNotificationStore)."""

    def __init__(self) -> None:
        self.heads: dict[str, ChainHead] = {}
        self.facts: dict[str, dict[tuple[str, str], str]] = {}  # patient -> (namespace, key) -> body
        self.traces: dict[str, list[Trace]] = {}
        self.withheld_heads: dict[tuple[str, str], ChainHead] = {}  # (patient, document) -> head
        self.withheld_traces: dict[tuple[str, str], list[Trace]] = {}
        self.commits = 0  # attempts that reached the conditions (a test can see the retry loop turn)

    def head(self, patient_ins: str) -> ChainHead:
        return self.heads.get(patient_ins, ChainHead())

    def ledger(self, patient_ins: str) -> Ledger:
        facts = sorted(self.facts.get(patient_ins, {}).items(), key=lambda kv: f"{kv[0][0]}#{kv[0][1]}"
                       if kv[0][1] else kv[0][0])
        withheld = {doc: head for (p, doc), head in self.withheld_heads.items() if p == patient_ins}
        return Ledger(patient_ins, self.head(patient_ins), withheld,
                      tuple(Fact(ns, key, body) for (ns, key), body in facts))

    def record(self, entry: Entry, head: ChainHead | None = None, retry: bool = True) -> None:
        given = [head]

        def attempt() -> None:
            first = given.pop() if given else None
            self._commit(entry, first if first is not None else self.head(entry.patient_ins))

        if retry:
            until_settled(attempt)
        else:
            attempt()

    def _commit(self, entry: Entry, head: ChainHead) -> None:
        self.commits += 1
        ins = entry.patient_ins
        main = [t for t in entry.traces if t.document_id not in entry.withheld]
        withheld: dict[str, list[Trace]] = {}
        for t in entry.traces:
            if t.document_id is not None and t.document_id in entry.withheld:
                withheld.setdefault(t.document_id, []).append(t)
        moved = (main or (entry.guard and withheld)) and self.head(ins).seq != head.seq
        moved = moved or any(self.withheld_heads.get((ins, doc), ChainHead()).seq != entry.withheld[doc].seq
                             for doc in withheld)
        tx = FakeTransaction()
        for staged in entry.staged:
            staged.stage(tx)
        if moved:
            raise ChainMoved
        try:
            tx.commit()
        except TransactionCancelled as exc:
            raise Refused(exc.failed) from exc
        partition = self.facts.setdefault(ins, {})
        for fact in entry.facts:
            partition[(fact.namespace, fact.key)] = fact.body
        for fact in entry.forget:
            partition.pop((fact.namespace, fact.key), None)
        if main:
            linked, self.heads[ins] = link(head, main)
            self.traces.setdefault(ins, []).extend(linked)
        for doc, traces in withheld.items():
            linked, self.withheld_heads[(ins, doc)] = link(entry.withheld[doc], traces)
            self.withheld_traces.setdefault((ins, doc), []).extend(linked)

    def list(self, patient_ins: str, after: str | None, limit: int) -> tuple[list[Trace], str | None]:
        return query_page([(f"S#{t.seq:012d}", t) for t in self.traces.get(patient_ins, [])], after, limit)

    def all(self, patient_ins: str) -> Iterator[Trace]:
        return iter(list(self.traces.get(patient_ins, [])))

    def is_position(self, after: str) -> bool:
        return after.startswith("S#")


class FakeDeliveryStore:
    """agenda's `DeliveryStore` over the other fakes, as DynamoDeliveryStore is over their tables: recipients are
    the spaces' contacts (the holders' switches on them), and each effect commits all or nothing: its notification
    once-only (already there: ALREADY, or ALREADY_EMAIL_PENDING while its e-mail was never claimed), its item
    still on the entry's day and version (else STALE), the item moved on and the next entry written."""

    def __init__(self, agenda: FakeAgendaStore, spaces: FakeSpaceDirectory,
                 notifications: FakeNotificationStore) -> None:
        self.agenda = agenda
        self.spaces = spaces
        self.notifications = notifications

    def read(self, ins: list[str], prevention_of: list[str]) -> tuple[dict[str, Contact], dict[str, Prevention]]:
        [recipients] = batch_get([self.spaces.contacts(ins)])
        preventions = {i: p for i in set(prevention_of) if (p := self.agenda.get_prevention(i)) is not None}
        return recipients, preventions

    def commit(self, effects: list[Effect]) -> dict[EffectKey, Outcome]:
        outcomes: dict[EffectKey, Outcome] = {}
        for effect in effects:
            e = effect.entry
            notice = self.notifications.staged_once(effect.notification, email_pending=effect.email)
            tx = FakeTransaction()
            notice.stage(tx)
            item = self.agenda.items.get((e.owner_ins, e.item_id))
            tx.check("item", None, None, None, lambda item=item, e=e: item is not None
                     and item.next_due == e.day and item.version == e.version)
            try:
                tx.commit()
            except TransactionCancelled as exc:
                if "notification" in exc.failed:
                    pending = notice.email_was_pending(exc.items.get("notification", {}))
                    outcomes[effect.key] = Outcome.ALREADY_EMAIL_PENDING if pending else Outcome.ALREADY
                else:
                    outcomes[effect.key] = Outcome.STALE
                continue
            assert item is not None
            nxt = effect.next_entry
            self.agenda.items[(e.owner_ins, e.item_id)] = item.model_copy(
                update={"next_due": nxt.day if nxt else None})
            if nxt is not None:
                self.agenda._bucket(nxt.owner_ins, nxt.day)[f"{nxt.owner_ins}#{nxt.item_id}"] = nxt
            outcomes[effect.key] = Outcome.DONE
        return outcomes


class FakePairings:
    """The catalogue's pairing directory and deny list as the token check and the measures flow read them
    (`functions.identity.ports`), in memory."""

    def __init__(self) -> None:
        self._persons: dict[tuple[str, str], str] = {}
        self._revoked: dict[str, int] = {}
        self.resolved = 0

    def pair(self, oid: str, id_pe: str, ins: str) -> None:
        self._persons[(oid, id_pe)] = ins

    def unpair(self, oid: str, id_pe: str) -> None:
        self._persons.pop((oid, id_pe), None)

    def revoke(self, key: str, minimum: int) -> None:
        """`key`: a pairing id (tokens with `pv` below `minimum` are dead) or `svc:<oid>` (tokens issued before
        `minimum`, epoch seconds, are dead)."""
        self._revoked[key] = minimum

    def resolve(self, oid: str, id_pe: str) -> str | None:
        self.resolved += 1
        return self._persons.get((oid, id_pe))

    def snapshot(self) -> dict[str, int]:
        return dict(self._revoked)
