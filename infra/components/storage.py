"""S3: the quarantine bucket (presigned POST uploads land here), the records bucket (verified documents) and the
access-log bucket both log into.

Both data buckets: all public access blocked, bucket-owner-enforced ownership (no ACLs), TLS 1.2+ only, every
PutObject must ask for SSE-KMS with the documents key (bucket policy), SSE-KMS with that key by default, versioning,
server access logs, retained on stack deletion.

- quarantine: objects expire after a day (current and noncurrent versions, unfinished multipart uploads): a lying
  or abandoned upload leaves nothing behind. ObjectCreated under uploads/ notifies the upload-events queue.
- records: versioned so an overwrite or deletion can be undone for NONCURRENT_RECORD_VERSION_DAYS; objects tagged
  `mes-lifecycle=closed` (closed spaces) move to Glacier Deep Archive after a day and are deleted after 10 years.
  Object Lock: deliberately NOT enabled. Citizens may delete their documents and GDPR erasure must remove every
  version, which a compliance-mode lock forbids and a governance-mode lock only hinders; the legal 10-year retention
  applies to closed spaces and is enforced by the lifecycle (and by PITR/AWS Backup for the metadata). Should the
  rules change, Object Lock can still be enabled later on this versioned bucket (PutObjectLockConfiguration).
- exports: the holders' export archives (three ZIPs per export), deleted EXPORT_ARCHIVE_DAYS after they were built.
- attachments: verified message attachments (`<pseudonym>/<message>/<attachment>`, SSE-KMS with the context
  {mes:patient, mes:message}); like records, versioned, the noncurrent versions kept NONCURRENT_RECORD_VERSION_DAYS.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge


def bucket_name(stage: str, bucket: str) -> str:
    # Bucket names are global: the account id keeps them unique without any value from the developer's machine.
    return f"{c.PREFIX}-{stage}-{bucket}-{cdk.Aws.ACCOUNT_ID}"


def bucket_arn(stage: str, bucket: str) -> str:
    return f"arn:aws:s3:::{bucket_name(stage, bucket)}"


def _notify(bucket: s3.Bucket, queue_arn: str, prefix: str) -> None:
    """S3 -> SQS directly on the bucket for objects created under `prefix` (no CDK notifications custom resource,
    hence no extra Lambda)."""
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        queue_configurations=[s3.CfnBucket.QueueConfigurationProperty(
            event="s3:ObjectCreated:*",
            queue=queue_arn,
            filter=s3.CfnBucket.NotificationFilterProperty(s3_key=s3.CfnBucket.S3KeyFilterProperty(
                rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=prefix)])),
        )])


class Buckets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, key: kms.IKey, log_retention_days: int,
                 notification_queue_arn: str, inbound_mail_queue_arn: str) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self, "AccessLogs",
            bucket_name=bucket_name(stage, "access-logs"),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=cdk.Duration.days(log_retention_days),
                                              noncurrent_version_expiration=cdk.Duration.days(1))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(self.access_logs, "This is the server-access-log destination; logging it into itself would loop.",
                    "AwsSolutions-S1", "HIPAA.Security-S3BucketLoggingEnabled")
        acknowledge(self.access_logs, "S3 server access logging only delivers to buckets encrypted with SSE-S3; "
                    "the logs hold no document content.", "HIPAA.Security-S3DefaultEncryptionKMS")
        acknowledge(self.access_logs, "Access logs are not replicated: they stay in eu-west-3 (health-data "
                    "residency) and are versioned.", "HIPAA.Security-S3BucketReplicationEnabled")

        self.quarantine = self._data_bucket(
            "Quarantine", stage, "quarantine", key, bucket_key=True,
            lifecycle=[s3.LifecycleRule(
                id="expire-quarantine",
                expiration=cdk.Duration.days(c.QUARANTINE_EXPIRY_DAYS),
                noncurrent_version_expiration=cdk.Duration.days(c.QUARANTINE_EXPIRY_DAYS),
                abort_incomplete_multipart_upload_after=cdk.Duration.days(c.QUARANTINE_EXPIRY_DAYS),
            )],
        )
        self.records = self._data_bucket(
            "Records", stage, "records", key, bucket_key=False,  # per-object KMS calls: the context is audited
            lifecycle=[
                s3.LifecycleRule(id="keep-versions", noncurrent_version_expiration=cdk.Duration.days(
                    c.NONCURRENT_RECORD_VERSION_DAYS), abort_incomplete_multipart_upload_after=cdk.Duration.days(1)),
                s3.LifecycleRule(
                    id="archive-closed",
                    tag_filters={c.CLOSED_TAG_KEY: c.CLOSED_TAG_VALUE},
                    transitions=[s3.Transition(storage_class=s3.StorageClass.DEEP_ARCHIVE,
                                               transition_after=cdk.Duration.days(c.CLOSED_ARCHIVE_AFTER_DAYS))],
                    expiration=cdk.Duration.days(c.CLOSED_RETENTION_DAYS),
                ),
            ],
        )
        self.exports = self._data_bucket(
            "Exports", stage, "exports", key, bucket_key=True,
            lifecycle=[s3.LifecycleRule(
                id="expire-exports", expiration=cdk.Duration.days(c.EXPORT_ARCHIVE_DAYS),
                noncurrent_version_expiration=cdk.Duration.days(1),
                abort_incomplete_multipart_upload_after=cdk.Duration.days(1))],
        )
        self.proofs = self._data_bucket(
            "Proofs", stage, "proofs", key, bucket_key=False,  # per-object context: the person's digest
            lifecycle=[s3.LifecycleRule(id="expire-letters", prefix=c.LETTERS_PREFIX,
                                        expiration=cdk.Duration.days(c.LETTERS_EXPIRY_DAYS),
                                        noncurrent_version_expiration=cdk.Duration.days(1),
                                        abort_incomplete_multipart_upload_after=cdk.Duration.days(1))],
        )
        _notify(self.quarantine, notification_queue_arn, c.QUARANTINE_PREFIX)

        self._mail(stage, key, inbound_mail_queue_arn)

    def _mail(self, stage: str, key: kms.IKey, queue_arn: str) -> None:
        """Messaging: attachments (per-object KMS, patient/message context; versions kept like records) and the
        inbound-mail bucket (incoming/ notifies the inbound-mail queue; rejected/ expires after 30 days; nothing
        else is kept: a landed mail is deleted by the consumer)."""
        self.attachments = self._data_bucket(
            "Attachments", stage, "attachments", key, bucket_key=False,
            lifecycle=[s3.LifecycleRule(id="keep-versions", noncurrent_version_expiration=cdk.Duration.days(
                c.NONCURRENT_RECORD_VERSION_DAYS), abort_incomplete_multipart_upload_after=cdk.Duration.days(1))])
        self.inbound_mail = self._data_bucket(
            "InboundMail", stage, "inbound-mail", key, bucket_key=True,
            lifecycle=[
                s3.LifecycleRule(id="expire-rejected", prefix=c.INBOUND_REJECTED_PREFIX,
                                 expiration=cdk.Duration.days(c.REJECTED_MAIL_DAYS)),
                s3.LifecycleRule(id="expire-unhandled", prefix=c.INBOUND_MAIL_PREFIX,
                                 expiration=cdk.Duration.days(c.DLQ_RETENTION_DAYS)),
                s3.LifecycleRule(id="old-versions", noncurrent_version_expiration=cdk.Duration.days(1),
                                 abort_incomplete_multipart_upload_after=cdk.Duration.days(1)),
            ])
        _notify(self.inbound_mail, queue_arn, c.INBOUND_MAIL_PREFIX)

    def add_opening(self, stage: str, key: kms.IKey, tasks_queue_arn: str) -> None:
        """Opening by default: the intake bucket (beneficiaries files in `intake/`, their reports in `reports/`),
        which notifies the accounts-tasks queue of `intake/` objects, and the print bucket (letter and SMS
        batches). Both like the data buckets: SSE-KMS with the documents key, versioned, TLS only, logged."""
        self.intake = self._data_bucket(
            "Intake", stage, "intake", key, bucket_key=True,
            lifecycle=[s3.LifecycleRule(id="expire-intake", expiration=cdk.Duration.days(c.INTAKE_RETENTION_DAYS),
                                        noncurrent_version_expiration=cdk.Duration.days(1),
                                        abort_incomplete_multipart_upload_after=cdk.Duration.days(1))])
        self.printing = self._data_bucket(
            "Print", stage, "print", key, bucket_key=True,
            lifecycle=[s3.LifecycleRule(id="expire-print", expiration=cdk.Duration.days(c.PRINT_RETENTION_DAYS),
                                        noncurrent_version_expiration=cdk.Duration.days(1),
                                        abort_incomplete_multipart_upload_after=cdk.Duration.days(1))])
        _notify(self.intake, tasks_queue_arn, c.INTAKE_PREFIX)

    def _data_bucket(self, construct_id: str, stage: str, name: str, key: kms.IKey, *, bucket_key: bool,
                     lifecycle: list[s3.LifecycleRule]) -> s3.Bucket:
        bucket = s3.Bucket(
            self, construct_id,
            bucket_name=bucket_name(stage, name),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=bucket_key,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{name}/",
            lifecycle_rules=lifecycle,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        objects = bucket.arn_for_objects("*")
        bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="DenyWithoutSseKms", effect=iam.Effect.DENY, principals=[iam.AnyPrincipal()],
            actions=["s3:PutObject"], resources=[objects],
            conditions={"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        ))
        bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="DenyOtherKmsKeys", effect=iam.Effect.DENY, principals=[iam.AnyPrincipal()],
            actions=["s3:PutObject"], resources=[objects],
            conditions={"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key.key_arn}},
        ))
        acknowledge(bucket, "No cross-region replication: health data must stay in eu-west-3 (HDS residency). "
                    "Durability comes from S3 (multi-AZ) and versioning.", "HIPAA.Security-S3BucketReplicationEnabled")
        return bucket
