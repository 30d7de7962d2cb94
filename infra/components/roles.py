"""One IAM role per function, each with exactly the actions its code performs, on named resources.

Permissions sit in one customer-managed policy per role (versioned, reviewable; the functions depend on it so it
exists before Lambda checks the SQS event source) and name resources by their fixed physical ARNs, so roles and
policies depend on nothing and the key policies can name the roles (components/keys.py) without a dependency
cycle. KMS rights are in the key policies, not here.

- API handler: item reads/writes on the four tables and Query on the documents LSIs; s3:PutObject on
  quarantine uploads/* (signing presigned POSTs) and s3:DeleteObject there (deleting a pending upload);
  s3:GetObject (presigned GET) and s3:DeleteObject on records/*.
- authorizer: dynamodb:GetItem on spaces.
- upload consumer: consume the upload-events queue; s3:GetObject + s3:DeleteObject on quarantine uploads/*;
  s3:PutObject (CopyObject target) + s3:DeleteObject on records/*; item reads/writes on documents, traces and
  notifications; GetItem + ConditionCheckItem on spaces (the commit is guarded by the space being open).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import constants as c
from infra.components.data import table_arn
from infra.components.queues import queue_arn
from infra.components.storage import bucket_arn
from infra.nag import acknowledge

READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"]
WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
SQS_CONSUME = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]


def log_group_name(stage: str, function: str) -> str:
    return f"/{c.PREFIX}/{stage}/functions/{function}"


def _log_group_arn(stage: str, function: str) -> str:
    return f"arn:aws:logs:{c.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:{log_group_name(stage, function)}"


class FunctionRoles(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        documents = table_arn(stage, c.DOCUMENTS)
        documents_indexes = [f"{documents}/index/{name}" for name in c.DOCUMENTS_INDEXES]
        quarantine_uploads = f"{bucket_arn(stage, 'quarantine')}/{c.QUARANTINE_PREFIX}*"
        records_objects = f"{bucket_arn(stage, 'records')}/{c.RECORDS_PREFIX}*"

        self.api = self._role("ApiHandler", stage, c.CHALICE_API_HANDLER, [
            iam.PolicyStatement(sid="Tables", actions=READ + WRITE, resources=[
                table_arn(stage, t) for t in (c.SPACES, c.DOCUMENTS, c.TRACES, c.NOTIFICATIONS)]),
            iam.PolicyStatement(sid="DocumentIndexes", actions=["dynamodb:Query"], resources=documents_indexes),
            # Signing a presigned POST needs the signer to hold s3:PutObject on the key it pins.
            iam.PolicyStatement(sid="SignUploads", actions=["s3:PutObject"], resources=[quarantine_uploads]),
            iam.PolicyStatement(sid="DiscardUploads", actions=["s3:DeleteObject"], resources=[quarantine_uploads]),
            iam.PolicyStatement(sid="Records", actions=["s3:GetObject", "s3:DeleteObject"],
                                resources=[records_objects]),
        ])
        self.authorizer = self._role("Authorizer", stage, c.CHALICE_AUTHORIZER, [
            iam.PolicyStatement(sid="Spaces", actions=["dynamodb:GetItem"], resources=[table_arn(stage, c.SPACES)]),
        ])
        self.upload_consumer = self._role("UploadConsumer", stage, c.CHALICE_UPLOAD_CONSUMER, [
            iam.PolicyStatement(sid="Queue", actions=SQS_CONSUME, resources=[queue_arn(stage, c.UPLOAD_EVENTS)]),
            iam.PolicyStatement(sid="Uploads", actions=["s3:GetObject", "s3:DeleteObject"],
                                resources=[quarantine_uploads]),
            iam.PolicyStatement(sid="Records", actions=["s3:PutObject", "s3:DeleteObject"],
                                resources=[records_objects]),
            iam.PolicyStatement(sid="Tables", actions=READ + WRITE, resources=[
                table_arn(stage, t) for t in (c.DOCUMENTS, c.TRACES, c.NOTIFICATIONS)]),
            iam.PolicyStatement(sid="SpaceGuard", actions=["dynamodb:GetItem", "dynamodb:ConditionCheckItem"],
                                resources=[table_arn(stage, c.SPACES)]),
        ])
        self.by_function = {c.CHALICE_API_HANDLER: self.api, c.CHALICE_AUTHORIZER: self.authorizer,
                            c.CHALICE_UPLOAD_CONSUMER: self.upload_consumer}

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
        policy = iam.ManagedPolicy(group, "Policy", description=f"What the {function} function may do, and no more",
                                   document=iam.PolicyDocument(statements=[logs, *statements]), roles=[role])
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
