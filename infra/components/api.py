"""The Chalice app (API Gateway REST API + its seven functions) through `chalice.cdk`, shaped for production.

`chalice package` runs on a staged copy of the app (infra/chalice_source.py) whose requirements.txt is empty: the
dependencies come from the shared layer built from layers/, so the function zips carry only app code. The SAM
template Chalice generates is then overridden resource by resource:

- functions: own role, layer, timeout, memory, reserved concurrency, environment, a KMS-encrypted log group with
  retention (LoggingConfig), and for each SQS consumer (uploads, agenda shards, agenda deliveries) the stage's queue
  with ReportBatchItemFailures (Chalice never sets it) and a maximum concurrency for the event source; for the
  scheduled functions (Chalice's @app.schedule: Chalice keeps owning their EventBridge rules) a dead-letter queue
  for failed asynchronous events;
- REST API: stage name per stage, access logs (no identifiers), execution logs at ERROR, metrics, X-Ray,
  throttling, Gateway Responses carrying the app's JSON error body (a refused token: 401 with the authorizer's
  reason and RFC 6750's WWW-Authenticate), the authorizer invoked only for a bearer-shaped header, and CORS
  preflights (OPTIONS on every path) answered by a MOCK integration for the stage's allowed origins.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from chalice.cdk import Chalice
from constructs import Construct

from functions.shared import cors
from functions.shared.http import RESPONSE_HEADERS
from infra import constants as c
from infra.components.roles import FunctionRoles, log_group_name
from infra.config import StageConfig
from infra.nag import acknowledge


@contextlib.contextmanager
def _working_dir(path: Path) -> Iterator[None]:
    """chalice.cdk writes its package into ./chalice.out: keep that under build/, out of the source tree."""
    path.mkdir(parents=True, exist_ok=True)
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _static(value: str) -> str:
    """A header mapping's static value (API Gateway's quoted form)."""
    assert "'" not in value, value
    return f"'{value}'"


def _gateway_responses(origins: tuple[str, ...]) -> dict[str, Any]:
    """Gateway responses may only have static headers: with exactly one allowed origin its browser may read them
    (a 401's reason); with several, none can be chosen per request."""
    cors_headers = {"Access-Control-Allow-Origin": origins[0], "Vary": "Origin"} if len(origins) == 1 else {}
    responses: dict[str, Any] = {}
    for kind, (status, code, message) in c.GATEWAY_RESPONSES.items():
        body = json.dumps({"error": {"code": code, "message": message}})
        headers = {"Content-Type": "application/json", **RESPONSE_HEADERS, **cors_headers,
                   **c.GATEWAY_RESPONSE_HEADERS.get(kind, {})}
        response: dict[str, Any] = {
            "responseParameters": {f"gatewayresponse.header.{name}": _static(value)
                                   for name, value in headers.items()},
            "responseTemplates": {"application/json": body},
        }
        if status is not None:
            response["statusCode"] = str(status)
        responses[kind] = response
    return responses


_PREFLIGHT_TEMPLATE = """#set($origin = $input.params().header.get('Origin'))
#if("$!origin" == "")#set($origin = $input.params().header.get('origin'))#end
#set($allowed = [%s])
#if($allowed.contains("$!origin"))
#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)
%s
#else
#set($context.responseOverride.status = 403)
{"error": {"code": "origin_not_allowed", "message": "this origin may not call the API"}}
#end"""


def preflight(methods: list[str], origins: tuple[str, ...]) -> dict[str, Any]:
    """OPTIONS answered by API Gateway itself (a MOCK integration: no token, no Lambda). Header mappings can only be
    static, so the response template sets the CORS headers, for an allowed origin only (echoed); any other gets a
    403 without any CORS header. local/gateway.py answers preflights the same way."""
    cors_headers = cors.preflight_headers("$origin", sorted({*methods, "OPTIONS"}))
    overrides = "\n".join(f'#set($context.responseOverride.header.{name} = "{value}")'
                           for name, value in cors_headers.items() if name != "Access-Control-Allow-Origin")
    return {
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "responses": {"200": {"description": "CORS preflight",
                              "headers": {n: {"type": "string"} for n in [*cors_headers, *RESPONSE_HEADERS]}},
                      "403": {"description": "origin not allowed"}},
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "passthroughBehavior": "when_no_match",
            "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {
                "statusCode": "200",
                "responseParameters": {f"method.response.header.{n}": _static(v) for n, v in RESPONSE_HEADERS.items()},
                "responseTemplates": {"application/json": _PREFLIGHT_TEMPLATE % (
                    ", ".join(json.dumps(o) for o in origins), overrides)},
            }},
        },
    }


def _paths(package_dir: Path) -> dict[str, list[str]]:
    """Every path of the packaged app and its methods, as `chalice package` wrote them in the SAM template."""
    template = json.loads((package_dir / "sam.json").read_text())
    paths: dict[str, Any] = template["Resources"][c.CHALICE_REST_API]["Properties"]["DefinitionBody"]["paths"]
    return {path: [m.upper() for m in methods if m.lower() != "options"] for path, methods in paths.items()}


class ChaliceApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, source_dir: Path,
                 build_dir: Path, layer: lambda_.ILayerVersion, roles: FunctionRoles, environment: dict[str, str],
                 consumer_queue_arns: dict[str, str], job_dead_letter_arns: dict[str, str],
                 data_key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stage = config.stage
        chalice_config = {
            # Roles come from components/roles.py; Chalice needs an ARN to skip its own (overridden below).
            "manage_iam_role": False,
            "iam_role_arn": f"arn:aws:iam::{'0' * 12}:role/replaced-by-infra",
            "automatic_layer": False,
            "autogen_policy": False,
            "api_gateway_stage": c.API_STAGE_NAME,
            "api_gateway_endpoint_type": "REGIONAL",
        }
        with _working_dir(build_dir):
            self.chalice = Chalice(self, "App", source_dir=str(source_dir), stage_config=chalice_config)

        self.log_groups: dict[str, logs.LogGroup] = {}
        for function, role in roles.by_function.items():
            log_group = _log_group(self, f"{function}Logs", log_group_name(stage, function), config, data_key)
            self.log_groups[function] = log_group
            resource = self.chalice.get_resource(function)
            props: dict[str, Any] = {
                "Role": role.role_arn,
                "Layers": [layer.layer_version_arn],
                "Timeout": c.FUNCTION_TIMEOUTS[function],
                "MemorySize": c.FUNCTION_MEMORY[function],
                "ReservedConcurrentExecutions": config.reserved_concurrency[function],
                "LoggingConfig": {"LogGroup": log_group.log_group_name, "LogFormat": "Text"},
            }
            for name, value in props.items():
                resource.add_property_override(name, value)
            for name, value in environment.items():
                resource.add_property_override(f"Environment.Variables.{name}", value)
            resource.node.add_dependency(roles.access_of(role))

        missing = set(c.SCHEDULED_FUNCTIONS) - set(job_dead_letter_arns)
        assert not missing, f"no dead-letter queue for {missing}"
        for function, dead_letters_arn in job_dead_letter_arns.items():
            # Lambda retries a failed scheduled event twice, then sends it here (with the execution role).
            self.chalice.get_resource(function).add_property_override(
                "DeadLetterQueue", {"Type": "SQS", "TargetArn": dead_letters_arn})

        assert set(consumer_queue_arns) == set(c.SQS_CONSUMERS), "every SQS consumer needs its stage's queue"
        for function, queue_arn in consumer_queue_arns.items():
            # Chalice points the event source at the app's queue name (mes-upload-events, mes-agenda-shards, ...):
            # replace it with the stage's queue; partial batch responses; bounded concurrency (never starves the API).
            source = f"Events.{function}SqsEventSource.Properties"
            consumer = self.chalice.get_resource(function)
            consumer.add_property_override(f"{source}.Queue", queue_arn)
            consumer.add_property_override(f"{source}.FunctionResponseTypes", ["ReportBatchItemFailures"])
            consumer.add_property_override(f"{source}.ScalingConfig",
                                           {"MaximumConcurrency": config.max_concurrency[function]})

        self.api_name = f"{c.PREFIX}-{stage}-api"
        self.access_logs = _log_group(self, "AccessLogs", f"/{c.PREFIX}/{stage}/api/access", config, data_key)
        rest_api = self.chalice.get_resource(c.CHALICE_REST_API)
        rest_api.add_property_override("Name", self.api_name)
        rest_api.add_property_override("DefinitionBody.info.title", self.api_name)
        rest_api.add_property_override("DefinitionBody.x-amazon-apigateway-gateway-responses",
                                       _gateway_responses(config.cors_allowed_origins))
        rest_api.add_property_override(
            f"DefinitionBody.securityDefinitions.{c.AUTHORIZER_NAME}.x-amazon-apigateway-authorizer."
            "identityValidationExpression", c.BEARER_VALIDATION_EXPRESSION)
        for path, methods in _paths(Path(self.chalice._sam_package_dir)).items():
            escaped = path.replace(".", "\\.")  # a literal dot in an override path (e.g. /v1/openapi.json)
            rest_api.add_property_override(f"DefinitionBody.paths.{escaped}.options",
                                           preflight(methods, config.cors_allowed_origins))
        rest_api.add_property_override("TracingEnabled", True)
        rest_api.add_property_override("AccessLogSetting", {
            "DestinationArn": self.access_logs.log_group_arn,
            "Format": json.dumps(c.ACCESS_LOG_FIELDS, separators=(",", ":")),
        })
        rest_api.add_property_override("MethodSettings", [{
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "LoggingLevel": "ERROR",
            "DataTraceEnabled": False,  # full request/response logging would put health data in logs
            "MetricsEnabled": True,
            "ThrottlingRateLimit": config.api_rate_limit,
            "ThrottlingBurstLimit": config.api_burst_limit,
        }, *({  # the public enrolment routes: strict limits of their own (a stage setting per method)
            "ResourcePath": "/" + path.replace("/", "~1"),
            "HttpMethod": method,
            "LoggingLevel": "ERROR",
            "DataTraceEnabled": False,
            "MetricsEnabled": True,
            "ThrottlingRateLimit": min(c.ENROLMENT_RATE_LIMIT, config.api_rate_limit),
            "ThrottlingBurstLimit": min(c.ENROLMENT_BURST_LIMIT, config.api_burst_limit),
        } for method, path in c.ENROLMENT_ROUTES)])
        rest_api.node.add_dependency(self._gateway_account())

    def _gateway_account(self) -> apigw.CfnAccount:
        """Execution and access logging need the region's API Gateway account to hold a CloudWatch role."""
        role = iam.Role(self, "GatewayLogsRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
                        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
                            "service-role/AmazonAPIGatewayPushToCloudWatchLogs")])
        acknowledge(role, "AWS's managed policy for API Gateway's logging role is the documented setup; only the API "
                    "Gateway service can assume this role.",
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AmazonAPIGatewayPushToCloudWatchLogs]")
        account = apigw.CfnAccount(self, "GatewayAccount", cloud_watch_role_arn=role.role_arn)
        account.apply_removal_policy(cdk.RemovalPolicy.RETAIN)  # a region-wide setting other APIs may rely on
        return account

    def function_ref(self, function: str) -> str:
        return self.chalice.get_resource(function).ref


def _log_group(scope: Construct, construct_id: str, name: str, config: StageConfig,
               key: kms.IKey) -> logs.LogGroup:
    """KMS-encrypted, retained on stack deletion, kept `log_retention_days` (a stage parameter)."""
    group = logs.LogGroup(scope, construct_id, log_group_name=name, encryption_key=key,
                          retention=logs.RetentionDays.ONE_YEAR, removal_policy=cdk.RemovalPolicy.RETAIN)
    cfn = group.node.default_child
    assert isinstance(cfn, logs.CfnLogGroup)
    cfn.retention_in_days = config.log_retention_days
    return group
