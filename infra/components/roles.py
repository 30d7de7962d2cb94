"""One IAM role per function, each with exactly the actions its code performs, on named resources.

Permissions sit in one customer-managed policy per role (versioned, reviewable; the functions depend on it so it
exists before Lambda checks the SQS event source) and name resources by their fixed physical ARNs, so roles and
policies depend on nothing and the key policies can name the roles (components/keys.py) without a dependency
cycle. KMS rights are in the key policies, not here.

DynamoDB transactions have no IAM action of their own: each item of a TransactWriteItems needs the PutItem /
DeleteItem / ConditionCheckItem of its table, each item of a TransactGetItems the GetItem. Traces are written only
inside a transaction that also moves the chain head (functions/audit/journal.py): their PutItem carries the
condition dynamodb:EnclosingOperation = TransactWriteItems, so no function can append a trace on its own. The
withheld chains of INVISIBLE_PATIENT documents live in the same tables (`WTRACE#` traces, `WHEAD#` heads in the
access partition); merging one at its release deletes its entries, also only inside a transaction.

- API handler: spaces GetItem/PutItem/UpdateItem (space life cycle) + ConditionCheckItem (a new document needs an
  open space); documents GetItem (also in TransactGetItems with the access HEAD), Query on the three LSIs,
  PutItem/DeleteItem (in transactions); traces Query + transactional PutItem, and transactional DeleteItem
  (merging a withheld chain at a release); notifications Query + PutItem, and GetItem (the holder's preferences
  item, `PREFS`); access Query (the profile), GetItem (chain heads, TransactGetItems), PutItem/DeleteItem
  (controls, heads), ConditionCheckItem (a read of a withheld document commits on the main head without moving
  it; a partial merge keeps the withheld head in place); s3:PutObject on quarantine uploads/* (signing presigned
  POSTs) and s3:DeleteObject there (deleting a pending upload); s3:GetObject (presigned GET) and s3:DeleteObject
  on records/*. kms:Sign on the signing key is in its key policy (export of the traces).
- authorizer: dynamodb:GetItem on spaces.
- upload consumer: consume the upload-events queue; s3:GetObject + s3:DeleteObject on quarantine uploads/*;
  s3:PutObject (CopyObject target) + s3:DeleteObject on records/*; documents GetItem + PutItem; access Query (the
  profile: hide-new-documents, head) + GetItem (heads, again when the chain moved) + PutItem (heads);
  transactional trace PutItem; notifications GetItem (preferences) + PutItem.
- invisible-patient daily job: Query on the documents `invisible-due` GSI, documents GetItem + PutItem (a release
  left to finish), access GetItem (heads) + PutItem (heads) + DeleteItem and ConditionCheckItem (a withheld head
  merged, or kept while a merge goes on), traces Query (the withheld chain to merge), transactional trace PutItem
  and DeleteItem, notifications GetItem (preferences) + PutItem; sqs:SendMessage to its own dead-letter queue
  (failed asynchronous invocations). No S3, no other KMS use than DynamoDB's and SQS's.

Agenda (functions/agenda/storage.py): an item and its due entry always change in one TransactWriteItems, so every
write to `agenda` and `agenda-due` carries dynamodb:EnclosingOperation = TransactWriteItems, like traces.

- API handler (appointments, reminders, prevention, notification preferences): agenda GetItem, Query on the
  `agenda-by-time` LSI, transactional PutItem (conditional on the version) + DeleteItem; agenda-due transactional
  PutItem + DeleteItem. Preferences are the notifications table's `PREFS` item (notifications GetItem/PutItem).
- agenda daily dispatch (schedule, 05:00 and 06:00 UTC): sqs:SendMessage (SendMessageBatch) to agenda-shards and
  to its own dead-letter queue. No table.
- shard consumer: consume agenda-shards; Query on agenda-due (its DUE#<day>#<shard> partition);
  sqs:SendMessage (SendMessageBatch) to agenda-deliveries.
- delivery consumer: consume agenda-deliveries; one BatchGetItem on spaces (contacts), notifications (preferences)
  and agenda (prevention items);
  transactional notifications PutItem (the once-only marker) + UpdateItem (e-mail sent), agenda UpdateItem
  (next_due moved on, conditional), agenda-due PutItem (the next occurrence); ses:SendBulkTemplatedEmail on the
  sending identity and the reminder template, From the configured address only.

Inbound mail (functions/messaging/inbound.py): consume inbound-mail; s3:GetObject + s3:DeleteObject on
inbound-mail incoming/*, s3:PutObject on rejected/* (the CopyObject of a refused mail); s3:PutObject +
s3:DeleteObject on attachments; spaces GetItem + ConditionCheckItem; messages GetItem + transactional PutItem;
access GetItem/PutItem (the head); transactional trace PutItem; notifications GetItem + PutItem;
ses:SendRawEmail from MAILER-DAEMON@patient.mssante.fr (bounces).
Catalogue (functions/catalogue/): the API handler reads `catalogue` with GetItem/Query (and the by-service index),
writes a client assertion's jti with one conditional PutItem and the rest in transactions with the traces; the
90-day summary job (schedule, 07:00 UTC) queries the `by-cycle` index, GetItem on spaces and notifications
(preferences), transactional notifications PutItem + UpdateItem (the claim), ses:SendBulkTemplatedEmail as the
delivery consumer, sqs:SendMessage to its own dead-letter queue. kms:Sign on the service-token key is in its key
policy (API handler only).

Idempotency (functions/shared/idempotency_store.py): the API handler only, GetItem + UpdateItem on `idempotency`.

Exports (functions/exports): the API handler reads the holder's export item, writes it only in the transaction
with its trace, sends the build message and signs GETs of the archives. The export consumer reads the space, the
visible documents (LSI Query) and their objects, the mailbox partition and its attachments' objects (GetObject),
the agenda, notifications, access profile
and traces, writes the archives (multipart) into the exports bucket, and commits the ready state with its trace and
the holder's notification.
Messaging out (functions/messaging/outbound.py): the API handler sends the patients' mail with SES v2 SendEmail
(raw content: ses:SendEmail + ses:SendRawEmail) on the identity `patient.mssante.fr`, From `*@patient.mssante.fr`
only, and the new-message e-mail with ses:SendBulkTemplatedEmail like the delivery worker; messages PutItem +
DeleteItem outside transactions for the outbox item and SES's once-only marks.
- messaging outbox retry (schedule, every 5 minutes): messages Query (the `OUTBOX#<n>` shards) + PutItem/DeleteItem
  (once-only marks, the outbox item once handed over); SES v2 raw sends as the API's; its dead-letter queue.

Every function: secretsmanager:GetSecretValue on the pseudonym key (read once per cold start).

The per-space envelope (MES_ENVELOPE_ENCRYPTION=1, functions/shared/sealing.py): the verifier and the inbound-mail
consumer read a space's wrapped data key (GetItem of its `KEY#<ins>` item, dynamodb:LeadingKeys `KEY#*` where the
role reads no other spaces item) and make the first one in a transaction (PutItem limited to `KEY#*` items, with the
space's ConditionCheckItem); the API handler does both with its spaces grants and puts, presigns and deletes the
plaintext download copies under quarantine `downloads/*`; the export consumer reads keys with its GetItem. The KMS
side (GenerateDataKey/Decrypt with the `space` encryption context only) is in the documents key's policy.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import constants as c
from infra.components.data import table_arn
from infra.components.mail import (
    enrolment_template_arn,
    erasure_template_arn,
    identity_arn,
    information_template_arn,
    template_arn,
)
from infra.components.queues import job_dead_letters, queue_arn
from infra.components.storage import bucket_arn
from infra.nag import acknowledge

SQS_CONSUME = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]


def log_group_name(stage: str, function: str) -> str:
    return f"/{c.PREFIX}/{stage}/functions/{function}"


def _log_group_arn(stage: str, function: str) -> str:
    return f"arn:aws:logs:{c.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:{log_group_name(stage, function)}"


def _dynamodb(sid: str, actions: list[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=[f"dynamodb:{a}" for a in actions], resources=resources)


def _in_transactions(sid: str, actions: list[str], resources: list[str]) -> iam.PolicyStatement:
    """Writes allowed only as items of a TransactWriteItems."""
    return iam.PolicyStatement(sid=sid, actions=[f"dynamodb:{a}" for a in actions], resources=resources,
                               conditions={"StringEquals": {"dynamodb:EnclosingOperation": "TransactWriteItems"}})


def _trace_appends(stage: str) -> iam.PolicyStatement:
    """A trace goes in only with the chain head's conditional move, in one TransactWriteItems."""
    return _in_transactions("TraceAppendsInTransactions", ["PutItem"], [table_arn(stage, c.TRACES)])


def _withheld_merges(stage: str) -> iam.PolicyStatement:
    """A withheld trace leaves its chain only in the transaction that links it into the patient's chain."""
    return _in_transactions("WithheldTraceMergesInTransactions", ["DeleteItem"], [table_arn(stage, c.TRACES)])


def _send(sid: str, *queue_arns: str) -> iam.PolicyStatement:
    """SendMessage, which also authorizes SendMessageBatch."""
    return iam.PolicyStatement(sid=sid, actions=["sqs:SendMessage"], resources=list(queue_arns))


def _space_keys(spaces: str, *, read: bool, check: bool) -> list[iam.PolicyStatement]:
    """The wrapped per-space data keys (the spaces table's `KEY#<ins>` items, functions/accounts/storage.py
    `KmsSpaceKeys`): read with a consistent GetItem (`read`: for a role that reads no other spaces item), made only
    in the transaction that also checks the space is there and not being erased (`check`: ConditionCheckItem, for a
    role that has none yet)."""
    keys_only = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [c.SPACE_KEY_ITEMS]}}
    statements = [iam.PolicyStatement(
        sid="SpaceKeysMadeInTransactions", actions=["dynamodb:PutItem"], resources=[spaces],
        conditions={"StringEquals": {"dynamodb:EnclosingOperation": "TransactWriteItems"}, **keys_only})]
    if read:
        statements.append(iam.PolicyStatement(sid="SpaceKeysRead", actions=["dynamodb:GetItem"], resources=[spaces],
                                              conditions=keys_only))
    if check:
        statements.append(_in_transactions("SpaceChecksInTransactions", ["ConditionCheckItem"], [spaces]))
    return statements


class FunctionRoles(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, pseudonym_secret_arn: str,
                 email_identity: str, email_source: str) -> None:
        super().__init__(scope, construct_id)
        self._pseudonym_secret_arn = pseudonym_secret_arn
        spaces, documents, traces, notifications, access, agenda, agenda_due, idempotency, messages, exports = (
            table_arn(stage, t) for t in (c.SPACES, c.DOCUMENTS, c.TRACES, c.NOTIFICATIONS, c.ACCESS, c.AGENDA,
                                          c.AGENDA_DUE, c.IDEMPOTENCY, c.MESSAGES, c.EXPORTS))
        export_queue = queue_arn(stage, c.EXPORTS_QUEUE)
        export_archives = f"{bucket_arn(stage, 'exports')}/*"
        message_lsis = [f"{messages}/index/{name}" for name in c.MESSAGES_INDEXES]
        catalogue = table_arn(stage, c.CATALOGUE)
        measures = table_arn(stage, c.MEASURES)
        agenda_lsis = [f"{agenda}/index/{name}" for name in c.AGENDA_INDEXES]
        shards_queue, deliveries_queue = (queue_arn(stage, q) for q in (c.AGENDA_SHARDS_QUEUE,
                                                                         c.AGENDA_DELIVERIES_QUEUE))
        document_lsis = [f"{documents}/index/{name}" for name in c.DOCUMENTS_INDEXES]
        invisible_due = [f"{documents}/index/{name}" for name in c.DOCUMENTS_GLOBAL_INDEXES]
        quarantine_uploads = f"{bucket_arn(stage, 'quarantine')}/{c.QUARANTINE_PREFIX}*"
        records_objects = f"{bucket_arn(stage, 'records')}/{c.RECORDS_PREFIX}*"
        quarantine_downloads = f"{bucket_arn(stage, 'quarantine')}/{c.DOWNLOADS_PREFIX}*"
        attachment_objects = f"{bucket_arn(stage, 'attachments')}/*"  # keys start with the holder's pseudonym
        proofs_objects = f"{bucket_arn(stage, 'proofs')}/{c.PROOFS_PREFIX}*"
        letters_objects = f"{bucket_arn(stage, 'proofs')}/{c.LETTERS_PREFIX}*"
        mail_in = f"{bucket_arn(stage, 'inbound-mail')}/{c.INBOUND_MAIL_PREFIX}*"
        mail_rejected = f"{bucket_arn(stage, 'inbound-mail')}/{c.INBOUND_REJECTED_PREFIX}*"

        self.api = self._role("ApiHandler", stage, c.CHALICE_API_HANDLER, [
            _dynamodb("Spaces", ["GetItem", "PutItem", "UpdateItem", "ConditionCheckItem"], [spaces]),
            _dynamodb("Documents", ["GetItem", "PutItem", "DeleteItem"], [documents]),
            _dynamodb("DocumentLists", ["Query"], document_lsis),
            _dynamodb("ReadTraces", ["Query"], [traces]),
            _trace_appends(stage),
            _withheld_merges(stage),
            _dynamodb("Notifications", ["Query", "GetItem", "PutItem"], [notifications]),
            _dynamodb("AccessControls", ["Query", "GetItem", "PutItem", "DeleteItem", "ConditionCheckItem"], [access]),
            _dynamodb("Agenda", ["GetItem"], [agenda]),
            _dynamodb("AgendaLists", ["Query"], agenda_lsis),
            _in_transactions("AgendaWritesInTransactions", ["PutItem", "DeleteItem"], [agenda, agenda_due]),
            # Idempotency-Key records: claimed inside the creating transaction, completed after it, read on a
            # retry; every write is an UpdateItem (functions/shared/idempotency_store.py). The sensitive flows'
            # rate-limit counters are UpdateItems of their action's transaction on the same table.
            _dynamodb("IdempotencyRecords", ["GetItem", "UpdateItem"], [idempotency]),
            # Messaging: a conversation is read with GetItem or one Query of its partition, listed on the LSI;
            # every write is in a transaction (with the traces, or the draft and its conversation).
            _dynamodb("Messages", ["GetItem", "Query"], [messages]),
            _dynamodb("MessageLists", ["Query"], message_lsis),
            _in_transactions("MessageWritesInTransactions", ["PutItem", "DeleteItem"], [messages]),
            # Outbound mail (functions/messaging/storage.DynamoOutbox): the outbox item deleted once handed over,
            # SES's once-only marks put (conditional) and released, each on its own after the transaction.
            _dynamodb("MessageOutbox", ["PutItem", "DeleteItem"], [messages]),
            # The patients' mail: SES v2 SendEmail with raw content, from their mailboxes' domain only.
            iam.PolicyStatement(sid="PatientMail", actions=["ses:SendEmail", "ses:SendRawEmail"],
                                resources=[identity_arn(c.MAILBOX_DOMAIN)],
                                conditions={"StringLike": {"ses:FromAddress": f"*@{c.MAILBOX_DOMAIN}"}}),
            # The new-message e-mail (notifications' delivery: the reminders' template and sender).
            iam.PolicyStatement(sid="MessageEmails", actions=["ses:SendBulkTemplatedEmail"],
                                resources=[identity_arn(email_identity), template_arn(stage)],
                                conditions={"StringEquals": {"ses:FromAddress": email_source}}),
            # Catalogue: pairings, codes, refresh tokens and revocations are read with GetItem or one Query and
            # written in transactions with the holder's traces; a client assertion's jti is one conditional PutItem;
            # dereferencing pages the by-service index.
            _dynamodb("Catalogue", ["GetItem", "Query", "PutItem"], [catalogue]),
            _dynamodb("CatalogueByService", ["Query"], [f"{catalogue}/index/{name}"
                                                       for name in c.CATALOGUE_GLOBAL_INDEXES]),
            _in_transactions("CatalogueWritesInTransactions", ["UpdateItem", "DeleteItem", "ConditionCheckItem"],
                             [catalogue]),
            # Measures: latest values and history are Queries of the person's partition; a write reads its state
            # in one TransactGetItems and writes in one transaction (functions/measures/storage.py).
            _dynamodb("Measures", ["GetItem", "Query"], [measures]),
            _in_transactions("MeasureWritesInTransactions", ["PutItem", "DeleteItem"], [measures]),
            # Signing a presigned POST needs the signer to hold s3:PutObject on the key it pins.
            iam.PolicyStatement(sid="SignUploads", actions=["s3:PutObject"], resources=[quarantine_uploads]),
            iam.PolicyStatement(sid="DiscardUploads", actions=["s3:DeleteObject"], resources=[quarantine_uploads]),
            iam.PolicyStatement(sid="Records", actions=["s3:GetObject", "s3:DeleteObject"],
                                resources=[records_objects]),
            # The export: its status item (written only with its trace, in a transaction), the build message, and
            # presigned GETs of its archives.
            _dynamodb("Exports", ["GetItem"], [exports]),
            _in_transactions("ExportWritesInTransactions", ["PutItem"], [exports]),
            _send("ExportBuilds", export_queue),
            iam.PolicyStatement(sid="ExportArchives", actions=["s3:GetObject"], resources=[export_archives]),
            # Message attachments: presigned downloads, and the server-side copy of one into the record.
            iam.PolicyStatement(sid="Attachments", actions=["s3:GetObject"], resources=[attachment_objects]),
            iam.PolicyStatement(sid="RecordsFromAttachments", actions=["s3:PutObject"], resources=[records_objects]),
            # The envelope: a sealed document or attachment is opened into a plaintext copy under downloads/ of
            # quarantine (put, presigned GET, deleted with its document); the space keys are read and made with
            # the spaces grants above (GetItem, PutItem and ConditionCheckItem in the key's transaction).
            iam.PolicyStatement(sid="DownloadCopies", actions=["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                                resources=[quarantine_downloads]),
            # Enrolment: proofs of opposition (put, head, presigned get) and letters' print records (put only);
            # codes and notices by e-mail on the enrolment template, from the configured address.
            iam.PolicyStatement(sid="OppositionProofs", actions=["s3:PutObject", "s3:GetObject"],
                                resources=[proofs_objects]),
            iam.PolicyStatement(sid="LetterPrintRecords", actions=["s3:PutObject"], resources=[letters_objects]),
            iam.PolicyStatement(sid="EnrolmentEmails", actions=["ses:SendBulkTemplatedEmail"],
                                resources=[identity_arn(email_identity), enrolment_template_arn(stage)],
                                conditions={"StringEquals": {"ses:FromAddress": email_source}}),
        ])
        self.authorizer = self._role("Authorizer", stage, c.CHALICE_AUTHORIZER, [
            _dynamodb("Spaces", ["GetItem"], [spaces]),
        ])
        self.upload_consumer = self._role("UploadConsumer", stage, c.CHALICE_UPLOAD_CONSUMER, [
            iam.PolicyStatement(sid="Queue", actions=SQS_CONSUME, resources=[queue_arn(stage, c.UPLOAD_EVENTS)]),
            iam.PolicyStatement(sid="Uploads", actions=["s3:GetObject", "s3:DeleteObject"],
                                resources=[quarantine_uploads]),
            iam.PolicyStatement(sid="Records", actions=["s3:PutObject", "s3:DeleteObject"],
                                resources=[records_objects]),
            _dynamodb("Documents", ["GetItem", "PutItem"], [documents]),
            _dynamodb("AccessControls", ["Query", "GetItem", "PutItem"], [access]),
            _trace_appends(stage),
            _dynamodb("Notifications", ["GetItem", "PutItem"], [notifications]),
            # Message attachments uploaded through the API: verified like documents, promoted, marked.
            iam.PolicyStatement(sid="Attachments", actions=["s3:PutObject"], resources=[attachment_objects]),
            _dynamodb("Messages", ["Query"], [messages]),
            _in_transactions("MessageVerdictsInTransactions", ["PutItem"], [messages]),
            # The envelope: the space's data key read, or made with its space check, before sealing; a document
            # deleted while it was verified loses its record and its download copy (delete_record).
            *_space_keys(spaces, read=True, check=True),
            iam.PolicyStatement(sid="DownloadCopies", actions=["s3:DeleteObject"], resources=[quarantine_downloads]),
        ])
        self.invisible_job = self._role("InvisibleJob", stage, c.CHALICE_INVISIBLE_JOB, [
            _dynamodb("DueDocuments", ["Query"], invisible_due),
            _dynamodb("Documents", ["GetItem", "PutItem"], [documents]),
            _dynamodb("ChainHead", ["GetItem", "PutItem", "DeleteItem", "ConditionCheckItem"], [access]),
            _dynamodb("ReadTraces", ["Query"], [traces]),
            _trace_appends(stage),
            _withheld_merges(stage),
            _dynamodb("Notifications", ["GetItem", "PutItem"], [notifications]),
            _send("DeadLetters", queue_arn(stage, job_dead_letters(c.CHALICE_INVISIBLE_JOB))),
        ])
        self.agenda_dispatch = self._role("AgendaDispatch", stage, c.CHALICE_AGENDA_DISPATCH, [
            _send("ShardTasks", shards_queue),
            _send("DeadLetters", queue_arn(stage, job_dead_letters(c.CHALICE_AGENDA_DISPATCH))),
        ])
        self.agenda_shards = self._role("AgendaShards", stage, c.CHALICE_AGENDA_SHARD_CONSUMER, [
            iam.PolicyStatement(sid="Queue", actions=SQS_CONSUME, resources=[shards_queue]),
            _dynamodb("DueEntries", ["Query"], [agenda_due]),
            _send("Deliveries", deliveries_queue),
        ])
        self.agenda_deliveries = self._role("AgendaDeliveries", stage, c.CHALICE_AGENDA_DELIVERY_CONSUMER, [
            iam.PolicyStatement(sid="Queue", actions=SQS_CONSUME, resources=[deliveries_queue]),
            _dynamodb("Contacts", ["BatchGetItem"], [spaces]),
            _dynamodb("PreventionItems", ["BatchGetItem"], [agenda]),
            _dynamodb("Preferences", ["BatchGetItem"], [notifications]),
            _in_transactions("Notifications", ["PutItem", "UpdateItem"], [notifications]),
            _in_transactions("AgendaMovesOn", ["UpdateItem"], [agenda]),
            _in_transactions("NextOccurrences", ["PutItem"], [agenda_due]),
            iam.PolicyStatement(sid="ReminderEmails", actions=["ses:SendBulkTemplatedEmail"],
                                resources=[identity_arn(email_identity), template_arn(stage)],
                                conditions={"StringEquals": {"ses:FromAddress": email_source}}),
        ])
        self.export_consumer = self._role("ExportConsumer", stage, c.CHALICE_EXPORT_CONSUMER, [
            iam.PolicyStatement(sid="Queue", actions=SQS_CONSUME, resources=[export_queue]),
            _dynamodb("Exports", ["GetItem"], [exports]),
            _in_transactions("ExportWritesInTransactions", ["PutItem"], [exports]),
            _dynamodb("Spaces", ["GetItem"], [spaces]),
            _dynamodb("DocumentLists", ["Query"], document_lsis),
            iam.PolicyStatement(sid="Records", actions=["s3:GetObject"], resources=[records_objects]),
            _dynamodb("Messages", ["Query"], [messages]),
            # the messages' verified attachments, into their .eml files
            iam.PolicyStatement(sid="Attachments", actions=["s3:GetObject"], resources=[attachment_objects]),
            _dynamodb("Agenda", ["GetItem"], [agenda]),
            _dynamodb("AgendaLists", ["Query"], agenda_lsis),
            _dynamodb("Notifications", ["Query", "GetItem"], [notifications]),
            _in_transactions("NotifyReady", ["PutItem"], [notifications]),
            _dynamodb("AccessControls", ["Query", "GetItem", "PutItem"], [access]),
            _dynamodb("ReadTraces", ["Query"], [traces]),
            _trace_appends(stage),
            iam.PolicyStatement(sid="ExportArchives", actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                                resources=[export_archives]),
        ])
        self.outbox_retry = self._role("OutboxRetry", stage, c.CHALICE_OUTBOX_RETRY, [
            _dynamodb("Outbox", ["Query", "PutItem", "DeleteItem"], [messages]),
            iam.PolicyStatement(sid="PatientMail", actions=["ses:SendEmail", "ses:SendRawEmail"],
                                resources=[identity_arn(c.MAILBOX_DOMAIN)],
                                conditions={"StringLike": {"ses:FromAddress": f"*@{c.MAILBOX_DOMAIN}"}}),
            _send("DeadLetters", queue_arn(stage, job_dead_letters(c.CHALICE_OUTBOX_RETRY))),
        ])
        # Inbound mail: per recipient mailbox the space (GetItem), the preferences (GetItem), a continued
        # conversation (GetItem), then one TransactWriteItems (space check, conversation + message + once-only
        # marker, notification, trace + head); attachments put (and deleted when the mail does not land); the
        # mail deleted, or copied under rejected/ and deleted; bounces by SES raw send from MAILER-DAEMON only.
        self.inbound_mail = self._role("InboundMail", stage, c.CHALICE_INBOUND_MAIL_CONSUMER, [
            iam.PolicyStatement(sid="Queue", actions=SQS_CONSUME, resources=[queue_arn(stage, c.INBOUND_MAIL_QUEUE)]),
            iam.PolicyStatement(sid="Mail", actions=["s3:GetObject", "s3:DeleteObject"], resources=[mail_in]),
            iam.PolicyStatement(sid="RejectedMail", actions=["s3:PutObject"], resources=[mail_rejected]),
            iam.PolicyStatement(sid="Attachments", actions=["s3:PutObject", "s3:DeleteObject"],
                                resources=[attachment_objects]),
            _dynamodb("Spaces", ["GetItem", "ConditionCheckItem"], [spaces]),
            *_space_keys(spaces, read=False, check=False),  # the envelope: a space's first key made, sealing
            _dynamodb("Messages", ["GetItem"], [messages]),
            _in_transactions("MessageWritesInTransactions", ["PutItem"], [messages]),
            _dynamodb("ChainHead", ["GetItem", "PutItem"], [access]),
            _trace_appends(stage),
            _dynamodb("Notifications", ["GetItem", "PutItem"], [notifications]),
            iam.PolicyStatement(sid="Bounces", actions=["ses:SendRawEmail"],
                                resources=[identity_arn(c.BOUNCE_IDENTITY)],
                                conditions={"StringEquals": {"ses:FromAddress": c.BOUNCE_SENDER}}),
        ])
        self._opening(stage, email_identity, email_source)
        self.catalogue_summaries = self._role("CatalogueSummaries", stage, c.CHALICE_CATALOGUE_SUMMARIES, [
            _dynamodb("DueHolders", ["Query"], [f"{catalogue}/index/by-cycle"]),
            _dynamodb("Spaces", ["GetItem"], [spaces]),
            _dynamodb("Preferences", ["GetItem"], [notifications]),
            _in_transactions("Notifications", ["PutItem", "UpdateItem"], [notifications]),
            iam.PolicyStatement(sid="SummaryEmails", actions=["ses:SendBulkTemplatedEmail"],
                                resources=[identity_arn(email_identity), template_arn(stage)],
                                conditions={"StringEquals": {"ses:FromAddress": email_source}}),
            _send("DeadLetters", queue_arn(stage, job_dead_letters(c.CHALICE_CATALOGUE_SUMMARIES))),
        ])
        self.by_function = {c.CHALICE_API_HANDLER: self.api, c.CHALICE_AUTHORIZER: self.authorizer,
                            c.CHALICE_UPLOAD_CONSUMER: self.upload_consumer,
                            c.CHALICE_INVISIBLE_JOB: self.invisible_job,
                            c.CHALICE_AGENDA_DISPATCH: self.agenda_dispatch,
                            c.CHALICE_AGENDA_SHARD_CONSUMER: self.agenda_shards,
                            c.CHALICE_AGENDA_DELIVERY_CONSUMER: self.agenda_deliveries,
                            c.CHALICE_EXPORT_CONSUMER: self.export_consumer,
                            c.CHALICE_OUTBOX_RETRY: self.outbox_retry,
                            c.CHALICE_INBOUND_MAIL_CONSUMER: self.inbound_mail}
        self.by_function.update({c.CHALICE_SPACE_CREATION: self.space_creation,
                                 c.CHALICE_ACCOUNTS_CONSUMER: self.accounts_tasks,
                                 c.CHALICE_CATALOGUE_SUMMARIES: self.catalogue_summaries})
        self._erasure(stage, email_identity, email_source)
        self.by_function.update({c.CHALICE_ERASURE_DAILY: self.erasure_daily,
                                 c.CHALICE_ERASURE_CONSUMER: self.erasure_consumer})

    def _opening(self, stage: str, email_identity: str, email_source: str) -> None:
        """Opening by default. The daily creation dispatch sends one task per shard of each day since its last run,
        whose day it reads and moves on its one item of the spaces table; the accounts-tasks consumer
        splits files (intake GetObject, reports PutObject, spaces BatchGetItem for representatives), imports chunks
        (spaces and access BatchGetItem, then space + trace + head in transactions, the information e-mail, print
        batches, `code_sent_at` in transactions) and opens spaces (Query on the `creation-due` index, the same
        transactions). A head that moved is recorded alone (access GetItem, consistent)."""
        spaces, access = table_arn(stage, c.SPACES), table_arn(stage, c.ACCESS)
        tasks = queue_arn(stage, c.ACCOUNTS_TASKS_QUEUE)
        intake, printed = bucket_arn(stage, "intake"), bucket_arn(stage, "print")
        self.space_creation = self._role("SpaceCreation", stage, c.CHALICE_SPACE_CREATION, [
            _send("CreationTasks", tasks),
            iam.PolicyStatement(sid="CreationMark", actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                                resources=[spaces],
                                conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [c.CREATION_MARK]}}),
            _send("DeadLetters", queue_arn(stage, job_dead_letters(c.CHALICE_SPACE_CREATION))),
        ])
        self.accounts_tasks = self._role("AccountsTasks", stage, c.CHALICE_ACCOUNTS_CONSUMER, [
            iam.PolicyStatement(sid="Queue", actions=SQS_CONSUME, resources=[tasks]),
            _send("Tasks", tasks),
            _dynamodb("KnownSpacesAndHeads", ["BatchGetItem"], [spaces, access]),
            _dynamodb("ChainHead", ["GetItem"], [access]),
            _dynamodb("DueSpaces", ["Query"], [f"{spaces}/index/creation-due"]),
            _in_transactions("SpacesInTransactions", ["PutItem", "UpdateItem"], [spaces]),
            _in_transactions("HeadsInTransactions", ["PutItem"], [access]),
            _trace_appends(stage),
            iam.PolicyStatement(sid="ReadFiles", actions=["s3:GetObject"], resources=[f"{intake}/{c.INTAKE_PREFIX}*"]),
            iam.PolicyStatement(sid="WriteReports", actions=["s3:PutObject"],
                                resources=[f"{intake}/{c.REPORTS_PREFIX}*"]),
            iam.PolicyStatement(sid="WritePrintBatches", actions=["s3:PutObject"],
                                resources=[f"{printed}/{p}*" for p in c.PRINT_PREFIXES]),
            iam.PolicyStatement(sid="InformationEmails", actions=["ses:SendBulkTemplatedEmail"],
                                resources=[identity_arn(email_identity), information_template_arn(stage)],
                                conditions={"StringEquals": {"ses:FromAddress": email_source}}),
        ])
        group = self.accounts_tasks.node.scope
        assert group is not None
        acknowledge(group, "Beneficiaries files, reports and print batches are "
                    "named at run time; each grant is limited to one prefix of one bucket.",
                    *(f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{c.PREFIX}-{stage}-{b}-<AWS::AccountId>/{p}*]"
                      for b, p in (("intake", c.INTAKE_PREFIX), ("intake", c.REPORTS_PREFIX),
                                   *(("print", p) for p in c.PRINT_PREFIXES))))

    def _erasure(self, stage: str, email_identity: str, email_source: str) -> None:
        """The erasure (functions/accounts/erasure.py). The API handler queues a deletion due at once (SendMessage); the
        daily dispatch only reads the `erase-due` index and queues the day's spaces; the consumer alone deletes: on
        spaces the data key's item, the login links and the space item replaced by the tombstone (GetItem, UpdateItem
        to `running`, DeleteItem, BatchWriteItem, PutItem); on every table holding the person's items one Query of
        their partition and BatchWriteItem (agenda-due: entries found from the agenda items, catalogue: codes and
        refresh tokens on `by-holder`, revocation entries put in a transaction before the pairings go; idempotency:
        the space's records on `by-owner`); every object version under the person's prefixes (ListBucketVersions
        limited to those prefixes where the bucket holds others, DeleteObjectVersion); the "done" e-mail. No KMS call
        of its own: destroying the space's data key is a DeleteItem (crypto-shredding); the tables' and the queue's
        KMS use is in the key policies."""
        erasures = queue_arn(stage, c.ERASURES_QUEUE)
        tables = [table_arn(stage, t) for t in (c.DOCUMENTS, c.TRACES, c.NOTIFICATIONS, c.ACCESS, c.AGENDA,
                                                c.MESSAGES, c.EXPORTS, c.CATALOGUE, c.MEASURES)]
        spaces, catalogue = table_arn(stage, c.SPACES), table_arn(stage, c.CATALOGUE)
        holder_index, _, _ = c.CATALOGUE_HOLDER_INDEX
        owner_index, _, _ = c.IDEMPOTENCY_OWNER_INDEX
        # bucket -> the prefixes of the person's objects in it ("": the bucket holds only people's prefixes)
        prefixes = {"records": (c.RECORDS_PREFIX,), "quarantine": (c.DOWNLOADS_PREFIX, c.QUARANTINE_PREFIX),
                    "attachments": ("",), "exports": ("",), "proofs": (c.PROOFS_PREFIX,)}
        listings = [iam.PolicyStatement(
            sid=f"ListVersions{bucket.title()}", actions=["s3:ListBucketVersions"],
            resources=[bucket_arn(stage, bucket)],
            conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in kept]}} if kept != ("",) else None)
            for bucket, kept in prefixes.items()]
        self._groups["ApiHandler"].add_statements(_send("ErasureRequests", erasures))
        self.erasure_daily = self._role("ErasureDaily", stage, c.CHALICE_ERASURE_DAILY, [
            _dynamodb("DueSpaces", ["Query"], [f"{spaces}/index/erase-due"]),
            _send("ErasureRequests", erasures),
            _send("DeadLetters", queue_arn(stage, job_dead_letters(c.CHALICE_ERASURE_DAILY))),
        ])
        self.erasure_consumer = self._role("ErasureConsumer", stage, c.CHALICE_ERASURE_CONSUMER, [
            iam.PolicyStatement(sid="Queue", actions=SQS_CONSUME, resources=[erasures]),
            _dynamodb("Spaces", ["GetItem", "UpdateItem", "PutItem", "DeleteItem", "BatchWriteItem"], [spaces]),
            _dynamodb("PersonsItems", ["Query", "BatchWriteItem"], tables),
            _dynamodb("DueEntriesAndIdempotencyRecords", ["BatchWriteItem"],
                      [table_arn(stage, c.AGENDA_DUE), table_arn(stage, c.IDEMPOTENCY)]),
            _dynamodb("HolderCodesAndTokens", ["Query"], [f"{catalogue}/index/{holder_index}"]),
            _dynamodb("SpaceIdempotencyRecords", ["Query"],
                      [f"{table_arn(stage, c.IDEMPOTENCY)}/index/{owner_index}"]),
            _in_transactions("RevocationsInTransactions", ["PutItem"], [catalogue]),
            *listings,
            iam.PolicyStatement(sid="DeleteVersions", actions=["s3:DeleteObjectVersion"],
                                resources=[f"{bucket_arn(stage, b)}/{p}*" for b, kept in prefixes.items()
                                           for p in kept]),
            iam.PolicyStatement(sid="ErasureEmails", actions=["ses:SendBulkTemplatedEmail"],
                                resources=[identity_arn(email_identity), erasure_template_arn(stage)],
                                conditions={"StringEquals": {"ses:FromAddress": email_source}}),
        ])
        group = self.erasure_consumer.node.scope
        assert group is not None
        acknowledge(group, "The erasure deletes every version of a person's objects, named at run time; the grant is "
                    "limited to the prefixes that hold people's objects (the quarantine's download copies).",
                    f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{c.PREFIX}-{stage}-quarantine-<AWS::AccountId>/"
                    f"{c.DOWNLOADS_PREFIX}*]")

    def access_of(self, role: iam.Role) -> iam.ManagedPolicy:
        """The role's policy, for its function to depend on (the role itself is referenced by the function)."""
        return self._groups[role.node.id]

    def _role(self, construct_id: str, stage: str, function: str,
              statements: list[iam.PolicyStatement]) -> iam.Role:
        if not hasattr(self, "_groups"):
            self._groups: dict[str, iam.ManagedPolicy] = {}
        group = Construct(self, f"{construct_id}Access")
        logs = iam.PolicyStatement(sid="Logs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                   resources=[f"{_log_group_arn(stage, function)}:*"])
        role = iam.Role(
            group, construct_id,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Mon espace santé {stage}: {function} function",
        )
        pseudonyms = iam.PolicyStatement(sid="PseudonymKey", actions=["secretsmanager:GetSecretValue"],
                                         resources=[self._pseudonym_secret_arn])
        policy = iam.ManagedPolicy(group, "Policy", description=f"What the {function} function may do, and no more",
                                   document=iam.PolicyDocument(statements=[logs, pseudonyms, *statements]),
                                   roles=[role])
        self._groups[construct_id] = policy
        acknowledge(group, "Object keys are generated per document at run time; the grant is limited to the one "
                    "prefix this function works on (uploads/ or records/) of one bucket, or the exports bucket whose "
                    "objects are all export archives.",
                    *(f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{c.PREFIX}-{stage}-{b}-<AWS::AccountId>/{p}*]"
                      for b, p in (("quarantine", c.QUARANTINE_PREFIX), ("quarantine", c.DOWNLOADS_PREFIX),
                                   ("records", c.RECORDS_PREFIX),
                                   ("exports", ""), ("attachments", ""), ("proofs", c.PROOFS_PREFIX),
                                   ("proofs", c.LETTERS_PREFIX), ("inbound-mail", c.INBOUND_MAIL_PREFIX),
                                   ("inbound-mail", c.INBOUND_REJECTED_PREFIX))))
        acknowledge(group, "Lambda names the log streams at run time; the grant is limited to this function's own "
                    "log group.",
                    f"AwsSolutions-IAM5[Resource::arn:aws:logs:{c.REGION}:<AWS::AccountId>:log-group:"
                    f"{log_group_name(stage, function)}:*]")
        return role
