"""The policy evaluator and flow finder on hand-written templates and policies (no synth)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy_eval import (
    Effect,
    Env,
    Request,
    Template,
    Unsupported,
    arn_like,
    evaluate,
    only_denies,
    same_account_allows,
    wildcard_match,
)
from tests.policy_flows import FlowFinder

ENV = Env(account="111122223333", region="eu-west-1")
ALARM_ARN = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:my-alarm"
TOPIC_ARN = "arn:aws:sns:eu-west-1:111122223333:topic"


def cloudwatch_publish(source_arn: str = ALARM_ARN, account: str = "111122223333") -> Request:
    return Request(
        ("Service", "cloudwatch.amazonaws.com"),
        "sns:Publish",
        TOPIC_ARN,
        {"aws:SourceAccount": account, "aws:SourceArn": source_arn, "aws:SecureTransport": "true"},
    )


SSL_ONLY_DENY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "sns:Publish",
    "Resource": TOPIC_ARN,
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
ALLOW_ALARMS = {
    "Sid": "AllowAlarms",
    "Effect": "Allow",
    "Principal": {"Service": "cloudwatch.amazonaws.com"},
    "Action": "sns:Publish",
    "Resource": TOPIC_ARN,
    "Condition": {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:my-*"},
    },
}


# ---- resolving template values -------------------------------------------------------------
def test_token_and_concrete_templates_resolve_alike():
    tokens = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":logs:", {"Ref": "AWS::Region"}, ":x"]]}
    concrete = "arn:aws:logs:eu-west-1:x"
    template = Template({"Resources": {}}, ENV)
    assert template.resolve(tokens) == template.resolve(concrete) == concrete


def test_attributes_follow_the_documented_arn_formats():
    body = {
        "Resources": {
            "Alarm": {"Type": "AWS::CloudWatch::CompositeAlarm", "Properties": {"AlarmName": "named"}},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        }
    }
    template = Template(body, ENV)
    assert template.resolve({"Fn::GetAtt": ["Alarm", "Arn"]}) == ALARM_ARN.replace("my-alarm", "named")
    assert template.resolve({"Fn::GetAtt": "Logs.Arn"}).endswith(":log-group:stack-Logs-GENERATED:*")
    assert template.resolve({"Ref": "Topic"}) == "arn:aws:sns:eu-west-1:111122223333:stack-Topic-GENERATED"


def test_find_in_map_and_sub_resolve_with_the_env():
    body = {"Mappings": {"M": {"eu-west-1": {"account": "999"}}}, "Resources": {}}
    template = Template(body, ENV)
    assert template.resolve({"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "account"]}) == "999"
    assert template.resolve({"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::AccountId}"}) == "arn:aws:x:111122223333"


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::GetAtt": ["Missing", "Arn"]},
        {"Fn::GetAtt": ["Queue", "QueueUrl"]},  # an attribute not in ARN_FORMATS
        {"Fn::If": ["c", "a", "b"]},
    ],
)
def test_what_it_cannot_resolve_raises(value: Any):
    template = Template({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}, ENV)
    with pytest.raises(Unsupported):
        template.resolve(value)


# ---- evaluating one policy -----------------------------------------------------------------
def test_a_deny_only_topic_policy_refuses_cloudwatch():
    decision = evaluate([SSL_ONLY_DENY], cloudwatch_publish(), ENV)
    assert decision.effect is Effect.IMPLICIT_DENY
    assert only_denies([SSL_ONLY_DENY])


def test_the_scoped_allow_lets_this_accounts_matching_alarm_in_only():
    policy = [SSL_ONLY_DENY, ALLOW_ALARMS]
    assert evaluate(policy, cloudwatch_publish(), ENV).statement == "AllowAlarms"
    assert not evaluate(policy, cloudwatch_publish(source_arn=ALARM_ARN.replace("my-", "other-")), ENV).allowed
    assert not evaluate(policy, cloudwatch_publish(account="444455556666"), ENV).allowed
    assert not only_denies(policy)


def test_an_explicit_deny_wins():
    request = cloudwatch_publish()
    insecure = Request(
        request.principal, request.action, request.resource, {**request.context, "aws:SecureTransport": "false"}
    )
    decision = evaluate([SSL_ONLY_DENY, ALLOW_ALARMS], insecure, ENV)
    assert decision.effect is Effect.DENY


def test_principals():
    request = cloudwatch_publish()
    allow = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    assert evaluate([{**allow, "Principal": "*"}], request, ENV).allowed
    assert evaluate([{**allow, "Principal": {"AWS": "*"}}], request, ENV).allowed
    assert not evaluate([{**allow, "Principal": {"Service": "events.amazonaws.com"}}], request, ENV).allowed
    role = Request(("AWS", "arn:aws:iam::111122223333:role/r"), "kms:Decrypt", "k")
    stranger = Request(("AWS", "arn:aws:iam::444455556666:role/r"), "kms:Decrypt", "k")
    root = {**allow, "Principal": {"AWS": ENV.account_root}}
    assert evaluate([root], role, ENV).allowed
    assert not evaluate([root], stranger, ENV).allowed
    with pytest.raises(Unsupported):
        evaluate([{**allow, "NotPrincipal": {"AWS": "x"}}], request, ENV)


def test_actions_ignore_case_and_resources_do_not():
    statement = {"Effect": "Allow", "Action": "SNS:Pub*", "Resource": "arn:aws:sns:*:*:Topic"}
    assert evaluate([statement], Request(("AWS", "a"), "sns:Publish", "arn:aws:sns:x:y:Topic"), ENV).allowed
    assert not evaluate([statement], Request(("AWS", "a"), "sns:Publish", "arn:aws:sns:x:y:topic"), ENV).allowed
    not_action = {"Effect": "Allow", "NotAction": "sns:*", "Resource": "*"}
    assert not evaluate([not_action], Request(("AWS", "a"), "sns:Publish", "r"), ENV).allowed
    assert evaluate([not_action], Request(("AWS", "a"), "kms:Decrypt", "r"), ENV).allowed


def test_arn_like_matches_part_by_part():
    assert arn_like(
        "arn:aws:logs:eu-west-1:111122223333:log-group:*", "arn:aws:logs:eu-west-1:111122223333:log-group:g"
    )
    # a wildcard stays inside its part: "*" in the region does not swallow the account
    assert not arn_like("arn:aws:logs:*:log-group:*", "arn:aws:logs:eu-west-1:111122223333:log-group:g")
    assert wildcard_match("a?c", "abc") and not wildcard_match("a?c", "abbc")


@pytest.mark.parametrize("operator", ["ArnEquals", "ArnLike"])
def test_arn_equals_and_arn_like_both_match_part_by_part_with_wildcards(operator: str):
    """IAM documents one rule for both operators (one row of the condition-operator table)."""
    role_arn = "arn:aws:iam::111122223333:role/r"

    def holds(pattern: str, value: str = role_arn, negated: bool = False) -> bool:
        condition = {operator.replace("Arn", "ArnNot") if negated else operator: {"aws:PrincipalArn": pattern}}
        statement = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": condition}
        return evaluate([statement], Request(("AWS", "a"), "x:Y", "r", {"aws:PrincipalArn": value}), ENV).allowed

    assert holds("arn:aws:iam::*:role/*")
    assert holds("arn:aws:iam::11112222333?:role/r")
    assert not holds("arn:aws:iam::*:role/R")  # case-sensitive
    assert not holds("arn:aws:iam::*")  # a wildcard never spans parts: all six must be there
    assert not holds("arn:aws:iam::*:role/*", negated=True)
    assert holds("arn:aws:iam::*:user/*", negated=True)


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        ({"StringEquals": {"aws:SourceAccount": "1"}}, {"aws:SourceAccount": "1"}, True),
        ({"StringEquals": {"aws:SourceAccount": "1"}}, {"aws:sourceaccount": "1"}, True),  # key names ignore case
        ({"StringEquals": {"aws:SourceAccount": ["2", "1"]}}, {"aws:SourceAccount": "1"}, True),  # values: any
        ({"StringEquals": {"aws:SourceAccount": "1"}}, {}, False),  # a missing key matches nothing
        ({"StringNotEquals": {"aws:SourceAccount": "1"}}, {}, True),  # ... so a negated operator holds
        ({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {}, True),
        ({"StringLike": {"aws:SourceArn": "arn:*:x"}}, {"aws:SourceArn": "arn:a:x"}, True),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
        (  # every key of every operator must hold
            {"StringEquals": {"aws:SourceAccount": "1"}, "ArnLike": {"aws:SourceArn": "arn:a:b:c:d:e"}},
            {"aws:SourceAccount": "1", "aws:SourceArn": "arn:a:b:c:d:f"},
            False,
        ),
    ],
)
def test_conditions(condition: dict, context: dict, allowed: bool):
    statement = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": condition}
    assert evaluate([statement], Request(("AWS", "a"), "x:Y", "r", context), ENV).allowed is allowed


@pytest.mark.parametrize(
    ("keys", "all_values", "any_value"),
    [
        (("abtest:serving-since",), True, True),
        (("abtest:serving-since", "owner"), False, True),  # one key outside the list: ForAllValues fails
        (("owner",), False, False),
        ((), True, False),  # no key in the request: ForAllValues holds, ForAnyValue does not
        (None, True, False),
    ],
)
def test_set_operators_over_a_multivalued_key(keys: tuple[str, ...] | None, all_values: bool, any_value: bool):
    context = {} if keys is None else {"aws:TagKeys": keys}
    for qualifier, expected in (("ForAllValues", all_values), ("ForAnyValue", any_value)):
        condition = {f"{qualifier}:StringEquals": {"aws:TagKeys": ["abtest:serving-since"]}}
        statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
        assert evaluate([statement], Request(("AWS", "a"), "x:Y", "r", context), ENV).allowed is expected, qualifier


def test_an_unknown_condition_operator_raises():
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "x"}}}
    with pytest.raises(Unsupported, match="IpAddress"):
        evaluate([statement], Request(("AWS", "a"), "x:Y", "r"), ENV)


def test_same_account_calls_need_the_key_policy_for_kms_only():
    role = Request(
        ("AWS", "arn:aws:iam::111122223333:role/r"), "kms:Decrypt", "arn:aws:kms:eu-west-1:111122223333:key/k"
    )
    identity = [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": role.resource}]
    delegating_key_policy = [
        {"Effect": "Allow", "Principal": {"AWS": ENV.account_root}, "Action": "kms:*", "Resource": "*"}
    ]
    assert same_account_allows(identity, None, role, ENV).allowed  # e.g. a bucket without a policy
    assert not same_account_allows(identity, [], role, ENV, key_policy=True).allowed
    assert same_account_allows(identity, delegating_key_policy, role, ENV, key_policy=True).allowed
    assert not same_account_allows([], delegating_key_policy, role, ENV, key_policy=True).allowed
    deny = [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}]
    assert same_account_allows(identity, deny, role, ENV).effect is Effect.DENY


# ---- finding flows in a template -----------------------------------------------------------
def alarm_template(topic_statements: list[dict]) -> Template:
    topic_ref = {"Ref": "Topic"}
    body = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
            "Policy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {"Topics": [topic_ref], "PolicyDocument": {"Statement": topic_statements}},
            },
            "Alarm": {
                "Type": "AWS::CloudWatch::CompositeAlarm",
                "Properties": {"AlarmName": "my-alarm", "AlarmActions": [topic_ref], "OKActions": [topic_ref]},
            },
        }
    }
    return Template(body, ENV)


def _topic_statement(statement: dict) -> dict:
    return {**statement, "Resource": {"Ref": "Topic"}}


def test_the_finder_sees_the_alarm_flow_and_its_refusal():
    finder = FlowFinder(alarm_template([_topic_statement(SSL_ONLY_DENY)]))
    [flow] = finder.all()  # ALARM and OK actions on one topic are one flow
    assert flow.kind == "CloudWatch alarm → SNS topic"
    assert flow.request is not None and flow.request.key("aws:SourceArn") == ALARM_ARN
    assert flow.decision is not None and not flow.decision.allowed
    assert finder.deny_only_policies() == ["Policy"]


def test_the_finder_sees_the_alarm_flow_allowed():
    finder = FlowFinder(alarm_template([_topic_statement(SSL_ONLY_DENY), _topic_statement(ALLOW_ALARMS)]))
    [flow] = finder.all()
    assert flow.decision is not None and flow.decision.allowed
    assert finder.deny_only_policies() == []


def _role(name: str, service: str, statements: list[dict]) -> dict[str, dict]:
    return {
        name: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
                }
            },
        },
        f"{name}Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"Roles": [{"Ref": name}], "PolicyDocument": {"Statement": statements}},
        },
    }


def _refused(finder: FlowFinder) -> list[str]:
    return [f.describe() for f in finder.all() if f.decision is not None and not f.decision.allowed]


def test_lambda_dead_letter_queue_needs_the_roles_permission():
    queue_arn = {"Fn::GetAtt": ["Queue", "Arn"]}

    def template(grant: list[dict]) -> FlowFinder:
        resources = {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            **_role("Role", "lambda.amazonaws.com", grant),
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}, "DeadLetterConfig": {"TargetArn": queue_arn}},
            },
        }
        return FlowFinder(Template({"Resources": resources}, ENV))

    refused = _refused(template([]))
    assert len(refused) == 1 and "Lambda → dead-letter target" in refused[0] and "sqs:SendMessage" in refused[0]
    assert not _refused(template([{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}]))


def test_lambda_on_failure_destination_needs_the_roles_permission():
    topic = {"Ref": "Topic"}

    def template(grant: list[dict]) -> FlowFinder:
        resources = {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
            **_role("Role", "lambda.amazonaws.com", grant),
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
            "Invoke": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {
                    "FunctionName": {"Ref": "Fn"},
                    "Qualifier": "$LATEST",
                    "DestinationConfig": {"OnFailure": {"Destination": topic}},
                },
            },
        }
        return FlowFinder(Template({"Resources": resources}, ENV))

    refused = _refused(template([]))
    assert len(refused) == 1 and refused[0].startswith("Lambda → OnFailure destination: Invoke → sns:Publish")
    assert not _refused(template([{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}]))


def test_rule_targets_through_a_role_and_a_dead_letter_queue():
    machine = {"Ref": "Machine"}
    queue_arn = {"Fn::GetAtt": ["Queue", "Arn"]}
    queue_policy = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["Rule", "Arn"]}}},
    }

    def template(grant: list[dict], queue_statements: list[dict]) -> FlowFinder:
        resources = {
            **_role("MachineRole", "states.amazonaws.com", []),
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["MachineRole", "Arn"]},
                    "DefinitionString": '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}',
                },
            },
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "QueuePolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {"Queues": [{"Ref": "Queue"}], "PolicyDocument": {"Statement": queue_statements}},
            },
            **_role("Role", "events.amazonaws.com", grant),
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Targets": [
                        {
                            "Arn": machine,
                            "Id": "t",
                            "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                            "DeadLetterConfig": {"Arn": queue_arn},
                        }
                    ]
                },
            },
        }
        return FlowFinder(Template({"Resources": resources}, ENV))

    refused = _refused(template([], [{**SSL_ONLY_DENY, "Action": "sqs:*", "Resource": queue_arn}]))
    assert {r.split(":")[0] for r in refused} == {
        "EventBridge → rule target (role)",
        "EventBridge → target's dead-letter queue",
    }
    grant = [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine}]
    assert not _refused(template(grant, [queue_policy]))


def test_state_machine_tasks_are_read_from_the_definition():
    function_arn = {"Fn::GetAtt": ["Fn", "Arn"]}
    definition = {
        "Fn::Join": [
            "",
            [
                '{"StartAt":"A","States":{"A":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"B","States":'
                '{"B":{"Type":"Task","End":true,"Resource":"arn:',
                {"Ref": "AWS::Partition"},
                ':states:::lambda:invoke","Parameters":{"FunctionName":"',
                function_arn,
                '"}}}}]}}}',
            ],
        ]
    }

    def template(grant: list[dict]) -> FlowFinder:
        resources = {
            **_role("Role", "states.amazonaws.com", grant),
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}, "DefinitionString": definition},
            },
        }
        return FlowFinder(Template({"Resources": resources}, ENV))

    # (the function's own role trusts states.amazonaws.com here, so its "Lambda → function role" is refused too)
    refused = _refused(template([]))
    assert any(r.startswith("Step Functions → Lambda: Machine → lambda:InvokeFunction") for r in refused)
    grant = [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn}]
    assert not any(r.startswith("Step Functions → Lambda") for r in _refused(template(grant)))


def test_log_group_key_and_access_logging_bucket_need_their_services():
    def template(key_statements: list[dict], bucket_statements: list[dict]) -> FlowFinder:
        resources = {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": key_statements}}},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
            "LogBucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "LogBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "LogBucket"}, "PolicyDocument": {"Statement": bucket_statements}},
            },
            "Data": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"LoggingConfiguration": {"DestinationBucketName": {"Ref": "LogBucket"}}},
            },
        }
        return FlowFinder(Template({"Resources": resources}, ENV))

    refused = _refused(template([], []))
    assert {r.split(":")[0] for r in refused} == {"CloudWatch Logs → log group key", "S3 access logging → log bucket"}
    logs = {
        "Effect": "Allow",
        "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111122223333:*"}},
    }
    logging = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["LogBucket", "Arn"]}, "/*"]]},
        "Condition": {"ArnLike": {"aws:SourceArn": {"Fn::GetAtt": ["Data", "Arn"]}}},
    }
    assert not _refused(template([logs], [logging]))
