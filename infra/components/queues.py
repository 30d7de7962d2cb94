"""SQS: the upload-events queue (S3 ObjectCreated in quarantine -> the verifier), the agenda-shards queue (one task
per shard of the day, sent by the daily dispatch) and the agenda-deliveries queue (batches of up to 100 reminders,
sent by the shard tasks), each with its dead-letter queue, and the dead-letter queue of each scheduled function (the
events Lambda still fails after its asynchronous retries).

All are encrypted with the data key and refuse non-TLS requests. A message that fails `MAX_RECEIVES` times moves to
the DLQ, kept 14 days for inspection and redrive. The visibility timeout is 6x the consumer's timeout (AWS's advice
for Lambda event sources), so a message is never handed to a second consumer while the first still runs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge


def queue_name(stage: str, queue: str) -> str:
    return f"{c.PREFIX}-{stage}-{queue}"


def queue_arn(stage: str, queue: str) -> str:
    return f"arn:aws:sqs:{c.REGION}:{cdk.Aws.ACCOUNT_ID}:{queue_name(stage, queue)}"


def job_dead_letters(function: str) -> str:
    """The dead-letter queue of a scheduled function, e.g. `invisible-patient-daily-dlq`."""
    return f"{c.SCHEDULED_FUNCTIONS[function]}-dlq"


def job_dead_letter_queue(scope: Construct, construct_id: str, *, stage: str, function: str,
                          key: kms.IKey) -> sqs.Queue:
    """Where Lambda puts a scheduled event it failed to process (2 retries). The job is idempotent per day: redrive
    by invoking the function with the dead letter's body (the original EventBridge event, its `time` included)."""
    queue = sqs.Queue(
        scope, construct_id,
        queue_name=queue_name(stage, job_dead_letters(function)),
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        data_key_reuse=cdk.Duration.minutes(5),
        enforce_ssl=True,
        retention_period=cdk.Duration.days(c.DLQ_RETENTION_DAYS),
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    acknowledge(queue, f"This queue is itself the dead-letter queue of the {function} function's asynchronous "
                "(scheduled) invocations.", "AwsSolutions-SQS3")
    return queue


class WorkQueues(Construct):
    """A queue consumed by one Lambda function (ReportBatchItemFailures, see components/api.py) and its DLQ."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, name: str, key: kms.IKey,
                 consumer_timeout_seconds: int) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self, "DeadLetters",
            queue_name=queue_name(stage, f"{name}-dlq"),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=cdk.Duration.minutes(5),
            enforce_ssl=True,
            retention_period=cdk.Duration.days(c.DLQ_RETENTION_DAYS),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(self.dead_letters, f"This queue is itself the dead-letter queue of the {name} queue.",
                    "AwsSolutions-SQS3")
        self.queue = sqs.Queue(
            self, "Queue",
            queue_name=queue_name(stage, name),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=cdk.Duration.minutes(5),
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(c.VISIBILITY_TIMEOUT_FACTOR * consumer_timeout_seconds),
            retention_period=cdk.Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=c.MAX_RECEIVES),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )


class InboundMailQueues(WorkQueues):
    """ObjectCreated under incoming/ of the inbound-mail bucket -> the inbound-mail consumer."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, key: kms.IKey,
                 consumer_timeout_seconds: int, source_bucket_arn: str) -> None:
        super().__init__(scope, construct_id, stage=stage, name=c.INBOUND_MAIL_QUEUE, key=key,
                         consumer_timeout_seconds=consumer_timeout_seconds)
        self.queue.add_to_resource_policy(iam.PolicyStatement(
            sid="InboundMailNotifications",
            principals=[iam.ServicePrincipal("s3.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[self.queue.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": source_bucket_arn},
                        "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
        ))


class UploadEventQueues(WorkQueues):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, key: kms.IKey,
                 consumer_timeout_seconds: int, source_bucket_arn: str) -> None:
        super().__init__(scope, construct_id, stage=stage, name=c.UPLOAD_EVENTS, key=key,
                         consumer_timeout_seconds=consumer_timeout_seconds)
        # S3 may send the quarantine bucket's notifications, and nothing else may.
        self.queue.add_to_resource_policy(iam.PolicyStatement(
            sid="QuarantineNotifications",
            principals=[iam.ServicePrincipal("s3.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[self.queue.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": source_bucket_arn},
                        "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
        ))


class AccountsTaskQueues(WorkQueues):
    """The accounts-tasks queue (opening by default): the intake bucket's notifications and the tasks the app
    sends itself (import chunks, creation shards)."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, key: kms.IKey,
                 consumer_timeout_seconds: int, source_bucket_arn: str) -> None:
        super().__init__(scope, construct_id, stage=stage, name=c.ACCOUNTS_TASKS_QUEUE, key=key,
                         consumer_timeout_seconds=consumer_timeout_seconds)
        self.queue.add_to_resource_policy(iam.PolicyStatement(
            sid="IntakeNotifications",
            principals=[iam.ServicePrincipal("s3.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[self.queue.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": source_bucket_arn},
                        "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
        ))
