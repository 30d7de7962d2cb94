"""Composition root: adapters are built on first use from settings, then reused by a warm Lambda. Every factory
is declared with `@factory`, which caches it and registers it, so `reset()` forgets them all (a new environment
locally, a test that changes settings) without a list kept by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from functions.shared.clock import Clock, SystemClock
from functions.shared.settings import settings

if TYPE_CHECKING:
    from functions.access.service import AccessDeps
    from functions.access.storage import JournalControlStore
    from functions.accounts.storage import DynamoSpaceStore
    from functions.agenda.fanout import SqsQueue
    from functions.agenda.service import AgendaDeps
    from functions.agenda.storage import DynamoDueIndex
    from functions.agenda.worker import DeliveryDeps
    from functions.audit.export import KmsSigner
    from functions.catalogue.service import CatalogueDeps
    from functions.catalogue.storage import DynamoCatalogueStore
    from functions.catalogue.summary import SummaryDeps
    from functions.identity.tokens import TokenVerifier
    from functions.journal.storage import DynamoJournal, DynamoTraceReader
    from functions.messaging.service import MessagingDeps
    from functions.notifications.models import NotificationPreferences
    from functions.notifications.storage import DynamoNotificationStore
    from functions.records.models import Document
    from functions.records.service import RecordDeps
    from functions.shared.idempotency_store import DynamoIdempotencyStore

T = TypeVar("T")
FACTORIES: list[Any] = []  # every @factory, in declaration order (their lru_cache wrappers)


def factory(build: Callable[[], T]) -> Callable[[], T]:
    """Build once on first use, then reuse; registered so that reset() clears it."""
    cached = lru_cache(maxsize=1)(build)
    FACTORIES.append(cached)
    return cached


def reset() -> None:
    """Forget every adapter and the settings, connections and key they were built from: the next call builds
    them again from the current environment."""
    from functions.shared import aws, dynamo, privacy
    from functions.shared import settings as settings_module

    settings_module.settings.cache_clear()
    privacy.use_key(None)
    aws.client.cache_clear()
    dynamo._connection.cache_clear()  # a connection built under another environment points at its endpoint
    for cached in FACTORIES:
        cached.cache_clear()


@factory
def bind_tables() -> None:
    from functions.accounts.storage import SpaceItem
    from functions.agenda.storage import AgendaItem, DueItem
    from functions.catalogue.storage import CatalogueItem
    from functions.journal.storage import LedgerItem, TraceItem
    from functions.messaging.storage import MessageItem
    from functions.notifications.storage import NotificationItem, PreferencesItem
    from functions.records.storage import DocumentItem
    from functions.shared.dynamo import bind
    from functions.shared.idempotency_store import IdempotencyItem

    s = settings()
    bind(SpaceItem, s.spaces_table, s.region)
    bind(DocumentItem, s.documents_table, s.region)
    bind(TraceItem, s.traces_table, s.region)
    bind(NotificationItem, s.notifications_table, s.region)
    bind(PreferencesItem, s.notifications_table, s.region)
    bind(LedgerItem, s.access_table, s.region)
    bind(AgendaItem, s.agenda_table, s.region)
    bind(DueItem, s.agenda_due_table, s.region)
    bind(IdempotencyItem, s.idempotency_table, s.region)
    bind(MessageItem, s.messages_table, s.region)
    bind(CatalogueItem, s.catalogue_table, s.region)


@factory
def clock() -> Clock:
    return SystemClock()


@factory
def idempotency() -> DynamoIdempotencyStore:
    """The Idempotency-Key records of the routes declared `idempotent=True` (chalicelib/edge.py)."""
    from functions.shared.idempotency_store import DynamoIdempotencyStore

    bind_tables()
    return DynamoIdempotencyStore(clock())


@factory
def spaces() -> DynamoSpaceStore:
    from functions.accounts.storage import DynamoSpaceStore

    bind_tables()
    return DynamoSpaceStore()


@factory
def traces() -> DynamoTraceReader:
    from functions.journal.storage import DynamoTraceReader

    bind_tables()
    return DynamoTraceReader()


@factory
def journal() -> DynamoJournal:
    """The patient journal: traces, chain heads and the ledger partition (see functions/journal/ports.py)."""
    from functions.journal.storage import DynamoJournal

    bind_tables()
    return DynamoJournal()


@factory
def notifications() -> DynamoNotificationStore:
    from functions.notifications.storage import DynamoNotificationStore

    bind_tables()
    return DynamoNotificationStore()


@factory
def records() -> RecordDeps:
    from functions.records.blobs import S3BlobStore
    from functions.records.service import RecordDeps
    from functions.records.storage import DynamoDocumentStore
    from functions.shared.aws import client

    bind_tables()
    s = settings()
    return RecordDeps(
        documents=DynamoDocumentStore(spaces(), notifications(), journal()),
        blobs=S3BlobStore(client("s3", s.region), s.quarantine_bucket, s.records_bucket, s.kms_key_id),
        control=control(),
        journal=journal(),
        clock=clock(),
        upload_ttl=timedelta(seconds=s.upload_url_ttl_seconds),
        download_ttl_seconds=s.download_url_ttl_seconds,
        preferences=preferences,
    )


def preferences(ins: str) -> NotificationPreferences:
    """The holder's notification choices (notifications' `PREFS` item); defaults if they have none."""
    return notifications().preferences(ins)


@factory
def control() -> JournalControlStore:
    from functions.access.storage import JournalControlStore

    return JournalControlStore(journal(), spaces(), notifications())


@factory
def access() -> AccessDeps[Document]:
    """Access reads records' documents through its own ports (records' stores fit them structurally)."""
    from functions.access.matrix import matrix
    from functions.access.service import AccessDeps
    from functions.access.thresholds import thresholds

    r = records()
    return AccessDeps(control=control(), documents=r.documents, blobs=r.blobs, clock=clock(), matrix=matrix,
                      download_ttl_seconds=r.download_ttl_seconds, thresholds=thresholds, preferences=preferences)


@factory
def trace_signer() -> KmsSigner:
    from functions.audit.export import KmsSigner
    from functions.shared.aws import client

    s = settings()
    return KmsSigner(client("kms", s.region), s.trace_signing_key_id)


def citizen_issuer() -> str:
    """The issuer whose tokens name a citizen (the authorizer resolves their space by it)."""
    return settings().citizen_issuer.issuer


def quarantine_bucket() -> str:
    """Where uploads land before the verifier accepts them (the upload consumer checks the bucket it is told)."""
    return settings().quarantine_bucket


def agenda_shards() -> int:
    return settings().agenda_shards


def agenda_batch_size() -> int:
    """Reminders per delivery message."""
    return settings().agenda_batch_size


@factory
def token_verifier() -> TokenVerifier:
    from functions.identity.tokens import TokenVerifier

    s = settings()
    return TokenVerifier([s.citizen_issuer, s.professional_issuer])


@factory
def agenda() -> AgendaDeps:
    from functions.agenda.service import AgendaDeps
    from functions.agenda.storage import DynamoAgendaStore

    bind_tables()
    return AgendaDeps(agenda=DynamoAgendaStore(settings().agenda_shards), spaces=spaces(), clock=clock())


@factory
def due_index() -> DynamoDueIndex:
    """The day's due entries, read by the shard worker."""
    from functions.agenda.storage import DynamoDueIndex

    bind_tables()
    return DynamoDueIndex()


@factory
def agenda_shard_queue() -> SqsQueue:
    from functions.agenda.fanout import SqsQueue
    from functions.shared.aws import client

    s = settings()
    return SqsQueue(client("sqs", s.region), s.agenda_shard_queue_url)


@factory
def agenda_delivery_queue() -> SqsQueue:
    from functions.agenda.fanout import SqsQueue
    from functions.shared.aws import client

    s = settings()
    return SqsQueue(client("sqs", s.region), s.agenda_delivery_queue_url)


@factory
def agenda_delivery() -> DeliveryDeps:
    from functions.agenda.storage import DynamoDeliveryStore
    from functions.agenda.worker import DeliveryDeps
    from functions.notifications.delivery import ClaimThenSend
    from functions.notifications.mailer import SesMailer
    from functions.shared.aws import client

    bind_tables()
    s = settings()
    mailer = SesMailer(client("ses", s.region), s.agenda_email_source, s.agenda_email_template)
    return DeliveryDeps(store=DynamoDeliveryStore(s.agenda_shards, spaces(), notifications()),
                        email=ClaimThenSend(notifications(), mailer))


@factory
def messaging() -> MessagingDeps:
    """Messaging's own table; the journal for what lands with the patient's traces; notifications; spaces."""
    from functions.messaging.service import MessagingDeps
    from functions.messaging.storage import DynamoMessageStore

    bind_tables()
    return MessagingDeps(store=DynamoMessageStore(), journal=journal(), notifications=notifications(),
                         spaces=spaces(), clock=clock(), preferences=preferences)


@factory
def catalogue_store() -> DynamoCatalogueStore:
    """Pairings, OAuth codes and refresh tokens, the deny list; also the measures flow's PairingDirectory and
    RevokedPairings (functions/identity/ports.py)."""
    from functions.catalogue.storage import DynamoCatalogueStore

    bind_tables()
    return DynamoCatalogueStore(clock())


@factory
def catalogue() -> CatalogueDeps:
    """The catalogue: its own table, the journal for the traces, spaces, the KMS key that signs service tokens."""
    from functions.catalogue.catalogue import catalogue as published
    from functions.catalogue.service import CatalogueDeps
    from functions.catalogue.signer import KmsTokenSigner
    from functions.shared.aws import client

    s = settings()
    return CatalogueDeps(store=catalogue_store(), journal=journal(), spaces=spaces(),
                         signer=KmsTokenSigner(client("kms", s.region), s.service_token_key), clock=clock(),
                         published=published, issuer=s.service_token_issuer)


@factory
def catalogue_summaries() -> SummaryDeps:
    """The every-90-days summary of paired services: the catalogue's index, notifications and their e-mail."""
    from functions.catalogue.catalogue import catalogue as published
    from functions.catalogue.summary import SummaryDeps
    from functions.notifications.delivery import ClaimThenSend
    from functions.notifications.mailer import SesMailer
    from functions.shared.aws import client

    s = settings()
    mailer = SesMailer(client("ses", s.region), s.agenda_email_source, s.agenda_email_template)
    return SummaryDeps(store=catalogue_store(), spaces=spaces(), notifications=notifications(),
                       email=ClaimThenSend(notifications(), mailer), clock=clock(), published=published)
