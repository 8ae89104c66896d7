"""Every service-to-resource flow a synthesized template relies on, each with its policy decision.

The flows are found in the template, not listed by hand, so a new alarm action, rule target,
state machine task, log group or model is checked the day it is added. Each flow is a request
as the acting service sends it (its principal, action, resource and the condition keys it
passes: ``aws:SourceAccount``, ``aws:SourceArn``, KMS encryption context) evaluated against the
policies that decide it (:mod:`tests.policy_eval`):

* a **service principal** (CloudWatch, CloudWatch Logs, EventBridge, S3 logging) has no
  identity policy: the target's resource policy (topic, key, bucket, Lambda permissions) must
  allow it;
* a **role** (Lambda, Step Functions, SageMaker execution role) must be trusted by its service,
  and then its identity policy and the target's resource policy decide as for any same-account
  call (for a KMS key: the key policy must allow too).

A target outside the template (an imported key, a bucket or ECR repository of another stack)
has its own policy, which no synth can see: such flows are checked on the role's side only and
say so in ``outside``. A flow whose target cannot be derived from the template at all has no
decision and says why in ``unchecked``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.session

from tests.policy_eval import Decision, Request, Template, evaluate, only_denies, same_account_allows

SECURE = {"aws:SecureTransport": "true"}  # AWS services call each other over TLS


@dataclass(frozen=True)
class Flow:
    """One service acting on one resource, and what the policies decide."""

    kind: str  # e.g. "CloudWatch alarm → SNS topic"
    actor: str  # logical id of the resource that acts
    request: Request | None
    decision: Decision | None
    outside: str = ""  # set when part of the decision lies in a policy outside the template
    unchecked: str = ""  # set when no decision could be made, with the reason

    def describe(self) -> str:
        what = f"{self.kind}: {self.actor}"
        if self.request is None:
            return f"{what}: unchecked ({self.unchecked})"
        assert self.decision is not None
        return (
            f"{what} → {self.request.action} on {self.request.resource} by {self.request.principal[1]}: "
            f"{self.decision.effect.value}{' by ' + self.decision.statement if self.decision.statement else ''}"
        )


class Policies:
    """The policies of a template, looked up by the resolved ARN or name of what they protect."""

    def __init__(self, template: Template) -> None:
        self.t = template
        self.env = template.env

    def _statements(self, document: Mapping[str, Any]) -> list[dict[str, Any]]:
        return list(self.t.resolve(document)["Statement"])

    def topic(self, topic_arn: str) -> list[dict[str, Any]] | None:
        """The topic policy's statements; None when the topic keeps SNS's default policy."""
        found = [
            self._statements(r["Properties"]["PolicyDocument"])
            for r in self.t.of_type("AWS::SNS::TopicPolicy").values()
            if topic_arn in self.t.resolve(r["Properties"]["Topics"])
        ]
        assert len(found) <= 1, f"{topic_arn} has {len(found)} topic policies: the last one deployed wins"
        return found[0] if found else None

    def bucket(self, bucket_name: str) -> list[dict[str, Any]] | None:
        for r in self.t.of_type("AWS::S3::BucketPolicy").values():
            if self.t.resolve(r["Properties"]["Bucket"]) == bucket_name:
                return self._statements(r["Properties"]["PolicyDocument"])
        return None

    def queue(self, queue_url: str) -> list[dict[str, Any]] | None:
        for r in self.t.of_type("AWS::SQS::QueuePolicy").values():
            if queue_url in self.t.resolve(r["Properties"]["Queues"]):
                return self._statements(r["Properties"]["PolicyDocument"])
        return None

    def key(self, key_arn: str) -> list[dict[str, Any]] | None:
        """The key policy; None when the key is not created by this template."""
        for lid, r in self.t.of_type("AWS::KMS::Key").items():
            if self.t.attribute(lid, "Arn") == key_arn:
                return self._statements(r["Properties"]["KeyPolicy"])
        return None

    def lambda_function(self, function_arn: str) -> list[dict[str, Any]]:
        """The function's resource policy: its AWS::Lambda::Permission resources as Lambda stores them.

        Lambda turns ``SourceArn``/``SourceAccount`` into ``ArnLike aws:SourceArn`` /
        ``StringEquals aws:SourceAccount`` conditions (AddPermission API reference:
        https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html).
        """
        statements = []
        for lid, r in self.t.of_type("AWS::Lambda::Permission").items():
            props = self.t.resolve(r["Properties"])
            name = props["FunctionName"]
            if function_arn not in (name, self._function_arn(name)):
                continue
            principal = props["Principal"]
            condition: dict[str, dict[str, str]] = {}
            if "SourceArn" in props:
                condition["ArnLike"] = {"aws:SourceArn": props["SourceArn"]}
            if "SourceAccount" in props:
                condition["StringEquals"] = {"aws:SourceAccount": props["SourceAccount"]}
            statements.append(
                {
                    "Sid": lid,
                    "Effect": "Allow",
                    "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
                    "Action": props["Action"],
                    "Resource": function_arn,
                    "Condition": condition,
                }
            )
        return statements

    def _function_arn(self, name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        env = self.env
        return f"arn:{env.partition}:lambda:{env.region}:{env.account}:function:{name_or_arn}"

    def role_logical_id(self, role_arn: str) -> str:
        for lid in self.t.of_type("AWS::IAM::Role"):
            if self.t.attribute(lid, "Arn") == role_arn:
                return lid
        raise AssertionError(f"role {role_arn} is not created by this template")

    def trust(self, role_arn: str) -> list[dict[str, Any]]:
        return self._statements(self.t.props(self.role_logical_id(role_arn))["AssumeRolePolicyDocument"])

    def identity(self, role_arn: str) -> list[dict[str, Any]]:
        """Every statement of the role's inline policies and of the AWS::IAM::Policy resources attached to it."""
        lid = self.role_logical_id(role_arn)
        props = self.t.props(lid)
        assert not props.get("ManagedPolicyArns"), f"{lid}: managed policies are not evaluated here"
        statements = [s for p in props.get("Policies", []) for s in self._statements(p["PolicyDocument"])]
        role_name = self.t.attribute(lid, "Ref")
        for r in self.t.of_type("AWS::IAM::Policy").values():
            if role_name in self.t.resolve(r["Properties"].get("Roles", [])):
                statements += self._statements(r["Properties"]["PolicyDocument"])
        return statements


class FlowFinder:
    """Finds the flows of one template (see the module docstring)."""

    def __init__(self, template: Template) -> None:
        self.t = template
        self.env = template.env
        self.policies = Policies(template)

    # ---- helpers -------------------------------------------------------------------------
    def _service(
        self,
        kind: str,
        actor: str,
        service: str,
        action: str,
        resource: str,
        policy: list[dict[str, Any]] | None,
        **ctx: str,
    ) -> Flow:
        """A service principal's call: only the resource policy can let it in."""
        context = {"aws:SourceAccount": self.env.account, **SECURE, **ctx}
        request = Request(("Service", service), action, resource, context)
        if policy is None:
            return Flow(kind, actor, request, None, unchecked=f"{resource} has no resource policy in the template")
        return Flow(kind, actor, request, evaluate(policy, request, self.env))

    def _assume(self, kind: str, actor: str, service: str, role_arn: str, **ctx: str) -> Flow:
        context = {"aws:SourceAccount": self.env.account, **ctx}
        request = Request(("Service", service), "sts:AssumeRole", role_arn, context)
        return Flow(kind, actor, request, evaluate(self.policies.trust(role_arn), request, self.env))

    def _role(
        self,
        kind: str,
        actor: str,
        role_arn: str,
        action: str,
        resource: str,
        policy: list[dict[str, Any]] | None,
        *,
        outside: str = "",
        key_policy: bool = False,
        **ctx: str,
    ) -> Flow:
        """A role's same-account call: its identity policy and the resource's policy decide."""
        request = Request(("AWS", role_arn), action, resource, {**SECURE, **ctx})
        decision = same_account_allows(
            self.policies.identity(role_arn), policy, request, self.env, key_policy=key_policy
        )
        return Flow(kind, actor, request, decision, outside=outside)

    def _key_flows(self, kind: str, actor: str, key_arn: str, actions: list[str], call: Any) -> Iterator[Flow]:
        """One flow per KMS action; ``call(action, key_arn, key_policy, outside)`` makes it."""
        policy = self.policies.key(key_arn)
        outside = "" if policy is not None else f"key {key_arn} is not created here: its own key policy must allow this"
        for action in actions:
            yield call(action, key_arn, policy, outside)

    def _role_key_flows(
        self, kind: str, actor: str, role_arn: str, key_arn: str, actions: list[str], **ctx: str
    ) -> Iterator[Flow]:
        """A role using a KMS key (same account): the role's policy and, for a key of this template,
        the key policy decide; a key from elsewhere is checked on the role's side only."""
        yield from self._key_flows(
            kind,
            actor,
            key_arn,
            actions,
            lambda action, arn, policy, outside: self._role(
                kind, actor, role_arn, action, arn, policy, outside=outside, key_policy=policy is not None, **ctx
            ),
        )

    def _topic_key(self, topic_arn: str) -> str | None:
        for lid, r in self.t.of_type("AWS::SNS::Topic").items():
            if self.t.attribute(lid, "Ref") == topic_arn and "KmsMasterKeyId" in r.get("Properties", {}):
                return str(self.t.resolve(r["Properties"]["KmsMasterKeyId"]))
        return None

    def _is_topic(self, arn: str) -> bool:
        return any(self.t.attribute(lid, "Ref") == arn for lid in self.t.of_type("AWS::SNS::Topic"))

    # ---- the flows -----------------------------------------------------------------------
    def all(self) -> list[Flow]:
        """Every flow once (an alarm's ALARM and OK actions on one topic are one flow)."""
        flows = [
            *self.alarm_actions(),
            *self.log_group_keys(),
            *self.rule_targets(),
            *self.state_machines(),
            *self.lambda_functions(),
            *self.sagemaker_models(),
            *self.data_capture(),
            *self.rollback_alarms(),
            *self.access_logging(),
        ]
        return list({f.describe(): f for f in flows}.values())

    def alarm_actions(self) -> Iterator[Flow]:
        """CloudWatch alarm → SNS topic (sns:Publish) and → the topic's KMS key.

        CloudWatch publishes as ``cloudwatch.amazonaws.com`` with the alarm's ARN as
        ``aws:SourceArn``; for an encrypted topic it needs kms:GenerateDataKey* and kms:Decrypt on
        the key ("Configuring Amazon SNS notifications", and SNS's "Enable compatibility between
        event sources from AWS services and encrypted topics":
        https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
        """
        for type_name in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
            for lid, r in self.t.of_type(type_name).items():
                props = self.t.resolve(r["Properties"])
                alarm_arn = self.t.attribute(lid, "Arn")
                for action_list in ("AlarmActions", "OKActions", "InsufficientDataActions"):
                    for target in props.get(action_list, []):
                        if not self._is_topic(target):
                            continue
                        yield self._service(
                            "CloudWatch alarm → SNS topic",
                            lid,
                            "cloudwatch.amazonaws.com",
                            "sns:Publish",
                            target,
                            self.policies.topic(target),
                            **{"aws:SourceArn": alarm_arn},
                        )
                        key_arn = self._topic_key(target)
                        if key_arn:
                            yield from self._key_flows(
                                "CloudWatch alarm → the topic's KMS key",
                                lid,
                                key_arn,
                                ["kms:GenerateDataKey", "kms:Decrypt"],
                                lambda action, arn, policy, outside, lid=lid, alarm_arn=alarm_arn, topic=target: (
                                    self._service(
                                        "CloudWatch alarm → the topic's KMS key",
                                        lid,
                                        "cloudwatch.amazonaws.com",
                                        action,
                                        arn,
                                        policy,
                                        **{"aws:SourceArn": alarm_arn, "kms:EncryptionContext:aws:sns:topicArn": topic},
                                    )
                                    if policy is not None
                                    else Flow(
                                        "CloudWatch alarm → the topic's KMS key", lid, None, None, unchecked=outside
                                    )
                                ),
                            )

    def log_group_keys(self) -> Iterator[Flow]:
        """CloudWatch Logs → the log group's KMS key, as ``logs.<region>.amazonaws.com`` with the
        log group's ARN in the encryption context ("Encrypt log data in CloudWatch Logs using AWS KMS":
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html)."""
        service = f"logs.{self.env.region}.{self.env.url_suffix}"
        for lid, r in self.t.of_type("AWS::Logs::LogGroup").items():
            if "KmsKeyId" not in r.get("Properties", {}):
                continue
            key_arn = str(self.t.resolve(r["Properties"]["KmsKeyId"]))
            log_group_arn = self.t.attribute(lid, "Arn").removesuffix(":*")
            policy = self.policies.key(key_arn)
            for action in ("kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"):
                if policy is None:
                    yield Flow(
                        "CloudWatch Logs → log group key", lid, None, None, unchecked=f"key {key_arn} is imported"
                    )
                    continue
                yield self._service(
                    "CloudWatch Logs → log group key",
                    lid,
                    service,
                    action,
                    key_arn,
                    policy,
                    **{"kms:EncryptionContext:aws:logs:arn": log_group_arn},
                )

    def rule_targets(self) -> Iterator[Flow]:
        """EventBridge → each rule target: a Lambda through its resource policy, anything else
        through the target's role; a target's dead-letter queue through the queue policy
        ("Using resource-based policies for Amazon EventBridge":
        https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html)."""
        target_actions = {"lambda": "lambda:InvokeFunction", "states": "states:StartExecution", "sns": "sns:Publish"}
        for lid, r in self.t.of_type("AWS::Events::Rule").items():
            rule_arn = self.t.attribute(lid, "Arn")
            for target in self.t.resolve(r["Properties"].get("Targets", [])):
                arn = target["Arn"]
                service = arn.split(":")[2]
                action = target_actions.get(service)
                if action is None:
                    yield Flow("EventBridge → rule target", lid, None, None, unchecked=f"target {arn}")
                    continue
                if "RoleArn" in target:
                    yield self._assume(
                        "EventBridge → target role",
                        lid,
                        "events.amazonaws.com",
                        target["RoleArn"],
                        **{"aws:SourceArn": rule_arn},
                    )
                    yield self._role("EventBridge → rule target (role)", lid, target["RoleArn"], action, arn, None)
                elif service == "lambda":
                    yield self._service(
                        "EventBridge → Lambda target",
                        lid,
                        "events.amazonaws.com",
                        action,
                        arn,
                        self.policies.lambda_function(arn),
                        **{"aws:SourceArn": rule_arn},
                    )
                else:
                    policy = self.policies.topic(arn)
                    yield self._service(
                        "EventBridge → SNS target",
                        lid,
                        "events.amazonaws.com",
                        action,
                        arn,
                        policy,
                        **{"aws:SourceArn": rule_arn},
                    )
                dlq = target.get("DeadLetterConfig", {}).get("Arn")
                if dlq:
                    queue_url = self._queue_url(dlq)
                    yield self._service(
                        "EventBridge → target's dead-letter queue",
                        lid,
                        "events.amazonaws.com",
                        "sqs:SendMessage",
                        dlq,
                        self.policies.queue(queue_url),
                        **{"aws:SourceArn": rule_arn},
                    )

    def _queue_url(self, queue_arn: str) -> str:
        _, _, _, region, account, name = queue_arn.split(":", 5)
        return f"https://sqs.{region}.{self.env.url_suffix}/{account}/{name}"

    def state_machines(self) -> Iterator[Flow]:
        """Step Functions → its role (trusted by ``states.amazonaws.com`` for this state machine),
        and through the role to every task's target: Lambda (invoke), SNS (publish, and the
        topic's key), EventBridge (put events), DynamoDB (the item call, and the table's key), Athena,
        CloudWatch's PutMetricData (the SDK integration, in its namespace). Other integrations are listed
        as unchecked."""
        for lid, r in self.t.of_type("AWS::StepFunctions::StateMachine").items():
            props = self.t.resolve(r["Properties"])
            role_arn = props["RoleArn"]
            machine_arn = self.t.attribute(lid, "Ref")
            yield self._assume(
                "Step Functions → state machine role",
                lid,
                "states.amazonaws.com",
                role_arn,
                **{"aws:SourceArn": machine_arn},
            )
            definition = _json(props["DefinitionString"])
            for task in _tasks(definition):
                yield from self._task_flows(lid, role_arn, task)

    def _task_flows(self, lid: str, role_arn: str, task: Mapping[str, Any]) -> Iterator[Flow]:
        resource = task["Resource"]
        parameters = task.get("Parameters", {})
        integration = re.fullmatch(r"arn:[^:]+:states:::([^:.]+):([^.]+)(\..*)?", resource)
        if ":lambda:" in resource and ":function:" in resource:
            yield self._role(
                "Step Functions → Lambda",
                lid,
                role_arn,
                "lambda:InvokeFunction",
                resource,
                self.policies.lambda_function(resource),
            )
        elif integration and integration.group(1) == "lambda":
            function = self.policies._function_arn(parameters["FunctionName"])
            yield self._role(
                "Step Functions → Lambda",
                lid,
                role_arn,
                "lambda:InvokeFunction",
                function,
                self.policies.lambda_function(function),
            )
        elif integration and integration.groups()[:2] == ("sns", "publish"):
            topic = parameters["TopicArn"]
            yield self._role(
                "Step Functions → SNS topic", lid, role_arn, "sns:Publish", topic, self.policies.topic(topic)
            )
            key_arn = self._topic_key(topic)
            if key_arn:
                yield from self._role_key_flows(
                    "Step Functions → the topic's KMS key",
                    lid,
                    role_arn,
                    key_arn,
                    ["kms:GenerateDataKey", "kms:Decrypt"],
                    **{"kms:EncryptionContext:aws:sns:topicArn": topic},
                )
        elif integration and integration.groups()[:2] == ("events", "putEvents"):
            env = self.env
            for entry in parameters.get("Entries", []):
                bus = entry.get("EventBusName", "default")
                bus_arn = (
                    bus
                    if bus.startswith("arn:")
                    else f"arn:{env.partition}:events:{env.region}:{env.account}:event-bus/{bus}"
                )
                yield self._role(
                    "Step Functions → EventBridge",
                    lid,
                    role_arn,
                    "events:PutEvents",
                    bus_arn,
                    None,
                    outside="" if bus != "default" else "the default event bus has no policy here",
                )
        elif integration and integration.group(1) == "dynamodb":
            # Optimized DynamoDB integrations call the API of the same name (deleteItem → DeleteItem)
            # as the state machine's role; an encrypted table also needs its key, through DynamoDB
            # (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html).
            table = self._table_arn(str(self.t.resolve(parameters["TableName"])))
            action = "dynamodb:" + integration.group(2)[0].upper() + integration.group(2)[1:]
            yield self._role("Step Functions → DynamoDB table", lid, role_arn, action, table, None)
            key_arn = self._table_key(table)
            if key_arn:
                yield from self._role_key_flows(
                    "Step Functions → the table's KMS key",
                    lid,
                    role_arn,
                    key_arn,
                    ["kms:Decrypt"],
                    **{"kms:ViaService": f"dynamodb.{self.env.region}.{self.env.url_suffix}"},
                )
        elif integration and integration.groups()[:2] == ("athena", "startQueryExecution"):
            yield from self._athena_flows(lid, role_arn, parameters, run_job=integration.group(3) == ".sync")
        elif integration and integration.groups()[:2] == ("aws-sdk", "cloudwatch:putMetricData"):
            # PutMetricData has no resource-level permissions ("*"); the namespace is its condition key
            # (cloudwatch:namespace), the value the task's Namespace parameter.
            yield self._role(
                "Step Functions → CloudWatch metrics",
                lid,
                role_arn,
                "cloudwatch:PutMetricData",
                "*",
                None,
                **{"cloudwatch:namespace": str(self.t.resolve(parameters["Namespace"]))},
            )
        else:
            yield Flow("Step Functions → task", lid, None, None, unchecked=f"integration {resource}")

    def _athena_flows(self, lid: str, role_arn: str, parameters: Mapping[str, Any], *, run_job: bool) -> Iterator[Flow]:
        """Step Functions → the Athena workgroup (start; with .sync also poll and stop), and Athena,
        which runs the query with its caller's credentials ("Identity and access management in
        Athena": https://docs.aws.amazon.com/athena/latest/ug/security-iam-athena.html), through the
        same role: the Glue database and every table of it, the objects under each table's location
        (and their bucket's key), and the workgroup's result location (and its key). Step Functions'
        own list of what its Athena integration needs:
        https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html."""
        env = self.env
        workgroup = str(self.t.resolve(parameters.get("WorkGroup", "primary")))
        workgroup_arn = f"arn:{env.partition}:athena:{env.region}:{env.account}:workgroup/{workgroup}"
        calls = ["athena:StartQueryExecution"]
        if run_job:
            calls += ["athena:GetQueryExecution", "athena:StopQueryExecution"]
        for action in calls:
            yield self._role("Step Functions → Athena workgroup", lid, role_arn, action, workgroup_arn, None)
        via_s3 = {"kms:ViaService": f"s3.{env.region}.{env.url_suffix}"}
        database = str(self.t.resolve(parameters.get("QueryExecutionContext", {}).get("Database", "default")))
        glue = f"arn:{env.partition}:glue:{env.region}:{env.account}"
        yield self._role(
            "Athena → Glue database", lid, role_arn, "glue:GetDatabase", f"{glue}:database/{database}", None
        )
        for table_id, table in self.t.of_type("AWS::Glue::Table").items():
            props = self.t.resolve(table["Properties"])
            if props["DatabaseName"] != database:
                continue
            name = props["TableInput"]["Name"]
            yield self._role(
                "Athena → Glue table", lid, role_arn, "glue:GetTable", f"{glue}:table/{database}/{name}", None
            )
            bucket, _, prefix = (
                props["TableInput"]["StorageDescriptor"]["Location"].removeprefix("s3://").partition("/")
            )
            # With partition projection Athena reads the partitions' locations, from the location template.
            sample = f"arn:{env.partition}:s3:::{_projected_object(props['TableInput'])}"
            outside = (
                ""
                if self.policies.bucket(bucket) is not None
                else "the bucket's own policy, when it is not created here"
            )
            yield self._role(
                "Athena → table data in S3",
                table_id,
                role_arn,
                "s3:GetObject",
                sample,
                self.policies.bucket(bucket),
                outside=outside,
            )
            yield self._role(
                "Athena → table data in S3",
                table_id,
                role_arn,
                "s3:ListBucket",
                f"arn:{env.partition}:s3:::{bucket}",
                self.policies.bucket(bucket),
                outside=outside,
                **{"s3:prefix": f"{prefix}2026/"},
            )
            key_arn = self._bucket_key(bucket)
            if key_arn:
                yield from self._role_key_flows(
                    "Athena → the table bucket's KMS key", table_id, role_arn, key_arn, ["kms:Decrypt"], **via_s3
                )
        for wg_id, wg in self.t.of_type("AWS::Athena::WorkGroup").items():
            props = self.t.resolve(wg["Properties"])
            if props["Name"] != workgroup:
                continue
            results = props.get("WorkGroupConfiguration", {}).get("ResultConfiguration", {})
            location = results.get("OutputLocation")
            if not location:
                continue
            bucket = location.removeprefix("s3://").split("/", 1)[0]
            obj = f"arn:{env.partition}:s3:::{location.removeprefix('s3://')}query-id.csv"
            outside = (
                ""
                if self.policies.bucket(bucket) is not None
                else "the bucket's own policy, when it is not created here"
            )
            for action in ("s3:PutObject", "s3:GetObject"):
                yield self._role(
                    "Athena → query results in S3",
                    wg_id,
                    role_arn,
                    action,
                    obj,
                    self.policies.bucket(bucket),
                    outside=outside,
                )
            key_arn = results.get("EncryptionConfiguration", {}).get("KmsKey")
            if key_arn:
                yield from self._role_key_flows(
                    "Athena → the results' KMS key",
                    wg_id,
                    role_arn,
                    key_arn,
                    ["kms:GenerateDataKey", "kms:Decrypt"],
                    **via_s3,
                )

    def _bucket_key(self, bucket_name: str) -> str | None:
        """The KMS key a bucket of this template encrypts new objects with, if any."""
        for lid, r in self.t.of_type("AWS::S3::Bucket").items():
            if self.t.attribute(lid, "Ref") != bucket_name:
                continue
            rules = self.t.resolve(r.get("Properties", {}).get("BucketEncryption", {})).get(
                "ServerSideEncryptionConfiguration", []
            )
            for rule in rules:
                key = rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
                if key:
                    return str(key)
        return None

    def _table_arn(self, name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        return f"arn:{self.env.partition}:dynamodb:{self.env.region}:{self.env.account}:table/{name_or_arn}"

    def _table_key(self, table_arn: str) -> str | None:
        for lid, r in self.t.of_type("AWS::DynamoDB::Table").items():
            sse = r.get("Properties", {}).get("SSESpecification", {})
            if self.t.attribute(lid, "Arn") == table_arn and "KMSMasterKeyId" in sse:
                return str(self.t.resolve(sse["KMSMasterKeyId"]))
        return None

    def lambda_functions(self) -> Iterator[Flow]:
        """Lambda → its role (trusted by ``lambda.amazonaws.com``), and through the role its log
        group, its dead-letter queue or topic, and its asynchronous-invocation destinations."""
        for lid, r in self.t.of_type("AWS::Lambda::Function").items():
            props = self.t.resolve(r["Properties"])
            role_arn = props["Role"]
            yield self._assume("Lambda → function role", lid, "lambda.amazonaws.com", role_arn)
            log_group = props.get("LoggingConfig", {}).get("LogGroup")
            if log_group:
                env = self.env
                arn = (
                    f"arn:{env.partition}:logs:{env.region}:{env.account}:log-group:{log_group}:log-stream:2026/12/02/x"
                )
                yield self._role("Lambda → its log group", lid, role_arn, "logs:PutLogEvents", arn, None)
            dlq = props.get("DeadLetterConfig", {}).get("TargetArn")
            if dlq:
                yield from self._deliver("Lambda → dead-letter target", lid, role_arn, dlq)
        for lid, r in self.t.of_type("AWS::Lambda::EventInvokeConfig").items():
            props = self.t.resolve(r["Properties"])
            function = self._function_logical_id(props["FunctionName"])
            role_arn = self.t.resolve(self.t.props(function)["Role"])
            for outcome in ("OnFailure", "OnSuccess"):
                destination = props.get("DestinationConfig", {}).get(outcome, {}).get("Destination")
                if destination:
                    yield from self._deliver(f"Lambda → {outcome} destination", lid, role_arn, destination)

    def _function_logical_id(self, name_or_arn: str) -> str:
        for lid in self.t.of_type("AWS::Lambda::Function"):
            if name_or_arn in (self.t.attribute(lid, "Ref"), self.t.attribute(lid, "Arn")):
                return lid
        raise AssertionError(f"function {name_or_arn} is not created by this template")

    def _deliver(self, kind: str, lid: str, role_arn: str, target: str) -> Iterator[Flow]:
        """A Lambda's asynchronous failure (or success) record, sent with the function's role
        ("Capturing records of asynchronous invocations":
        https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html)."""
        service = target.split(":")[2]
        if service == "sqs":
            yield self._role(
                kind, lid, role_arn, "sqs:SendMessage", target, self.policies.queue(self._queue_url(target))
            )
        elif service == "sns":
            yield self._role(kind, lid, role_arn, "sns:Publish", target, self.policies.topic(target))
        elif service == "lambda":
            yield self._role(
                kind, lid, role_arn, "lambda:InvokeFunction", target, self.policies.lambda_function(target)
            )
        elif service == "events":
            yield self._role(kind, lid, role_arn, "events:PutEvents", target, None)
        else:
            yield Flow(kind, lid, None, None, unchecked=f"destination {target}")

    def sagemaker_models(self) -> Iterator[Flow]:
        """SageMaker → its execution role (trusted by ``sagemaker.amazonaws.com``), and through it
        the image's ECR repository and the model data in S3 (SageMaker execution roles:
        https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html)."""
        for lid, r in self.t.of_type("AWS::SageMaker::Model").items():
            props = self.t.resolve(r["Properties"])
            role_arn = props["ExecutionRoleArn"]
            yield self._assume("SageMaker → execution role", lid, "sagemaker.amazonaws.com", role_arn)
            for container in [props.get("PrimaryContainer"), *props.get("Containers", [])]:
                if not container:
                    continue
                if "ModelPackageName" in container:
                    yield Flow(
                        "SageMaker → ECR (model package image)",
                        lid,
                        None,
                        None,
                        unchecked="the package's image repository is not named in the template",
                    )
                    continue
                image = container["Image"]
                repository = _ecr_repository(image)
                yield self._role("SageMaker → ECR", lid, role_arn, "ecr:GetAuthorizationToken", "*", None)
                for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"):
                    yield self._role(
                        "SageMaker → ECR",
                        lid,
                        role_arn,
                        action,
                        repository,
                        None,
                        outside="the repository's own policy (cross-account images)",
                    )
                if "ModelDataUrl" in container:
                    obj = _s3_object(container["ModelDataUrl"], self.env.partition)
                    yield self._role(
                        "SageMaker → model data in S3",
                        lid,
                        role_arn,
                        "s3:GetObject",
                        obj,
                        self.policies.bucket(obj.split(":::", 1)[1].split("/", 1)[0]),
                        outside="the bucket's own policy, when it is not created here",
                    )

    def data_capture(self) -> Iterator[Flow]:
        """SageMaker → the data-capture bucket and its KMS key, through the models' execution roles."""
        for lid, r in self.t.of_type("AWS::SageMaker::EndpointConfig").items():
            props = self.t.resolve(r["Properties"])
            capture = props.get("DataCaptureConfig")
            if not capture:
                continue
            roles = {
                self.t.resolve(self.t.props(m)["ExecutionRoleArn"]) for m in self.t.of_type("AWS::SageMaker::Model")
            }
            obj = _s3_object(self.capture_object_uri(lid), self.env.partition)
            for role_arn in sorted(roles):
                yield self._role(
                    "SageMaker → data-capture bucket",
                    lid,
                    role_arn,
                    "s3:PutObject",
                    obj,
                    None,
                    outside="the destination bucket's own policy",
                )
                if "KmsKeyId" in capture:
                    yield from self._role_key_flows(
                        "SageMaker → data-capture key", lid, role_arn, capture["KmsKeyId"], ["kms:GenerateDataKey"]
                    )

    def rollback_alarms(self) -> Iterator[Flow]:
        """SageMaker → each auto-rollback alarm of a guarded deployment: ``cloudwatch:DescribeAlarms``
        through the execution role ("Ensure that your IAM execution role has permission to perform the
        cloudwatch:DescribeAlarms action on the auto-rollback alarms you specify", "Auto-Rollback
        Configuration and Monitoring":
        https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html). Which
        role SageMaker uses when the models have different ones is not documented: every model's role is
        checked."""
        roles = sorted(
            {self.t.resolve(self.t.props(m)["ExecutionRoleArn"]) for m in self.t.of_type("AWS::SageMaker::Model")}
        )
        for lid, r in self.t.of_type("AWS::SageMaker::Endpoint").items():
            rollback = self.t.resolve(r["Properties"]).get("DeploymentConfig", {}).get("AutoRollbackConfiguration")
            for alarm in (rollback or {}).get("Alarms", []):
                name = alarm["AlarmName"]
                alarm_arn = f"arn:{self.env.partition}:cloudwatch:{self.env.region}:{self.env.account}:alarm:{name}"
                for role_arn in roles:
                    yield self._role(
                        "SageMaker → rollback alarm", lid, role_arn, "cloudwatch:DescribeAlarms", alarm_arn, None
                    )

    def capture_object_uri(self, config_id: str, endpoint: str | None = None) -> str:
        """A capture file as SageMaker writes it for the endpoint on this config (or ``endpoint``):
        ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`` ("Capture data from real-time
        endpoint": https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html)."""
        props = self.t.resolve(self.t.props(config_id))
        if endpoint is None:
            (endpoint,) = [
                self.t.resolve(r["Properties"].get("EndpointName")) or self.t.physical_name(eid)
                for eid, r in self.t.of_type("AWS::SageMaker::Endpoint").items()
            ]
        variant = props["ProductionVariants"][0]["VariantName"]
        destination = props["DataCaptureConfig"]["DestinationS3Uri"].rstrip("/")
        return f"{destination}/{endpoint}/{variant}/2026/12/02/00/captured.jsonl"

    def access_logging(self) -> Iterator[Flow]:
        """S3 server access logging → the log bucket, as ``logging.s3.amazonaws.com`` with the source
        bucket as ``aws:SourceArn`` ("Enabling Amazon S3 server access logging":
        https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html)."""
        for lid, r in self.t.of_type("AWS::S3::Bucket").items():
            logging = self.t.resolve(r.get("Properties", {}).get("LoggingConfiguration"))
            if not logging:
                continue
            destination = logging.get("DestinationBucketName") or self.t.attribute(lid, "Ref")
            obj = f"arn:{self.env.partition}:s3:::{destination}/{logging.get('LogFilePrefix', '')}2026-12-02-00-00-00-X"
            yield self._service(
                "S3 access logging → log bucket",
                lid,
                "logging.s3.amazonaws.com",
                "s3:PutObject",
                obj,
                self.policies.bucket(destination),
                **{"aws:SourceArn": self.t.attribute(lid, "Arn")},
            )

    def deny_only_policies(self) -> list[str]:
        """Resource policies whose every statement is a Deny (they let no service principal in)."""
        found = []
        for type_name, document in (
            ("AWS::SNS::TopicPolicy", "PolicyDocument"),
            ("AWS::S3::BucketPolicy", "PolicyDocument"),
            ("AWS::SQS::QueuePolicy", "PolicyDocument"),
            ("AWS::KMS::Key", "KeyPolicy"),
        ):
            for lid, r in self.t.of_type(type_name).items():
                if only_denies(r["Properties"][document]["Statement"]):
                    found.append(lid)
        return found


def _json(text: str) -> Any:
    return json.loads(text)


def _tasks(definition: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every Task state, also inside Parallel branches and Map iterators."""
    for state in definition.get("States", {}).values():
        if state.get("Type") == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from _tasks(branch)
        for nested in ("Iterator", "ItemProcessor"):
            if nested in state:
                yield from _tasks(state[nested])


def _projected_object(table_input: Mapping[str, Any]) -> str:
    """``bucket/key`` of an object in one partition of a table: its ``storage.location.template`` with each
    projected column at its first enumerated value and the hour at 2026/12/02/00 (the table's location when
    it projects nothing)."""
    parameters = table_input.get("Parameters", {})
    template = parameters.get("storage.location.template")
    if template is None:
        return str(table_input["StorageDescriptor"]["Location"]).removeprefix("s3://") + "2026/12/02/00/data.jsonl"

    def value(match: re.Match[str]) -> str:
        column = match.group(1)
        if parameters.get(f"projection.{column}.type") == "enum":
            return str(parameters[f"projection.{column}.values"]).split(",")[0]
        return "2026/12/02/00"

    return re.sub(r"\$\{(\w+)\}", value, template).removeprefix("s3://") + "data.jsonl"


def _ecr_repository(image: str) -> str:
    """The repository ARN of ``<account>.dkr.ecr.<region>.<suffix>/<repository>[:tag|@digest]``.

    Its partition is that of the repository's region (botocore's partition table), not the stack's.
    """
    match = re.fullmatch(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.[^/]+/([^:@]+)([:@].*)?", image)
    assert match, f"not an ECR image URI: {image}"
    account, region, repository, _ = match.groups()
    partition = botocore.session.Session().get_partition_for_region(region)
    return f"arn:{partition}:ecr:{region}:{account}:repository/{repository}"


def _s3_object(uri: str, partition: str) -> str:
    assert uri.startswith("s3://"), uri
    return f"arn:{partition}:s3:::{uri.removeprefix('s3://')}"
