"""EventBridge Scheduler for the daily jobs. No job exists yet: the construct is in the stack, empty, so the first
job is one `add_daily_job(...)` call in infra/stack.py.

Each job: a cron in Europe/Paris time, a role that may invoke only that function, retries, and a dead-letter
queue (encrypted) for invocations that still fail, alarmed like the other DLQs. Jobs must be idempotent (a run id
per job and day), since Scheduler delivers at least once."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge


class DailyJobs(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.stage = stage
        self.key = key
        self.dead_letters: sqs.Queue | None = None

    def add_daily_job(self, name: str, function_arn: str, hour: int, minute: int = 0) -> scheduler.CfnSchedule:
        if self.dead_letters is None:
            self.dead_letters = sqs.Queue(self, "DeadLetters", queue_name=f"{c.PREFIX}-{self.stage}-jobs-dlq",
                                          encryption=sqs.QueueEncryption.KMS, encryption_master_key=self.key,
                                          enforce_ssl=True, retention_period=cdk.Duration.days(14),
                                          removal_policy=cdk.RemovalPolicy.RETAIN)
            acknowledge(self.dead_letters, "This queue is the dead-letter queue of the scheduled jobs.",
                        "AwsSolutions-SQS3")
        role = iam.Role(self, f"{name}Role", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function_arn]))
        self.dead_letters.grant_send_messages(role)
        return scheduler.CfnSchedule(
            self, name,
            name=f"{c.PREFIX}-{self.stage}-{name}",
            schedule_expression=f"cron({minute} {hour} * * ? *)",
            schedule_expression_timezone="Europe/Paris",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function_arn,
                role_arn=role.role_arn,
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=3,
                                                                       maximum_event_age_in_seconds=3600),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=self.dead_letters.queue_arn),
            ),
        )
