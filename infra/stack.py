"""The stack of one stage: it only composes the constructs in infra/components and wires them together."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants as c
from infra.components.api import ChaliceApi
from infra.components.data import Tables
from infra.components.keys import Keys
from infra.components.mail import ErasureEmail, InformationEmail, ReminderEmail
from infra.components.monitoring import Monitoring
from infra.components.pseudonym import PseudonymKey
from infra.components.queues import (
    AccountsTaskQueues,
    InboundMailQueues,
    UploadEventQueues,
    WorkQueues,
    job_dead_letter_queue,
)
from infra.components.roles import FunctionRoles
from infra.components.storage import Buckets, bucket_arn
from infra.config import StageConfig

DYNAMODB_KMS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


class MonEspaceSanteStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, chalice_source: Path,
                 build_dir: Path, layer_dir: Path) -> None:
        super().__init__(
            scope, construct_id,
            stack_name=c.stack_name(config.stage),
            env=cdk.Environment(region=c.REGION),  # account: the one the deploy credentials belong to
            termination_protection=config.termination_protection,
            description=f"Mon espace santé ({config.stage}): API, functions, storage, keys, queues and alarms",
        )
        stage = config.stage
        cdk.Tags.of(self).add("project", c.SERVICE)
        cdk.Tags.of(self).add("stage", stage)
        cdk.Tags.of(self).add("data-classification", "health-data-hds")

        keys = Keys(self, "Keys", stage=stage)
        pseudonyms = PseudonymKey(self, "Pseudonyms", stage=stage, key=keys.data)
        email = ReminderEmail(self, "ReminderEmail", stage=stage, source=config.agenda_email_source,
                              identity=config.agenda_email_identity)
        roles = FunctionRoles(self, "Roles", stage=stage, pseudonym_secret_arn=pseudonyms.secret.secret_arn,
                              email_identity=config.agenda_email_identity, email_source=config.agenda_email_source)
        tables = Tables(self, "Tables", stage=stage, key=keys.data,
                        backup_retention_days=config.backup_retention_days)
        queues = UploadEventQueues(self, "UploadEvents", stage=stage, key=keys.data,
                                   consumer_timeout_seconds=c.FUNCTION_TIMEOUTS[c.CHALICE_UPLOAD_CONSUMER],
                                   source_bucket_arn=bucket_arn(stage, "quarantine"))
        agenda_shards = WorkQueues(self, "AgendaShards", stage=stage, name=c.AGENDA_SHARDS_QUEUE, key=keys.data,
                                   consumer_timeout_seconds=c.FUNCTION_TIMEOUTS[c.CHALICE_AGENDA_SHARD_CONSUMER])
        agenda_deliveries = WorkQueues(
            self, "AgendaDeliveries", stage=stage, name=c.AGENDA_DELIVERIES_QUEUE, key=keys.data,
            consumer_timeout_seconds=c.FUNCTION_TIMEOUTS[c.CHALICE_AGENDA_DELIVERY_CONSUMER])
        exports = WorkQueues(self, "Exports", stage=stage, name=c.EXPORTS_QUEUE, key=keys.data,
                             consumer_timeout_seconds=c.FUNCTION_TIMEOUTS[c.CHALICE_EXPORT_CONSUMER])
        inbound_mail = InboundMailQueues(
            self, "InboundMail", stage=stage, key=keys.data,
            consumer_timeout_seconds=c.FUNCTION_TIMEOUTS[c.CHALICE_INBOUND_MAIL_CONSUMER],
            source_bucket_arn=bucket_arn(stage, "inbound-mail"))
        buckets = Buckets(self, "Buckets", stage=stage, key=keys.documents,
                          log_retention_days=config.log_retention_days, notification_queue_arn=queues.queue.queue_arn,
                          inbound_mail_queue_arn=inbound_mail.queue.queue_arn)
        # The bucket checks its notification target when it is created: the queue policy must exist first.
        queue_policy = queues.queue.node.try_find_child("Policy")
        assert queue_policy is not None, "the upload-events queue has a resource policy"
        buckets.quarantine.node.add_dependency(queue_policy)
        mail_queue_policy = inbound_mail.queue.node.try_find_child("Policy")
        assert mail_queue_policy is not None, "the inbound-mail queue has a resource policy"
        buckets.inbound_mail.node.add_dependency(mail_queue_policy)

        # opening by default: the intake and print buckets, the accounts-tasks queue, the information template
        accounts_tasks = AccountsTaskQueues(
            self, "AccountsTasks", stage=stage, key=keys.data,
            consumer_timeout_seconds=c.FUNCTION_TIMEOUTS[c.CHALICE_ACCOUNTS_CONSUMER],
            source_bucket_arn=bucket_arn(stage, "intake"))
        buckets.add_opening(stage, keys.documents, accounts_tasks.queue.queue_arn)
        tasks_policy = accounts_tasks.queue.node.try_find_child("Policy")
        assert tasks_policy is not None, "the accounts-tasks queue has a resource policy"
        buckets.intake.node.add_dependency(tasks_policy)
        information = InformationEmail(self, "InformationEmail", stage=stage)
        # erasure: the erasures queue (the closure's deletions due at once, the daily dispatch), the "done" e-mail
        erasures = WorkQueues(self, "Erasures", stage=stage, name=c.ERASURES_QUEUE, key=keys.data,
                              consumer_timeout_seconds=c.FUNCTION_TIMEOUTS[c.CHALICE_ERASURE_CONSUMER])
        erasure_email = ErasureEmail(self, "ErasureEmail", stage=stage)

        layer = lambda_.LayerVersion(
            self, "Dependencies",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_11],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="Mon espace santé runtime dependencies (requirements.txt)",
            removal_policy=cdk.RemovalPolicy.RETAIN,  # older versions stay available for a rollback
        )
        environment = {
            c.ENV_SPACES_TABLE: tables.spaces.table_name,
            c.ENV_DOCUMENTS_TABLE: tables.documents.table_name,
            c.ENV_TRACES_TABLE: tables.traces.table_name,
            c.ENV_NOTIFICATIONS_TABLE: tables.notifications.table_name,
            c.ENV_ACCESS_TABLE: tables.access.table_name,
            c.ENV_QUARANTINE_BUCKET: buckets.quarantine.bucket_name,
            c.ENV_RECORDS_BUCKET: buckets.records.bucket_name,
            c.ENV_KMS_KEY_ID: keys.documents.key_arn,
            c.ENV_TRACE_SIGNING_KEY_ID: keys.signing.key_arn,  # the ARN: it is written into every export
            c.ENV_AGENDA_TABLE: tables.agenda.table_name,
            c.ENV_AGENDA_DUE_TABLE: tables.agenda_due.table_name,
            c.ENV_IDEMPOTENCY_TABLE: tables.idempotency.table_name,
            c.ENV_MESSAGES_TABLE: tables.messages.table_name,
            c.ENV_EXPORTS_TABLE: tables.exports.table_name,
            c.ENV_EXPORTS_BUCKET: buckets.exports.bucket_name,
            c.ENV_EXPORT_QUEUE_URL: exports.queue.queue_url,
            c.ENV_ATTACHMENTS_BUCKET: buckets.attachments.bucket_name,
            c.ENV_ATTACHMENT_BUDGET_BYTES: str(c.ATTACHMENT_BUDGET_BYTES),
            c.ENV_CATALOGUE_TABLE: tables.catalogue.table_name,
            c.ENV_SERVICE_TOKEN_KEY: Keys.service_token_alias(stage),
            c.ENV_MEASURES_TABLE: tables.measures.table_name,
            c.ENV_AGENDA_SHARD_QUEUE_URL: agenda_shards.queue.queue_url,
            c.ENV_AGENDA_DELIVERY_QUEUE_URL: agenda_deliveries.queue.queue_url,
            c.ENV_AGENDA_EMAIL_SOURCE: email.source,
            c.ENV_AGENDA_EMAIL_TEMPLATE: email.template_name,
            c.ENV_AGENDA_SHARDS: str(config.agenda_shards),
            c.ENV_AGENDA_BATCH_SIZE: str(c.AGENDA_BATCH_SIZE),
            c.ENV_PSEUDONYM_SECRET_ARN: pseudonyms.secret.secret_arn,
            c.ENV_CORS_ALLOWED_ORIGINS: ",".join(config.cors_allowed_origins),
            c.ENV_PROOFS_BUCKET: buckets.proofs.bucket_name,
            c.ENV_ENROLMENT_EMAIL_TEMPLATE: email.enrolment_template_name,
            c.ENV_TERMS_VERSION: c.TERMS_VERSION,
            c.ENV_CODE_TTL_MAIL_HOURS: str(c.CODE_TTL_MAIL_HOURS),
            c.ENV_CODE_TTL_LETTER_DAYS: str(c.CODE_TTL_LETTER_DAYS),
            c.ENV_INBOUND_MAIL_BUCKET: buckets.inbound_mail.bucket_name,
            **c.MAIL_DEFAULTS,
            c.ENV_FRESH_AUTH_SECONDS: str(c.FRESH_AUTH_SECONDS),
            c.ENV_DELETION_DELAY_DAYS: str(c.DELETION_DELAY_DAYS),
            c.ENV_ENVELOPE_ENCRYPTION: c.ENVELOPE_ENCRYPTION,
            "POWERTOOLS_SERVICE_NAME": c.SERVICE,
            **config.issuer_environment(),
        }
        environment.update({c.ENV_INTAKE_BUCKET: buckets.intake.bucket_name,
                            c.ENV_PRINT_BUCKET: buckets.printing.bucket_name,
                            c.ENV_ACCOUNTS_TASK_QUEUE_URL: accounts_tasks.queue.queue_url,
                            c.ENV_INFORMATION_EMAIL_TEMPLATE: information.template_name,
                            **c.OPENING_ENVIRONMENT})
        environment.update({c.ENV_ERASURE_QUEUE_URL: erasures.queue.queue_url,
                            c.ENV_ERASURE_EMAIL_TEMPLATE: erasure_email.template_name})
        # Scheduled functions are Chalice's (@app.schedule: Chalice generates their EventBridge rules); the stack
        # adds what Chalice cannot: role, settings, concurrency, and a dead-letter queue with its alarms.
        job_dead_letters = {function: job_dead_letter_queue(self, f"{function}DeadLetters", stage=stage,
                                                            function=function, key=keys.data)
                            for function in c.SCHEDULED_FUNCTIONS}
        api = ChaliceApi(self, "Api", config=config, source_dir=chalice_source, build_dir=build_dir, layer=layer,
                         roles=roles, environment=environment,
                         consumer_queue_arns={c.CHALICE_UPLOAD_CONSUMER: queues.queue.queue_arn,
                                              c.CHALICE_AGENDA_SHARD_CONSUMER: agenda_shards.queue.queue_arn,
                                              c.CHALICE_AGENDA_DELIVERY_CONSUMER: agenda_deliveries.queue.queue_arn,
                                              c.CHALICE_EXPORT_CONSUMER: exports.queue.queue_arn,
                                              c.CHALICE_INBOUND_MAIL_CONSUMER: inbound_mail.queue.queue_arn,
                                              c.CHALICE_ACCOUNTS_CONSUMER: accounts_tasks.queue.queue_arn,
                                              c.CHALICE_ERASURE_CONSUMER: erasures.queue.queue_arn},
                         job_dead_letter_arns={f: q.queue_arn for f, q in job_dead_letters.items()},
                         data_key=keys.data)
        self._key_policies(keys, roles)

        monitoring = Monitoring(self, "Monitoring", stage=stage, key=keys.data, alarm_email=config.alarm_email)
        monitoring.watch_api(api.api_name)
        monitoring.watch_business_events()
        for function in c.FUNCTION_TIMEOUTS:
            monitoring.watch_function(function, api.function_ref(function))
        monitoring.watch_queue("UploadEvents", queues.queue, queues.dead_letters,
                               "The oldest upload event is older than 15 minutes: uploads are not being verified.")
        monitoring.watch_queue("AgendaShards", agenda_shards.queue, agenda_shards.dead_letters,
                               "The oldest shard task is older than 15 minutes: today's reminders are not being "
                               "fanned out.", depth=max(c.QUEUE_DEPTH_ALARM, 2 * config.agenda_shards))
        monitoring.watch_queue("AgendaDeliveries", agenda_deliveries.queue, agenda_deliveries.dead_letters,
                               "The oldest reminder batch is older than an hour: reminders are late (delivery "
                               "errors, throttling, or SES sending rate).", depth=c.DELIVERY_DEPTH_ALARM,
                               age_seconds=c.DELIVERY_AGE_ALARM_SECONDS)
        monitoring.watch_queue("Exports", exports.queue, exports.dead_letters,
                               "The oldest export request is older than 15 minutes: exports are not being built.")
        monitoring.watch_queue("InboundMail", inbound_mail.queue, inbound_mail.dead_letters,
                               "The oldest inbound mail is older than 15 minutes: mail is not reaching the mailboxes.")
        monitoring.watch_queue("AccountsTasks", accounts_tasks.queue, accounts_tasks.dead_letters,
                               "The oldest accounts task is older than 15 minutes: a beneficiaries file is not being "
                               "imported, or the day's spaces are not being created.", depth=c.DELIVERY_DEPTH_ALARM)
        monitoring.watch_queue("Erasures", erasures.queue, erasures.dead_letters,
                               "The oldest erasure request is older than 15 minutes: closed spaces whose deletion is "
                               "due are not being erased.")
        for function, dead_letters in job_dead_letters.items():
            monitoring.watch_dead_letters(function, dead_letters)

        cdk.CfnOutput(self, "RecordsKeyArn", value=keys.documents.key_arn)
        cdk.CfnOutput(self, "TraceSigningKeyArn", value=keys.signing.key_arn,
                      description="Verify trace exports with this key's public key (kms:GetPublicKey)")
        cdk.CfnOutput(self, "TraceExportVerifierPolicyArn", value=keys.verifier_policy.managed_policy_arn,
                      description="Attach to an auditor's role to read the signing key's public key")
        cdk.CfnOutput(self, "OperationsTopicArn", value=monitoring.topic.topic_arn)

    @staticmethod
    def _key_policies(keys: Keys, roles: FunctionRoles) -> None:
        """Each function gets, in the key policies, only the KMS actions its AWS calls need."""
        Keys.allow_role(keys.documents, roles.api, ["kms:GenerateDataKey", "kms:Decrypt"], "s3",
                        "ApiHandlerPresignedUploadsAndDownloads")
        Keys.allow_role(keys.documents, roles.upload_consumer, ["kms:GenerateDataKey", "kms:Decrypt"], "s3",
                        "UploadConsumerVerifyAndPromote")
        Keys.allow_role(keys.data, roles.api, DYNAMODB_KMS, "dynamodb", "ApiHandlerTables")
        Keys.allow_token_signing(keys.service_tokens, roles.api, "ApiHandlerServiceTokens")
        Keys.allow_role(keys.data, roles.catalogue_summaries, DYNAMODB_KMS, "dynamodb", "CatalogueSummariesTables")
        Keys.allow_role(keys.data, roles.catalogue_summaries, ["kms:GenerateDataKey", "kms:Decrypt"], "sqs",
                        "CatalogueSummariesDeadLetters")
        Keys.allow_role(keys.data, roles.authorizer, ["kms:Decrypt", "kms:DescribeKey"], "dynamodb",
                        "AuthorizerSpaces")
        Keys.allow_role(keys.data, roles.upload_consumer, DYNAMODB_KMS, "dynamodb", "UploadConsumerTables")
        Keys.allow_role(keys.data, roles.upload_consumer, ["kms:Decrypt"], "sqs", "UploadConsumerQueue")
        Keys.allow_role(keys.data, roles.invisible_job, DYNAMODB_KMS, "dynamodb", "InvisibleJobTables")
        Keys.allow_role(keys.data, roles.invisible_job, ["kms:GenerateDataKey", "kms:Decrypt"], "sqs",
                        "InvisibleJobDeadLetters")
        Keys.allow_role(keys.data, roles.agenda_dispatch, ["kms:GenerateDataKey", "kms:Decrypt"], "sqs",
                        "AgendaDispatchShardTasksAndDeadLetters")
        Keys.allow_role(keys.data, roles.agenda_shards, ["kms:Decrypt", "kms:DescribeKey"], "dynamodb",
                        "AgendaShardsDueEntries")
        Keys.allow_role(keys.data, roles.agenda_shards, ["kms:GenerateDataKey", "kms:Decrypt"], "sqs",
                        "AgendaShardsQueues")
        Keys.allow_role(keys.data, roles.agenda_deliveries, DYNAMODB_KMS, "dynamodb", "AgendaDeliveriesTables")
        Keys.allow_role(keys.data, roles.agenda_deliveries, ["kms:Decrypt"], "sqs", "AgendaDeliveriesQueue")
        Keys.allow_role(keys.documents, roles.export_consumer, ["kms:GenerateDataKey", "kms:Decrypt"], "s3",
                        "ExportConsumerReadsRecordsWritesArchives")
        Keys.allow_role(keys.data, roles.export_consumer, DYNAMODB_KMS, "dynamodb", "ExportConsumerTables")
        Keys.allow_role(keys.data, roles.export_consumer, ["kms:Decrypt"], "sqs", "ExportConsumerQueue")
        Keys.allow_role(keys.data, roles.api, ["kms:GenerateDataKey", "kms:Decrypt"], "sqs", "ApiHandlerExportBuilds")
        Keys.allow_role(keys.documents, roles.inbound_mail, ["kms:GenerateDataKey", "kms:Decrypt"], "s3",
                        "InboundMailReadsMailAndStoresAttachments")
        Keys.allow_role(keys.data, roles.inbound_mail, DYNAMODB_KMS, "dynamodb", "InboundMailTables")
        Keys.allow_role(keys.data, roles.inbound_mail, ["kms:Decrypt"], "sqs", "InboundMailQueue")
        Keys.allow_role(keys.data, roles.space_creation, ["kms:GenerateDataKey", "kms:Decrypt"], "sqs",
                        "SpaceCreationTasksAndDeadLetters")
        Keys.allow_role(keys.data, roles.accounts_tasks, DYNAMODB_KMS, "dynamodb", "AccountsTasksTables")
        Keys.allow_role(keys.data, roles.accounts_tasks, ["kms:GenerateDataKey", "kms:Decrypt"], "sqs",
                        "AccountsTasksQueue")
        Keys.allow_role(keys.documents, roles.accounts_tasks, ["kms:GenerateDataKey", "kms:Decrypt"], "s3",
                        "AccountsTasksIntakeAndPrint")
        # The per-space data keys of the envelope, wrapped by the documents key: made (GenerateDataKey) and unwrapped
        # (Decrypt) by the functions that seal objects (the verifier, inbound mail, the API saving an attachment
        # into the record), only unwrapped by the export. The erasure destroys a key without KMS.
        for role, actions, sid in ((roles.api, ["kms:GenerateDataKey", "kms:Decrypt"], "ApiHandlerSpaceDataKeys"),
                                   (roles.upload_consumer, ["kms:GenerateDataKey", "kms:Decrypt"],
                                    "UploadConsumerSpaceDataKeys"),
                                   (roles.inbound_mail, ["kms:GenerateDataKey", "kms:Decrypt"],
                                    "InboundMailSpaceDataKeys"),
                                   (roles.export_consumer, ["kms:Decrypt"], "ExportConsumerSpaceDataKeys")):
            Keys.allow_data_keys(keys.documents, role, actions, sid)
        Keys.allow_role(keys.data, roles.erasure_daily, ["kms:Decrypt", "kms:DescribeKey"], "dynamodb",
                        "ErasureDailyDueIndex")
        Keys.allow_role(keys.data, roles.erasure_daily, ["kms:GenerateDataKey", "kms:Decrypt"], "sqs",
                        "ErasureDailyRequestsAndDeadLetters")
        Keys.allow_role(keys.data, roles.erasure_consumer, DYNAMODB_KMS, "dynamodb", "ErasureConsumerTables")
        Keys.allow_role(keys.data, roles.erasure_consumer, ["kms:Decrypt"], "sqs", "ErasureConsumerQueue")
        # The pseudonym key: every function reads the secret once per cold start.
        for function, role in roles.by_function.items():
            Keys.allow_role(keys.data, role, ["kms:Decrypt"], "secretsmanager", f"{function}PseudonymKey")
        # Trace exports (GET /v1/me/traces/export): the API handler signs; no other function may.
        Keys.allow_signing(keys.signing, roles.api, "ApiHandlerSignsTraceExports")
        Keys.allow_service(keys.data, "s3.amazonaws.com", ["kms:GenerateDataKey", "kms:Decrypt"],
                           "S3NotificationsIntoQueue")
        Keys.allow_service(keys.data, "cloudwatch.amazonaws.com", ["kms:GenerateDataKey*", "kms:Decrypt"],
                           "AlarmsIntoTopic")
        Keys.allow_service(keys.data, f"logs.{c.REGION}.amazonaws.com",
                           ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                            "kms:Describe*"], "CloudWatchLogs",
                           conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                                   f"arn:aws:logs:{c.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:*"}})
