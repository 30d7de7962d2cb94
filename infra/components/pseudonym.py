"""The pseudonym key (MES_PSEUDONYM_SECRET_ARN, functions/shared/privacy.py): the HMAC-SHA-256 key that turns an
INS into the pseudonym used in S3 keys, logs, API Gateway principals and KMS encryption contexts.

Secrets Manager generates it at creation (64 characters of [A-Za-z0-9], about 381 bits: more than a random 32-byte
key, and within HMAC-SHA-256's 64-byte block, so the app uses the UTF-8 bytes of SecretString as they are). It is
encrypted with the data key, retained when the stack is deleted, and **never rotated**: every pseudonymous S3 key
and encryption context already written is derived from it, so a new key would orphan them. Every function reads it
once per cold start (secretsmanager:GetSecretValue on this secret only; kms:Decrypt via Secrets Manager).
Replacing it would be a migration (re-key every object and item), not a rotation.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge


class PseudonymKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self, "Secret",
            secret_name=f"{c.PREFIX}/{stage}/{c.PSEUDONYM_SECRET}",
            description="Mon espace santé: HMAC key of the INS pseudonyms (never rotate: existing S3 keys derive "
                        "from it)",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=c.PSEUDONYM_KEY_LENGTH, exclude_punctuation=True, include_space=False),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(self.secret, "Not rotated on purpose: the key derives the pseudonymous S3 object keys and KMS "
                    "encryption contexts already written; rotating it would orphan them (see pseudonym.py).",
                    "AwsSolutions-SMG4", "HIPAA.Security-SecretsManagerRotationEnabled")
