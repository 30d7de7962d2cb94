"""Customer-managed KMS keys, rotated yearly, retained on stack deletion (destroying a key destroys the data).

- documents: SSE-KMS of the quarantine and records objects (MES_KMS_KEY_ID); the app adds an encryption context
  {mes:patient, mes:document} to every record. It also wraps each space's data key (the envelope,
  MES_ENVELOPE_ENCRYPTION=1): the functions that seal or open objects call GenerateDataKey/Decrypt directly, with
  the encryption context {space: <pseudonym>} only (`allow_data_keys`).
- data: DynamoDB tables, SQS queues, the operations SNS topic, CloudWatch log groups and the backup vault.

The key policies keep the account-root statement (it delegates key administration to IAM) and add one statement per
function role naming only the cryptographic actions that function uses, limited to the AWS service that calls KMS
on its behalf (kms:ViaService): the function roles carry no KMS permission of their own. AWS services that encrypt
into these keys (S3 notifications into the queue, CloudWatch alarms into the topic, CloudWatch Logs) get their own
statements, bound to this account.

- signing: the asymmetric key that signs trace exports (GET /v1/me/traces/export, MES_TRACE_SIGNING_KEY_ID = its
  ARN). KeySpec ECC_NIST_P256, KeyUsage SIGN_VERIFY; the private half never leaves KMS. **No rotation**: KMS does
  not rotate asymmetric keys (automatic rotation is for symmetric encryption keys only), and a rotated signing key
  would break the verification of exports already handed out; replacing it means a new key (new ARN in new
  exports) while the old one stays enabled for verification. Only the API handler's role may kms:Sign, and only
  with the algorithm and message type the app uses (ECDSA_SHA_256, RAW). Verifying needs only the public key:
  `verifier_policy` (kms:GetPublicKey, kms:DescribeKey) is a managed policy for auditors' roles, attached to none.
- service tokens: RSA_2048 SIGN_VERIFY, signs the access and id tokens issued to paired services (RS256,
  MES_SERVICE_TOKEN_KEY = its alias); not rotated, for the same reason. The API handler signs and reads its public key.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra import constants as c


class Keys(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.documents = self._key("Documents", stage, c.DOCUMENTS_KEY_ALIAS,
                                   "Mon espace santé: documents in the quarantine and records buckets")
        self.data = self._key("Data", stage, c.DATA_KEY_ALIAS,
                              "Mon espace santé: tables, queues, topic, logs and backups")
        self.signing = kms.Key(
            self, "Signing",
            alias=f"alias/{c.PREFIX}-{stage}-{c.SIGNING_KEY_ALIAS}",
            description="Mon espace santé: signs trace exports (ECDSA P-256); verify with its public key",
            key_spec=kms.KeySpec.ECC_NIST_P256,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            enable_key_rotation=False,  # not supported for asymmetric keys (see the module docstring)
            pending_window=cdk.Duration.days(30),
            removal_policy=cdk.RemovalPolicy.RETAIN,  # exports already handed out stay verifiable
        )
        self.service_tokens = kms.Key(
            self, "ServiceTokens",
            alias=self.service_token_alias(stage),
            description="Mon espace santé: signs the tokens issued to paired services (RS256)",
            key_spec=kms.KeySpec.RSA_2048,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            enable_key_rotation=False,  # asymmetric: replaced by a new key, never rotated (see above)
            pending_window=cdk.Duration.days(30),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # cdk-nag's rotation rules (AwsSolutions-KMS5, HIPAA KMSBackingKeyRotationEnabled) skip asymmetric keys.
        self.verifier_policy = iam.ManagedPolicy(
            self, "TraceExportVerifier",
            managed_policy_name=f"{c.PREFIX}-{stage}-trace-export-verifier",
            description="Verify Mon espace santé trace exports: read the signing key's public key",
            statements=[iam.PolicyStatement(actions=["kms:GetPublicKey", "kms:DescribeKey"],
                                            resources=[self.signing.key_arn])],
        )

    @staticmethod
    def service_token_alias(stage: str) -> str:
        return f"alias/{c.PREFIX}-{stage}-{c.SERVICE_TOKEN_KEY_ALIAS}"

    @staticmethod
    def allow_token_signing(key: kms.Key, role: iam.IRole, sid: str) -> None:
        """Key-policy statement: `role` signs service tokens (RS256 over the raw JWS input, functions/catalogue/
        signer.py) and reads the public key their verifier uses."""
        key.add_to_resource_policy(iam.PolicyStatement(
            sid=sid, principals=[iam.ArnPrincipal(role.role_arn)], actions=["kms:Sign"], resources=["*"],
            conditions={"StringEquals": {"kms:SigningAlgorithm": c.SERVICE_TOKEN_SIGNING_ALGORITHM,
                                         "kms:MessageType": "RAW", "kms:CallerAccount": cdk.Aws.ACCOUNT_ID}}))
        key.add_to_resource_policy(iam.PolicyStatement(
            sid=f"{sid}PublicKey", principals=[iam.ArnPrincipal(role.role_arn)],
            actions=["kms:GetPublicKey", "kms:DescribeKey"], resources=["*"],
            conditions={"StringEquals": {"kms:CallerAccount": cdk.Aws.ACCOUNT_ID}}))

    def _key(self, construct_id: str, stage: str, alias: str, description: str) -> kms.Key:
        return kms.Key(
            self, construct_id,
            alias=f"alias/{c.PREFIX}-{stage}-{alias}",
            description=description,
            enable_key_rotation=True,
            rotation_period=cdk.Duration.days(365),
            pending_window=cdk.Duration.days(30),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    @staticmethod
    def allow_role(key: kms.Key, role: iam.IRole, actions: list[str], via_service: str, sid: str) -> None:
        """Key-policy statement: `role` may use `actions` on `key` only through `via_service` (e.g. "s3")."""
        key.add_to_resource_policy(iam.PolicyStatement(
            sid=sid,
            principals=[iam.ArnPrincipal(role.role_arn)],
            actions=actions,
            resources=["*"],  # in a key policy, "*" means this key
            conditions={"StringEquals": {
                "kms:ViaService": f"{via_service}.{c.REGION}.amazonaws.com",
                "kms:CallerAccount": cdk.Aws.ACCOUNT_ID,
            }},
        ))

    @staticmethod
    def allow_data_keys(key: kms.Key, role: iam.IRole, actions: list[str], sid: str) -> None:
        """Key-policy statement: `role` calls KMS itself (no kms:ViaService) for the per-space data keys of the
        envelope (functions/accounts/storage.py `KmsSpaceKeys`: GenerateDataKey to make one, Decrypt to unwrap
        it), only with an encryption context made of exactly the `space` key (the space's pseudonym): the same
        actions with any other context, S3's included, are refused outside S3."""
        key.add_to_resource_policy(iam.PolicyStatement(
            sid=sid,
            principals=[iam.ArnPrincipal(role.role_arn)],
            actions=actions,
            resources=["*"],
            conditions={
                "StringEquals": {"kms:CallerAccount": cdk.Aws.ACCOUNT_ID},
                "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": [c.SPACE_KEY_CONTEXT]},
                "Null": {f"kms:EncryptionContext:{c.SPACE_KEY_CONTEXT}": "false"},
            },
        ))

    @staticmethod
    def allow_signing(key: kms.Key, role: iam.IRole, sid: str) -> None:
        """Key-policy statement: `role` may sign (the app calls KMS itself: no kms:ViaService), only with the
        algorithm and message type of functions/audit/export.py."""
        key.add_to_resource_policy(iam.PolicyStatement(
            sid=sid,
            principals=[iam.ArnPrincipal(role.role_arn)],
            actions=["kms:Sign"],
            resources=["*"],
            conditions={"StringEquals": {
                "kms:SigningAlgorithm": c.TRACE_SIGNING_ALGORITHM,
                "kms:MessageType": c.TRACE_SIGNING_MESSAGE_TYPE,
                "kms:CallerAccount": cdk.Aws.ACCOUNT_ID,
            }},
        ))

    @staticmethod
    def allow_service(key: kms.Key, service: str, actions: list[str], sid: str,
                      conditions: dict[str, dict[str, object]] | None = None) -> None:
        """Key-policy statement for an AWS service principal acting for this account."""
        key.add_to_resource_policy(iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(service)],
            actions=actions,
            resources=["*"],
            conditions=conditions or {"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
        ))
