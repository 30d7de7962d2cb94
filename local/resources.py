"""Creates the AWS resources of one stage on the moto server: tables (from the pynamodb models, so keys and
indexes match the code), buckets, the KMS key, queues with their dead-letter queue, and S3 -> SQS notifications.
Idempotent, so `make run` can restart on a running moto server."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from functions import deps
from functions.messaging.models import MAILBOX_DOMAIN
from functions.shared.aws import client
from functions.shared.names import ERASURE_EMAIL_TEMPLATE
from functions.shared.settings import settings
from local.config import (
    ACCOUNTS_TASK_DLQ,
    ACCOUNTS_TASK_QUEUE,
    AGENDA_DELIVERY_DLQ,
    AGENDA_DELIVERY_QUEUE,
    AGENDA_SHARD_DLQ,
    AGENDA_SHARD_QUEUE,
    EMAIL_SOURCE,
    EMAIL_TEMPLATE,
    ENROLMENT_EMAIL_TEMPLATE,
    ERASURE_DLQ,
    ERASURE_QUEUE,
    EXPORT_DLQ,
    EXPORT_QUEUE,
    INBOUND_MAIL_DLQ,
    INBOUND_MAIL_QUEUE,
    INFORMATION_TEMPLATE,
    KMS_ALIAS,
    MAX_RECEIVES,
    SERVICE_TOKEN_ALIAS,
    SIGNING_ALIAS,
    UPLOAD_EVENTS_DLQ,
    UPLOAD_EVENTS_QUEUE,
)

# What the reminder e-mail says: that a reminder waits in the app, of which kind, for which day. No health detail.
EMAIL_BODY = ("Bonjour,\n\nUn {{kind}} vous attend dans Mon espace santé pour le {{day}}.\n"
              "Connectez-vous pour le consulter.\n")




def _tables() -> None:
    from functions.accounts.storage import SpaceItem
    from functions.agenda.storage import AgendaItem, DueItem
    from functions.catalogue.storage import CatalogueItem
    from functions.exports.storage import ExportItem
    from functions.journal.storage import LedgerItem, TraceItem
    from functions.measures.storage import MeasureItem
    from functions.messaging.storage import MessageItem
    from functions.notifications.storage import NotificationItem
    from functions.records.storage import DocumentItem
    from functions.shared.idempotency_store import IdempotencyItem

    deps.bind_tables()
    for model in (SpaceItem, DocumentItem, TraceItem, NotificationItem, LedgerItem, AgendaItem, DueItem,
                  IdempotencyItem, MessageItem, ExportItem, CatalogueItem, MeasureItem):
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    for model in (DocumentItem, DueItem, IdempotencyItem, CatalogueItem):
        client("dynamodb", settings().region).update_time_to_live(
            TableName=model.Meta.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at_epoch"})


def _keys(kms: Any) -> None:
    aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    if KMS_ALIAS not in aliases:
        key_id = kms.create_key(Description="Mon espace santé records (local)")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=KMS_ALIAS, TargetKeyId=key_id)
    if SIGNING_ALIAS not in aliases:
        key_id = kms.create_key(Description="Mon espace santé trace exports (local)", KeyUsage="SIGN_VERIFY",
                                KeySpec="ECC_NIST_P256")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=SIGNING_ALIAS, TargetKeyId=key_id)
    if SERVICE_TOKEN_ALIAS not in aliases:
        key_id = kms.create_key(Description="Mon espace santé service tokens (local)", KeyUsage="SIGN_VERIFY",
                                KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=SERVICE_TOKEN_ALIAS, TargetKeyId=key_id)


def _bucket(s3: Any, name: str, region: str, versioned: bool) -> None:
    try:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        return
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def _queues(sqs: Any, name: str = UPLOAD_EVENTS_QUEUE, dlq: str = UPLOAD_EVENTS_DLQ) -> str:
    dlq_url = sqs.create_queue(QueueName=dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": "30",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}),
    })["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return arn


def create_all() -> None:
    s = settings()
    _tables()
    _keys(client("kms", s.region))
    s3 = client("s3", s.region)
    _bucket(s3, s.quarantine_bucket, s.region, versioned=False)
    _bucket(s3, s.records_bucket, s.region, versioned=True)
    _bucket(s3, s.attachments_bucket, s.region, versioned=True)
    if s.outbox_bucket:  # local only: the stage sends through SES
        _bucket(s3, s.outbox_bucket, s.region, versioned=False)
    queue_arn = _queues(client("sqs", s.region))
    _queues(client("sqs", s.region), AGENDA_SHARD_QUEUE, AGENDA_SHARD_DLQ)
    _queues(client("sqs", s.region), AGENDA_DELIVERY_QUEUE, AGENDA_DELIVERY_DLQ)
    _queues(client("sqs", s.region), EXPORT_QUEUE, EXPORT_DLQ)
    _bucket(s3, s.exports_bucket, s.region, versioned=False)
    _queues(client("sqs", s.region), ERASURE_QUEUE, ERASURE_DLQ)
    _email(client("ses", s.region))
    _enrolment(s3, client("ses", s.region))
    s3.put_bucket_notification_configuration(Bucket=s.quarantine_bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]})
    _inbound_mail(s3, client("sqs", s.region), client("ses", s.region))


def _inbound_mail(s3: Any, sqs: Any, ses: Any) -> None:
    """Messaging's mail path: the attachments bucket, the inbound-mail bucket (incoming/ notifies its queue,
    rejected/ expires after 30 days) and the bounces' sending domain."""
    from functions.shared.names import INBOUND_MAIL_PREFIX, INBOUND_REJECTED_PREFIX

    s = settings()
    _bucket(s3, s.attachments_bucket, s.region, versioned=True)
    _bucket(s3, s.inbound_mail_bucket, s.region, versioned=False)
    s3.put_bucket_lifecycle_configuration(Bucket=s.inbound_mail_bucket, LifecycleConfiguration={"Rules": [
        {"ID": "expire-rejected", "Status": "Enabled", "Filter": {"Prefix": INBOUND_REJECTED_PREFIX},
         "Expiration": {"Days": 30}}]})
    queue_arn = _queues(sqs, INBOUND_MAIL_QUEUE, INBOUND_MAIL_DLQ)
    s3.put_bucket_notification_configuration(Bucket=s.inbound_mail_bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"], "Filter": {
            "Key": {"FilterRules": [{"Name": "prefix", "Value": INBOUND_MAIL_PREFIX}]}}}]})
    ses.verify_domain_identity(Domain=MAILBOX_DOMAIN)
    _opening(s3, client("sqs", s.region), client("ses", s.region))


def _email(ses: Any) -> None:
    ses.verify_email_identity(EmailAddress=EMAIL_SOURCE)
    with contextlib.suppress(ses.exceptions.AlreadyExistsException):
        ses.create_template(Template={"TemplateName": EMAIL_TEMPLATE, "SubjectPart": "Mon espace santé : un {{kind}}",
                                      "TextPart": EMAIL_BODY})


def _enrolment(s3: Any, ses: Any) -> None:
    """The proofs bucket (opposition proofs, letters' print records) and the enrolment e-mail template."""
    s = settings()
    if s.proofs_bucket:
        _bucket(s3, s.proofs_bucket, s.region, versioned=False)
    with contextlib.suppress(ses.exceptions.AlreadyExistsException):
        ses.create_template(Template={"TemplateName": ENROLMENT_EMAIL_TEMPLATE,
                                      "SubjectPart": "Mon espace santé : {{subject}}", "TextPart": "{{text}}\n"})
def _opening(s3: Any, sqs: Any, ses: Any) -> None:
    """Opening by default: the intake and print buckets, the accounts-tasks queue the intake bucket notifies
    (`intake/` objects only), and the information e-mail template (functions/accounts/intake.py's text)."""
    from functions.accounts.intake import INFORMATION_SUBJECT, template_text

    s = settings()
    assert s.intake_bucket and s.print_bucket
    _bucket(s3, s.intake_bucket, s.region, versioned=True)
    _bucket(s3, s.print_bucket, s.region, versioned=True)
    arn = _queues(sqs, ACCOUNTS_TASK_QUEUE, ACCOUNTS_TASK_DLQ)
    s3.put_bucket_notification_configuration(Bucket=s.intake_bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {
            "FilterRules": [{"Name": "prefix", "Value": "intake/"}]}}}]})
    with contextlib.suppress(ses.exceptions.AlreadyExistsException):
        ses.create_template(Template={"TemplateName": INFORMATION_TEMPLATE, "SubjectPart": INFORMATION_SUBJECT,
                                      "TextPart": template_text()})
    with contextlib.suppress(ses.exceptions.AlreadyExistsException):
        from functions.accounts.erasure import ERASURE_EMAIL_BODY, ERASURE_EMAIL_SUBJECT

        ses.create_template(Template={"TemplateName": ERASURE_EMAIL_TEMPLATE, "SubjectPart": ERASURE_EMAIL_SUBJECT,
                                      "TextPart": ERASURE_EMAIL_BODY})
