"""The synthesized dev stage: synth, cfn-lint, cdk-nag and the properties an HDS/AWS security review checks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import ISSUERS, REPO, STACK, Assembly, run_cdk_app

BIN = Path(sys.executable).parent
# Every MES_* variable functions/shared/settings.py reads (named in functions/shared/names.py), but those with a default
# and the local-only key; the issuer variables are built with f-strings there. MES_PSEUDONYM_SECRET_ARN: the
# pseudonym key's secret, read by functions/shared/privacy.py.
_OPTIONAL_ENV = {"MES_UPLOAD_URL_TTL_SECONDS", "MES_DOWNLOAD_URL_TTL_SECONDS", "MES_PSEUDONYM_KEY",
                 "MES_OUTBOX_BUCKET",  # local only: a stage sends the patients' mail through SES
                 "MES_SERVICE_TOKEN_ISSUER"}  # a default (https://mes.local/oauth) until a stage sets its own
SETTINGS_ENV = (set(re.findall(r'"(MES_[A-Z_]+)"', (REPO / "functions" / "shared" / "names.py").read_text()))
                - _OPTIONAL_ENV) | {f"MES_{who}_{what}" for who in ("CITIZEN", "PRO")
                                    for what in ("ISSUER", "AUDIENCE", "JWKS_URI")} | {
    "MES_PSEUDONYM_SECRET_ARN", "MES_AGENDA_SHARDS", "MES_AGENDA_BATCH_SIZE"}
FUNCTIONS = ("APIHandler", "Bearer", "OnUploadEvent", "InvisiblePatientDaily", "AgendaDailyDispatch", "OnAgendaShard",
             "OnAgendaDelivery", "OnExport", "MessagingOutboxRetry", "OnInboundMail", "CatalogueSummaries")
SENDER = "ne-pas-repondre@dev.mon-espace-sante.invalid"  # infra/stages/dev.json agenda_email_source
CONSUMERS = {"OnUploadEvent": ("mes-dev-upload-events", 10), "OnAgendaShard": ("mes-dev-agenda-shards", 1),
             "OnAgendaDelivery": ("mes-dev-agenda-deliveries", 10), "OnExport": ("mes-dev-exports", 1),
             "OnInboundMail": ("mes-dev-inbound-mail", 10)}
SCHEDULED = {"InvisiblePatientDaily": ("cron(0 5 * * ? *)", "mes-dev-invisible-patient-daily-dlq", 300),
             "AgendaDailyDispatch": ("cron(0 5,6 * * ? *)", "mes-dev-agenda-daily-dispatch-dlq", 60),
             "MessagingOutboxRetry": ("rate(5 minutes)", "mes-dev-messaging-outbox-retry-dlq", 60)}
FUNCTIONS = (*FUNCTIONS, "SpaceCreationDaily", "OnAccountsTask")  # opening by default
CONSUMERS["OnAccountsTask"] = ("mes-dev-accounts-tasks", 1)  # opening by default
SCHEDULED["SpaceCreationDaily"] = ("cron(0 3 * * ? *)", "mes-dev-space-creation-daily-dlq", 60)  # opening by default
SCHEDULED["CatalogueSummaries"] = ("cron(0 7 * * ? *)", "mes-dev-catalogue-summaries-dlq", 900)
FUNCTIONS = (*FUNCTIONS, "ErasureDaily", "OnErasureRequest")  # erasure (issue 12 point 5)
CONSUMERS["OnErasureRequest"] = ("mes-dev-erasures", 1)
SCHEDULED["ErasureDaily"] = ("cron(30 2 * * ? *)", "mes-dev-erasure-daily-dlq", 300)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


# ---- synth, linters, cdk-nag ------------------------------------------------------------------------------------


def test_synth_passes_cdk_nag(assembly: Assembly) -> None:
    # Given the dev stage synthesized with the AwsSolutions and HIPAA packs, Then no unacknowledged finding
    report = assembly.out / "validation-report.json"
    if report.exists():
        plugins = json.loads(report.read_text())["pluginReports"]
        violations = [v["ruleName"] for p in plugins for v in p.get("violations", [])]
        assert violations == []
    assert assembly.template_path.exists()


def test_every_acknowledgment_has_a_reason(template: dict[str, Any]) -> None:
    rules = [r for res in template["Resources"].values()
             for r in res.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])]
    assert rules
    assert all(len(r["reason"]) > 30 for r in rules)


def test_cfn_lint_reports_no_error(assembly: Assembly, transformed: Path) -> None:
    result = subprocess.run([str(BIN / "cfn-lint"), "--regions", "eu-west-3", "--", str(assembly.template_path),
                             str(transformed)], capture_output=True, text=True, check=False)
    assert result.returncode & 2 == 0, result.stdout  # bit 2 = error (4 = warning, 8 = informational)


def test_cdk_nag_passes_on_the_sam_transformed_template(transformed: Path, tmp_path: Path) -> None:
    # The functions and the API stage only exist after the SAM transform: cdk-nag must see them too
    result = subprocess.run([sys.executable, str(Path(__file__).with_name("nag_transformed.py")), str(transformed),
                             str(tmp_path / "out")], capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr[-6000:]


# ---- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "named"), [
    ((), "'stage'"),
    (("-c", "stage=qa"), "'stage'"),
    (("-c", "stage=dev", "-c", "region=eu-west-1"), "'region'"),
    (("-c", "stage=prod"), "'citizen_issuer'"),
    (("-c", "stage=dev", "-c", "pro_jwks_uri=http://insecure.example"), "'pro_jwks_uri'"),
    (("-c", "stage=dev", "-c", 'reserved_concurrency={"APIHandler": 5, "Bearer": 5, "OnUploadEvent": 2, '
      '"OnAgendaShard": 2, "OnAgendaDelivery": 2, "InvisiblePatientDaily": 4}'), "'reserved_concurrency'"),
    (("-c", "stage=dev", "-c", "agenda_delivery_max_concurrency=3"), "'agenda_delivery_max_concurrency'"),
    (("-c", "stage=dev", "-c", "agenda_email_source=Mon espace <x@y.fr>"), "'agenda_email_source'"),
    (("-c", "stage=dev", "-c", "agenda_email_identity=other.example.fr"), "'agenda_email_identity'"),
    (("-c", "stage=dev", "-c", "cors_allowed_origins=https://*.example.fr"), "'cors_allowed_origins'"),
    (("-c", "stage=dev", "-c", "cors_allowed_origins=https://app.example.fr/path"), "'cors_allowed_origins'"),
    # prod with its issuers but no sending address for the reminder e-mails
    (("-c", "stage=prod", *(a for k, v in ISSUERS.items() for a in ("-c", f"{k}={v}"))), "'agenda_email_source'"),
])
def test_bad_parameters_stop_synth_naming_the_parameter(args: tuple[str, ...], named: str, tmp_path: Path) -> None:
    result = run_cdk_app(*args, out=tmp_path / "out")
    assert result.returncode == 2
    assert "synth stopped" in result.stderr and named in result.stderr
    assert not (tmp_path / "out").exists()


# ---- region ---------------------------------------------------------------------------------------------------


def test_stack_is_pinned_to_eu_west_3(assembly: Assembly, template: dict[str, Any]) -> None:
    manifest = json.loads((assembly.out / "manifest.json").read_text())
    assert manifest["artifacts"][STACK]["environment"] == "aws://unknown-account/eu-west-3"
    regions = set(re.findall(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d\b", json.dumps(template)))
    assert regions == {"eu-west-3"}


# ---- data -----------------------------------------------------------------------------------------------------


def test_tables_are_retained_protected_recoverable_and_encrypted(template: dict[str, Any]) -> None:
    tables = of_type(template, "AWS::DynamoDB::Table")
    # the nine of the data (messages, catalogue included), idempotency (a day each), exports
    assert len(tables) == 12  # ... and measures
    for table in tables.values():
        props = table["Properties"]
        assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
        assert props["DeletionProtectionEnabled"] is True
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"]["SSEEnabled"] is True and props["SSESpecification"]["SSEType"] == "KMS"
        assert "KMSMasterKeyId" in props["SSESpecification"]


def test_table_keys_and_indexes_match_the_models(template: dict[str, Any]) -> None:
    tables = of_type(template, "AWS::DynamoDB::Table").values()
    by_name = {t["Properties"]["TableName"]: t["Properties"] for t in tables}
    keys = {name: [(k["AttributeName"], k["KeyType"]) for k in p["KeySchema"]] for name, p in by_name.items()}
    assert keys == {"mes-dev-spaces": [("key", "HASH")],
                    "mes-dev-documents": [("patient", "HASH"), ("document_id", "RANGE")],
                    "mes-dev-traces": [("patient", "HASH"), ("sk", "RANGE")],
                    "mes-dev-notifications": [("recipient", "HASH"), ("sk", "RANGE")],
                    "mes-dev-access": [("patient", "HASH"), ("sk", "RANGE")],
                    "mes-dev-agenda": [("owner", "HASH"), ("item_id", "RANGE")],
                    "mes-dev-agenda-due": [("bucket", "HASH"), ("entry", "RANGE")],
                    "mes-dev-idempotency": [("scope", "HASH")],
                    "mes-dev-messages": [("holder", "HASH"), ("sk", "RANGE")],
                    "mes-dev-exports": [("ins", "HASH")],
                    "mes-dev-catalogue": [("pk", "HASH"), ("sk", "RANGE")],
                    "mes-dev-measures": [("holder", "HASH"), ("sk", "RANGE")]}
    catalogue = by_name["mes-dev-catalogue"]
    assert {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]]
            for i in catalogue["GlobalSecondaryIndexes"]} == {"by-service": ["svc", "pk"], "by-cycle": ["cycle", "pk"],
                                                              "by-holder": ["holder", "pk"]}  # the erasure's
    assert catalogue["TimeToLiveSpecification"] == {"AttributeName": "expires_at_epoch", "Enabled": True}
    documents = by_name["mes-dev-documents"]
    local = {i["IndexName"]: ([(k["AttributeName"], k["KeyType"]) for k in i["KeySchema"]],
                              i["Projection"]["ProjectionType"]) for i in documents["LocalSecondaryIndexes"]}
    assert local == {name: ([("patient", "HASH"), (sort, "RANGE")], "ALL") for name, sort in (
        ("patient-by-date", "patient_date"), ("patient-by-type", "patient_type"), ("available-by-date", "pro_date"))}
    messages = by_name["mes-dev-messages"]
    assert [(i["IndexName"], [k["AttributeName"] for k in i["KeySchema"]]) for i in
            messages["LocalSecondaryIndexes"]] == [("holder-by-recent", ["holder", "recent"])]
    (global_index,) = documents["GlobalSecondaryIndexes"]
    assert global_index["IndexName"] == "invisible-due"
    assert global_index["KeySchema"] == [{"AttributeName": "invisible_due", "KeyType": "HASH"},
                                         {"AttributeName": "document_id", "KeyType": "RANGE"}]
    assert global_index["Projection"] == {"ProjectionType": "ALL"}
    attributes = {a["AttributeName"]: a["AttributeType"] for a in documents["AttributeDefinitions"]}
    assert attributes == {a: "S" for a in ("patient", "document_id", "patient_date", "patient_type", "pro_date",
                                           "invisible_due")}
    assert documents["TimeToLiveSpecification"] == {"AttributeName": "expires_at_epoch", "Enabled": True}
    access = by_name["mes-dev-access"]
    assert "TimeToLiveSpecification" not in access
    assert "LocalSecondaryIndexes" not in access and "GlobalSecondaryIndexes" not in access
    # functions/agenda/storage.py: AgendaItem + its LSI, DueItem + its TTL
    agenda = by_name["mes-dev-agenda"]
    (by_time,) = agenda["LocalSecondaryIndexes"]
    assert by_time["IndexName"] == "agenda-by-time" and by_time["Projection"] == {"ProjectionType": "ALL"}
    assert by_time["KeySchema"] == [{"AttributeName": "owner", "KeyType": "HASH"},
                                    {"AttributeName": "when_key", "KeyType": "RANGE"}]
    assert {a["AttributeName"]: a["AttributeType"] for a in agenda["AttributeDefinitions"]} == {
        "owner": "S", "item_id": "S", "when_key": "S"}
    assert "TimeToLiveSpecification" not in agenda and "GlobalSecondaryIndexes" not in agenda
    due = by_name["mes-dev-agenda-due"]
    assert due["TimeToLiveSpecification"] == {"AttributeName": "expires_at_epoch", "Enabled": True}
    assert "LocalSecondaryIndexes" not in due and "GlobalSecondaryIndexes" not in due
    assert by_name["mes-dev-exports"]["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    idempotency = by_name["mes-dev-idempotency"]
    assert idempotency["TimeToLiveSpecification"] == {"AttributeName": "expires_at_epoch", "Enabled": True}
    (by_owner,) = idempotency["GlobalSecondaryIndexes"]  # the erasure's: a space's records, keys only
    assert (by_owner["IndexName"], [k["AttributeName"] for k in by_owner["KeySchema"]],
            by_owner["Projection"]) == ("by-owner", ["owner", "scope"], {"ProjectionType": "KEYS_ONLY"})


def test_tables_are_backed_up_daily(template: dict[str, Any]) -> None:
    selection = next(iter(of_type(template, "AWS::Backup::BackupSelection").values()))
    assert len(selection["Properties"]["BackupSelection"]["Resources"]) == 10  # every data table, catalogue, measures


def test_no_data_resource_is_deleted_with_the_stack(template: dict[str, Any]) -> None:
    for kind in ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SQS::Queue", "AWS::Logs::LogGroup",
                 "AWS::Backup::BackupVault"):
        for name, resource in of_type(template, kind).items():
            assert resource.get("DeletionPolicy") == "Retain", name


# ---- keys -----------------------------------------------------------------------------------------------------


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def test_keys_rotate_and_grant_functions_through_their_service_only(template: dict[str, Any]) -> None:
    keys = {k: v for k, v in of_type(template, "AWS::KMS::Key").items() if "KeySpec" not in v["Properties"]}
    assert len(keys) == 2
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            principal = json.dumps(statement["Principal"])
            if "Roles" in principal:  # a function role: via its AWS service, or a space data key; never kms:*
                if "kms:ViaService" not in statement["Condition"]["StringEquals"]:
                    assert statement["Condition"]["ForAllValues:StringEquals"] == {
                        "kms:EncryptionContextKeys": ["space"]}, statement["Sid"]
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert "kms:*" not in actions


def test_trace_exports_are_signed_by_an_asymmetric_key_only_the_api_handler_may_use(
        template: dict[str, Any]) -> None:
    (name, key), = ((k, v) for k, v in of_type(template, "AWS::KMS::Key").items()
                    if v["Properties"].get("KeySpec") == "ECC_NIST_P256")
    props = key["Properties"]
    assert props["KeySpec"] == "ECC_NIST_P256" and props["KeyUsage"] == "SIGN_VERIFY"
    assert props["EnableKeyRotation"] is False  # KMS cannot rotate asymmetric keys
    assert key["DeletionPolicy"] == "Retain"
    signers = [s for s in props["KeyPolicy"]["Statement"] if "kms:Sign" in _actions(s)]
    assert len(signers) == 1 and _actions(signers[0]) == ["kms:Sign"]
    assert "RolesApiHandlerAccess" in json.dumps(signers[0]["Principal"])
    assert signers[0]["Condition"]["StringEquals"]["kms:SigningAlgorithm"] == "ECDSA_SHA_256"
    assert signers[0]["Condition"]["StringEquals"]["kms:MessageType"] == "RAW"
    # No function policy grants anything on this key; the verifier policy only reads the public key
    for policy_name, policy in of_type(template, "AWS::IAM::ManagedPolicy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if name in json.dumps(statement["Resource"]):
                assert policy_name.startswith("KeysTraceExportVerifier"), policy_name
                assert sorted(_actions(statement)) == ["kms:DescribeKey", "kms:GetPublicKey"]
    env = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["MES_TRACE_SIGNING_KEY_ID"] == {"Fn::GetAtt": [name, "Arn"]}


def test_service_tokens_are_signed_rs256_by_an_rsa_key_only_the_api_handler_may_use(
        template: dict[str, Any]) -> None:
    (_name, key), = ((k, v) for k, v in of_type(template, "AWS::KMS::Key").items()
                    if v["Properties"].get("KeySpec") == "RSA_2048")
    props = key["Properties"]
    assert props["KeyUsage"] == "SIGN_VERIFY" and props["EnableKeyRotation"] is False
    signers = [s for s in props["KeyPolicy"]["Statement"] if "kms:Sign" in _actions(s)]
    assert len(signers) == 1 and "RolesApiHandlerAccess" in json.dumps(signers[0]["Principal"])
    assert signers[0]["Condition"]["StringEquals"]["kms:SigningAlgorithm"] == "RSASSA_PKCS1_V1_5_SHA_256"
    env = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["MES_SERVICE_TOKEN_KEY"] == "alias/mes-dev-service-tokens"


# ---- buckets --------------------------------------------------------------------------------------------------


def _bucket(template: dict[str, Any], name: str) -> dict[str, Any]:
    for bucket in of_type(template, "AWS::S3::Bucket").values():
        if name in json.dumps(bucket["Properties"]["BucketName"]):
            return bucket["Properties"]
    raise AssertionError(name)


def test_buckets_block_public_access_and_log(template: dict[str, Any]) -> None:
    for props in of_type(template, "AWS::S3::Bucket").values():
        assert props["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        assert props["Properties"]["VersioningConfiguration"]["Status"] == "Enabled"
    for name in ("quarantine", "records", "proofs"):
        assert "LoggingConfiguration" in _bucket(template, name)


def test_data_buckets_default_to_sse_kms_with_the_documents_key(template: dict[str, Any]) -> None:
    for name in ("quarantine", "records", "proofs"):
        rule = _bucket(template, name)["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert "KeysDocuments" in json.dumps(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])


def test_bucket_policies_require_tls_and_sse_kms(template: dict[str, Any]) -> None:
    policies = {json.dumps(p["Properties"]["Bucket"]): json.dumps(p["Properties"])
                for p in of_type(template, "AWS::S3::BucketPolicy").values()}
    assert all('"aws:SecureTransport": "false"' in p for p in policies.values())
    data = [p for bucket, p in policies.items() if "Quarantine" in bucket or "Records" in bucket]
    assert len(data) == 2
    assert all("s3:x-amz-server-side-encryption" in p and "s3:TlsVersion" in p for p in data)


def test_quarantine_expires_in_a_day_and_notifies_the_queue(template: dict[str, Any]) -> None:
    props = _bucket(template, "quarantine")
    rule = props["LifecycleConfiguration"]["Rules"][0]
    assert rule["ExpirationInDays"] == 1 and rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    queue = props["NotificationConfiguration"]["QueueConfigurations"][0]
    assert queue["Event"] == "s3:ObjectCreated:*"
    assert queue["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]


def test_what_names_people_outside_their_spaces_expires_well_inside_the_erasures_three_months(
        template: dict[str, Any]) -> None:
    """A beneficiaries file and a print batch name people and no erasure can rewrite them: each expires after
    the last moment the import or the printer needs it (a chunk task redriven from its DLQ), under 92 days."""
    from infra import constants as c

    (intake,) = _bucket(template, "intake")["LifecycleConfiguration"]["Rules"]
    assert "Prefix" not in intake and "Filter" not in intake  # the whole bucket, a file dropped elsewhere too
    assert c.DLQ_RETENTION_DAYS + 4 < intake["ExpirationInDays"] <= 31
    (printed,) = _bucket(template, "print")["LifecycleConfiguration"]["Rules"]
    assert printed["ExpirationInDays"] <= 31
    for rule in (intake, printed):
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1  # no old version outlives it


def test_closed_records_move_to_archive_storage(template: dict[str, Any]) -> None:
    rules = _bucket(template, "records")["LifecycleConfiguration"]["Rules"]
    archive = next(r for r in rules if r["Id"] == "archive-closed")
    assert archive["TagFilters"] == [{"Key": "mes-lifecycle", "Value": "closed"}]
    assert archive["Transitions"][0]["StorageClass"] == "DEEP_ARCHIVE"


# ---- queues ---------------------------------------------------------------------------------------------------


def test_every_queue_is_encrypted_and_has_a_dead_letter_queue_with_an_alarm(template: dict[str, Any]) -> None:
    queues = of_type(template, "AWS::SQS::Queue")
    dlqs = {k for k, q in queues.items() if q["Properties"]["QueueName"].endswith("-dlq")}
    alarms = json.dumps(of_type(template, "AWS::CloudWatch::Alarm"))
    for name, queue in queues.items():
        assert "KmsMasterKeyId" in queue["Properties"], name
        assert name in alarms, f"no alarm on {name}"
        if name not in dlqs:
            redrive = queue["Properties"]["RedrivePolicy"]
            assert redrive["maxReceiveCount"] == 3 and redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in dlqs


def test_visibility_timeout_is_six_times_the_consumer_timeout(template: dict[str, Any]) -> None:
    for function, (name, _) in CONSUMERS.items():
        queue = next(q for q in of_type(template, "AWS::SQS::Queue").values() if q["Properties"]["QueueName"] == name)
        consumer = template["Resources"][function]["Properties"]
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * consumer["Timeout"], function


# ---- functions ------------------------------------------------------------------------------------------------


def test_functions_get_the_settings_layer_role_and_concurrency(template: dict[str, Any]) -> None:
    layers = of_type(template, "AWS::Lambda::LayerVersion")
    assert len(layers) == 1
    for name in FUNCTIONS:
        props = template["Resources"][name]["Properties"]
        assert set(props["Environment"]["Variables"]) >= SETTINGS_ENV, name
        assert props["Layers"] == [{"Ref": next(iter(layers))}]
        assert "Fn::GetAtt" in props["Role"] and props["ReservedConcurrentExecutions"] >= 1
        assert "LogGroup" in props["LoggingConfig"]
    kms_id = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]["MES_KMS_KEY_ID"]
    assert kms_id["Fn::GetAtt"][1] == "Arn"  # the full key ARN (it goes into the presigned POST)


def test_daily_jobs_run_alone_on_chalice_schedules_with_a_dead_letter_queue(template: dict[str, Any],
                                                                           transformed: Path) -> None:
    for function, (_, dlq_name, timeout) in SCHEDULED.items():
        props = template["Resources"][function]["Properties"]
        assert props["ReservedConcurrentExecutions"] == 1 and props["Timeout"] == timeout, function
        dead_letters = props["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0]
        queue = template["Resources"][dead_letters]["Properties"]
        assert queue["QueueName"] == dlq_name and "KmsMasterKeyId" in queue
    assert template["Resources"]["InvisiblePatientDaily"]["Properties"]["Handler"] == "app.invisible_patient_daily"
    assert template["Resources"]["AgendaDailyDispatch"]["Properties"]["Handler"] == "app.agenda_daily_dispatch"
    assert template["Resources"]["MessagingOutboxRetry"]["Properties"]["Handler"] == "app.messaging_outbox_retry"
    # Chalice's own EventBridge rules trigger them (no second trigger from the stack). The dispatch fires at 05:00
    # and 06:00 UTC and acts only on the tick that is 07:00 in Paris.
    resources = json.loads(transformed.read_text())["Resources"]
    rules = {r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]: r["Properties"]["ScheduleExpression"]
             for r in resources.values() if r["Type"] == "AWS::Events::Rule"}
    assert rules == {function: cron for function, (cron, _, _) in SCHEDULED.items()}
    assert not of_type(template, "AWS::Scheduler::Schedule")


def test_queue_consumers_report_partial_batch_failures_with_bounded_concurrency(transformed: Path) -> None:
    resources = json.loads(transformed.read_text())["Resources"]
    mappings = {r["Properties"]["FunctionName"]["Ref"]: r["Properties"] for r in resources.values()
                if r["Type"] == "AWS::Lambda::EventSourceMapping"}
    assert set(mappings) == set(CONSUMERS)
    queues = {k: v["Properties"]["QueueName"] for k, v in resources.items() if v["Type"] == "AWS::SQS::Queue"}
    for function, (queue, batch_size) in CONSUMERS.items():
        mapping = mappings[function]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BatchSize"] == batch_size
        reserved = resources[function]["Properties"]["ReservedConcurrentExecutions"]
        assert 2 <= mapping["ScalingConfig"]["MaximumConcurrency"] <= reserved
        assert queues[mapping["EventSourceArn"]["Fn::GetAtt"][0]] == queue


def _dynamodb_grants(template: dict[str, Any], role_prefix: str) -> dict[str, set[str]]:
    """{table or table/index/name: {action, ...}} from one function's policy ("+tx": only inside a transaction)."""
    (policy,) = (p for k, p in of_type(template, "AWS::IAM::ManagedPolicy").items() if k.startswith(role_prefix))
    grants: dict[str, set[str]] = {}
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            text = json.dumps(resource)
            match = re.search(r":table/mes-dev-([a-z-]+)(/index/[a-z-]+)?", text)
            if match is None:
                continue
            condition = dict(statement.get("Condition", {}))
            # "+KEY#": only the spaces table's wrapped data keys (the envelope), by their partition key
            keys_only = condition.pop("ForAllValues:StringLike", None)
            assert keys_only in (None, {"dynamodb:LeadingKeys": ["KEY#*"]})
            # "+JOB#": only the creation job's mark item
            mark_only = condition.pop("ForAllValues:StringEquals", None)
            assert mark_only in (None, {"dynamodb:LeadingKeys": ["JOB#space-creation"]})
            suffix = "+tx" if condition else ""
            if suffix:
                assert condition == {"StringEquals": {"dynamodb:EnclosingOperation": "TransactWriteItems"}}
            suffix += "+KEY#" if keys_only else ""
            suffix += "+JOB#" if mark_only else ""
            table = match.group(1) + (match.group(2) or "")
            grants.setdefault(table, set()).update(a.removeprefix("dynamodb:") + suffix for a in _actions(statement))
    return grants


def test_each_function_gets_exactly_its_dynamodb_operations(template: dict[str, Any]) -> None:
    assert _dynamodb_grants(template, "RolesApiHandlerAccess") == {
        "spaces": {"GetItem", "PutItem", "UpdateItem", "ConditionCheckItem"},
        "documents": {"GetItem", "PutItem", "DeleteItem"},
        "documents/index/patient-by-date": {"Query"},
        "documents/index/patient-by-type": {"Query"},
        "documents/index/available-by-date": {"Query"},
        "traces": {"Query", "PutItem+tx", "DeleteItem+tx"},
        "notifications": {"Query", "GetItem", "PutItem"},  # GetItem/PutItem: the holder's preferences item
        "access": {"Query", "GetItem", "PutItem", "DeleteItem", "ConditionCheckItem"},
        # appointments, reminders, prevention: an item and its due entry change in one transaction
        "agenda": {"GetItem", "PutItem+tx", "DeleteItem+tx"},
        "agenda/index/agenda-by-time": {"Query"},
        "agenda-due": {"PutItem+tx", "DeleteItem+tx"},
        # Idempotency-Key records: the claim joins the creating transaction as an update; completed, read after
        "idempotency": {"GetItem", "UpdateItem"},
        # messaging: conversations read by GetItem or one Query, listed on the LSI, written in transactions; the
        # outbox item deleted and SES's once-only marks put/released after the commit (outbound mail)
        "messages": {"GetItem", "Query", "PutItem+tx", "DeleteItem+tx", "PutItem", "DeleteItem"},
        "messages/index/holder-by-recent": {"Query"},
        # the export's status item, written only with its trace
        "exports": {"GetItem", "PutItem+tx"},
        # catalogue: GetItem/Query to read, a client assertion's jti one conditional PutItem, the rest with traces
        "catalogue": {"GetItem", "Query", "PutItem", "UpdateItem+tx", "DeleteItem+tx", "ConditionCheckItem+tx"},
        "catalogue/index/by-service": {"Query"},
        "catalogue/index/by-cycle": {"Query"},
        # measures: latest values and history by Query; a write's state by TransactGetItems (GetItem), its
        # writes only in the transaction
        "measures": {"GetItem", "Query", "PutItem+tx", "DeleteItem+tx"},
    }
    assert _dynamodb_grants(template, "RolesAuthorizerAccess") == {"spaces": {"GetItem"}}
    assert _dynamodb_grants(template, "RolesUploadConsumerAccess") == {
        "documents": {"GetItem", "PutItem"},
        "access": {"Query", "GetItem", "PutItem"},
        "traces": {"PutItem+tx"},
        "notifications": {"GetItem", "PutItem"},  # preferences, read for the new-document notice
        "messages": {"Query", "PutItem+tx"},  # a message attachment's verdict, written with its trace
        # the envelope: the space's wrapped data key read, or made with the space's check, and nothing else
        "spaces": {"GetItem+KEY#", "PutItem+tx+KEY#", "ConditionCheckItem+tx"},
    }
    assert _dynamodb_grants(template, "RolesInvisibleJobAccess") == {
        "documents/index/invisible-due": {"Query"},
        "documents": {"GetItem", "PutItem"},
        "access": {"GetItem", "PutItem", "DeleteItem", "ConditionCheckItem"},
        "traces": {"Query", "PutItem+tx", "DeleteItem+tx"},
        "notifications": {"GetItem", "PutItem"},  # preferences, read for the job's notices
    }
    assert _dynamodb_grants(template, "RolesExportConsumerAccess") == {
        "exports": {"GetItem", "PutItem+tx"},
        "spaces": {"GetItem"},
        "documents/index/patient-by-date": {"Query"},
        "documents/index/patient-by-type": {"Query"},
        "documents/index/available-by-date": {"Query"},
        "messages": {"Query"},
        "agenda": {"GetItem"},
        "agenda/index/agenda-by-time": {"Query"},
        "notifications": {"Query", "GetItem", "PutItem+tx"},
        "access": {"Query", "GetItem", "PutItem"},
        "traces": {"Query", "PutItem+tx"},
    }
    assert _dynamodb_grants(template, "RolesAgendaDispatchAccess") == {}
    assert _dynamodb_grants(template, "RolesAgendaShardsAccess") == {"agenda-due": {"Query"}}
    assert _dynamodb_grants(template, "RolesAgendaDeliveriesAccess") == {
        "spaces": {"BatchGetItem"},
        "agenda": {"BatchGetItem", "UpdateItem+tx"},
        "agenda-due": {"PutItem+tx"},
        "notifications": {"BatchGetItem", "PutItem+tx", "UpdateItem+tx"},  # BatchGetItem: preferences
    }
    # the outbox's retry pass: one Query per OUTBOX#<n> shard, the marks and the outbox item once handed over
    assert _dynamodb_grants(template, "RolesOutboxRetryAccess") == {"messages": {"Query", "PutItem", "DeleteItem"}}


def _policy_actions(template: dict[str, Any], role_prefix: str) -> set[str]:
    (policy,) = (p for k, p in of_type(template, "AWS::IAM::ManagedPolicy").items() if k.startswith(role_prefix))
    return {a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in _actions(s)}


def _sqs_grants(template: dict[str, Any], role_prefix: str) -> dict[str, set[str]]:
    """{queue name: {sqs action}} from one function's policy."""
    (policy,) = (p for k, p in of_type(template, "AWS::IAM::ManagedPolicy").items() if k.startswith(role_prefix))
    grants: dict[str, set[str]] = {}
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            match = re.search(r":(mes-dev-[a-z-]+)", json.dumps(resource))
            if match and json.dumps(resource).startswith('{"Fn::Join"') and ":sqs:" in json.dumps(resource):
                grants.setdefault(match.group(1), set()).update(a for a in _actions(statement) if a.startswith("sqs:"))
    return grants


def test_agenda_functions_send_and_consume_only_their_queues(template: dict[str, Any]) -> None:
    consume = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}
    assert _sqs_grants(template, "RolesAgendaDispatchAccess") == {
        "mes-dev-agenda-shards": {"sqs:SendMessage"}, "mes-dev-agenda-daily-dispatch-dlq": {"sqs:SendMessage"}}
    assert _sqs_grants(template, "RolesAgendaShardsAccess") == {
        "mes-dev-agenda-shards": consume, "mes-dev-agenda-deliveries": {"sqs:SendMessage"}}
    assert _sqs_grants(template, "RolesAgendaDeliveriesAccess") == {"mes-dev-agenda-deliveries": consume}
    assert {a.split(":")[0] for a in _policy_actions(template, "RolesAgendaDispatchAccess")} == {
        "sqs", "logs", "secretsmanager"}
    assert {a.split(":")[0] for a in _policy_actions(template, "RolesAgendaShardsAccess")} == {
        "sqs", "logs", "secretsmanager", "dynamodb"}


def test_only_the_delivery_worker_the_api_and_the_outbox_send_e_mail_from_the_configured_addresses(
        template: dict[str, Any]) -> None:
    """Templated e-mail: the reminders (delivery worker, reminder template), the new-message e-mail (API, reminder
    template) and enrolment's codes and notices (API, enrolment template), from the configured address only; raw
    mail: the API and the outbox retry pass, from the patients' mailboxes' domain only."""
    senders: dict[str, list[dict[str, Any]]] = {}
    for name, policy in of_type(template, "AWS::IAM::ManagedPolicy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if any(a.startswith("ses:") for a in _actions(statement)):
                senders.setdefault(name.split("Access")[0], []).append(statement)
    # the inbound-mail consumer sends bounces, raw, from MAILER-DAEMON@patient.mssante.fr only (issue 11)
    (bounce,) = senders.pop("RolesInboundMail")
    assert _actions(bounce) == ["ses:SendRawEmail"]
    assert bounce["Condition"] == {"StringEquals": {"ses:FromAddress": "MAILER-DAEMON@patient.mssante.fr"}}
    assert set(senders) == {"RolesAgendaDeliveries", "RolesApiHandler", "RolesOutboxRetry", "RolesAccountsTasks",
                            "RolesCatalogueSummaries", "RolesErasureConsumer"}
    templated = {(role, json.dumps(s["Resource"]).split(":template/")[1].split('"')[0]): s
                 for role, statements in senders.items() for s in statements
                 if _actions(s) == ["ses:SendBulkTemplatedEmail"]}
    # ... and (opening by default) the accounts-tasks consumer's information e-mail
    assert set(templated) == {("RolesAgendaDeliveries", "mes-dev-reminder"), ("RolesApiHandler", "mes-dev-reminder"),
                              ("RolesApiHandler", "mes-dev-enrolment"), ("RolesAccountsTasks", "mes-dev-information"),
                              # the every-90-days summary of paired services (issue 13.6), on the reminder template
                              ("RolesCatalogueSummaries", "mes-dev-reminder"),
                              # the erasure's "done" e-mail (issue 12 point 5), on its own template
                              ("RolesErasureConsumer", "mes-dev-erasure-done")}
    for statement in templated.values():
        assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": SENDER}}
        resources = json.dumps(statement["Resource"])
        assert f":identity/{SENDER}" in resources and resources.count(":template/") == 1
    assert [_actions(s) for s in senders["RolesOutboxRetry"]] == [["ses:SendEmail", "ses:SendRawEmail"]]
    for raw in (s for s in [*senders["RolesApiHandler"], *senders["RolesOutboxRetry"]]
                if s not in templated.values()):
        assert sorted(_actions(raw)) == ["ses:SendEmail", "ses:SendRawEmail"]
        assert raw["Condition"] == {"StringLike": {"ses:FromAddress": "*@patient.mssante.fr"}}
        assert ":identity/patient.mssante.fr" in json.dumps(raw["Resource"])
def _local_email_template() -> tuple[str, str]:
    """(subject, text) of the template local/resources.py creates (read without importing the app)."""
    import ast

    tree = ast.parse((REPO / "local" / "resources.py").read_text())
    body = next(ast.literal_eval(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "EMAIL_BODY" for t in n.targets))
    subject = next(ast.literal_eval(value) for node in ast.walk(tree) if isinstance(node, ast.Dict)
                   for key, value in zip(node.keys, node.values, strict=True)
                   if isinstance(key, ast.Constant) and key.value == "SubjectPart")
    return subject, body


def test_ses_identity_and_template_match_the_app(template: dict[str, Any]) -> None:
    (identity,) = of_type(template, "AWS::SES::EmailIdentity").values()
    assert identity["Properties"]["EmailIdentity"] == SENDER
    by_name = {t["Properties"]["Template"]["TemplateName"]: t["Properties"]["Template"]
               for t in of_type(template, "AWS::SES::Template").values()}
    # enrolment's codes and notices; information: opening by default; erasure-done: the erasure's last word
    assert set(by_name) == {"mes-dev-reminder", "mes-dev-enrolment", "mes-dev-information", "mes-dev-erasure-done"}
    enrolment = by_name["mes-dev-enrolment"]  # local/resources.py creates the same one
    assert (enrolment["SubjectPart"], enrolment["TextPart"]) == ("Mon espace santé : {{subject}}", "{{text}}\n")
    templates = by_name
    information = templates["mes-dev-information"]
    assert set(re.findall(r"{{(\w+)}}", information["SubjectPart"] + information["TextPart"])) == {
        "first_name", "last_name", "creation_day", "code", "code_expires", "objection_url"}
    assert "HtmlPart" not in information
    props = templates["mes-dev-reminder"]
    assert (props["SubjectPart"], props["TextPart"]) == _local_email_template()
    assert set(re.findall(r"{{(\w+)}}", props["SubjectPart"] + props["TextPart"])) == {"kind", "day"}
    assert "HtmlPart" not in props
    for name in FUNCTIONS:
        env = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert env["MES_AGENDA_EMAIL_TEMPLATE"] == "mes-dev-reminder"
        assert env["MES_AGENDA_EMAIL_SOURCE"] == SENDER
        assert env["MES_AGENDA_SHARDS"] == "64" and env["MES_AGENDA_BATCH_SIZE"] == "100"
        assert env["MES_ENROLMENT_EMAIL_TEMPLATE"] == "mes-dev-enrolment" and env["MES_TERMS_VERSION"]
        assert "BucketsProofs" in json.dumps(env["MES_PROOFS_BUCKET"])


def test_pseudonym_key_is_generated_retained_never_rotated_and_read_by_every_function(
        template: dict[str, Any]) -> None:
    ((name, secret),) = of_type(template, "AWS::SecretsManager::Secret").items()
    assert secret["DeletionPolicy"] == "Retain" and secret["UpdateReplacePolicy"] == "Retain"
    props = secret["Properties"]
    assert props["Name"] == "mes/dev/pseudonym-key" and "SecretString" not in props
    assert props["GenerateSecretString"]["PasswordLength"] >= 32
    assert props["KmsKeyId"]["Fn::GetAtt"][0].startswith("KeysData")
    assert not of_type(template, "AWS::SecretsManager::RotationSchedule")
    readers = set()
    for policy_name, policy in of_type(template, "AWS::IAM::ManagedPolicy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if any(a.startswith("secretsmanager:") for a in _actions(statement)):
                assert _actions(statement) == ["secretsmanager:GetSecretValue"]
                assert statement["Resource"] == {"Ref": name}
                readers.add(policy_name.split("Access")[0])
    assert len(readers) == len(FUNCTIONS)
    for function in FUNCTIONS:
        env = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert env["MES_PSEUDONYM_SECRET_ARN"] == {"Ref": name}
    data_key = next(v for k, v in of_type(template, "AWS::KMS::Key").items() if k.startswith("KeysData"))
    # Function roles: kms:Decrypt through Secrets Manager only (CDK's Secret also adds an account-root statement,
    # which delegates to IAM like the key's default statement and grants no role anything by itself)
    via_secrets = [s for s in data_key["Properties"]["KeyPolicy"]["Statement"]
                   if s.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
                   == "secretsmanager.eu-west-3.amazonaws.com" and "Fn::GetAtt" in s["Principal"]["AWS"]]
    assert len(via_secrets) == len(FUNCTIONS) and all(_actions(s) == ["kms:Decrypt"] for s in via_secrets)


def test_daily_job_touches_no_bucket(template: dict[str, Any]) -> None:
    (policy,) = (p for k, p in of_type(template, "AWS::IAM::ManagedPolicy").items()
                 if k.startswith("RolesInvisibleJobAccess"))
    actions = {a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in _actions(s)}
    assert {a.split(":")[0] for a in actions} == {"dynamodb", "sqs", "logs", "secretsmanager"}
    assert {a for a in actions if a.startswith("sqs:")} == {"sqs:SendMessage"}


def test_no_wildcard_action_or_resource_in_function_policies(template: dict[str, Any]) -> None:
    for name, policy in of_type(template, "AWS::IAM::ManagedPolicy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), name
            assert statement["Resource"] != "*", name


# ---- API ------------------------------------------------------------------------------------------------------


def _api(template: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"]["RestAPI"]["Properties"]
    return props


# liveness and the contract (issue 14.1: no token), and enrolment (issue 12: identity check and code are the proof)
# liveness and the contract (issue 14.1: no token), enrolment (no linked login yet: the code and the identity
# check are the proof, issue 12) and the OAuth token endpoint (the app authenticates with its private_key_jwt
# assertion, issue 13.2)
OPEN_PATHS = {"/v1/health", "/v1/openapi.json", "/v1/enrolment/code", "/v1/enrolment/activation",
              "/v1/enrolment/opposition", "/v1/enrolment/opposition/{reference}", "/v1/oauth/token"}


def test_every_route_but_health_has_the_bearer_authorizer(template: dict[str, Any]) -> None:
    body = _api(template)["DefinitionBody"]
    assert body["securityDefinitions"]["bearer"]["x-amazon-apigateway-authorizer"]["type"] == "token"
    for path, methods in body["paths"].items():
        for method, operation in methods.items():
            if method == "options":
                continue
            if path in OPEN_PATHS:
                assert "security" not in operation
            else:
                assert operation.get("security") == [{"bearer": []}], f"{method.upper()} {path}"


def test_gateway_errors_carry_the_json_error_body(template: dict[str, Any]) -> None:
    responses = _api(template)["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    assert responses["UNAUTHORIZED"]["statusCode"] == "401"
    assert json.loads(responses["UNAUTHORIZED"]["responseTemplates"]["application/json"]) == {
        "error": {"code": "missing_token", "message": "a bearer token is required"}}
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    assert json.loads(responses["MISSING_AUTHENTICATION_TOKEN"]["responseTemplates"]["application/json"]) == {
        "error": {"code": "not_found", "message": "resource not found"}}
    # issue 14.5: the authorizer's explicit Deny is a 401 whose body names the reason from its context
    assert responses["ACCESS_DENIED"]["statusCode"] == "401"
    assert json.loads(responses["ACCESS_DENIED"]["responseTemplates"]["application/json"]) == {
        "error": {"code": "$context.authorizer.code", "message": "$context.authorizer.description"}}


def test_refused_tokens_get_rfc_6750_challenges_as_static_headers(template: dict[str, Any]) -> None:
    """Gateway response headers can only be static (or request parameters): the challenge is fixed per response
    type, the reason is in the body."""
    responses = _api(template)["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    missing = responses["UNAUTHORIZED"]["responseParameters"]["gatewayresponse.header.WWW-Authenticate"]
    refused = responses["ACCESS_DENIED"]["responseParameters"]["gatewayresponse.header.WWW-Authenticate"]
    assert missing == """'Bearer realm="mon-espace-sante"'"""
    assert refused.startswith('\'Bearer realm="mon-espace-sante", error="invalid_token", error_description="')
    for response in responses.values():
        headers = response["responseParameters"]
        assert headers["gatewayresponse.header.Cache-Control"] == "'no-store'"
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == "'http://localhost:3000'"  # dev
        assert all(v.startswith("'") and v.endswith("'") for v in headers.values())


def test_the_authorizer_runs_only_for_a_bearer_shaped_header(template: dict[str, Any]) -> None:
    authorizer = _api(template)["DefinitionBody"]["securityDefinitions"]["bearer"]["x-amazon-apigateway-authorizer"]
    expression = authorizer["identityValidationExpression"]
    assert re.fullmatch(expression, "Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl")
    assert not any(re.fullmatch(expression, h) for h in ("Bearer", "Basic dXNlcjpwYXNz", "Bearer a b", ""))


def test_every_path_answers_cors_preflights_with_a_mock_for_the_stage_origins(template: dict[str, Any]) -> None:
    paths = _api(template)["DefinitionBody"]["paths"]
    assert len(paths) > 5
    for path, methods in paths.items():
        options = methods["options"]
        assert "security" not in options, path  # no token for a preflight
        integration = options["x-amazon-apigateway-integration"]
        assert integration["type"] == "mock"
        answer = integration["responses"]["default"]
        vtl = answer["responseTemplates"]["application/json"]
        allowed, refused = vtl.split("#else")
        assert '#set($allowed = ["http://localhost:3000"])' in allowed
        assert "$context.responseOverride.header.Access-Control-Allow-Origin = $origin" in allowed
        (declared,) = re.findall(r'Access-Control-Allow-Methods = "([A-Z,]+)"', allowed)
        assert set(declared.split(",")) == {m.upper() for m in methods}, path
        assert "#set($context.responseOverride.status = 403)" in refused and "Access-Control" not in refused
        # CORS headers only from the allowed branch, never a static (wildcard) mapping
        assert not [h for h in answer["responseParameters"] if "Access-Control" in h]
    for name in FUNCTIONS:
        variables = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert variables["MES_CORS_ALLOWED_ORIGINS"] == "http://localhost:3000"


def test_stage_logs_throttles_and_traces(template: dict[str, Any]) -> None:
    api = _api(template)
    assert api["TracingEnabled"] is True
    fields = json.loads(api["AccessLogSetting"]["Format"])
    # No INS, not even hashed: not the path (professional routes carry it), not the authorizer's ins or principalId
    # (an unkeyed SHA-256 of the INS, reversed by enumeration); the route is the template
    assert fields["route"] == "$context.resourcePath"
    forbidden = ("$context.path", "$context.authorizer.ins", "$context.authorizer.principalId",
                 "$context.authorizer.rpps", "$input", "$context.requestOverride", "$context.identity.user")
    assert not [v for v in fields.values() if v.startswith(forbidden)]
    settings, *enrolment = api["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert settings["LoggingLevel"] == "ERROR" and settings["DataTraceEnabled"] is False
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    # The public enrolment routes are throttled on their own, far below the stage's default
    assert {(m["HttpMethod"], m["ResourcePath"]) for m in enrolment} == {
        ("POST", "/~1v1~1enrolment~1code"), ("POST", "/~1v1~1enrolment~1activation"),
        ("POST", "/~1v1~1enrolment~1opposition"), ("GET", "/~1v1~1enrolment~1opposition~1{reference}")}
    for method in enrolment:
        assert method["DataTraceEnabled"] is False
        assert 0 < method["ThrottlingRateLimit"] <= 10 < settings["ThrottlingRateLimit"]
        assert 0 < method["ThrottlingBurstLimit"] <= 20


# ---- monitoring -----------------------------------------------------------------------------------------------


def test_alarms_cover_5xx_errors_throttles_and_queues_and_notify_operations(template: dict[str, Any]) -> None:
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    names = {a["Properties"]["AlarmName"] for a in alarms.values()}
    expected = {"mes-dev-Api5xxRate", "mes-dev-UploadEventsDepth", "mes-dev-UploadEventsAge",
                "mes-dev-UploadEventsDlqDepth", "mes-dev-UploadEventsDlqAge"}
    expected |= {f"mes-dev-{f}{k}" for f in FUNCTIONS for k in ("Errors", "Throttles")}
    expected |= {f"mes-dev-{j}Dlq{k}" for j in SCHEDULED for k in ("Depth", "Age")}
    expected |= {f"mes-dev-{q}{k}" for q in ("AgendaShards", "AgendaDeliveries")
                 for k in ("Depth", "Age", "DlqDepth", "DlqAge")}
    expected |= {"mes-dev-RejectedUploadsSpike", "mes-dev-AccessRefusalsSpike"}
    assert expected <= names
    topic = next(iter(of_type(template, "AWS::SNS::Topic")))
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": topic}] for a in alarms.values())


def test_spike_alarms_sum_every_reason_of_the_business_metric(template: dict[str, Any]) -> None:
    alarms = {a["Properties"]["AlarmName"]: a["Properties"]
              for a in of_type(template, "AWS::CloudWatch::Alarm").values()}
    for name, metric, reasons in (
            ("mes-dev-RejectedUploadsSpike", "DocumentsRejected",
             {"size_mismatch", "checksum_mismatch", "content_type_mismatch", "content_not_of_declared_type",
              "upload_expired"}),
            ("mes-dev-AccessRefusalsSpike", "AccessRefused", {"not_found", "consent_required", "emergency_refused"})):
        alarm = alarms[name]
        queries = alarm["Metrics"]
        stats = [q["MetricStat"]["Metric"] for q in queries if "MetricStat" in q]
        assert {s["Namespace"] for s in stats} == {"MonEspaceSante"} and {s["MetricName"] for s in stats} == {metric}
        seen = {d["Value"] for s in stats for d in s["Dimensions"] if d["Name"] == "reason"}
        assert seen == reasons
        assert all({"Name": "service", "Value": "mon-espace-sante"} in s["Dimensions"] for s in stats)
        (total,) = [q for q in queries if q.get("ReturnData", True) and "Expression" in q]
        assert total["Expression"].startswith("SUM(")
        assert alarm["EvaluationPeriods"] == 2 and alarm["DatapointsToAlarm"] == 2


# ---- the Lambda artifact --------------------------------------------------------------------------------------


def test_packaged_app_and_layer_import_every_module(assembly: Assembly, tmp_path: Path) -> None:
    # Given the Chalice zip and the layer exactly as synthesized (no site-packages of this machine)
    zips = [z for z in assembly.out.glob("asset.*.zip") if "app.py" in zipfile.ZipFile(z).namelist()]
    assert len(zips) == 1
    app_dir = tmp_path / "app"
    zipfile.ZipFile(zips[0]).extractall(app_dir)
    assert not any(p.name.startswith("pydantic") for p in app_dir.iterdir()), "deps must come from the layer only"
    layer = next(d for d in assembly.out.glob("asset.*") if (d / "python" / "pynamodb").is_dir())
    # fpdf2 is imported lazily (only when a proof of opposition is built): import it here so the layer is checked
    script = ("import importlib, pkgutil, app, functions, fpdf, fpdf.enums\n"
              "names = [m.name for m in pkgutil.walk_packages(functions.__path__, 'functions.')]\n"
              "[importlib.import_module(n) for n in names]\n"
              "print(len(names))\n")
    # When every module is imported with only the zip and the layer on the path
    result = subprocess.run([sys.executable, "-S", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": f"{app_dir}:{layer / 'python'}", "AWS_REGION": "eu-west-3"},
                            check=False, timeout=120)
    # Then it works
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.strip()) > 10


def test_repo_files_are_untouched_by_synth() -> None:
    assert not (REPO / "chalice.out").exists()


def test_every_chalice_function_is_wired_by_infra(template: dict[str, Any]) -> None:
    # A function the infra does not know would run with Chalice's placeholder role, no layer and no settings
    functions = set(of_type(template, "AWS::Serverless::Function"))
    assert functions == set(FUNCTIONS), (
        "wire the new function in infra/constants.py (FUNCTION_TIMEOUTS/MEMORY), components/roles.py and the stage "
        "files' reserved_concurrency")


# ---- every table model has its table ----------------------------------------------------------------------------

_MODELS = """
import importlib, json, os, pkgutil, sys
import functions
from pynamodb.models import Model
from functions import deps
os.environ.update(json.loads(sys.argv[1]))
deps.reset()
deps.bind_tables()
for m in pkgutil.walk_packages(functions.__path__, "functions."):
    if m.name.endswith(".storage"):
        importlib.import_module(m.name)
def walk(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from walk(sub)
found = {}
for model in walk(Model):
    keys = {a.attr_name: ("HASH" if a.is_hash_key else "RANGE") for a in model.get_attributes().values()
            if a.is_hash_key or a.is_range_key}
    found[f"{model.__module__}.{model.__name__}"] = {"table": model.Meta.table_name, "keys": keys}
print(json.dumps(found))
"""


def test_every_table_model_under_functions_has_its_table_in_the_stack(template: dict[str, Any]) -> None:
    """A pynamodb model added under functions/ without its table in infra (or without binding it in
    deps.bind_tables, so it keeps no stage table name) fails here: each model, bound with the API handler's
    environment, names a table of the template with the same key schema."""
    resources = template["Resources"]
    tables = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}
    env = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    table_env = {var: tables[value["Ref"]]["TableName"] for var, value in env.items()
                 if isinstance(value, dict) and value.get("Ref") in tables}
    assert len(table_env) == len(tables)
    from local.config import local_env  # the other settings only need to be present

    app_python = REPO / ".venv" / "bin" / "python"  # the app's virtualenv has pynamodb; this one does not
    result = subprocess.run([str(app_python), "-c", _MODELS, json.dumps({**local_env(), **table_env})], cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    models = json.loads(result.stdout)
    schemas = {p["TableName"]: {k["AttributeName"]: k["KeyType"] for k in p["KeySchema"]} for p in tables.values()}
    assert len(models) >= 8
    for model, bound in models.items():
        assert bound["table"] in schemas, f"{model} is bound to {bound['table']!r}, which the stack does not create"
        assert bound["keys"] == schemas[bound["table"]], model


def test_opening_by_default_functions_get_exactly_their_operations(template: dict[str, Any]) -> None:
    # the accounts-tasks consumer: who is known, chain heads, the due index; every write in a transaction
    assert _dynamodb_grants(template, "RolesAccountsTasksAccess") == {
        "spaces": {"BatchGetItem", "PutItem+tx", "UpdateItem+tx"},
        "spaces/index/creation-due": {"Query"},
        "access": {"BatchGetItem", "GetItem", "PutItem+tx"},
        "traces": {"PutItem+tx"},
    }
    # the daily dispatch: its mark item only (the last day it dispatched), no person's item
    assert _dynamodb_grants(template, "RolesSpaceCreationAccess") == {"spaces": {"GetItem+JOB#", "UpdateItem+JOB#"}}
    spaces = next(t["Properties"] for t in of_type(template, "AWS::DynamoDB::Table").values()
                  if t["Properties"]["TableName"] == "mes-dev-spaces")
    index = next(i for i in spaces["GlobalSecondaryIndexes"] if i["IndexName"] == "creation-due")
    assert {i["IndexName"] for i in spaces["GlobalSecondaryIndexes"]} == {"creation-due", "erase-due"}
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert index["KeySchema"] == [{"AttributeName": "creation_shard", "KeyType": "HASH"},
                                  {"AttributeName": "ins", "KeyType": "RANGE"}]


# ---- the per-space envelope (functions/shared/sealing.py) -------------------------------------------------------


def test_the_envelope_is_on_in_every_function_of_the_stage(template: dict[str, Any]) -> None:
    """One constant for every stage (infra/constants.py ENVELOPE_ENCRYPTION), not a stage parameter."""
    for name in FUNCTIONS:
        variables = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert variables["MES_ENVELOPE_ENCRYPTION"] == "1", name


def test_only_the_functions_that_seal_or_open_use_the_space_data_keys_with_their_context(
        template: dict[str, Any]) -> None:
    """GenerateDataKey/Decrypt called by the app itself (no kms:ViaService) on the documents key, only with the
    encryption context {space: <pseudonym>} (functions/accounts/storage.py KmsSpaceKeys.context)."""
    (documents,) = (k for k in of_type(template, "AWS::KMS::Key").values()
                    if "documents" in k["Properties"]["Description"])
    direct = {s["Sid"]: s for s in documents["Properties"]["KeyPolicy"]["Statement"]
              if "Roles" in json.dumps(s["Principal"]) and "kms:ViaService" not in s["Condition"]["StringEquals"]}
    assert {sid: sorted(_actions(s)) for sid, s in direct.items()} == {
        "ApiHandlerSpaceDataKeys": ["kms:Decrypt", "kms:GenerateDataKey"],
        "UploadConsumerSpaceDataKeys": ["kms:Decrypt", "kms:GenerateDataKey"],
        "InboundMailSpaceDataKeys": ["kms:Decrypt", "kms:GenerateDataKey"],
        "ExportConsumerSpaceDataKeys": ["kms:Decrypt"],
    }
    for statement in direct.values():
        assert statement["Condition"]["ForAllValues:StringEquals"] == {"kms:EncryptionContextKeys": ["space"]}
        assert statement["Condition"]["Null"] == {"kms:EncryptionContext:space": "false"}
        assert "kms:CallerAccount" in statement["Condition"]["StringEquals"]
    # the wrapped keys: the inbound-mail consumer makes a space's first key (its reads and checks it had already)
    inbound = _dynamodb_grants(template, "RolesInboundMailAccess")["spaces"]
    assert inbound == {"GetItem", "ConditionCheckItem", "PutItem+tx+KEY#"}
    assert _dynamodb_grants(template, "RolesExportConsumerAccess")["spaces"] == {"GetItem"}


def _s3_grants(template: dict[str, Any], role_prefix: str, prefix: str) -> set[str]:
    (policy,) = (p for k, p in of_type(template, "AWS::IAM::ManagedPolicy").items() if k.startswith(role_prefix))
    return {a for s in policy["Properties"]["PolicyDocument"]["Statement"] if prefix in json.dumps(s["Resource"])
            for a in _actions(s)}


def test_plaintext_download_copies_are_written_and_signed_by_the_api_only(template: dict[str, Any]) -> None:
    assert _s3_grants(template, "RolesApiHandlerAccess", "/downloads/*") == {
        "s3:PutObject", "s3:GetObject", "s3:DeleteObject"}
    assert _s3_grants(template, "RolesUploadConsumerAccess", "/downloads/*") == {"s3:DeleteObject"}
    for role in ("RolesInboundMailAccess", "RolesExportConsumerAccess", "RolesInvisibleJobAccess"):
        assert _s3_grants(template, role, "/downloads/*") == set(), role


def test_the_export_reads_the_attachments_it_puts_in_the_eml_files_and_writes_none(template: dict[str, Any]) -> None:
    assert _s3_grants(template, "RolesExportConsumerAccess", "attachments") == {"s3:GetObject"}


# ---- erasure (issue 12 point 5) ---------------------------------------------------------------------------------


def test_erasure_is_triggered_by_its_queue_and_its_daily_schedule(template: dict[str, Any], transformed: Path) -> None:
    # the consumer is subscribed to the stage's erasures queue, one message at a time, partial batch failures
    resources = json.loads(transformed.read_text())["Resources"]
    (mapping,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
                  and r["Properties"]["FunctionName"] == {"Ref": "OnErasureRequest"}]
    queue = resources[mapping["EventSourceArn"]["Fn::GetAtt"][0]]["Properties"]
    assert queue["QueueName"] == "mes-dev-erasures" and mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3  # then the dead-letter queue, alarmed
    # the daily dispatch runs at 02:30 UTC (the same Paris day), alone
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"
             and r["Properties"].get("ScheduleExpression") == "cron(30 2 * * ? *)"]
    assert len(rules) == 1 and "ErasureDaily" in json.dumps(rules[0]["Targets"])
    assert template["Resources"]["ErasureDaily"]["Properties"]["ReservedConcurrentExecutions"] == 1
    # every function knows the queue (the API's closure sends to it) and the e-mail's template
    for name in FUNCTIONS:
        variables = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert variables["MES_ERASURE_EMAIL_TEMPLATE"] == "mes-dev-erasure-done"
        assert "MES_ERASURE_QUEUE_URL" in variables
    (email,) = [t["Properties"]["Template"] for t in of_type(template, "AWS::SES::Template").values()
                if t["Properties"]["Template"]["TemplateName"] == "mes-dev-erasure-done"]
    assert set(re.findall(r"{{(\w+)}}", email["SubjectPart"] + email["TextPart"])) == {"day", "reference"}


def test_only_the_erasure_consumer_deletes_and_only_what_erasure_touches(template: dict[str, Any]) -> None:
    people = {"Query", "BatchWriteItem"}
    assert _dynamodb_grants(template, "RolesErasureConsumerAccess") == {
        "spaces": {"GetItem", "UpdateItem", "PutItem", "DeleteItem", "BatchWriteItem"},
        **{t: people for t in ("documents", "traces", "notifications", "access", "agenda", "messages", "exports",
                               "measures")},
        "catalogue": people | {"PutItem+tx"},  # the revocation entries, before the pairings go
        "catalogue/index/by-holder": {"Query"},
        "agenda-due": {"BatchWriteItem"},
        "idempotency": {"BatchWriteItem"},  # the space's Idempotency-Key records, found on by-owner
        "idempotency/index/by-owner": {"Query"},
    }
    assert _dynamodb_grants(template, "RolesErasureDailyAccess") == {"spaces/index/erase-due": {"Query"}}
    consume = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}
    assert _sqs_grants(template, "RolesErasureConsumerAccess") == {"mes-dev-erasures": consume}
    assert _sqs_grants(template, "RolesErasureDailyAccess") == {
        "mes-dev-erasures": {"sqs:SendMessage"}, "mes-dev-erasure-daily-dlq": {"sqs:SendMessage"}}
    assert _sqs_grants(template, "RolesApiHandlerAccess")["mes-dev-erasures"] == {"sqs:SendMessage"}
    actions = _policy_actions(template, "RolesErasureConsumerAccess")
    assert {a for a in actions if a.startswith("s3:")} == {"s3:ListBucketVersions", "s3:DeleteObjectVersion"}
    assert {a.split(":")[0] for a in actions} == {"dynamodb", "sqs", "s3", "ses", "logs", "secretsmanager"}
    # no other function may delete an object version
    for name, policy in of_type(template, "AWS::IAM::ManagedPolicy").items():
        if not name.startswith("RolesErasureConsumerAccess"):
            assert "s3:DeleteObjectVersion" not in json.dumps(policy), name
