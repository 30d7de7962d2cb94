"""Composition root: adapters are built on first use from settings, then reused by a warm Lambda. Every factory
is declared with `@factory`, which caches it and registers it, so `reset()` forgets them all (a new environment
locally, a test that changes settings) without a list kept by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from functions.shared.clock import Clock, SystemClock
from functions.shared.settings import settings

if TYPE_CHECKING:
    from functions.access.service import AccessDeps
    from functions.access.storage import JournalControlStore
    from functions.accounts.closure import ClosureDeps
    from functions.accounts.erasure import ErasureDeps
    from functions.accounts.opening import OpeningDeps
    from functions.accounts.ports import SpaceEraser
    from functions.accounts.queue import SqsErasureRequests
    from functions.accounts.service import EnrolmentDeps
    from functions.accounts.storage import DynamoSpaceStore, KmsSpaceKeys
    from functions.agenda.fanout import SqsQueue
    from functions.agenda.service import AgendaDeps
    from functions.agenda.storage import DynamoDueIndex
    from functions.agenda.worker import DeliveryDeps
    from functions.audit.export import KmsSigner
    from functions.catalogue.purposes import CataloguePurposes
    from functions.catalogue.service import CatalogueDeps
    from functions.catalogue.storage import DynamoCatalogueStore
    from functions.catalogue.summary import SummaryDeps
    from functions.exports.service import ExportDeps
    from functions.identity.service_tokens import CachedDirectory, ServiceTokenVerifier
    from functions.identity.tokens import TokenVerifier
    from functions.journal.storage import DynamoJournal, DynamoTraceReader
    from functions.measures.service import MeasuresDeps
    from functions.messaging.blobs import S3AttachmentBlobs
    from functions.messaging.inbound import InboundDeps
    from functions.messaging.mailbucket import S3InboundMail
    from functions.messaging.ports import OutboundMail
    from functions.messaging.service import AttachmentUploads, MessagingDeps
    from functions.messaging.storage import DynamoOutbox
    from functions.notifications.delivery import ClaimThenSend
    from functions.notifications.mailer import SesMailer
    from functions.notifications.models import NotificationPreferences
    from functions.notifications.storage import DynamoNotificationStore
    from functions.records.models import Document
    from functions.records.service import RecordDeps
    from functions.shared.idempotency_store import DynamoIdempotencyStore, DynamoQuotas

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


# Each storage module's item models and the settings field naming their table.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "functions.accounts.storage": (("SpaceItem", "spaces_table"), ("CreationMark", "spaces_table")),
    "functions.records.storage": (("DocumentItem", "documents_table"),),
    "functions.journal.storage": (("TraceItem", "traces_table"), ("LedgerItem", "access_table")),
    "functions.notifications.storage": (("NotificationItem", "notifications_table"),
                                        ("PreferencesItem", "notifications_table")),
    "functions.agenda.storage": (("AgendaItem", "agenda_table"), ("DueItem", "agenda_due_table")),
    "functions.shared.idempotency_store": (("IdempotencyItem", "idempotency_table"),),
    "functions.messaging.storage": (("MessageItem", "messages_table"),),
    "functions.catalogue.storage": (("CatalogueItem", "catalogue_table"),),
    "functions.measures.storage": (("MeasureItem", "measures_table"),),
    "functions.exports.storage": (("ExportItem", "exports_table"),),
}


def mailer_for(template: str) -> SesMailer:
    """The SES bulk templated mailer of one template, from the stage's sender (every e-mail the project sends)."""
    from functions.notifications.mailer import SesMailer
    from functions.shared.aws import client

    return SesMailer(client("ses", settings().region), settings().agenda_email_source, template)


def bind_tables(*modules: str) -> None:
    """Point the item models of these storage modules at the stage's tables, or those of every storage module
    (local resources, tests). A factory names the storage it builds on: a first request imports no other
    capability's storage (the cold start)."""
    for module in modules or tuple(TABLES):
        _bind_module(module)


@cache
def _bind_module(module: str) -> None:
    import importlib

    from functions.shared.dynamo import bind

    s = settings()
    items = importlib.import_module(module)
    for item, table in TABLES[module]:
        bind(getattr(items, item), getattr(s, table), s.region)


FACTORIES.append(_bind_module)  # reset() forgets the bindings too


@factory
def clock() -> Clock:
    return SystemClock()


@factory
def idempotency() -> DynamoIdempotencyStore:
    """The Idempotency-Key records of the routes declared `idempotent=True` (chalicelib/edge.py)."""
    from functions.shared.idempotency_store import DynamoIdempotencyStore

    bind_tables("functions.shared.idempotency_store")
    return DynamoIdempotencyStore(clock())


@factory
def spaces() -> DynamoSpaceStore:
    from functions.accounts.storage import DynamoSpaceStore

    bind_tables("functions.accounts.storage")
    return DynamoSpaceStore()


@factory
def traces() -> DynamoTraceReader:
    from functions.journal.storage import DynamoTraceReader

    bind_tables("functions.journal.storage")
    return DynamoTraceReader()


@factory
def journal() -> DynamoJournal:
    """The patient journal: traces, chain heads and the ledger partition (see functions/journal/ports.py)."""
    from functions.journal.storage import DynamoJournal

    bind_tables("functions.journal.storage")
    return DynamoJournal()


@factory
def notifications() -> DynamoNotificationStore:
    from functions.notifications.storage import DynamoNotificationStore

    bind_tables("functions.notifications.storage")
    return DynamoNotificationStore()


@factory
def records() -> RecordDeps:
    from functions.records.blobs import S3BlobStore
    from functions.records.service import RecordDeps
    from functions.records.storage import DynamoDocumentStore
    from functions.shared.aws import client

    bind_tables("functions.records.storage")
    s = settings()
    return RecordDeps(
        documents=DynamoDocumentStore(spaces(), notifications(), journal()),
        blobs=S3BlobStore(client("s3", s.region), s.quarantine_bucket, s.records_bucket, s.kms_key_id,
                          keys=space_keys() if s.envelope_encryption else None),
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
def quotas() -> DynamoQuotas:
    """The sensitive flows' rate limits (functions/shared/quota.py), counted on the idempotency table."""
    from functions.shared.idempotency_store import DynamoQuotas

    bind_tables("functions.shared.idempotency_store")
    return DynamoQuotas()


@factory
def control() -> JournalControlStore:
    from functions.access.storage import JournalControlStore

    return JournalControlStore(journal(), spaces(), notifications(), quotas(), clock())


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

    bind_tables("functions.agenda.storage")
    return AgendaDeps(agenda=DynamoAgendaStore(settings().agenda_shards), spaces=spaces(), clock=clock())


@factory
def due_index() -> DynamoDueIndex:
    """The day's due entries, read by the shard worker."""
    from functions.agenda.storage import DynamoDueIndex

    bind_tables("functions.agenda.storage")
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

    bind_tables("functions.agenda.storage")
    s = settings()
    mailer = mailer_for(s.agenda_email_template)
    return DeliveryDeps(store=DynamoDeliveryStore(s.agenda_shards, spaces(), notifications()),
                        email=ClaimThenSend(notifications(), mailer))


@factory
def messaging() -> MessagingDeps:
    """Messaging's own table; the journal for what lands with the patient's traces; notifications; spaces."""
    from functions.messaging.service import MessagingDeps
    from functions.messaging.storage import DynamoMessageStore

    bind_tables("functions.messaging.storage")
    store = DynamoMessageStore()
    return MessagingDeps(store=store, journal=journal(), notifications=notifications(),
                         spaces=spaces(), clock=clock(),
                         outbox=outbox(), outbound=outbound(), email=notification_email(), pharmacies=store,
                         **_attachment_wiring())


@factory
def exports() -> ExportDeps:
    """The holder's export: its job item and archives bucket, its queue, and one source per part read through
    the owners' stores (records' documents and blobs, messaging's mailbox, the space's other data)."""
    from functions.access.service import profile_of
    from functions.catalogue.export import ServicesExport
    from functions.catalogue.service import current_catalogue
    from functions.exports.models import ExportPart
    from functions.exports.ports import PartSource
    from functions.exports.service import ExportDeps
    from functions.exports.space import SpaceExport
    from functions.exports.storage import DynamoExportJobs, S3Archives, SqsExportQueue
    from functions.measures.export import MeasuresExport
    from functions.messaging.export import MessagingExport
    from functions.messaging.storage import DynamoMessageStore
    from functions.records.export import RecordExport
    from functions.shared.aws import client

    bind_tables("functions.exports.storage", "functions.messaging.storage")
    s = settings()
    r, c = records(), catalogue()
    sources: dict[ExportPart, PartSource] = {
        ExportPart.RECORD: RecordExport(r.documents, r.blobs),
        ExportPart.MESSAGING: MessagingExport(DynamoMessageStore(), attachment_blobs()),
        ExportPart.SPACE: SpaceExport(spaces(), notifications(), agenda().agenda, lambda ins: profile_of(access(), ins),
                                      traces(), journal(), others=(
                                          MeasuresExport(measures().store),
                                          ServicesExport(c.store, lambda: current_catalogue(c)))),
    }
    return ExportDeps(jobs=DynamoExportJobs(), archives=S3Archives(client("s3", s.region), s.exports_bucket,
                                                                   s.kms_key_id),
                      queue=SqsExportQueue(client("sqs", s.region), s.export_queue_url), journal=journal(),
                      notifications=notifications(), clock=clock(), sources=sources,
                      link_ttl_seconds=s.download_url_ttl_seconds, quotas=quotas())


def _attachment_wiring() -> dict[str, Any]:
    """Message attachments: their bucket, records' presigned POST into quarantine (the same verifier), and
    records' side of "save into my record"."""
    from functions.records.service import HolderFiling

    s, r = settings(), records()
    return {"attachments": attachment_blobs(),
            "tickets": r.blobs, "record": HolderFiling(r), "attachment_budget_bytes": s.attachment_budget_bytes,
            "upload_ttl": r.upload_ttl, "download_ttl_seconds": r.download_ttl_seconds}


def attachment_uploads() -> AttachmentUploads:
    """The uploads the verifier holds for messaging (attachments under `uploads/attachments/`)."""
    from functions.messaging.service import AttachmentUploads

    return AttachmentUploads(messaging())


@factory
def outbox() -> DynamoOutbox:
    """Mail committed with its message until OutboundMail takes it (and the SES sends' once-only marks)."""
    from functions.messaging.storage import DynamoOutbox

    bind_tables("functions.messaging.storage")
    return DynamoOutbox()


@factory
def outbound() -> OutboundMail:
    """Mail leaving the patients' mailboxes: captured in the outbox bucket when one is configured (local), else
    SES v2 raw sends from `<INS>@patient.mssante.fr` (a stage)."""
    from functions.messaging.outbound import BucketOutbox, SesOutbound
    from functions.shared.aws import client

    s = settings()
    if s.outbox_bucket:
        return BucketOutbox(client("s3", s.region), s.outbox_bucket)
    return SesOutbound(client("sesv2", s.region), outbox())


@factory
def notification_email() -> ClaimThenSend:
    """Notifications' e-mail delivery (claim, then SES), for the capabilities that notify outside the agenda."""
    from functions.notifications.delivery import ClaimThenSend

    s = settings()
    return ClaimThenSend(notifications(), mailer_for(s.agenda_email_template))


@factory
def enrolment() -> EnrolmentDeps:
    """Activation and opposition: the space item, the journal, codes by e-mail (the notifications mailer on the
    enrolment template) or letter, and the proofs bucket."""
    from datetime import timedelta

    from functions.accounts.blobs import S3Proofs
    from functions.accounts.service import EnrolmentDeps
    from functions.shared.aws import client
    from functions.shared.errors import Unavailable

    s = settings()
    if not (s.proofs_bucket and s.enrolment_email_template):
        raise Unavailable("enrolment is not configured on this stage", code="not_configured")
    proofs = S3Proofs(client("s3", s.region), s.proofs_bucket, s.kms_key_id)
    return EnrolmentDeps(
        enrolments=spaces(), spaces=spaces(), journal=journal(),
        mailer=mailer_for(s.enrolment_email_template),
        letters=proofs, proofs=proofs, clock=clock(), terms_version=s.terms_version,
        mail_code_ttl=timedelta(hours=s.code_ttl_mail_hours), letter_code_ttl=timedelta(days=s.code_ttl_letter_days),
        proof_link_ttl_seconds=s.download_url_ttl_seconds)


def terms_version() -> str:
    """The version of the terms (CGU) in force (MES_TERMS_VERSION)."""
    return settings().terms_version


@factory
def attachment_blobs() -> S3AttachmentBlobs:
    """Messages' attachments: one object each, SSE-KMS with the documents key (patient/message context), sealed
    under the space's data key like the documents when the envelope is on."""
    from functions.messaging.blobs import S3AttachmentBlobs
    from functions.shared.aws import client

    s = settings()
    return S3AttachmentBlobs(client("s3", s.region), s.attachments_bucket, s.kms_key_id, s.quarantine_bucket,
                             keys=space_keys() if s.envelope_encryption else None)


@factory
def inbound_mail_objects() -> S3InboundMail:
    from functions.messaging.mailbucket import S3InboundMail
    from functions.shared.aws import client

    s = settings()
    return S3InboundMail(client("s3", s.region), s.inbound_mail_bucket)


@factory
def bounce_mail() -> OutboundMail:
    """Where refusals of inbound mail go back (SES raw send)."""
    from functions.messaging.mailbucket import SesRawMail
    from functions.shared.aws import client

    return SesRawMail(client("ses", settings().region))


@factory
def inbound_mail() -> InboundDeps:
    """Real mail into the mailboxes: messaging's deps, the attachments bucket, the bounce path, the trust list
    and the limits, and records' inspection for attachments (a function, not a copy)."""
    from functions.messaging.inbound import InboundDeps
    from functions.messaging.mime import MailLimits, TrustList
    from functions.records.inspection import content_matches

    s = settings()
    return InboundDeps(messaging=messaging(), blobs=attachment_blobs(), outbound=bounce_mail(),
                       trust=TrustList(domains=s.mail_trusted_domains, relays=s.mail_trusted_relays),
                       limits=MailLimits(max_message_bytes=s.max_mime_bytes,
                                         max_attachment_bytes=s.attachment_budget_bytes),
                       content_matches=content_matches)


def inbound_mail_bucket() -> str:
    return settings().inbound_mail_bucket


def _required(value: str | None, variable: str) -> str:
    if not value:
        raise RuntimeError(f"configuration incomplete: {variable} is required for opening by default")
    return value


@factory
def opening() -> OpeningDeps:
    """Opening by default: the spaces table, the journal's bulk commit, the intake and print buckets, the
    information e-mail (notifications' SES bulk mailer on its own template) and the accounts-tasks queue."""
    from functions.accounts.files import S3IntakeFiles
    from functions.accounts.intake import Channel, IntakePolicy
    from functions.accounts.opening import OpeningDeps
    from functions.accounts.storage import DynamoIntakeStore
    from functions.shared import names
    from functions.shared.aws import client
    from functions.shared.queues import SqsQueue

    bind_tables("functions.accounts.storage")
    s = settings()
    policy = IntakePolicy(objection_weeks=s.objection_weeks,
                          code_days={**IntakePolicy().code_days, **{Channel(k): v for k, v in s.code_days.items()}})
    files = S3IntakeFiles(client("s3", s.region), intake_bucket(),
                          _required(s.print_bucket, names.ENV_PRINT_BUCKET), s.kms_key_id)
    template = _required(s.information_email_template, names.ENV_INFORMATION_EMAIL_TEMPLATE)
    queue = SqsQueue(client("sqs", s.region), _required(s.accounts_task_queue_url, names.ENV_ACCOUNTS_TASK_QUEUE_URL))
    return OpeningDeps(store=DynamoIntakeStore(), journal=journal(), files=files,
                       mailer=mailer_for(template), tasks=queue,
                       clock=clock(), policy=policy, chunk_lines=s.intake_chunk_lines)


def intake_bucket() -> str:
    from functions.shared import names

    return _required(settings().intake_bucket, names.ENV_INTAKE_BUCKET)


# ---- closure, erasure (functions/accounts/closure.py, erasure.py) ----------------------------------------------


@factory
def space_keys() -> KmsSpaceKeys:
    """Each space's data key, wrapped by the documents key (crypto-shredding: destroying it erases the objects)."""
    from functions.accounts.storage import KmsSpaceKeys
    from functions.shared.aws import client

    bind_tables("functions.accounts.storage")
    s = settings()
    return KmsSpaceKeys(client("kms", s.region), s.kms_key_id)


@factory
def erasure_requests() -> SqsErasureRequests:
    """The erasures queue (MES_ERASURE_QUEUE_URL, every stage): the closure's deletions due at once, the daily
    dispatch's due spaces."""
    from functions.accounts.queue import SqsErasureRequests
    from functions.shared import names
    from functions.shared.aws import client

    s = settings()
    if not s.erasure_queue_url:
        raise RuntimeError(f"configuration incomplete: {names.ENV_ERASURE_QUEUE_URL} is required for the erasure")
    return SqsErasureRequests(client("sqs", s.region), s.erasure_queue_url)


@factory
def closure() -> ClosureDeps:
    from functions.accounts.closure import ClosureDeps

    s = settings()
    mailer = (mailer_for(s.enrolment_email_template)
              if s.enrolment_email_template else None)  # the holder's notice of each change
    return ClosureDeps(directory=spaces(), lifecycle=spaces(), journal=journal(), clock=clock(),
                       fresh_auth_seconds=s.fresh_auth_seconds, deletion_delay=timedelta(days=s.deletion_delay_days),
                       erasures=erasure_requests(), mailer=mailer, quotas=quotas())


@factory
def erasure() -> ErasureDeps:
    """The erasure and the capabilities' erasers, in order: records (documents and every object version),
    agenda (items and due entries), messaging, notifications, then the journal (traces and ledger) last."""
    from functions.accounts.erasure import ErasureDeps
    from functions.agenda.storage import AgendaErasure
    from functions.exports.storage import ExportsErasure
    from functions.journal.storage import JournalErasure
    from functions.messaging.storage import MessagingErasure
    from functions.notifications.storage import NotificationErasure
    from functions.records.storage import RecordsErasure
    from functions.shared.aws import client

    bind_tables()
    s = settings()
    erasers: list[SpaceEraser] = [RecordsErasure(records().blobs), AgendaErasure(s.agenda_shards),
                                  MessagingErasure(client("s3", s.region), s.attachments_bucket),
                                  NotificationErasure(),
                                  ExportsErasure(client("s3", s.region), s.exports_bucket)]
    erasers += _more_erasers()
    erasers.append(JournalErasure())  # last: a crash before it leaves the chain that says what was done
    return ErasureDeps(directory=spaces(), lifecycle=spaces(), keys=space_keys(), erasers=erasers, clock=clock(),
                       mailer=mailer_for(s.erasure_email_template))


def _more_erasers() -> list[SpaceEraser]:
    """The catalogue (tokens revoked first, pairings, directory entries, codes, refresh tokens), measures, the space's
    Idempotency-Key records (their cached answers), the proof of opposition (found by the space's reference, so
    before the tombstone replaces the space item)."""
    from functions.accounts.blobs import ProofsErasure
    from functions.catalogue.storage import CatalogueErasure
    from functions.measures.storage import MeasuresErasure
    from functions.shared.aws import client
    from functions.shared.idempotency_store import IdempotencyErasure

    s = settings()
    erasers: list[SpaceEraser] = [CatalogueErasure(clock()), MeasuresErasure(), IdempotencyErasure()]
    if s.proofs_bucket:
        erasers.append(ProofsErasure(client("s3", s.region), s.proofs_bucket, _opposition_reference))
    return erasers


def _opposition_reference(ins: str) -> str | None:
    found = spaces().enrolment(ins)
    return None if found is None else found.opposition_reference


@factory
def catalogue_store() -> DynamoCatalogueStore:
    """Pairings, OAuth codes and refresh tokens, the deny list; also the measures flow's PairingDirectory and
    RevokedPairings (functions/identity/ports.py)."""
    from functions.catalogue.storage import DynamoCatalogueStore

    bind_tables("functions.catalogue.storage")
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

    s = settings()
    mailer = mailer_for(s.agenda_email_template)
    return SummaryDeps(store=catalogue_store(), spaces=spaces(), notifications=notifications(),
                       email=ClaimThenSend(notifications(), mailer), clock=clock(), published=published)


@factory
def pairings() -> CachedDirectory:
    """The measures flow's pairing directory (idPe -> INS): the catalogue's table, each found entry kept 60 s."""
    from functions.identity.service_tokens import CachedDirectory

    return CachedDirectory(catalogue_store())


@factory
def purpose_catalogue() -> CataloguePurposes:
    """Which purposes allow reading or writing a measure code (the published catalogue's `measure_codes`), and the
    statuses operations set (the catalogue's table, read at most every 60 s)."""
    from functions.catalogue.catalogue import catalogue as published
    from functions.catalogue.purposes import CataloguePurposes

    return CataloguePurposes(published, catalogue_store().statuses)


@factory
def service_tokens() -> ServiceTokenVerifier | None:
    """Service access tokens: signature with the KMS key's public half (read once), revocation from the
    catalogue's deny list (its `REVOKED` partition) cached 60 s. None when no key is configured
    (MES_SERVICE_TOKEN_KEY)."""
    from functions.identity.service_tokens import CachedRevocations, KmsPublicKey, ServiceTokenVerifier
    from functions.shared.aws import client

    s = settings()
    if not s.service_token_key:
        return None
    return ServiceTokenVerifier(s.service_token_issuer, KmsPublicKey(client("kms", s.region), s.service_token_key),
                                CachedRevocations(catalogue_store()))


@factory
def measures() -> MeasuresDeps:
    """Measures' own table; the journal for the traces; spaces (open condition); the pairings and purposes."""
    from functions.measures.service import MeasuresDeps
    from functions.measures.storage import DynamoMeasureStore

    bind_tables("functions.measures.storage")
    return MeasuresDeps(store=DynamoMeasureStore(journal()), journal=journal(), spaces=spaces(),
                        pairings=pairings(), catalogue=purpose_catalogue(), clock=clock())
