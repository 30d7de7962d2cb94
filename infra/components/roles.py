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

Idempotency (functions/shared/idempotency_store.py): the API handler only, GetItem + UpdateItem on `idempotency`.

Every function: secretsmanager:GetSecretValue on the pseudonym key (read once per cold start).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import constants as c
from infra.components.data import table_arn
from infra.components.mail import identity_arn, template_arn
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


class FunctionRoles(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, pseudonym_secret_arn: str,
                 email_identity: str, email_source: str) -> None:
        super().__init__(scope, construct_id)
        self._pseudonym_secret_arn = pseudonym_secret_arn
        spaces, documents, traces, notifications, access, agenda, agenda_due, idempotency, messages = (
            table_arn(stage, t) for t in (c.SPACES, c.DOCUMENTS, c.TRACES, c.NOTIFICATIONS, c.ACCESS, c.AGENDA,
                                          c.AGENDA_DUE, c.IDEMPOTENCY, c.MESSAGES))
        message_lsis = [f"{messages}/index/{name}" for name in c.MESSAGES_INDEXES]
        measures = table_arn(stage, c.MEASURES)
        agenda_lsis = [f"{agenda}/index/{name}" for name in c.AGENDA_INDEXES]
        shards_queue, deliveries_queue = (queue_arn(stage, q) for q in (c.AGENDA_SHARDS_QUEUE,
                                                                         c.AGENDA_DELIVERIES_QUEUE))
        document_lsis = [f"{documents}/index/{name}" for name in c.DOCUMENTS_INDEXES]
        invisible_due = [f"{documents}/index/{name}" for name in c.DOCUMENTS_GLOBAL_INDEXES]
        quarantine_uploads = f"{bucket_arn(stage, 'quarantine')}/{c.QUARANTINE_PREFIX}*"
        records_objects = f"{bucket_arn(stage, 'records')}/{c.RECORDS_PREFIX}*"

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
            # retry; every write is an UpdateItem (functions/shared/idempotency_store.py).
            _dynamodb("IdempotencyRecords", ["GetItem", "UpdateItem"], [idempotency]),
            # Messaging: a conversation is read with GetItem or one Query of its partition, listed on the LSI;
            # every write is in a transaction (with the traces, or the draft and its conversation).
            _dynamodb("Messages", ["GetItem", "Query"], [messages]),
            _dynamodb("MessageLists", ["Query"], message_lsis),
            _in_transactions("MessageWritesInTransactions", ["PutItem", "DeleteItem"], [messages]),
            # Measures: latest values and history are Queries of the person's partition; a write reads its state
            # in one TransactGetItems and writes in one transaction (functions/measures/storage.py).
            _dynamodb("Measures", ["GetItem", "Query"], [measures]),
            _in_transactions("MeasureWritesInTransactions", ["PutItem", "DeleteItem"], [measures]),
            # Signing a presigned POST needs the signer to hold s3:PutObject on the key it pins.
            iam.PolicyStatement(sid="SignUploads", actions=["s3:PutObject"], resources=[quarantine_uploads]),
            iam.PolicyStatement(sid="DiscardUploads", actions=["s3:DeleteObject"], resources=[quarantine_uploads]),
            iam.PolicyStatement(sid="Records", actions=["s3:GetObject", "s3:DeleteObject"],
                                resources=[records_objects]),
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
        self.by_function = {c.CHALICE_API_HANDLER: self.api, c.CHALICE_AUTHORIZER: self.authorizer,
                            c.CHALICE_UPLOAD_CONSUMER: self.upload_consumer,
                            c.CHALICE_INVISIBLE_JOB: self.invisible_job,
                            c.CHALICE_AGENDA_DISPATCH: self.agenda_dispatch,
                            c.CHALICE_AGENDA_SHARD_CONSUMER: self.agenda_shards,
                            c.CHALICE_AGENDA_DELIVERY_CONSUMER: self.agenda_deliveries}

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
                    "prefix this function works on (uploads/ or records/) of one bucket.",
                    *(f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{c.PREFIX}-{stage}-{b}-<AWS::AccountId>/{p}*]"
                      for b, p in (("quarantine", c.QUARANTINE_PREFIX), ("records", c.RECORDS_PREFIX))))
        acknowledge(group, "Lambda names the log streams at run time; the grant is limited to this function's own "
                    "log group.",
                    f"AwsSolutions-IAM5[Resource::arn:aws:logs:{c.REGION}:<AWS::AccountId>:log-group:"
                    f"{log_group_name(stage, function)}:*]")
        return role
