"""Every AWS call the command makes, with the clients injected. Thin: no decisions here.

Each method is one API (or one paginated loop), returns plain data, and turns the documented
"does not exist" answers into :class:`NotFound` naming what is missing. Any other ``ClientError``
propagates; the command reports it with its AWS error code (:func:`scripts.abtest.cli` does).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from constructs_lib.config.model import stack_name_of
from endpoint_weights.endpoint import EndpointState, describe
from endpoint_weights.variant_metrics import invocations_per_variant
from scripts.abtest.errors import NotFound, OperationFailed

# Control-plane calls: botocore's standard retry mode (exponential backoff with jitter) on
# throttling, as AWS recommends; no hand-written retry loop.
CONTROL_PLANE = Config(retries={"mode": "standard", "total_max_attempts": 6}, connect_timeout=5, read_timeout=60)
# Lambda Invoke (RequestResponse) holds the connection for the whole run: the set-weights and
# evaluation functions run up to 15 minutes. One attempt: a retried invoke would run it twice.
LAMBDA_INVOKE = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=960)
PROJECT_NAMESPACE = "SageMakerABTesting"  # constructs_lib/metric_catalog.py (importing it loads aws_cdk)
ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
# What CreateChangeSet must acknowledge for this app's templates: IAM roles with generated names
# (CAPABILITY_IAM) and, like `cdk deploy`, the other two, which the template may need after a
# config change (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html).
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
CHANGE_SET_POLL_SECONDS = 2.0
CHANGE_SET_TIMEOUT_SECONDS = 300.0
# The FAILED status reason of a change set that changes nothing (DescribeChangeSet, StatusReason).
NO_CHANGES = "didn't contain changes"


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def error_message(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Message", ""))


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    cloudformation: Any
    cloudwatch: Any
    stepfunctions: Any
    lambda_: Any
    s3: Any


def make_clients(region: str | None) -> Clients:
    """Clients for ``region`` (default: the SDK's, from AWS_REGION or the profile). They follow
    ``AWS_ENDPOINT_URL`` like every SDK client, which is how local mode points them at 127.0.0.1."""
    # botocore reads AWS_DEFAULT_REGION; AWS_REGION is what the CDK CLI and the other SDKs read.
    session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)
    return Clients(
        sagemaker=session.client("sagemaker", config=CONTROL_PLANE),
        cloudformation=session.client("cloudformation", config=CONTROL_PLANE),
        cloudwatch=session.client("cloudwatch", config=CONTROL_PLANE),
        stepfunctions=session.client("stepfunctions", config=CONTROL_PLANE),
        lambda_=session.client("lambda", config=LAMBDA_INVOKE),
        s3=session.client("s3", config=CONTROL_PLANE),
    )


@dataclass(frozen=True)
class Stack:
    name: str
    stack_id: str
    status: str
    status_reason: str
    parameters: Mapping[str, str]
    outputs: Mapping[str, str]

    def output(self, key: str) -> str:
        """A stack output the command needs; :class:`NotFound` naming the outputs it has."""
        if key not in self.outputs:
            raise NotFound(
                f"stack {self.name} has no output {key} (it has {', '.join(sorted(self.outputs)) or 'none'}); "
                "was it deployed by an older version of this app, or is it still being created?"
            )
        return self.outputs[key]


@dataclass(frozen=True)
class AlarmState:
    name: str
    kind: str
    state: str | None  # None: the stack declares it but CloudWatch does not know it
    reason: str
    updated: datetime | None


@dataclass(frozen=True)
class MetricPoint:
    value: float
    at: datetime


class Aws:
    """The calls, over injected clients (:func:`make_clients`, or moto's in tests)."""

    def __init__(self, clients: Clients) -> None:
        self.c = clients

    # --- CloudFormation ---------------------------------------------------------------------

    def stack(self, endpoint: str) -> Stack:
        """DescribeStacks of ``AbTest-<endpoint>``; :class:`NotFound` when it does not exist."""
        name = stack_name_of(endpoint)
        try:
            described = self.c.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as err:
            # DescribeStacks answers a missing stack with ValidationError "Stack with id X does not exist".
            if error_code(err) == "ValidationError" and "does not exist" in error_message(err):
                raise NotFound(
                    f"stack {name} does not exist in this account and region: is {endpoint!r} the endpoint's name "
                    "in the config, and --region the one it was deployed to?",
                    aws_code="ValidationError",
                ) from err
            raise
        return Stack(
            name=described["StackName"],
            stack_id=described["StackId"],
            status=described["StackStatus"],
            status_reason=described.get("StackStatusReason", ""),
            parameters={
                p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", ""))
                for p in described.get("Parameters") or []
            },
            outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs") or []},
        )

    def stack_status(self, stack_id: str) -> tuple[str, str]:
        described = self.c.cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
        return described["StackStatus"], described.get("StackStatusReason", "")

    def latest_failure(self, stack_id: str) -> str:
        """The newest stack event that failed, as "<logical id>: <reason>" (what rolled it back)."""
        events = self.c.cloudformation.describe_stack_events(StackName=stack_id)["StackEvents"]
        for event in events:  # newest first
            if event["ResourceStatus"].endswith("_FAILED") and event.get("ResourceStatusReason"):
                return f"{event['LogicalResourceId']}: {event['ResourceStatusReason']}"
        return ""

    def update_parameters(self, stack: Stack, values: Mapping[str, str], description: str) -> str | None:
        """Change only ``values`` of the stack's parameters, with the deployed template as it is.

        A change set with ``UsePreviousTemplate``: every other parameter is passed with
        ``UsePreviousValue`` (a parameter left out would fall back to its default). Returns None
        when CloudFormation finds nothing to change; otherwise executes it and returns the change
        set's ID at once (the update runs on; the caller watches it with :meth:`change_set_execution`).
        """
        parameters = [
            {"ParameterKey": key, "ParameterValue": values[key]}
            if key in values
            else {"ParameterKey": key, "UsePreviousValue": True}
            for key in stack.parameters
        ]
        # Unique even for two commands within the same second: CreateChangeSet refuses a name the
        # stack already has (AlreadyExistsException).
        name = f"abtest-weights-{int(time.time())}-{uuid.uuid4().hex[:8]}"
        created = self.c.cloudformation.create_change_set(
            StackName=stack.name,
            ChangeSetName=name,
            ChangeSetType="UPDATE",
            UsePreviousTemplate=True,
            Parameters=parameters,
            Capabilities=list(CAPABILITIES),
            Description=description[:1024],
        )
        change_set = created["Id"]
        deadline = time.monotonic() + CHANGE_SET_TIMEOUT_SECONDS
        while True:
            described = self.c.cloudformation.describe_change_set(ChangeSetName=change_set, StackName=stack.name)
            status = described["Status"]
            if status == "CREATE_COMPLETE":
                break
            if status == "FAILED":
                reason = described.get("StatusReason", "")
                self.c.cloudformation.delete_change_set(ChangeSetName=change_set, StackName=stack.name)
                if NO_CHANGES in reason:
                    return None
                raise OperationFailed(f"CloudFormation refused the parameter change for stack {stack.name}: {reason}")
            if time.monotonic() > deadline:
                raise OperationFailed(f"change set {name} of stack {stack.name} is still {status} after 5 minutes")
            time.sleep(CHANGE_SET_POLL_SECONDS)
        self.c.cloudformation.execute_change_set(ChangeSetName=change_set, StackName=stack.name)
        return str(change_set)

    def change_set_execution(self, change_set: str, stack_name: str) -> str:
        """The change set's ``ExecutionStatus`` (DescribeChangeSet): EXECUTE_IN_PROGRESS while the
        update it started runs, then EXECUTE_COMPLETE or EXECUTE_FAILED; OBSOLETE when the stack
        was updated by other means first.
        https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html"""
        described = self.c.cloudformation.describe_change_set(ChangeSetName=change_set, StackName=stack_name)
        return str(described.get("ExecutionStatus", ""))

    def alarm_names(self, stack_id: str) -> list[str]:
        """The CloudWatch alarms the stack created (ListStackResources: their physical IDs are the names)."""
        names = []
        for page in self.c.cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_id):
            for resource in page["StackResourceSummaries"]:
                if resource["ResourceType"] in ALARM_TYPES and resource.get("PhysicalResourceId"):
                    names.append(resource["PhysicalResourceId"])
        return names

    # --- SageMaker ----------------------------------------------------------------------------

    def endpoint(self, endpoint_name: str) -> EndpointState:
        state = describe(self.c.sagemaker, endpoint_name)
        if state is None:
            raise NotFound(f"endpoint {endpoint_name} does not exist (DescribeEndpoint)")
        return state

    # --- CloudWatch ---------------------------------------------------------------------------

    def invocations(
        self, endpoint_name: str, variants: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, float]:
        return invocations_per_variant(self.c.cloudwatch, endpoint_name, variants, start, end)

    def latest_srm_p_value(self, endpoint_name: str, start: datetime, end: datetime) -> MetricPoint | None:
        """The newest ``SrmPValue`` the SRM check published between ``start`` and ``end``, if any."""
        answer = self.c.cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "srm",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": PROJECT_NAMESPACE,
                            "MetricName": "SrmPValue",
                            "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}],
                        },
                        "Period": 60,
                        "Stat": "Minimum",
                    },
                }
            ],
            StartTime=start,
            EndTime=end,
            ScanBy="TimestampDescending",
        )
        for series in answer["MetricDataResults"]:
            points = sorted(zip(series.get("Timestamps", []), series.get("Values", []), strict=True), reverse=True)
            if points:
                return MetricPoint(value=float(points[0][1]), at=points[0][0])
        return None

    def alarm_states(self, names: Sequence[str]) -> list[AlarmState]:
        """DescribeAlarms of ``names`` (metric and composite), in the order given."""
        found: dict[str, AlarmState] = {}
        pages = self.c.cloudwatch.get_paginator("describe_alarms")
        for offset in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
            # An answer may stop at MaxRecords (default 50) with a NextToken: the paginator follows it.
            for answer in pages.paginate(
                AlarmNames=list(names[offset : offset + 100]), AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            ):
                self._add_alarms(answer, found)
        return [found.get(name, AlarmState(name, "unknown", None, "", None)) for name in names]

    @staticmethod
    def _add_alarms(answer: Mapping[str, Any], found: dict[str, AlarmState]) -> None:
        for kind, key in (("metric", "MetricAlarms"), ("composite", "CompositeAlarms")):
            for alarm in answer.get(key, []):
                found[alarm["AlarmName"]] = AlarmState(
                    name=alarm["AlarmName"],
                    kind=kind,
                    state=alarm.get("StateValue"),
                    reason=alarm.get("StateReason", ""),
                    updated=alarm.get("StateUpdatedTimestamp"),
                )

    # --- Step Functions -----------------------------------------------------------------------

    def executions(self, state_machine_arn: str, status: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """ListExecutions, newest first (Step Functions sorts them so)."""
        kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": limit}
        if status:
            kwargs["statusFilter"] = status
        try:
            return list(self.c.stepfunctions.list_executions(**kwargs)["executions"])
        except ClientError as err:
            if error_code(err) == "StateMachineDoesNotExist":
                raise NotFound(f"state machine {state_machine_arn} does not exist", aws_code=error_code(err)) from err
            raise

    def execution(self, execution_arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """DescribeExecution and the newest page of its history (newest event first)."""
        try:
            described = self.c.stepfunctions.describe_execution(executionArn=execution_arn)
            history = self.c.stepfunctions.get_execution_history(
                executionArn=execution_arn, reverseOrder=True, maxResults=100
            )
        except ClientError as err:
            if error_code(err) in ("ExecutionDoesNotExist", "InvalidArn"):
                raise NotFound(f"execution {execution_arn} does not exist", aws_code=error_code(err)) from err
            raise
        return described, list(history["events"])

    def start_execution(self, state_machine_arn: str, plan: Mapping[str, Any], name: str | None) -> str:
        kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "input": json.dumps(plan)}
        if name:
            kwargs["name"] = name
        return str(self.c.stepfunctions.start_execution(**kwargs)["executionArn"])

    def stop_execution(self, execution_arn: str, cause: str) -> None:
        try:
            self.c.stepfunctions.stop_execution(executionArn=execution_arn, cause=cause)
        except ClientError as err:
            if error_code(err) == "ExecutionDoesNotExist":
                raise NotFound(f"execution {execution_arn} does not exist", aws_code=error_code(err)) from err
            raise

    # --- Lambda and S3 --------------------------------------------------------------------------

    def invoke(self, function_name: str, payload: Mapping[str, Any]) -> Any:
        """Invoke (RequestResponse) and return the function's result.

        A function that raised answers 200 with ``FunctionError`` set and ``{"errorType",
        "errorMessage"}`` as the payload (Lambda Invoke API reference): that is a failed
        operation, reported with the function's own message.
        """
        try:
            answer = self.c.lambda_.invoke(FunctionName=function_name, Payload=json.dumps(payload).encode())
        except ClientError as err:
            if error_code(err) == "ResourceNotFoundException":
                raise NotFound(f"function {function_name} does not exist", aws_code=error_code(err)) from err
            raise
        body = answer["Payload"].read()
        result = json.loads(body) if body else None
        if answer.get("FunctionError"):
            detail = result if isinstance(result, dict) else {}
            raise OperationFailed(
                f"function {function_name} failed: {detail.get('errorType', answer['FunctionError'])}: "
                f"{detail.get('errorMessage', body.decode(errors='replace'))}"
            )
        return result

    def upload(self, path: Path, bucket: str, key: str) -> str:
        self.c.s3.upload_file(str(path), bucket, key)
        return f"s3://{bucket}/{key}"
