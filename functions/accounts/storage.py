"""DynamoDB adapter for spaces and login links: one table, two item kinds, every read is a key lookup. Only
accounts touches `SpaceItem`; other capabilities go through `functions.accounts.ports.SpaceDirectory`."""

from __future__ import annotations

import base64
import json
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pynamodb.attributes import Attribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from functions.accounts.lifecycle import erase_due
from functions.accounts.models import (
    CodeChannel,
    Contact,
    DeletionState,
    Enrolment,
    Space,
    SpaceStatus,
    Standing,
)
from functions.notifications.models import NotificationPreferences
from functions.shared.dynamo import Transaction, TransactionCancelled, batch_get_many, error_code
from functions.shared.lookup import BatchLookup
from functions.shared.names import SPACE_KEY_CONTEXT
from functions.shared.privacy import digest
from functions.shared.staging import Staged, WriteSink

ERASE_SHARDS = 8


class EraseDue(GlobalSecondaryIndex["SpaceItem"]):
    """Sparse: only closed spaces, under the day their erasure is due (`<day>#<shard>`), keys only."""

    class Meta:
        index_name = "erase-due"
        projection = KeysOnlyProjection()

    erase_due = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)


class CreationDueIndex(GlobalSecondaryIndex["SpaceItem"]):
    """Sparse: only informed spaces carry `creation_shard` (`<creation day>#<shard>`); opening removes it. The
    daily creation job reads one partition per shard of the day, never a Scan."""

    class Meta:
        index_name = "creation-due"
        projection = KeysOnlyProjection()

    creation_shard = UnicodeAttribute(hash_key=True)
    ins = UnicodeAttribute(range_key=True)


class SpaceItem(Model):
    """`key` is `SPACE#<ins>` for a space, `LOGIN#<issuer digest>#<subject digest>` for a login link and
    `KEY#<ins>` for the space's wrapped data key (`KmsSpaceKeys`)."""

    class Meta:
        table_name = "spaces"

    key = UnicodeAttribute(hash_key=True)
    ins = UnicodeAttribute()
    status = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    activated_at = UTCDateTimeAttribute(null=True)
    birth_date = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    # The holder's notification switches (JSON of NotificationPreferences), a copy kept by the preferences route
    # beside notifications' PREFS item in one transaction: delivery reads them with the contact, one key a person.
    # Absent (never chosen, or a space from before the copy): every channel on.
    switches = UnicodeAttribute(null=True)
    # The insurer's identity and contact data (mes-rules-next.md B.2, B.3), when the person was informed, the day
    # the space is created unless they object and the creation job's partition while informed (opening by default,
    # functions/accounts/opening.py), and the provisional code, kept as its keyed hash (functions/accounts/codes.py)
    # with its expiry and channel (read by activation and opposition).
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    postal_address = UnicodeAttribute(null=True)
    representative_ins = UnicodeAttribute(null=True)
    deceased_on = UnicodeAttribute(null=True)
    vitale_serial = UnicodeAttribute(null=True)
    informed_at = UTCDateTimeAttribute(null=True)
    creation_due = UnicodeAttribute(null=True)
    creation_shard = UnicodeAttribute(null=True)
    code_digest = UnicodeAttribute(null=True)
    code_expires_at = UTCDateTimeAttribute(null=True)
    code_channel = UnicodeAttribute(null=True)  # mail | sms | letter
    code_used_at = UTCDateTimeAttribute(null=True)
    code_sent_at = UTCDateTimeAttribute(null=True)  # set once the information message left (e-mail, SMS, letter)
    opposed_at = UTCDateTimeAttribute(null=True)
    opposition_reference = UnicodeAttribute(null=True)
    terms_version = UnicodeAttribute(null=True)
    terms_accepted_at = UTCDateTimeAttribute(null=True)
    by_creation_due = CreationDueIndex()
    # The lifecycle (functions/accounts/lifecycle.py); `erase_due` is the sparse `erase-due` index's key.
    closed_at = UTCDateTimeAttribute(null=True)
    archive_until = UnicodeAttribute(null=True)
    deletion = UnicodeAttribute(null=True)
    deletion_due = UnicodeAttribute(null=True)
    erase_due = UnicodeAttribute(null=True)
    erase_due_index = EraseDue()
    # The login links' keys, so the erasure deletes them without a Scan (a link's key is not the INS).
    logins = UnicodeSetAttribute(null=True)
    erased_at = UTCDateTimeAttribute(null=True)
    erasure_reference = UnicodeAttribute(null=True)
    wrapped_key = UnicodeAttribute(null=True)  # KEY# items only: base64 of KMS's CiphertextBlob


class CreationMark(Model):
    """`JOB#space-creation`: the last day the creation job dispatched, so the next run also dispatches the days a
    missed schedule left (functions/accounts/opening.py `dispatch_creation`). Not a person's item."""

    class Meta:
        table_name = "spaces"

    key = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute()


CREATION_MARK = "JOB#space-creation"


def switches_json(prefs: NotificationPreferences) -> str:
    """How the switches are kept on the space item (the bench seeds spaces with it)."""
    return json.dumps(prefs.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def switches_from(raw: str | None) -> NotificationPreferences:
    return NotificationPreferences.model_validate(json.loads(raw)) if raw else NotificationPreferences()


def space_key(ins: str) -> str:
    return f"SPACE#{ins}"


def login_key(issuer: str, subject: str) -> str:
    return f"LOGIN#{digest('iss', issuer)}#{digest('sub', subject)}"


def data_key_key(ins: str) -> str:
    return f"KEY#{ins}"


def erase_due_key(day: date | str, ins: str) -> str:
    """`<day>#<shard>`: one day's erasures spread over ERASE_SHARDS partitions (stable per space)."""
    text = day if isinstance(day, str) else day.isoformat()
    return f"{text}#{zlib.crc32(ins.encode()) % ERASE_SHARDS}"


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _set(attribute: Attribute[Any], value: Any) -> Any:
    return attribute.remove() if value is None else attribute.set(value)


@dataclass(frozen=True)
class _Lifecycle:
    space: Space
    previous: Space

    def stage(self, tx: WriteSink) -> None:
        s = self.space
        due = erase_due(s)
        actions = [SpaceItem.status.set(s.status.value), _set(SpaceItem.closed_at, s.closed_at),
                   _set(SpaceItem.archive_until, _iso(s.archive_until)),
                   _set(SpaceItem.deletion, s.deletion.value if s.deletion else None),
                   _set(SpaceItem.deletion_due, _iso(s.deletion_due)),
                   _set(SpaceItem.erase_due, erase_due_key(due, s.ins) if due else None)]
        was = self.previous
        condition = SpaceItem.status == was.status.value
        condition &= (SpaceItem.deletion == was.deletion.value) if was.deletion else SpaceItem.deletion.does_not_exist()
        tx.update("space", SpaceItem(space_key(s.ins)), actions, condition)


@dataclass(frozen=True)
class _SpaceIsOpen:
    ins: str

    def stage(self, tx: WriteSink) -> None:
        tx.check("space", SpaceItem, space_key(self.ins), None, SpaceItem.status == SpaceStatus.OPEN.value)


@dataclass(frozen=True)
class _Switches:
    ins: str
    prefs: NotificationPreferences

    def stage(self, tx: WriteSink) -> None:
        # an update, not a put: the rest of the item (status, e-mail, activation) is not this write's to change
        tx.update("space", SpaceItem(space_key(self.ins)), [SpaceItem.switches.set(switches_json(self.prefs))],
                  SpaceItem.status.exists())


def space_is_open(ins: str) -> Staged:
    """A condition-check for another owner's transaction (a declaration, a professional's trace): it commits only
    while the space exists and is open; a failure is labelled `space`."""
    return _SpaceIsOpen(ins)


@dataclass(frozen=True)
class _Contacts:
    ins: list[str]

    def requested(self) -> list[tuple[Any, Any, Any]]:
        return [(SpaceItem, space_key(i), None) for i in sorted(set(self.ins))]

    def parse(self, items: list[Any]) -> dict[str, Contact]:
        return {item.ins: Contact(ins=item.ins, status=SpaceStatus(item.status), email=item.email,
                                  preferences=switches_from(item.switches))
                for item in items if isinstance(item, SpaceItem) and item.status}


def _space(item: SpaceItem) -> Space:
    return Space(ins=item.ins, status=SpaceStatus(item.status), created_at=item.created_at,
                 activated_at=item.activated_at, birth_date=item.birth_date, email=item.email,
                 informed_at=item.informed_at, creation_due=item.creation_due, opposed_at=item.opposed_at,
                 terms_version=item.terms_version, terms_accepted_at=item.terms_accepted_at,
                 closed_at=item.closed_at, archive_until=item.archive_until,
                 deletion=DeletionState(item.deletion) if item.deletion else None, deletion_due=item.deletion_due,
                 erased_at=item.erased_at, erasure_reference=item.erasure_reference)


def _enrolment(item: SpaceItem) -> Enrolment:
    return Enrolment(space=_space(item), first_name=item.first_name, last_name=item.last_name,
                     postal_address=item.postal_address, representative_ins=item.representative_ins,
                     deceased_on=item.deceased_on, vitale_serial=item.vitale_serial, code_digest=item.code_digest,
                     code_expires_at=item.code_expires_at,
                     code_channel=CodeChannel(item.code_channel) if item.code_channel else None,
                     code_used_at=item.code_used_at, code_sent_at=item.code_sent_at,
                     opposition_reference=item.opposition_reference)


@dataclass(frozen=True)
class _SpaceUpdate:
    """One conditional update of a space item for the journal's transaction (label `space`)."""

    ins: str
    actions: list[Any]
    condition: Any

    def stage(self, tx: WriteSink) -> None:
        tx.update("space", SpaceItem(space_key(self.ins)), self.actions, self.condition)


@dataclass(frozen=True)
class _LoginLink:
    issuer: str
    subject: str
    ins: str
    at: datetime

    def stage(self, tx: WriteSink) -> None:
        tx.put("login", SpaceItem(login_key(self.issuer, self.subject), ins=self.ins, created_at=self.at),
               SpaceItem.key.does_not_exist() | (SpaceItem.ins == self.ins))


_NOT_ACTIVATED = SpaceItem.activated_at.does_not_exist()
# an erased space's tombstone enrols again once the insurer's identity is on it (B.1; `refreshed`)
_ENROLLING = SpaceItem.status.is_in(SpaceStatus.INFORMED.value, SpaceStatus.OPPOSED.value, SpaceStatus.OPEN.value,
                                    SpaceStatus.ERASED.value)


class DynamoSpaceStore:
    """`functions.accounts.ports.SpaceDirectory` on DynamoDB."""

    def open(self, space: Space) -> Space:
        """Create the space unless it exists (opening is idempotent); returns what is stored."""
        item = SpaceItem(
            space_key(space.ins),
            ins=space.ins,
            status=space.status.value,
            created_at=space.created_at,
            activated_at=space.activated_at,
            birth_date=space.birth_date.isoformat() if space.birth_date else None,
            email=space.email,
        )
        try:
            item.save(condition=SpaceItem.key.does_not_exist())
        except PutError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            existing = self.get(space.ins)
            assert existing is not None
            return existing
        return space

    def get(self, ins: str) -> Space | None:
        try:
            item = SpaceItem.get(space_key(ins), consistent_read=True)
        except SpaceItem.DoesNotExist:
            return None
        return _space(item)

    def enrolment(self, ins: str) -> Enrolment | None:
        try:
            return _enrolment(SpaceItem.get(space_key(ins), consistent_read=True))
        except SpaceItem.DoesNotExist:
            return None

    def inform(self, enrolment: Enrolment) -> None:
        space = enrolment.space
        item = SpaceItem(
            space_key(space.ins), ins=space.ins, status=space.status.value, created_at=space.created_at,
            birth_date=space.birth_date.isoformat() if space.birth_date else None, email=space.email,
            informed_at=space.informed_at, first_name=enrolment.first_name, last_name=enrolment.last_name,
            postal_address=enrolment.postal_address, representative_ins=enrolment.representative_ins,
            deceased_on=enrolment.deceased_on.isoformat() if enrolment.deceased_on else None,
            vitale_serial=enrolment.vitale_serial)
        try:
            item.save(condition=SpaceItem.key.does_not_exist())
        except PutError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def code_issued(self, ins: str, digest: str, channel: CodeChannel, expires_at: datetime, at: datetime,
                    not_after: datetime) -> Staged:
        return _SpaceUpdate(ins, [SpaceItem.code_digest.set(digest), SpaceItem.code_channel.set(channel.value),
                                  SpaceItem.code_expires_at.set(expires_at), SpaceItem.code_sent_at.set(at),
                                  SpaceItem.code_used_at.remove()],
                            _ENROLLING & _NOT_ACTIVATED
                            & (SpaceItem.code_sent_at.does_not_exist() | (SpaceItem.code_sent_at <= not_after)))

    def activated(self, ins: str, digest: str, at: datetime, terms_version: str,
                  login: tuple[str, str] | None = None) -> Staged:
        links = [SpaceItem.logins.add({login_key(*login)})] if login is not None else []
        return _SpaceUpdate(ins, [SpaceItem.status.set(SpaceStatus.OPEN.value), SpaceItem.activated_at.set(at),
                                  SpaceItem.code_used_at.set(at), SpaceItem.terms_version.set(terms_version),
                                  SpaceItem.terms_accepted_at.set(at), *links],
                            _ENROLLING & _NOT_ACTIVATED & (SpaceItem.code_digest == digest)
                            & SpaceItem.code_used_at.does_not_exist())

    def login_linked(self, issuer: str, subject: str, ins: str, at: datetime) -> Staged:
        return _LoginLink(issuer, subject, ins, at)

    def opposed(self, ins: str, digest: str, at: datetime, reference: str) -> Staged:
        return _SpaceUpdate(ins, [SpaceItem.status.set(SpaceStatus.OPPOSED.value), SpaceItem.opposed_at.set(at),
                                  SpaceItem.opposition_reference.set(reference)],
                            SpaceItem.status.is_in(SpaceStatus.INFORMED.value, SpaceStatus.ERASED.value)
                            & (SpaceItem.code_digest == digest))

    def terms_accepted(self, ins: str, version: str, at: datetime) -> Staged:
        return _SpaceUpdate(ins, [SpaceItem.terms_version.set(version), SpaceItem.terms_accepted_at.set(at)],
                            SpaceItem.activated_at.exists())

    def link_login(self, issuer: str, subject: str, ins: str, at: datetime) -> None:
        link = login_key(issuer, subject)
        SpaceItem(link, ins=ins, created_at=at).save()
        SpaceItem(space_key(ins)).update(actions=[SpaceItem.activated_at.set(at), SpaceItem.logins.add({link})])

    def resolve_login(self, issuer: str, subject: str) -> str | None:
        try:
            return SpaceItem.get(login_key(issuer, subject)).ins
        except SpaceItem.DoesNotExist:
            return None

    def contacts(self, ins: list[str]) -> BatchLookup[dict[str, Contact]]:
        return _Contacts(list(ins))

    def notification_switches(self, ins: str, prefs: NotificationPreferences) -> Staged:
        return _Switches(ins, prefs)

    def open_condition(self, ins: str) -> Staged:
        return space_is_open(ins)

    def contact(self, ins: str) -> Contact | None:
        try:
            item = SpaceItem.get(space_key(ins), consistent_read=True,
                                 attributes_to_get=["ins", "status", "email", "switches"])
        except SpaceItem.DoesNotExist:
            return None
        found = _Contacts([ins]).parse([item])
        return found.get(ins)

    # ---- the lifecycle (functions.accounts.ports.SpaceLifecycle) ------------------------------------------

    def lifecycle_write(self, space: Space, previous: Space) -> Staged:
        return _Lifecycle(space, previous)

    def start_erasure(self, space: Space) -> Space | None:
        running = space.model_copy(update={"deletion": DeletionState.RUNNING})
        due = erase_due(space)
        try:
            SpaceItem(space_key(space.ins)).update(
                actions=[SpaceItem.deletion.set(DeletionState.RUNNING.value)],
                condition=(SpaceItem.status == SpaceStatus.CLOSED.value)
                & (SpaceItem.erase_due == (erase_due_key(due, space.ins) if due else "")))
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return None
        return running

    def due_for_erasure(self, day: str) -> Iterator[str]:
        for shard in range(ERASE_SHARDS):
            for item in SpaceItem.erase_due_index.query(f"{day}#{shard}"):
                yield item.key.removeprefix("SPACE#")

    def tombstone(self, space: Space, at: datetime, reference: str) -> None:
        """Only over the closed space whose erasure is running: a second, late run of the same erasure (a daily
        dispatch beside a queued request) finds it erased already, or activated anew after it, and leaves it."""
        try:
            item = SpaceItem.get(space_key(space.ins), consistent_read=True)
        except SpaceItem.DoesNotExist:
            return
        if item.status != SpaceStatus.CLOSED.value or item.deletion != DeletionState.RUNNING.value:
            return
        with SpaceItem.batch_write() as batch:
            for link in sorted(item.logins or ()):
                batch.delete(SpaceItem(link))
        try:
            SpaceItem(space_key(space.ins), ins=space.ins, status=SpaceStatus.ERASED.value, created_at=at,
                      erased_at=at, erasure_reference=reference).save(
                condition=(SpaceItem.status == SpaceStatus.CLOSED.value)
                & (SpaceItem.deletion == DeletionState.RUNNING.value))
        except PutError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise


def creation_shard(day: date, shard: int) -> str:
    return f"{day.isoformat()}#{shard:02d}"


@dataclass(frozen=True)
class _Informed:
    enrolment: Enrolment
    code_digest: str
    code_expires_at: datetime
    channel: str
    shard: int

    def stage(self, tx: WriteSink) -> None:
        enrolment = self.enrolment
        space = enrolment.space
        assert space.creation_due is not None
        tx.put("space", SpaceItem(
            space_key(space.ins), ins=space.ins, status=space.status.value, created_at=space.created_at,
            birth_date=space.birth_date.isoformat() if space.birth_date else None, email=space.email,
            first_name=enrolment.first_name, last_name=enrolment.last_name,
            postal_address=enrolment.postal_address, representative_ins=enrolment.representative_ins,
            informed_at=space.informed_at, creation_due=space.creation_due.isoformat(),
            creation_shard=creation_shard(space.creation_due, self.shard), code_digest=self.code_digest,
            code_expires_at=self.code_expires_at, code_channel=self.channel), SpaceItem.key.does_not_exist())


@dataclass(frozen=True)
class _Created:
    ins: str
    at: datetime

    def stage(self, tx: WriteSink) -> None:
        # only a space still informed (not opposed meanwhile) whose information left; out of the index at once
        tx.update("space", SpaceItem(space_key(self.ins)),
                  [SpaceItem.status.set(SpaceStatus.OPEN.value), SpaceItem.created_at.set(self.at),
                   SpaceItem.creation_shard.remove()],
                  (SpaceItem.status == SpaceStatus.INFORMED.value) & SpaceItem.code_sent_at.exists())


@dataclass(frozen=True)
class _Reissued:
    ins: str
    code_digest: str
    code_expires_at: datetime
    channel: str
    informed_at: datetime
    creation_due: date
    shard: int

    def stage(self, tx: WriteSink) -> None:
        tx.update("space", SpaceItem(space_key(self.ins)),
                  [SpaceItem.code_digest.set(self.code_digest), SpaceItem.code_expires_at.set(self.code_expires_at),
                   SpaceItem.code_channel.set(self.channel), SpaceItem.informed_at.set(self.informed_at),
                   SpaceItem.creation_due.set(self.creation_due.isoformat()),
                   SpaceItem.creation_shard.set(creation_shard(self.creation_due, self.shard))],
                  (SpaceItem.status == SpaceStatus.INFORMED.value) & SpaceItem.code_sent_at.does_not_exist())


@dataclass(frozen=True)
class _Standing:
    ins: list[str]

    def requested(self) -> list[tuple[Any, Any, Any]]:
        return [(SpaceItem, space_key(i), None) for i in sorted(set(self.ins))]

    def parse(self, items: list[Any]) -> Standing:
        spaces = [item for item in items if isinstance(item, SpaceItem)]
        return Standing(
            unsent={i.ins for i in spaces if i.status == SpaceStatus.INFORMED.value and i.code_sent_at is None},
            erased={i.ins for i in spaces if i.status == SpaceStatus.ERASED.value and i.birth_date is None})


@dataclass(frozen=True)
class _Refreshed:
    enrolment: Enrolment

    def stage(self, tx: WriteSink) -> None:
        e = self.enrolment
        assert e.space.birth_date is not None  # an intake line always has one
        given = [(SpaceItem.email, e.space.email), (SpaceItem.first_name, e.first_name),
                 (SpaceItem.last_name, e.last_name), (SpaceItem.postal_address, e.postal_address),
                 (SpaceItem.representative_ins, e.representative_ins)]
        tx.update("space", SpaceItem(space_key(e.ins)),
                  [SpaceItem.birth_date.set(e.space.birth_date.isoformat()),
                   *(attribute.set(value) for attribute, value in given if value)],
                  (SpaceItem.status == SpaceStatus.ERASED.value) & SpaceItem.birth_date.does_not_exist())


@dataclass(frozen=True)
class _Known:
    ins: list[str]

    def requested(self) -> list[tuple[Any, Any, Any]]:
        return [(SpaceItem, space_key(i), None) for i in sorted(set(self.ins))]

    def parse(self, items: list[Any]) -> set[str]:
        return {item.ins for item in items if isinstance(item, SpaceItem)}


TRANSACT_LIMIT = 100


class DynamoIntakeStore:
    """`functions.accounts.ports.IntakeStore` on the spaces table: BatchGetItem for who is known, staged puts and
    updates for the journal's bulk commit, TransactWriteItems of 100 updates for `code_sent_at`, and the sparse
    `creation-due` index for the job."""

    def known(self, ins: list[str]) -> set[str]:
        if not ins:
            return set()
        found: set[str] = batch_get_many([_Known(ins)])[0]
        return found

    def informed(self, enrolment: Enrolment, code_digest: str, code_expires_at: datetime, channel: str,
                 shard: int) -> Staged:
        return _Informed(enrolment, code_digest, code_expires_at, channel, shard)

    def standing(self, ins: list[str]) -> Standing:
        if not ins:
            return Standing()
        found: Standing = batch_get_many([_Standing(ins)])[0]
        return found

    def refreshed(self, enrolment: Enrolment) -> Staged:
        return _Refreshed(enrolment)

    def reissued(self, ins: str, code_digest: str, code_expires_at: datetime, channel: str, informed_at: datetime,
                 creation_due: date, shard: int) -> Staged:
        return _Reissued(ins, code_digest, code_expires_at, channel, informed_at, creation_due, shard)

    def created(self, ins: str, at: datetime) -> Staged:
        return _Created(ins, at)

    def mark_sent(self, ins: list[str], at: datetime) -> None:
        for start in range(0, len(ins), TRANSACT_LIMIT):
            pending = ins[start:start + TRANSACT_LIMIT]
            while pending:
                tx = Transaction()
                for i in pending:
                    tx.update(i, SpaceItem(space_key(i)), [SpaceItem.code_sent_at.set(at)],
                              SpaceItem.status.exists())
                try:
                    tx.commit()
                    break
                except TransactionCancelled as exc:  # a space gone meanwhile (erased): the others still are sent
                    pending = [i for i in pending if i not in exc.failed]

    def last_creation_day(self) -> date | None:
        try:
            mark = CreationMark.get(CREATION_MARK, consistent_read=True)
        except CreationMark.DoesNotExist:
            return None
        return date.fromisoformat(mark.day)

    def creation_dispatched(self, day: date) -> None:
        """The mark moves forward only: an operator re-running an older day leaves it where it is."""
        try:
            CreationMark(CREATION_MARK).update(actions=[CreationMark.day.set(day.isoformat())],
                                               condition=CreationMark.day.does_not_exist()
                                               | (CreationMark.day < day.isoformat()))
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def due(self, day: date, shard: int, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """Up to `limit` INS of the spaces due that day in that shard, after `after`; the last one when more may
        follow."""
        condition = SpaceItem.ins > after if after else None
        found: list[str] = []
        for item in SpaceItem.by_creation_due.query(creation_shard(day, shard), range_key_condition=condition,
                                                    page_size=min(limit, 1000)):
            found.append(item.ins)
            if len(found) >= limit:
                return found, found[-1]
        return found, None


class NoDataKey(Exception):
    """A data key was asked for a space that is missing or being erased."""


class KmsSpaceKeys:
    """`functions.accounts.ports.SpaceKeys` on KMS + the spaces table: GenerateDataKey (AES-256) under the
    documents key, the CiphertextBlob kept as the `KEY#<ins>` item. The encryption context names the space by its
    pseudonym, not the INS: CloudTrail records encryption contexts (functions/shared/privacy.py)."""

    CACHE_SECONDS = 300

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id
        self._cache: dict[str, tuple[float, bytes]] = {}

    @staticmethod
    def context(ins: str) -> dict[str, str]:
        return {SPACE_KEY_CONTEXT: digest("ins", ins)}

    def data_key(self, ins: str) -> bytes:
        cached = self._cache.get(ins)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        key = self._unwrap(ins) or self._create(ins)
        self._cache[ins] = (time.monotonic() + self.CACHE_SECONDS, key)
        return key

    def _unwrap(self, ins: str) -> bytes | None:
        try:
            item = SpaceItem.get(data_key_key(ins), consistent_read=True)
        except SpaceItem.DoesNotExist:
            return None
        assert item.wrapped_key is not None
        plaintext: bytes = self._kms.decrypt(CiphertextBlob=base64.b64decode(item.wrapped_key), KeyId=self._key_id,
                                             EncryptionContext=self.context(ins))["Plaintext"]
        return plaintext

    def _create(self, ins: str) -> bytes:
        made = self._kms.generate_data_key(KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=self.context(ins))
        item = SpaceItem(data_key_key(ins), ins=ins, created_at=datetime.now().astimezone(),
                         wrapped_key=base64.b64encode(made["CiphertextBlob"]).decode())
        # Only for a space that is there and not being erased: a late upload after an erasure started must not
        # leave a new key (and objects under it) behind the tombstone.
        tx = Transaction()
        tx.check("space", SpaceItem, space_key(ins), None,
                 SpaceItem.status.is_in(SpaceStatus.OPEN.value, SpaceStatus.INFORMED.value,
                                        SpaceStatus.CLOSED.value) & SpaceItem.deletion.does_not_exist())
        tx.put("key", item, SpaceItem.key.does_not_exist())
        try:
            tx.commit()
        except TransactionCancelled as exc:
            if "key" not in exc.failed:
                raise NoDataKey("this space has no data and takes none (missing or being erased)") from exc
            found = self._unwrap(ins)  # another process created it first: theirs is the key
            assert found is not None
            return found
        plaintext: bytes = made["Plaintext"]
        return plaintext

    def destroy(self, ins: str) -> None:
        self._cache.pop(ins, None)
        SpaceItem(data_key_key(ins)).delete()
