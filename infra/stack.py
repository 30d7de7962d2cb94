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
from infra.components.mail import ReminderEmail
from infra.components.monitoring import Monitoring
from infra.components.pseudonym import PseudonymKey
from infra.components.queues import UploadEventQueues, WorkQueues, job_dead_letter_queue
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
        buckets = Buckets(self, "Buckets", stage=stage, key=keys.documents,
                          log_retention_days=config.log_retention_days, notification_queue_arn=queues.queue.queue_arn)
        # The bucket checks its notification target when it is created: the queue policy must exist first.
        queue_policy = queues.queue.node.try_find_child("Policy")
        assert queue_policy is not None, "the upload-events queue has a resource policy"
        buckets.quarantine.node.add_dependency(queue_policy)

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
            c.ENV_MEASURES_TABLE: tables.measures.table_name,
            c.ENV_AGENDA_SHARD_QUEUE_URL: agenda_shards.queue.queue_url,
            c.ENV_AGENDA_DELIVERY_QUEUE_URL: agenda_deliveries.queue.queue_url,
            c.ENV_AGENDA_EMAIL_SOURCE: email.source,
            c.ENV_AGENDA_EMAIL_TEMPLATE: email.template_name,
            c.ENV_AGENDA_SHARDS: str(config.agenda_shards),
            c.ENV_AGENDA_BATCH_SIZE: str(c.AGENDA_BATCH_SIZE),
            c.ENV_PSEUDONYM_SECRET_ARN: pseudonyms.secret.secret_arn,
            c.ENV_CORS_ALLOWED_ORIGINS: ",".join(config.cors_allowed_origins),
            "POWERTOOLS_SERVICE_NAME": c.SERVICE,
            **config.issuer_environment(),
        }
        # Scheduled functions are Chalice's (@app.schedule: Chalice generates their EventBridge rules); the stack
        # adds what Chalice cannot: role, settings, concurrency, and a dead-letter queue with its alarms.
        job_dead_letters = {function: job_dead_letter_queue(self, f"{function}DeadLetters", stage=stage,
                                                            function=function, key=keys.data)
                            for function in c.SCHEDULED_FUNCTIONS}
        api = ChaliceApi(self, "Api", config=config, source_dir=chalice_source, build_dir=build_dir, layer=layer,
                         roles=roles, environment=environment,
                         consumer_queue_arns={c.CHALICE_UPLOAD_CONSUMER: queues.queue.queue_arn,
                                              c.CHALICE_AGENDA_SHARD_CONSUMER: agenda_shards.queue.queue_arn,
                                              c.CHALICE_AGENDA_DELIVERY_CONSUMER: agenda_deliveries.queue.queue_arn},
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
