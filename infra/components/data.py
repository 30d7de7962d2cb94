"""DynamoDB tables (keys and indexes exactly as the pynamodb models declare them) and their backups.

Every table: on-demand billing, point-in-time recovery, deletion protection, the project's data key, retained when
the stack is deleted. Physical names are fixed per stage (`mes-<stage>-<table>`) so the function roles can name
the table ARNs without depending on the tables (see components/roles.py). AWS Backup takes a daily copy on top of
PITR (which only reaches 35 days back).

Tables: spaces, documents (three LSIs + the `invisible-due` GSI + TTL), traces, notifications, access (the
patient's control partition: settings, care team, blocks, administrator, grants, and the trace chain's head),
agenda (appointments, reminders, the prevention item; LSI `agenda-by-time`) and agenda-due (the daily reminder
index: partition DUE#<day>#<shard>, TTL a month after the day) and idempotency (the Idempotency-Key records of
the API's creating POSTs, a day each by TTL; not in AWS Backup: a restored day-old record would replay nothing)
and messages (the patients' mailboxes: conversations, messages, drafts; sparse LSI `holder-by-recent`) and
catalogue (pairings, OAuth codes and refresh tokens, the revocation list; sparse GSI `by-service` + TTL)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge


def table_name(stage: str, table: str) -> str:
    return f"{c.PREFIX}-{stage}-{table}"


def table_arn(stage: str, table: str) -> str:
    return f"arn:aws:dynamodb:{c.REGION}:{cdk.Aws.ACCOUNT_ID}:table/{table_name(stage, table)}"


class Tables(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, key: kms.IKey,
                 backup_retention_days: int) -> None:
        super().__init__(scope, construct_id)
        s = ddb.AttributeType.STRING
        self.spaces = self._table("Spaces", stage, c.SPACES, ddb.Attribute(name="key", type=s), None, key)
        # sparse day indexes, keys only: the erasure job's (erase-due) and the creation job's (creation-due)
        for index, (hash_key, range_key) in c.SPACES_GLOBAL_INDEXES.items():
            self.spaces.add_global_secondary_index(index_name=index, partition_key=ddb.Attribute(name=hash_key, type=s),
                                                   sort_key=ddb.Attribute(name=range_key, type=s),
                                                   projection_type=ddb.ProjectionType.KEYS_ONLY)
        self.documents = self._table("Documents", stage, c.DOCUMENTS, ddb.Attribute(name="patient", type=s),
                                     ddb.Attribute(name="document_id", type=s), key,
                                     ttl=c.DOCUMENTS_TTL_ATTRIBUTE)
        # LSIs exist only from a table's creation: adding one to a deployed table means a new table (README).
        for index, range_key in c.DOCUMENTS_INDEXES.items():
            self.documents.add_local_secondary_index(index_name=index, sort_key=ddb.Attribute(name=range_key, type=s),
                                                     projection_type=ddb.ProjectionType.ALL)
        for index, (hash_key, range_key) in c.DOCUMENTS_GLOBAL_INDEXES.items():
            self.documents.add_global_secondary_index(index_name=index,
                                                      partition_key=ddb.Attribute(name=hash_key, type=s),
                                                      sort_key=ddb.Attribute(name=range_key, type=s),
                                                      projection_type=ddb.ProjectionType.ALL)
        self.traces = self._table("Traces", stage, c.TRACES, ddb.Attribute(name="patient", type=s),
                                  ddb.Attribute(name="sk", type=s), key)
        self.notifications = self._table("Notifications", stage, c.NOTIFICATIONS,
                                         ddb.Attribute(name="recipient", type=s), ddb.Attribute(name="sk", type=s), key)
        self.access = self._table("Access", stage, c.ACCESS, ddb.Attribute(name="patient", type=s),
                                  ddb.Attribute(name="sk", type=s), key)
        owner, item_id = c.AGENDA_KEYS
        self.agenda = self._table("Agenda", stage, c.AGENDA, ddb.Attribute(name=owner, type=s),
                                  ddb.Attribute(name=item_id, type=s), key)
        for index, range_key in c.AGENDA_INDEXES.items():  # created with the table (LSI)
            self.agenda.add_local_secondary_index(index_name=index, sort_key=ddb.Attribute(name=range_key, type=s),
                                                  projection_type=ddb.ProjectionType.ALL)
        bucket, entry = c.AGENDA_DUE_KEYS
        self.agenda_due = self._table("AgendaDue", stage, c.AGENDA_DUE, ddb.Attribute(name=bucket, type=s),
                                      ddb.Attribute(name=entry, type=s), key, ttl=c.AGENDA_DUE_TTL_ATTRIBUTE)
        self.idempotency = self._table("Idempotency", stage, c.IDEMPOTENCY,
                                       ddb.Attribute(name=c.IDEMPOTENCY_KEY, type=s), None, key,
                                       ttl=c.IDEMPOTENCY_TTL_ATTRIBUTE)
        acknowledge(self.idempotency, "Idempotency-Key records live a day (TTL) and only let a retry get its first "
                    "answer again; a restored copy would be older than any retry. PITR stays on.",
                    "HIPAA.Security::HIPAA.Security-DynamoDBInBackupPlan")
        holder, sort = c.MESSAGES_KEYS
        self.messages = self._table("Messages", stage, c.MESSAGES, ddb.Attribute(name=holder, type=s),
                                    ddb.Attribute(name=sort, type=s), key)
        for index, range_key in c.MESSAGES_INDEXES.items():  # created with the table (LSI)
            self.messages.add_local_secondary_index(index_name=index, sort_key=ddb.Attribute(name=range_key, type=s),
                                                    projection_type=ddb.ProjectionType.ALL)
        self.exports = self._table("Exports", stage, c.EXPORTS, ddb.Attribute(name=c.EXPORTS_KEY, type=s), None, key,
                                   ttl=c.EXPORTS_TTL_ATTRIBUTE)
        acknowledge(self.exports, "An export's status lives a week (TTL) and can be asked again; a restored copy "
                    "would point at archives already expired. PITR stays on.",
                    "HIPAA.Security::HIPAA.Security-DynamoDBInBackupPlan")
        pk, sk = c.CATALOGUE_KEYS
        self.catalogue = self._table("Catalogue", stage, c.CATALOGUE, ddb.Attribute(name=pk, type=s),
                                     ddb.Attribute(name=sk, type=s), key, ttl=c.CATALOGUE_TTL_ATTRIBUTE)
        for index, (hash_key, range_key) in c.CATALOGUE_GLOBAL_INDEXES.items():
            self.catalogue.add_global_secondary_index(index_name=index,
                                                      partition_key=ddb.Attribute(name=hash_key, type=s),
                                                      sort_key=ddb.Attribute(name=range_key, type=s),
                                                      projection_type=ddb.ProjectionType.ALL)
        index, hash_key, range_key = c.IDEMPOTENCY_OWNER_INDEX  # the erasure's: keys only
        self.idempotency.add_global_secondary_index(
            index_name=index, partition_key=ddb.Attribute(name=hash_key, type=s),
            sort_key=ddb.Attribute(name=range_key, type=s), projection_type=ddb.ProjectionType.KEYS_ONLY)
        index, hash_key, range_key = c.CATALOGUE_HOLDER_INDEX  # the erasure's: keys only
        self.catalogue.add_global_secondary_index(index_name=index, partition_key=ddb.Attribute(name=hash_key, type=s),
                                                  sort_key=ddb.Attribute(name=range_key, type=s),
                                                  projection_type=ddb.ProjectionType.KEYS_ONLY)
        holder, sort = c.MEASURES_KEYS
        self.measures = self._table("Measures", stage, c.MEASURES, ddb.Attribute(name=holder, type=s),
                                    ddb.Attribute(name=sort, type=s), key)
        self.all = {c.SPACES: self.spaces, c.DOCUMENTS: self.documents, c.TRACES: self.traces,
                    c.NOTIFICATIONS: self.notifications, c.ACCESS: self.access, c.AGENDA: self.agenda,
                    c.AGENDA_DUE: self.agenda_due, c.MESSAGES: self.messages, c.CATALOGUE: self.catalogue,
                    c.MEASURES: self.measures}
        self._backups(stage, key, backup_retention_days)

    def _table(self, construct_id: str, stage: str, name: str, pk: ddb.Attribute, sk: ddb.Attribute | None,
               key: kms.IKey, ttl: str | None = None) -> ddb.Table:
        return ddb.Table(
            self, construct_id,
            table_name=table_name(stage, name),
            partition_key=pk,
            sort_key=sk,
            billing_mode=ddb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            deletion_protection=True,
            encryption=ddb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute=ttl,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _backups(self, stage: str, key: kms.IKey, retention_days: int) -> None:
        vault = backup.BackupVault(self, "Vault", backup_vault_name=f"{c.PREFIX}-{stage}-tables",
                                   encryption_key=key, removal_policy=cdk.RemovalPolicy.RETAIN)
        plan = backup.BackupPlan(self, "Plan", backup_plan_name=f"{c.PREFIX}-{stage}-tables", backup_vault=vault)
        plan.add_rule(backup.BackupPlanRule(
            rule_name="daily",
            schedule_expression=events.Schedule.cron(minute="0", hour="2"),
            delete_after=cdk.Duration.days(retention_days),
        ))
        selection = plan.add_selection("Tables", resources=[
            backup.BackupResource.from_dynamo_db_table(t) for t in self.all.values()])
        acknowledge(selection, "AWS Backup's own service-role policy (AWSBackupServiceRolePolicyForBackup) is the "
                    "documented way to let Backup snapshot DynamoDB tables; it is attached to a role only Backup "
                    "can assume.",
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSBackupServiceRolePolicyForBackup]")
