"""A local AWS for the real CDK CLI: ``python scripts/local_aws.py serve [--port N]``.

moto's server on 127.0.0.1, with the adaptations that let ``npx cdk bootstrap``, ``cdk deploy``,
``cdk deploy --parameters`` and ``cdk destroy`` run the product's whole lifecycle as they do in
an account. Pinned emulator: moto 5.2.5 (requirements-dev.txt); :func:`serve` refuses any other
version, because every adaptation patches that version's internals. Each adaptation is one
function in :data:`ADAPTATIONS`, documented with the AWS behaviour it stands for; ``--without
NAME`` leaves one out, and tests/e2e/test_cli_adaptations_necessary.py shows what breaks then:

    resource_types      CloudFormation models for the types moto lacks (alarms, composite
                        alarms, topic and bucket policies), so Fn::GetAtt on them resolves
    catalog_types       Glue databases and tables and Athena workgroups, created in moto's Glue
                        and Athena backends (moto's CloudFormation skips them)
    cloudtrail_lookup   LookupEvents answers (empty): the CLI asks it after a failed deploy
    lambda_runtime      Lambda runs the packaged Python code in a subprocess (moto needs Docker);
                        the Provider framework's Node.js function is played in Python
    change_sets         a missing change set answers ChangeSetNotFound; deleting one is a no-op
    ssm_parameters      UsePreviousValue on an SSM-typed parameter keeps the parameter's path
    custom_resources    ExecuteChangeSet and DeleteStack as CloudFormation does them: custom
                        resources get Create/Update/Delete in dependency order and their answer
                        (PhysicalResourceId, FAILED → rollback) decides the outcome; an endpoint
                        follows a replaced config (UpdateEndpoint); Outputs are computed
    shadow_variants     an endpoint config keeps its ShadowProductionVariants, and DescribeEndpoint
                        lists the current config's shadow (moto drops both)

The CLI needs two client-side settings as well (:func:`cli_environment`). Lambda functions'
InvokeEndpoint can be sent to a stub (``--sagemaker-runtime-url``): moto's returns canned bodies.
What local mode still does not reproduce is listed in the README ("local mode").
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from moto.server import ThreadedMotoServer

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
PROVIDER_POLL_SECONDS = 0.2  # the Provider framework's query interval, shortened for local runs

_LAMBDA_RUNNER = """
import importlib, json, sys, time
module_name, function_name = sys.argv[1].rsplit(".", 1)
deadline = time.monotonic() + float(sys.argv[2])
class Context:
    def get_remaining_time_in_millis(self):
        return int((deadline - time.monotonic()) * 1000)
event = json.load(sys.stdin)
try:
    result = getattr(importlib.import_module(module_name), function_name)(event, Context())
    print(json.dumps({"ok": True, "result": result}, default=str))
except Exception as err:
    print(json.dumps({"ok": False, "errorType": type(err).__name__, "errorMessage": str(err)}))
"""


def _as_cloudformation_strings(value: Any) -> Any:
    """Every scalar as a string, as CloudFormation delivers resource properties."""
    if isinstance(value, dict):
        return {k: _as_cloudformation_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_cloudformation_strings(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def custom_resource_event(
    request_type: str,
    *,
    stack_id: str,
    logical_id: str,
    resource_type: str,
    properties: Mapping[str, Any],
    physical_id: str | None = None,
    old_properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A custom resource event exactly as CloudFormation sends it: every property a string."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/local",
        "StackId": stack_id,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": _as_cloudformation_strings(properties),
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = _as_cloudformation_strings(old_properties)
    return event


def move_endpoint_to_config(endpoint_name: str, config_name: str, *, retain_all: bool, excluded: set[str]) -> bool:
    """UpdateEndpoint's documented effect, applied to moto's record of the endpoint.

    Variants come from the new config. With ``retain_all``, a variant that existed before keeps
    its live weight and instance count, except the properties named in ``excluded``
    (``DesiredWeight``, ``DesiredInstanceCount``), which come from the new config. Returns
    whether anything moved.
    """
    from moto.sagemaker.models import sagemaker_backends

    backend = sagemaker_backends[ACCOUNT][REGION]
    endpoint = backend.endpoints[endpoint_name]
    if endpoint.endpoint_config_name == config_name:
        return False
    config = backend.endpoint_configs[config_name]
    before = {v["VariantName"]: v for v in endpoint.production_variants}
    variants = endpoint._process_production_variants(config.production_variants)
    if retain_all:
        for variant in variants:
            old = before.get(variant["VariantName"])
            if old is None:
                continue
            if "DesiredWeight" not in excluded:
                for key in ("CurrentWeight", "DesiredWeight"):
                    variant[key] = old.get(key, variant.get(key))
            if "DesiredInstanceCount" not in excluded:
                for key in ("CurrentInstanceCount", "DesiredInstanceCount"):
                    variant[key] = old.get(key, variant.get(key))
    endpoint.production_variants = variants
    endpoint.endpoint_config_name = config_name
    return True


# =================================================================================================
# The server: ``python scripts/local_aws.py serve``
# =================================================================================================

MOTO_VERSION = "5.2.5"  # every adaptation below is written against this version's internals
CUSTOM_RESOURCE_TIMEOUT = 300.0  # seconds; CloudFormation waits up to an hour (ServiceTimeout)
_responses: dict[str, dict[str, Any]] = {}  # custom resource answers, by RequestId
_responses_changed = threading.Condition()
_server_url = ""
_runtime_url = ""  # where the functions' InvokeEndpoint goes (a stub), if not to moto


def cli_environment(url: str) -> dict[str, str]:
    """What the CDK CLI needs in its environment to deploy into the server at ``url``.

    Fake credentials make the CLI resolve an account (moto's STS answers 123456789012) and pin
    the stacks' environment, as real credentials do. ``AWS_ENDPOINT_URL`` sends every SDK call
    to the server. The CLI hands CloudFormation a TemplateURL built from the S3 endpoint;
    moto reads a TemplateURL's bucket from the path only for ``localhost`` or
    ``s3*.amazonaws.com`` hosts (moto/cloudformation/utils.py), so the CLI's documented
    ``AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION`` names ``localhost``, still loopback.
    """
    port = url.rsplit(":", 1)[1]
    return {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": url,
        "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": f"http://localhost:{port}",
        "AWS_EC2_METADATA_DISABLED": "true",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "CDK_DISABLE_VERSION_CHECK": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }


# --- resource_types ------------------------------------------------------------------------------


class _RecordedResource:
    """A resource CloudFormation creates but moto cannot model: recorded, with Ref and Arn.

    AWS creates CloudWatch alarms and composite alarms, SNS topic policies and S3 bucket
    policies; moto 5.2.5 has no CloudFormation model for them, so a template that reads an
    alarm's ``Arn`` (the dashboard, the composite alarm) fails ExecuteChangeSet with
    "Fn::GetAtt references undefined resource". These records answer Ref (the name, as AWS
    does for alarms) and ``Arn``; nothing evaluates the alarms locally.
    """

    arn_service = ""
    arn_kind = ""

    def __init__(self, name: str, account_id: str, region_name: str) -> None:
        self.name = name
        self.arn = f"arn:aws:{self.arn_service}:{region_name}:{account_id}:{self.arn_kind}:{name}"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        return cls(resource_name, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        return cls(original_resource.name, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing to delete: the record was all there was."""


def _adapt_resource_types() -> None:
    """CloudFormation creates every resource type the template names; moto 5.2.5 skips the four
    below, and a reference to one fails the stack. Registers :class:`_RecordedResource` models."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    kinds = {  # type → (name property, ARN service, ARN resource kind)
        "AWS::CloudWatch::Alarm": ("AlarmName", "cloudwatch", "alarm"),
        "AWS::CloudWatch::CompositeAlarm": ("AlarmName", "cloudwatch", "alarm"),
        "AWS::SNS::TopicPolicy": ("", "sns", "topic-policy"),
        "AWS::S3::BucketPolicy": ("", "s3", "bucket-policy"),
    }
    for resource_type, (name_property, service, kind) in kinds.items():
        # moto lists models with CloudFormationModel.__subclasses__(): a direct subclass is needed.
        type(
            "Local" + resource_type.replace("::", ""),
            (_RecordedResource, CloudFormationModel),
            {
                "arn_service": service,
                "arn_kind": kind,
                "cloudformation_type": staticmethod(lambda t=resource_type: t),
                "cloudformation_name_type": staticmethod(lambda n=name_property: n),
            },
        )
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


class _CatalogResource:
    """A Glue database, Glue table or Athena workgroup that CloudFormation creates and moto 5.2.5's
    CloudFormation does not: created in (and deleted from) moto's own Glue and Athena backends, so
    ``aws glue get-table`` and ``aws athena get-work-group`` show what the stack declared, and Ref
    answers the name (as AWS does for all three). Nothing runs a query locally: moto's Athena answers
    StartQueryExecution without reading any data (README, "not reproduced locally")."""

    def __init__(self, name: str, parent: str, account_id: str, region_name: str) -> None:
        self.name, self.parent, self.account_id, self.region_name = name, parent, account_id, region_name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        name, parent = cls.create(cloudformation_json.get("Properties", {}), account_id, region_name)
        return cls(name, parent, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @staticmethod
    def create(properties: Mapping[str, Any], account_id: str, region_name: str) -> tuple[str, str]:
        raise NotImplementedError

    def delete(self, account_id: str, region_name: str) -> None:
        raise NotImplementedError


class _GlueDatabase(_CatalogResource):
    @staticmethod
    def create(properties: Mapping[str, Any], account_id: str, region_name: str) -> tuple[str, str]:
        from moto.glue.models import glue_backends

        database_input = dict(properties["DatabaseInput"])
        glue_backends[account_id][region_name].create_database(database_input["Name"], database_input)
        return database_input["Name"], ""

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.glue.models import glue_backends

        backend = glue_backends[account_id][region_name]
        if self.name in backend.databases:  # its tables may have gone first, or taken it along
            backend.delete_database(self.name)


class _GlueTable(_CatalogResource):
    @staticmethod
    def create(properties: Mapping[str, Any], account_id: str, region_name: str) -> tuple[str, str]:
        from moto.glue.models import glue_backends

        table_input = dict(properties["TableInput"])
        database = properties["DatabaseName"]
        glue_backends[account_id][region_name].create_table(database, table_input["Name"], table_input)
        return table_input["Name"], database

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.glue.models import glue_backends

        database = glue_backends[account_id][region_name].databases.get(self.parent)
        if database is not None:
            database.tables.pop(self.name, None)


class _AthenaWorkGroup(_CatalogResource):
    @staticmethod
    def create(properties: Mapping[str, Any], account_id: str, region_name: str) -> tuple[str, str]:
        from moto.athena.models import athena_backends

        athena_backends[account_id][region_name].create_work_group(
            name=properties["Name"],
            configuration=properties.get("WorkGroupConfiguration", {}),
            description=properties.get("Description", ""),
            tags=properties.get("Tags", []),
        )
        return properties["Name"], ""

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.athena.models import athena_backends

        athena_backends[account_id][region_name].delete_work_group(self.name)


def _adapt_catalog_types() -> None:
    """CloudFormation creates Glue databases and tables and Athena workgroups (the live-quality
    tables and their workgroup); moto 5.2.5's CloudFormation skips all three with a warning, so the
    stack reports success with no catalog behind it. Registers :class:`_CatalogResource` models."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    for resource_type, model in (
        ("AWS::Glue::Database", _GlueDatabase),
        ("AWS::Glue::Table", _GlueTable),
        ("AWS::Athena::WorkGroup", _AthenaWorkGroup),
    ):
        type(
            "Local" + resource_type.replace("::", ""),
            (model, CloudFormationModel),
            {
                "cloudformation_type": staticmethod(lambda t=resource_type: t),
                # Their names are nested (DatabaseInput.Name) or set by create(): no name property here.
                "cloudformation_name_type": staticmethod(lambda: ""),
            },
        )
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


# --- lambda_runtime --------------------------------------------------------------------------------


def _run_python_function(function: Any, event: Any) -> tuple[bool, Any]:
    """Run a Python function from the zip CloudFormation created it from, in a subprocess with
    its handler, environment and timeout, against this server: what Lambda does (moto runs
    functions only in Docker, absent here). Returns (ok, result or Lambda's error payload)."""
    with tempfile.TemporaryDirectory(prefix="local-lambda-") as code:
        with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
            archive.extractall(code)  # our own asset, uploaded by this run's `cdk deploy`
        timeout = int(function.timeout or 3)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": code,
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_ENDPOINT_URL": _server_url,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            **{k: str(v) for k, v in (function.environment_vars or {}).items()},
        }
        if _runtime_url:
            env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = _runtime_url
        completed = subprocess.run(  # noqa: S603 (our interpreter, our code)
            [sys.executable, "-c", _LAMBDA_RUNNER, function.handler, str(timeout)],
            cwd=code,
            env=env,
            input=json.dumps(event),
            capture_output=True,
            text=True,
            timeout=timeout + 30,
            check=False,
        )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        return False, {"errorType": "Runtime.ExitError", "errorMessage": completed.stderr.strip()[-2000:]}
    outcome = json.loads(lines[-1])
    if not outcome["ok"]:
        return False, {"errorType": outcome["errorType"], "errorMessage": outcome["errorMessage"]}
    return True, outcome["result"]


def _play_provider_framework(framework: Any, event: dict[str, Any]) -> dict[str, Any]:
    """What aws-cdk-lib's ``custom_resources.Provider`` does with a CloudFormation event.

    The framework function is Node.js and its waiter is a Step Functions state machine, neither
    of which moto runs. Played here: the user ``on_event`` once, then ``is_complete`` until it
    says so; PhysicalResourceId defaults to the request's (Update/Delete) or the RequestId
    (Create); an error becomes FAILED with the function's message. The answer goes to the
    event's ResponseURL, as the framework's does. Every property arrives as a string, as
    CloudFormation sends them (moto passes numbers through).
    """
    from moto.awslambda.utils import get_backend

    backend = get_backend(framework.account_id, framework.region)
    variables = framework.environment_vars or {}
    event = {**event, "ResourceProperties": _as_cloudformation_strings(event["ResourceProperties"])}
    if "OldResourceProperties" in event:
        event["OldResourceProperties"] = _as_cloudformation_strings(event["OldResourceProperties"])
    physical_id = event.get("PhysicalResourceId", event["RequestId"])
    response: dict[str, Any] = {"Status": "SUCCESS", "PhysicalResourceId": physical_id, "Data": {}}
    ok, result = _run_python_function(backend.get_function(variables["USER_ON_EVENT_FUNCTION_ARN"]), event)
    if ok:
        response["PhysicalResourceId"] = (result or {}).get("PhysicalResourceId", physical_id)
        response["Data"] = dict((result or {}).get("Data", {}))
        checker = variables.get("USER_IS_COMPLETE_FUNCTION_ARN")
        deadline = time.monotonic() + CUSTOM_RESOURCE_TIMEOUT
        while checker and ok:
            polled_event = {**event, "PhysicalResourceId": response["PhysicalResourceId"], "Data": response["Data"]}
            ok, result = _run_python_function(backend.get_function(checker), polled_event)
            if ok and result.get("IsComplete"):
                response["Data"].update(result.get("Data", {}))
                break
            if time.monotonic() > deadline:
                ok, result = False, {"errorMessage": "Operation timed out"}
            time.sleep(PROVIDER_POLL_SECONDS)
    if not ok:
        response = {"Status": "FAILED", "Reason": result["errorMessage"], "PhysicalResourceId": physical_id}
    _answer(event, response)
    return response


def _answer(event: Mapping[str, Any], response: Mapping[str, Any]) -> None:
    """PUT the answer to the event's ResponseURL, which must be this server."""
    url = event["ResponseURL"]
    if not url.startswith(_server_url + "/"):
        raise RuntimeError(f"refusing to answer a custom resource anywhere but this server: {url}")
    body = {
        "Status": response["Status"],
        "Reason": response.get("Reason", "See the local server's output"),
        "PhysicalResourceId": response["PhysicalResourceId"],
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": response.get("Data", {}),
    }
    stack_id = event["StackId"]
    request = urllib.request.Request(  # noqa: S310 (this server, on loopback)
        url.replace(f"stack={stack_id}", f"stack={quote(stack_id, safe='')}"),
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": ""},
    )
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310
        pass


def _adapt_lambda_runtime() -> None:
    """Lambda runs the function's code; moto runs it only in Docker (absent here) and otherwise
    answers a canned payload. Every invocation — the Lambda Invoke API, and CloudFormation's
    custom resource events — runs the packaged Python code (:func:`_run_python_function`); the
    Provider framework's Node.js function is played (:func:`_play_provider_framework`)."""
    from moto.awslambda.models import LambdaFunction

    def invoke_lambda(function: Any, event: Any = None) -> tuple[str, bool, str]:
        event = json.loads(event) if isinstance(event, (str, bytes)) else (event or {})
        if "USER_ON_EVENT_FUNCTION_ARN" in (function.environment_vars or {}):
            try:
                return json.dumps(_play_provider_framework(function, event)), False, ""
            except Exception as err:  # the framework answers FAILED rather than leave CloudFormation waiting
                failed = {"Status": "FAILED", "Reason": f"{type(err).__name__}: {err}"}
                _answer(event, {**failed, "PhysicalResourceId": event.get("PhysicalResourceId", event["RequestId"])})
                return json.dumps(failed), True, ""
        if not str(function.run_time).startswith("python"):
            error = {"errorType": "Local", "errorMessage": f"only Python runs locally, not {function.run_time}"}
            return json.dumps(error), True, ""
        ok, result = _run_python_function(function, event)
        return json.dumps(result, default=str), not ok, ""

    LambdaFunction._invoke_lambda = invoke_lambda  # type: ignore[method-assign,assignment]


# --- change_sets -------------------------------------------------------------------------------------


def _adapt_change_sets() -> None:
    """DescribeChangeSet of a missing change set answers ``ChangeSetNotFound`` (404) on AWS; moto
    answers ValidationError, which the CLI takes for a real error before every deploy (it looks
    for a leftover ``cdk-deploy-change-set``). DeleteChangeSet of a missing set: moto crashes."""
    from moto.cloudformation.exceptions import CloudFormationError
    from moto.cloudformation.models import CloudFormationBackend

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFound"

        def __init__(self, name: str) -> None:
            super().__init__(f"ChangeSet [{name}] does not exist")
            self.status_code = 404

    original_describe = CloudFormationBackend.describe_change_set
    original_delete = CloudFormationBackend.delete_change_set

    def known(backend: Any, name: str) -> bool:
        return name in backend.change_sets or any(c.change_set_name == name for c in backend.change_sets.values())

    def describe_change_set(self: Any, change_set_name: str) -> Any:
        if not known(self, change_set_name):
            raise ChangeSetNotFound(change_set_name)
        return original_describe(self, change_set_name)

    def delete_change_set(self: Any, change_set_name: str) -> None:
        if known(self, change_set_name):
            original_delete(self, change_set_name)

    CloudFormationBackend.describe_change_set = describe_change_set  # type: ignore[method-assign]
    CloudFormationBackend.delete_change_set = delete_change_set  # type: ignore[method-assign]


# --- ssm_parameters ----------------------------------------------------------------------------------


def _adapt_ssm_parameters() -> None:
    """A parameter of type ``AWS::SSM::Parameter::Value<…>`` holds an SSM *path*; CloudFormation
    resolves it at each deploy, and ``UsePreviousValue`` reuses the path (the CLI sends it for
    ``BootstrapVersion`` on every update). moto reuses the resolved value, then tries to resolve
    "30" as a path and fails."""
    from moto.cloudformation.models import Stack

    def stack_parameters(self: Any) -> dict[str, Any]:
        resolved = dict(self.resource_map.resolved_parameters)
        self._parse_template()
        for key, slot in (self.template_dict.get("Parameters") or {}).items():
            if str(slot.get("Type", "")).startswith("AWS::SSM::Parameter::Value") and key in resolved:
                resolved[key] = self.resource_map.input_parameters.get(key, slot.get("Default"))
        return resolved

    Stack.stack_parameters = property(stack_parameters)  # type: ignore[method-assign,assignment]


# --- custom_resources ----------------------------------------------------------------------------------


_SUB_REFERENCE = re.compile(r"\$\{([^!}][^}]*)\}")  # ${Name} or ${Name.Attr}; ${!Literal} is not one


def dependency_order(resources: Mapping[str, Any]) -> list[str]:
    """Logical ids so that each comes after everything it refers to (Ref, Fn::GetAtt,
    DependsOn, ${…} in Fn::Sub): the order CloudFormation creates and updates in."""

    def references(node: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref" and isinstance(value, str):
                    found.add(value)
                elif key == "Fn::GetAtt":
                    found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
                elif key == "Fn::Sub":
                    text = value[0] if isinstance(value, list) else value
                    found |= {m.split(".")[0] for m in _SUB_REFERENCE.findall(text)}
                    found |= references(value[1] if isinstance(value, list) else None)
                else:
                    found |= references(value)
        elif isinstance(node, list):
            for item in node:
                found |= references(item)
        return found

    needs = {}
    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn", [])
        needs[logical_id] = (
            references(resource.get("Properties", {})) | set([depends] if isinstance(depends, str) else depends)
        ) & set(resources)
    ordered: list[str] = []
    while needs:
        ready = sorted(k for k, v in needs.items() if not v - set(ordered))
        if not ready:
            raise ValueError(f"circular references between {sorted(needs)}")
        ordered += ready
        for k in ready:
            del needs[k]
    return ordered


def _await_answer(request_id: str, timeout: float = CUSTOM_RESOURCE_TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with _responses_changed:
        while request_id not in _responses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return {"Status": "FAILED", "Reason": "the custom resource did not answer in time"}
            _responses_changed.wait(remaining)
        return _responses.pop(request_id)


def _send_event(stack: Any, custom: Any, request_type: str, new: Any, old: Any = None) -> dict[str, Any]:
    """An Update or Delete event in CloudFormation's shape, sent to the service token; its answer."""
    from moto.awslambda.utils import get_backend

    request_id = str(uuid.uuid4())
    event = custom_resource_event(
        request_type,
        stack_id=stack.stack_id,
        logical_id=custom.logical_id,
        resource_type=custom.cf_resource_type,
        properties=new,
        physical_id=custom.resource_name,
        old_properties=old,
    )
    event["RequestId"] = request_id
    event["ResponseURL"] = f"{_server_url}/cloudformation_{stack.region_name}/cfnresponse?stack={stack.stack_id}"
    function = get_backend(stack.account_id, stack.region_name).get_function(new["ServiceToken"])
    function.invoke(json.dumps(event), {}, {})
    return _await_answer(request_id)


def _resource_event(stack: Any, logical_id: str, resource_type: str, status: str, reason: str = "") -> None:
    from moto.cloudformation.models import Event

    resource = stack.resource_map._parsed_resources.get(logical_id)
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=getattr(resource, "physical_resource_id", logical_id),
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason or None,
            resource_properties=None,
        )
    )


def _resolved(stack: Any, logical_id: str) -> Any:
    from moto.cloudformation.parsing import clean_json

    resource = stack.resource_map._resource_json_map.get(logical_id)
    return None if resource is None else clean_json(resource.get("Properties", {}), stack.resource_map)


def _create_custom_resources(stack: Any) -> str | None:
    """Wait for the answers to the Create events moto sent; honour PhysicalResourceId and
    FAILED. Returns the failure, if any."""
    for logical_id in dependency_order(stack.resource_map._resource_json_map):
        custom = stack.custom_resources.get(logical_id)
        if custom is None:
            continue
        answer = _await_answer(custom.request_id)
        if answer["Status"] != "SUCCESS":
            _resource_event(stack, logical_id, custom.cf_resource_type, "CREATE_FAILED", answer.get("Reason", ""))
            return f"{logical_id}: {answer.get('Reason')}"
        custom.resource_name = answer["PhysicalResourceId"]
        custom.set_data(answer.get("Data") or {})
        _resource_event(stack, logical_id, custom.cf_resource_type, "CREATE_COMPLETE")
    return None


def _follow_and_update(stack: Any, before: Mapping[str, Any], customs: Mapping[str, Any]) -> str | None:
    """After moto applied an update: what CloudFormation does that moto does not, in dependency
    order. An endpoint whose config was replaced gets UpdateEndpoint (SageMaker's documented
    retention rules, :func:`move_endpoint_to_config`); a custom resource whose resolved
    properties changed gets an Update event. Returns the failure, if any."""
    resources = stack.resource_map._resource_json_map
    for logical_id in dependency_order(resources):
        resource_type = resources[logical_id]["Type"]
        now = _resolved(stack, logical_id)
        if resource_type == "AWS::SageMaker::Endpoint":
            endpoint = stack.resource_map[logical_id]
            retained = {p["VariantPropertyType"] for p in now.get("ExcludeRetainedVariantProperties", [])}
            if move_endpoint_to_config(
                endpoint.endpoint_name,
                now["EndpointConfigName"],
                retain_all=str(now.get("RetainAllVariantProperties")).lower() == "true",
                excluded=retained,
            ):
                _resource_event(stack, logical_id, resource_type, "UPDATE_COMPLETE")
        elif logical_id in customs:
            custom = customs[logical_id]
            stack.resource_map._parsed_resources[logical_id] = custom  # moto sets it to None
            if logical_id in before and before[logical_id] != now:
                answer = _send_event(stack, custom, "Update", now, before[logical_id])
                if answer["Status"] != "SUCCESS":
                    _resource_event(stack, logical_id, resource_type, "UPDATE_FAILED", answer.get("Reason", ""))
                    return f"{logical_id}: {answer.get('Reason')}"
                custom.resource_name = answer["PhysicalResourceId"]
                custom.set_data(answer.get("Data") or {})
                _resource_event(stack, logical_id, resource_type, "UPDATE_COMPLETE")
    return None


def _adapt_custom_resources() -> None:
    """CloudFormation sends a custom resource Create, then Update whenever its resolved properties
    change (also when a resource it refers to was replaced), and Delete with the stack; it waits
    for each answer, takes the PhysicalResourceId and Data from it, and on FAILED rolls the
    update back (an Update with the previous properties) and keeps the stack's previous template
    and parameters. moto 5.2.5 sends only Create, never waits (ExecuteChangeSet reports success
    at once, without Outputs), drops FAILED answers, and leaves an endpoint on a replaced config.
    Here ExecuteChangeSet and DeleteStack do what CloudFormation does, in dependency order.
    Not reproduced: a failed *create* ends ROLLBACK_COMPLETE without deleting what it created.
    """
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse

    original_execute = CloudFormationBackend.execute_change_set
    original_delete = CloudFormationBackend.delete_stack

    def process_cfn_response(self: Any) -> Any:
        """Record every answer (moto drops FAILED ones and the PhysicalResourceId)."""
        answer = {k: self._get_param(k) for k in ("Status", "Reason", "PhysicalResourceId", "RequestId", "Data")}
        with _responses_changed:
            _responses[answer["RequestId"]] = answer
            _responses_changed.notify_all()
        return 200, {"status": 200}, json.dumps("{}")

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        kind = change_set.change_set_type
        if kind == "CREATE":
            original_execute(self, change_set_name, stack_name)
            stack._parse_template()
            failure = _create_custom_resources(stack)
        else:
            stack._parse_template()
            previous = (stack.template, dict(stack.resource_map.input_parameters))
            customs = dict(stack.custom_resources)
            before = {k: _resolved(stack, k) for k in customs}
            original_execute(self, change_set_name, stack_name)
            stack._parse_template()
            failure = _follow_and_update(stack, before, customs)
            if failure:
                # Rollback: the previous template and parameters, and the custom resources get
                # an Update back to their previous properties, as CloudFormation sends it.
                stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=failure)
                rolled_forward = {k: _resolved(stack, k) for k in customs}
                stack.template = previous[0]
                stack._parse_template()
                stack.resource_map.update(stack.template_dict, previous[1])
                _follow_and_update(stack, rolled_forward, customs)
        stack.output_map = stack._create_output_map()
        if failure:
            status = "ROLLBACK_COMPLETE" if kind == "CREATE" else "UPDATE_ROLLBACK_COMPLETE"
            stack._add_stack_event(status, resource_status_reason=failure)
            stack.status = status
            change_set.execution_status = "EXECUTE_FAILED"

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        stacks = [s for s in self.stacks.values() if name_or_stack_id in (s.stack_id, s.name)]
        for stack in stacks:
            resources = stack.resource_map._resource_json_map
            for logical_id in reversed(dependency_order(resources)):
                custom = stack.custom_resources.get(logical_id)
                if custom is None or resources[logical_id].get("DeletionPolicy") == "Retain":
                    continue
                answer = _send_event(stack, custom, "Delete", _resolved(stack, logical_id))
                if answer["Status"] != "SUCCESS":
                    reason = answer.get("Reason", "")
                    _resource_event(stack, logical_id, custom.cf_resource_type, "DELETE_FAILED", reason)
                    stack._add_stack_event("DELETE_FAILED", resource_status_reason=f"{logical_id}: {reason}")
                    stack.status = "DELETE_FAILED"
                    return
                _resource_event(stack, logical_id, custom.cf_resource_type, "DELETE_COMPLETE")
            original_delete(self, stack.stack_id)

    CloudFormationResponse.process_cfn_response = process_cfn_response  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]
    CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]


# --- shadow_variants ---------------------------------------------------------------------------------


def _keep_shadow_variants(backend: Any, config: Any, shadow_variants: Any) -> None:
    """Store a config's ShadowProductionVariants on moto's record of it (DescribeEndpointConfig then lists
    them, as it lists every attribute), after moto's own check on production variants: the model must exist.
    A refused config is removed again, as AWS would not have created it."""
    if not shadow_variants:
        return
    try:
        backend.validate_production_variants(shadow_variants)
    except Exception:
        backend.endpoint_configs.pop(config.endpoint_config_name, None)
        raise
    config.shadow_production_variants = [dict(variant) for variant in shadow_variants]


def _adapt_shadow_variants() -> None:
    """An endpoint config may name one shadow variant, ``ShadowProductionVariants``: "An array of
    ProductionVariant objects, one for each model that you want to host at this endpoint in shadow mode with
    production traffic replicated from the model specified on ProductionVariants" (CreateEndpointConfig,
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html), and
    DescribeEndpoint reports it apart from the production variants, as "An array of ProductionVariantSummary
    objects" (DescribeEndpoint, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html):
    ``VariantName``, ``CurrentWeight``, ``DesiredWeight``, ``CurrentInstanceCount``, ``DesiredInstanceCount``
    (ProductionVariantSummary,
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantSummary.html).
    moto 5.2.5 drops the field from CreateEndpointConfig (API and CloudFormation alike) and so from both
    Describe calls: a shadow stage deploys "successfully" with no shadow anywhere.

    Here the config keeps the shadow, and DescribeEndpoint lists the shadow of the endpoint's *current*
    config, summarised as moto summarises production variants (the config's InitialVariantWeight as
    CurrentWeight and DesiredWeight, InitialInstanceCount as both counts; a weight of 0 shows none, as for
    production variants). What that assumes:

    * The weight reported is the config's weight, untouched: nothing here changes a shadow's weight in place
      (whether UpdateEndpointWeightsAndCapacities accepts a shadow's name is UNVERIFIED, design Q2; moto
      refuses it, naming the variant as absent), and after UpdateEndpoint the shadow is the new config's
      (whether SageMaker retains a shadow's properties under RetainAllVariantProperties is undocumented;
      the stack excludes the weights from retention beside a shadow, so both readings give this weight).
    * What that weight *means* (the share of production requests replicated) is UNVERIFIED (design Q1):
      the InvokeEndpoint stub (scripts/stub_shadow.py) reads it under hypothesis H1,
      ``lambdas/endpoint_weights/shadow_sampling.py``.
    * Not enforced here: "you can only specify one variant for ProductionVariants and one variant for
      ShadowProductionVariants" (the config loader refuses anything else before synth).
    """
    from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, sagemaker_backends
    from moto.sagemaker.responses import SageMakerResponse

    original_cfn_create = FakeEndpointConfig.create_from_cloudformation_json
    original_api_create = SageMakerResponse.create_endpoint_config
    original_endpoint_response = FakeEndpoint.response_object

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        config = original_cfn_create(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        shadows = cloudformation_json["Properties"].get("ShadowProductionVariants")
        _keep_shadow_variants(sagemaker_backends[account_id][region_name], config, shadows)
        return config

    def create_endpoint_config(self: Any) -> Any:
        result = original_api_create(self)
        backend = self.sagemaker_backend
        config = backend.endpoint_configs[self._get_param("EndpointConfigName")]
        _keep_shadow_variants(backend, config, self._get_param("ShadowProductionVariants"))
        return result

    def endpoint_response(self: Any) -> dict[str, Any]:
        response: dict[str, Any] = original_endpoint_response.fget(self)  # type: ignore[attr-defined]
        _, _, _, region, account, _ = self.arn.split(":", 5)
        config = sagemaker_backends[account][region].endpoint_configs.get(self.endpoint_config_name)
        shadows = getattr(config, "shadow_production_variants", None)
        if shadows:
            response["ShadowProductionVariants"] = self._process_production_variants(shadows)
        return response

    FakeEndpointConfig.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[method-assign,assignment]
    SageMakerResponse.create_endpoint_config = create_endpoint_config  # type: ignore[method-assign]
    FakeEndpoint.response_object = property(endpoint_response)  # type: ignore[method-assign,assignment]


# --- cloudtrail_lookup -----------------------------------------------------------------------------


def _adapt_cloudtrail_lookup() -> None:
    """After a failed deploy the CLI asks CloudTrail ``LookupEvents`` for control-plane errors to
    explain the failure; AWS answers with the account's recent management events (none here).
    moto 5.2.5 does not implement LookupEvents: it answers 500, the SDK retries with backoff,
    and the refused deploy takes 40 s instead of 15."""
    from moto.cloudtrail.responses import CloudTrailResponse

    def lookup_events(self: Any) -> str:
        return json.dumps({"Events": []})

    CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]


ADAPTATIONS = {
    "resource_types": _adapt_resource_types,
    "catalog_types": _adapt_catalog_types,
    "cloudtrail_lookup": _adapt_cloudtrail_lookup,
    "lambda_runtime": _adapt_lambda_runtime,
    "change_sets": _adapt_change_sets,
    "ssm_parameters": _adapt_ssm_parameters,
    "custom_resources": _adapt_custom_resources,
    "shadow_variants": _adapt_shadow_variants,
}


def check_moto_version(installed: str) -> None:
    """Refuse any moto but the one the adaptations were written against: they patch its internals."""
    if installed != MOTO_VERSION:
        raise SystemExit(f"scripts/local_aws.py adapts moto {MOTO_VERSION}; this is moto {installed}")


def serve(port: int = 0, without: frozenset[str] = frozenset(), runtime_url: str = "") -> None:
    """Run moto's server on 127.0.0.1:``port`` (0: a free one) with the adaptations, until
    interrupted (SIGINT/SIGTERM). Prints ``ready <url>`` once it answers. ``runtime_url``: where
    the Lambda functions send InvokeEndpoint (moto's answers canned bodies); default: moto."""
    import signal

    import moto
    from moto import settings

    global _server_url, _runtime_url
    if runtime_url and not runtime_url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"--sagemaker-runtime-url must be on 127.0.0.1, not {runtime_url}")
    _runtime_url = runtime_url
    check_moto_version(moto.__version__)
    unknown = without - set(ADAPTATIONS)
    if unknown:
        raise SystemExit(f"--without: no adaptation named {sorted(unknown)}; known: {sorted(ADAPTATIONS)}")
    for name, adapt in ADAPTATIONS.items():
        if name not in without:
            adapt()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    _server_url = f"http://{host}:{bound}"
    # moto builds custom resources' ResponseURL from these; by default it probes for Docker.
    settings.moto_server_host = lambda: "http://127.0.0.1"  # type: ignore[assignment]
    settings.moto_server_port = lambda: str(bound)
    stopped = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopped.set())
    print(f"ready {_server_url}", flush=True)
    stopped.wait()
    server.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="moto's server on 127.0.0.1 for the CDK CLI")
    serve_command.add_argument("--port", type=int, default=0, help="default: a free port")
    serve_command.add_argument(
        "--without", action="append", default=[], choices=sorted(ADAPTATIONS), help="leave an adaptation out"
    )
    serve_command.add_argument(
        "--sagemaker-runtime-url", default="", help="InvokeEndpoint for the functions, e.g. a stub (default: moto)"
    )
    arguments = parser.parse_args(argv)
    serve(arguments.port, frozenset(arguments.without), arguments.sagemaker_runtime_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
