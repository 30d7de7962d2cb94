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
    from functions.identity.interim import InMemoryPairings
    from functions.identity.service_tokens import ServiceTokenVerifier
    from functions.identity.tokens import TokenVerifier
    from functions.journal.storage import DynamoJournal, DynamoTraceReader
    from functions.measures.catalogue import FilePurposeCatalogue
    from functions.measures.service import MeasuresDeps
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
    from functions.journal.storage import LedgerItem, TraceItem
    from functions.measures.storage import MeasureItem
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
    bind(MeasureItem, s.measures_table, s.region)


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
def pairings() -> InMemoryPairings:
    """INTERIM (swap at CAT-PAIR's merge): the pairing directory (idPe -> INS) and the revocation list, in memory
    per process and empty at start, until CAT-PAIR's pairing storage fits `functions.identity.ports`."""
    from functions.identity.interim import InMemoryPairings

    return InMemoryPairings()


@factory
def purpose_catalogue() -> FilePurposeCatalogue:
    """INTERIM (swap at CAT-PAIR's merge): which purposes allow reading or writing a measure code, from
    `functions/measures/data/purposes.json`, until the catalogue carries `measure_codes` per purpose."""
    from functions.measures.catalogue import FilePurposeCatalogue

    return FilePurposeCatalogue()


@factory
def service_tokens() -> ServiceTokenVerifier | None:
    """Service access tokens: signature with the KMS key's public half (read once), revocation from `pairings()`
    cached 60 s. None when no key is configured (MES_SERVICE_TOKEN_KEY)."""
    from functions.identity.service_tokens import CachedRevocations, KmsPublicKey, ServiceTokenVerifier
    from functions.shared.aws import client

    s = settings()
    if not s.service_token_key:
        return None
    return ServiceTokenVerifier(s.service_token_issuer, KmsPublicKey(client("kms", s.region), s.service_token_key),
                                CachedRevocations(pairings()))


@factory
def measures() -> MeasuresDeps:
    """Measures' own table; the journal for the traces; spaces (open condition); the pairings and purposes."""
    from functions.measures.service import MeasuresDeps
    from functions.measures.storage import DynamoMeasureStore

    bind_tables()
    return MeasuresDeps(store=DynamoMeasureStore(journal()), journal=journal(), spaces=spaces(),
                        pairings=pairings(), catalogue=purpose_catalogue(), clock=clock())
