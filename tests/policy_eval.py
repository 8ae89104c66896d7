"""A small IAM policy evaluator over a synthesized CloudFormation template.

moto enforces no resource policy and cdk-nag checks only what a policy says, not whether the
service that acts is let in. This module answers that question offline: given a template,
the values its pseudo parameters take, and a request (who, which action, on what, with which
condition keys the service sends), does a policy allow it?

Two parts, each usable alone:

* :func:`resolve` turns template values (``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``,
  ``Fn::FindInMap``, ``Fn::Select``) into concrete strings. Pseudo parameters take the values of
  an :class:`Env`, so a template synthesized environment-agnostic (tokens) and one synthesized
  with the environment pinned (literal ARNs) resolve to the same strings. Resources the
  template creates get stand-in physical names and the ARNs CloudFormation documents for them
  (``ARN_FORMATS``).
* :func:`evaluate` applies AWS's evaluation logic for one policy: an explicit Deny wins, then
  an Allow, else the request is implicitly denied. Principal ``Service``/``AWS``/``*``,
  ``Action``/``NotAction`` and ``Resource``/``NotResource`` with ``*``/``?`` wildcards, and the
  condition operators in ``CONDITION_OPERATORS``. Anything else raises :class:`Unsupported`,
  so an unknown construct can never pass silently.

Sources: IAM policy evaluation logic
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html ;
condition operators
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html ;
principals https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html .
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Unsupported(Exception):
    """The template or policy uses something this evaluator does not model."""


@dataclass(frozen=True)
class Env:
    """The values of the pseudo parameters: what a deployment in one account and region sees."""

    account: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    @property
    def account_root(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:root"


# What ``Ref`` and ``Fn::GetAtt`` return for the resource types the flows touch, from the
# "Return values" section of each type's page in the CloudFormation template reference
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html).
# "{name}" is the resource's physical name: its name property when the template sets one,
# else a stand-in derived from the logical id (CloudFormation generates one at deploy time).
ARN_FORMATS: dict[str, dict[str, str]] = {
    "AWS::CloudWatch::Alarm": {"Arn": "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}", "Ref": "{name}"},
    "AWS::CloudWatch::CompositeAlarm": {"Arn": "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}", "Ref": "{name}"},
    "AWS::Events::Rule": {"Arn": "arn:{p}:events:{r}:{a}:rule/{name}", "Ref": "{name}"},
    "AWS::IAM::Role": {"Arn": "arn:{p}:iam::{a}:role/{name}", "Ref": "{name}"},
    "AWS::KMS::Key": {"Arn": "arn:{p}:kms:{r}:{a}:key/{name}", "Ref": "{name}", "KeyId": "{name}"},
    "AWS::Lambda::Function": {"Arn": "arn:{p}:lambda:{r}:{a}:function:{name}", "Ref": "{name}"},
    # A log group's Arn attribute ends in ":*"; the log group ARN itself does not.
    "AWS::Logs::LogGroup": {"Arn": "arn:{p}:logs:{r}:{a}:log-group:{name}:*", "Ref": "{name}"},
    "AWS::S3::Bucket": {"Arn": "arn:{p}:s3:::{name}", "Ref": "{name}"},
    "AWS::SageMaker::Endpoint": {"Ref": "arn:{p}:sagemaker:{r}:{a}:endpoint/{name}", "EndpointName": "{name}"},
    "AWS::SageMaker::Model": {"Ref": "arn:{p}:sagemaker:{r}:{a}:model/{name}", "ModelName": "{name}"},
    # Ref is the primary identifier, EndpointConfigArn (the resource schema cfn-lint ships); the rollback
    # alarms (constructs_lib/deployment_alarms.py) read its EndpointConfigName attribute.
    "AWS::SageMaker::EndpointConfig": {
        "Ref": "arn:{p}:sagemaker:{r}:{a}:endpoint-config/{name}",
        "EndpointConfigName": "{name}",
    },
    "AWS::SNS::Topic": {"Ref": "arn:{p}:sns:{r}:{a}:{name}", "TopicArn": "arn:{p}:sns:{r}:{a}:{name}"},
    "AWS::SQS::Queue": {
        "Arn": "arn:{p}:sqs:{r}:{a}:{name}",
        "Ref": "https://sqs.{r}.{u}/{a}/{name}",
        "QueueName": "{name}",
    },
    "AWS::DynamoDB::Table": {"Arn": "arn:{p}:dynamodb:{r}:{a}:table/{name}", "Ref": "{name}"},
    "AWS::StepFunctions::StateMachine": {"Ref": "arn:{p}:states:{r}:{a}:stateMachine:{name}", "Name": "{name}"},
    "AWS::Glue::Database": {"Ref": "{name}"},
    "AWS::Glue::Table": {"Ref": "{name}"},
    "AWS::Athena::WorkGroup": {"Ref": "{name}"},
}
# The property that names a resource, when the template sets it (a dotted path for a nested one).
NAME_PROPERTIES = {
    "AWS::Athena::WorkGroup": "Name",
    "AWS::Glue::Database": "DatabaseInput.Name",
    "AWS::Glue::Table": "TableInput.Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::CompositeAlarm": "AlarmName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Events::Rule": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SageMaker::Endpoint": "EndpointName",
    "AWS::SageMaker::Model": "ModelName",
    "AWS::SageMaker::EndpointConfig": "EndpointConfigName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
}
ARN_FORMATS["AWS::StepFunctions::StateMachine"]["Arn"] = ARN_FORMATS["AWS::StepFunctions::StateMachine"]["Ref"]
PSEUDO = {
    "AWS::AccountId": lambda env: env.account,
    "AWS::Region": lambda env: env.region,
    "AWS::Partition": lambda env: env.partition,
    "AWS::URLSuffix": lambda env: env.url_suffix,
    "AWS::StackName": lambda env: "stack",
    # The stack's ARN, for the stack named above (API_Stack's StackId: arn:...:stack/<name>/<guid>).
    "AWS::StackId": lambda env: (
        f"arn:{env.partition}:cloudformation:{env.region}:{env.account}:stack/stack/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    ),
}


class Template:
    """A synthesized template (its JSON) and the environment its pseudo parameters take."""

    def __init__(self, body: Mapping[str, Any], env: Env) -> None:
        self.body = body
        self.env = env
        self.resources: Mapping[str, Mapping[str, Any]] = body.get("Resources", {})

    def of_type(self, type_name: str) -> dict[str, Mapping[str, Any]]:
        """Logical id → resource, for every resource of ``type_name``."""
        return {lid: r for lid, r in self.resources.items() if r["Type"] == type_name}

    def props(self, logical_id: str) -> Mapping[str, Any]:
        return self.resources[logical_id].get("Properties", {})

    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        node: Any = resource.get("Properties", {})
        for part in NAME_PROPERTIES.get(resource["Type"], "").split("."):
            node = node.get(part) if part and isinstance(node, dict) else None
        if node is not None:
            return str(self.resolve(node))
        return f"stack-{logical_id}-GENERATED"

    def attribute(self, logical_id: str, attribute: str) -> str:
        """What ``Fn::GetAtt [logical_id, attribute]`` (or ``Ref`` when attribute is "Ref") returns."""
        if logical_id not in self.resources:
            raise Unsupported(f"reference to {logical_id!r}, which is not a resource of the template")
        type_name = self.resources[logical_id]["Type"]
        fmt = ARN_FORMATS.get(type_name, {}).get(attribute)
        if fmt is None:
            raise Unsupported(f"{type_name}.{attribute} (of {logical_id}): add it to ARN_FORMATS with its source")
        env = self.env
        return fmt.format(
            p=env.partition, r=env.region, a=env.account, u=env.url_suffix, name=self.physical_name(logical_id)
        )

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated (strings, lists and dicts recursively)."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        [(fn, arg)] = value.items()
        if fn == "Ref":
            if arg in PSEUDO:
                return PSEUDO[arg](self.env)
            if arg in self.body.get("Parameters", {}):
                return f"${{{arg}}}"  # a parameter's value is decided at deploy time
            return self.attribute(arg, "Ref")
        if fn == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.attribute(logical_id, attribute)
        if fn == "Fn::Join":
            separator, parts = arg
            return separator.join(str(self.resolve(p)) for p in parts)
        if fn == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if fn == "Fn::FindInMap":
            mapping, top, second = (self.resolve(a) for a in arg)
            return self.body["Mappings"][mapping][top][second]
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            return re.sub(
                r"\$\{([^}!]+)\}",
                lambda m: str(
                    self.resolve(variables[m.group(1)])
                    if m.group(1) in variables
                    else self.resolve({"Fn::GetAtt": m.group(1)} if "." in m.group(1) else {"Ref": m.group(1)})
                ),
                text,
            )
        if fn.startswith("Fn::") or fn == "Condition":
            raise Unsupported(f"intrinsic function {fn}")
        return {fn: self.resolve(arg)}


class Effect(Enum):
    ALLOW = "allowed"
    DENY = "explicitly denied"
    IMPLICIT_DENY = "not allowed by any statement (implicit deny)"


@dataclass(frozen=True)
class Request:
    """One API call as the policy sees it.

    :param principal: ``("Service", "cloudwatch.amazonaws.com")`` or ``("AWS", "<role or account ARN>")``.
    :param context: the condition keys the caller sends (names are case-insensitive), e.g.
        ``aws:SourceAccount``, ``aws:SourceArn``, ``aws:SecureTransport``; a multivalued key (``aws:TagKeys``)
        as a tuple. Default none.
    """

    principal: tuple[str, str]
    action: str
    resource: str
    context: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    def key(self, name: str) -> str | tuple[str, ...] | None:
        lowered = {k.lower(): v for k, v in self.context.items()}
        return lowered.get(name.lower())


@dataclass(frozen=True)
class Decision:
    effect: Effect
    statement: str = ""  # which statement decided (its Sid, else its position)

    @property
    def allowed(self) -> bool:
        return self.effect is Effect.ALLOW


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated ARN parts matched on its own (wildcards stay inside a part)."""
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return False
    return all(wildcard_match(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def _bool(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


# Condition operator → (how one policy value matches the request's value, whether it is negated).
# ArnEquals and ArnLike are one row of AWS's table, with one rule for both: "Case-sensitive matching
# of the ARN. Each of the six colon-delimited components of the ARN is checked separately and each
# can include multi-character match wildcards (*) or single-character match wildcards (?)"
# (condition operators page, "Amazon Resource Name (ARN) condition operators"); likewise their negations.
CONDITION_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), False),
    "StringLike": (wildcard_match, False),
    "StringNotLike": (wildcard_match, True),
    "ArnEquals": (arn_like, False),
    "ArnNotEquals": (arn_like, True),
    "ArnLike": (arn_like, False),
    "ArnNotLike": (arn_like, True),
    "Bool": (_bool, False),
}


def _condition_holds(operator: str, key: str, values: Any, request: Request) -> bool:
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base not in CONDITION_OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise Unsupported(f"condition operator {qualifier + ':' if qualifier else ''}{operator}")
    match, negated = CONDITION_OPERATORS[base]
    actual = request.key(key)
    if qualifier:
        # Set operators over a multivalued key ("Set operators for multivalued context keys":
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html):
        # ForAllValues holds when every value in the request matches some policy value, and also when the
        # key is missing or empty; ForAnyValue when at least one does, never for a missing key.
        request_values = [] if actual is None else [actual] if isinstance(actual, str) else list(actual)
        hits = [any(match(str(p), v) for p in _as_list(values)) != negated for v in request_values]
        return all(hits) if qualifier == "ForAllValues" else any(hits)
    if actual is None:
        # A missing key matches nothing; negated operators and ...IfExists then hold.
        return if_exists or negated
    if not isinstance(actual, str):
        raise Unsupported(f"{operator} on the multivalued key {key} (use ForAllValues or ForAnyValue)")
    hit = any(match(str(p), actual) for p in _as_list(values))
    return not hit if negated else hit


def _principal_matches(principal: Any, request: Request, env: Env) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        raise Unsupported(f"principal {principal!r}")
    kind, who = request.principal
    for principal_kind, names in principal.items():
        for name in _as_list(names):
            if principal_kind == "AWS" and name == "*":
                return True  # {"AWS": "*"} is the same as "*" (IAM principal reference)
            if principal_kind != kind:
                continue
            if name == who:
                return True
            # The account (its root ARN or bare id) stands for every principal of that account,
            # which then also needs its own identity policy (see same_account_allows).
            if kind == "AWS" and name in (env.account_root, env.account) and f":{env.account}:" in who:
                return True
    return False


def _listed(statement: Mapping[str, Any], element: str, value: str, *, case_sensitive: bool) -> bool:
    """Whether ``value`` is covered by ``element`` (e.g. Action) or not excluded by ``Not<element>``."""
    if element in statement:
        return any(wildcard_match(p, value, case_sensitive=case_sensitive) for p in _as_list(statement[element]))
    if f"Not{element}" in statement:
        return not any(
            wildcard_match(p, value, case_sensitive=case_sensitive) for p in _as_list(statement[f"Not{element}"])
        )
    return True


def _statement_applies(statement: Mapping[str, Any], request: Request, env: Env) -> bool:
    if "NotPrincipal" in statement:
        raise Unsupported("NotPrincipal")
    if "Principal" in statement and not _principal_matches(statement["Principal"], request, env):
        return False
    if not _listed(statement, "Action", request.action, case_sensitive=False):
        return False
    if not _listed(statement, "Resource", request.resource, case_sensitive=True):
        return False
    for operator, block in statement.get("Condition", {}).items():
        for key, values in block.items():
            if not _condition_holds(operator, key, values, request):
                return False
    return True


def evaluate(statements: Iterable[Mapping[str, Any]], request: Request, env: Env) -> Decision:
    """One policy's decision on ``request``; ``statements`` are already resolved (plain strings)."""
    allowed_by = None
    for index, statement in enumerate(statements):
        if not _statement_applies(statement, request, env):
            continue
        label = statement.get("Sid") or f"statement {index}"
        if statement["Effect"] == "Deny":
            return Decision(Effect.DENY, label)
        allowed_by = allowed_by or label
    return Decision(Effect.ALLOW, allowed_by) if allowed_by else Decision(Effect.IMPLICIT_DENY)


def only_denies(statements: Iterable[Mapping[str, Any]]) -> bool:
    """True for a policy whose statements are all Deny: as a resource policy it lets no service in."""
    return all(s["Effect"] == "Deny" for s in statements)


def same_account_allows(
    identity: Iterable[Mapping[str, Any]],
    resource: Iterable[Mapping[str, Any]] | None,
    request: Request,
    env: Env,
    *,
    key_policy: bool = False,
) -> Decision:
    """A role's call on a resource of its own account: no explicit Deny in either policy, and

    * for most services, an Allow in the identity policy *or* the resource policy
      (``resource=None`` means the resource has no policy: only the identity policy counts);
    * for KMS (``key_policy=True``), the key policy must allow (directly or through the
      account, which delegates to IAM) *and* the identity policy must allow.

    Source: "Policy evaluation logic", same-account requests; "Key policies in AWS KMS"
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html): without the key
    policy's permission, IAM policies have no effect on a key.
    """
    identity_decision = evaluate(identity, request, env)
    resource_decision = evaluate(resource or [], request, env)
    for decision in (identity_decision, resource_decision):
        if decision.effect is Effect.DENY:
            return decision
    if key_policy:
        if not resource_decision.allowed:
            return resource_decision
        return identity_decision
    if identity_decision.allowed:
        return identity_decision
    return resource_decision
