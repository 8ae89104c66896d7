"""Every service-to-resource flow the stacks rely on is allowed by the policies that decide it.

On the synthesized template of every shipped config (``config/default.json``,
``config/examples/*.json``), environment-agnostic (evaluated as two different accounts and
regions) and pinned as the CLI pins it (us-east-1, eu-west-1, us-gov-west-1), these flows are
found and evaluated
(:mod:`tests.policy_flows`, :mod:`tests.policy_eval`):

1. CloudWatch alarm → SNS topic: ``cloudwatch.amazonaws.com`` ``sns:Publish`` with the alarm's
   ARN as ``aws:SourceArn``, against the topic policy (every alarm action on a topic: the
   composite alarm's, the rollout settle queue's and live quality's "has not succeeded" alarm's);
2. CloudWatch alarm → the topic's KMS key: ``kms:GenerateDataKey``/``kms:Decrypt`` (sent with the
   same source keys here, which the key policy does not rely on), against the key policy;
3. CloudWatch Logs → each encrypted log group's key: ``logs.<region>.amazonaws.com`` with the log
   group's ARN in the encryption context, against the key policy;
4. EventBridge → each rule target: Lambda targets through the function's permissions
   (``aws:SourceArn`` = the rule), other targets (the live-quality state machine) through their
   role (trust and identity policy), and a target's dead-letter queue through its queue policy;
5. Step Functions → its role (trusted by ``states.amazonaws.com`` for that state machine) and,
   through the role, every task's target: Lambda invoke, SNS publish and the topic's key,
   EventBridge put events, DynamoDB item calls (the rollout lock) and the table's key, the Athena
   workgroup (start, poll, stop) and what Athena then reads and writes with the same role (the
   live-quality run): the Glue database and tables, the objects under each table's location and
   their bucket's key, the workgroup's result location and its key;
6. Lambda → its role (trusted by ``lambda.amazonaws.com``) and, through the role, its log
   group, its dead-letter queue or topic, and its asynchronous-invocation destinations;
7. SageMaker → the execution role (trusted by ``sagemaker.amazonaws.com``) and through it the
   image's ECR repository (auth token, layers), the model data in S3, the data-capture bucket
   and the data-capture key;
8. S3 server access logging → the log bucket: ``logging.s3.amazonaws.com`` ``s3:PutObject`` with
   the source bucket as ``aws:SourceArn``, against the log bucket's policy;
9. SageMaker → each auto-rollback alarm of a guarded deployment (``deployment`` with
   ``auto_rollback``): ``cloudwatch:DescribeAlarms`` through the execution role.

And no resource policy that a service relies on has only Deny statements.

Targets outside the template (imported keys, model buckets, ECR repositories, the default event
bus) are checked on the role's side; their own policies are the deployer's to set (README). A
flow the finder cannot decide is "unchecked" with its reason, and only the reasons in
``UNCHECKABLE`` are accepted, so a new kind of flow cannot slip by undecided.

Not flows of the stack's own principals, so not here: CloudFormation invoking the custom
resource's framework and SageMaker using the endpoint config's storage key both act with the
deployer's credentials.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from constructs_lib.config import load_config
from tests.conftest import ROOT
from tests.policy_eval import Env, Template, evaluate, same_account_allows
from tests.policy_flows import Flow, FlowFinder
from tests.synth import FAKE_ACCOUNT, synth_templates

pytestmark = pytest.mark.synth

CONFIGS = [ROOT / "config" / "default.json", *sorted((ROOT / "config" / "examples").glob("*.json"))]
# Two deployments of the environment-agnostic template: the evaluation must not depend on one.
AGNOSTIC_ENVS = [Env(), Env(account="444455556666", region="eu-west-1")]
# Pinned as the CLI pins with credentials (tests/synth.py's fake account), region → partition.
# China is left out: its service principal spellings (logs.<region>.amazonaws.com[.cn]) are not
# verified here, and a guess on both sides would pass vacuously.
PINNED_REGIONS = {"us-east-1": "aws", "eu-west-1": "aws", "us-gov-west-1": "aws-us-gov"}

# Why a flow may stay undecided: its target's policy is not in the template.
UNCHECKABLE = (
    "is not created here",  # an imported KMS key (kms_key_arn): its own key policy decides
    "is imported",
    "the package's image repository is not named in the template",  # a model package's image
)
SERVICE_PRINCIPAL_KINDS = {
    "CloudWatch alarm → SNS topic",
    "CloudWatch alarm → the topic's KMS key",
    "CloudWatch Logs → log group key",
    "EventBridge → Lambda target",
    "S3 access logging → log bucket",
}


def _cases() -> list[tuple[str, Path, str | None, Env]]:
    """(id, config, pinned region or None, the env the template is evaluated in)."""
    cases = [(f"{p.relative_to(ROOT)}-agnostic-{e.region}", p, None, e) for p in CONFIGS for e in AGNOSTIC_ENVS]
    for region, partition in PINNED_REGIONS.items():
        env = Env(account=FAKE_ACCOUNT, region=region, partition=partition)
        cases += [(f"{p.relative_to(ROOT)}-pinned-{region}", p, region, env) for p in CONFIGS]
    return cases


@pytest.fixture(scope="module", params=_cases(), ids=lambda case: case[0])
def finders(request: pytest.FixtureRequest) -> dict[str, FlowFinder]:
    """The app as ``cdk synth`` builds it (cdk-nag gate on), pinned or not, one finder per stack."""
    _, path, region, env = request.param
    templates = synth_templates(json.loads(path.read_text()), str(path), region=region)
    return {name: FlowFinder(Template(t.to_json(), env)) for name, t in templates.items()}


def _report(flows: list[Flow]) -> str:
    return "\n".join(f.describe() for f in flows)


def test_every_flow_is_allowed(finders: dict[str, FlowFinder]):
    for stack, finder in finders.items():
        flows = finder.all()
        refused = [f for f in flows if f.decision is not None and not f.decision.allowed]
        assert not refused, f"{stack}: the policies refuse flows the stack relies on:\n{_report(refused)}"


def test_only_flows_outside_the_template_stay_unchecked(finders: dict[str, FlowFinder]):
    for stack, finder in finders.items():
        unexplained = [f for f in finder.all() if f.request is None and not any(r in f.unchecked for r in UNCHECKABLE)]
        assert not unexplained, f"{stack}: flows nobody checks:\n{_report(unexplained)}"


# Flows of the rollout state machine and the SRM check, which a stack with a shadow variant leaves out
# (one production variant: nothing to split).
ROLLOUT_AND_SRM_KINDS = {
    "EventBridge → Lambda target",
    "EventBridge → target's dead-letter queue",
    "Lambda → dead-letter target",
    "Step Functions → DynamoDB table",
    "Step Functions → SNS topic",
}


def _has_shadow(finder: FlowFinder) -> bool:
    configs = finder.t.of_type("AWS::SageMaker::EndpointConfig").values()
    return any("ShadowProductionVariants" in r["Properties"] for r in configs)


def _has_rollback_alarms(finder: FlowFinder) -> bool:
    endpoints = finder.t.of_type("AWS::SageMaker::Endpoint").values()
    return any("AutoRollbackConfiguration" in r["Properties"].get("DeploymentConfig", {}) for r in endpoints)


def test_every_kind_of_flow_is_found(finders: dict[str, FlowFinder]):
    """The finder really sees the stack: a flow kind that vanished would pass the test above vacuously."""
    for stack, finder in finders.items():
        kinds = {f.kind for f in finder.all()}
        expected = {
            "CloudWatch alarm → SNS topic",
            "CloudWatch Logs → log group key",
            "EventBridge → Lambda target",
            "Step Functions → state machine role",
            "Step Functions → Lambda",
            "Step Functions → SNS topic",
            "Step Functions → DynamoDB table",
            "EventBridge → target's dead-letter queue",
            "Lambda → function role",
            "Lambda → its log group",
            "Lambda → dead-letter target",
            "SageMaker → execution role",
            "SageMaker → ECR",
            "SageMaker → model data in S3",
            "SageMaker → data-capture bucket",
            "SageMaker → data-capture key",
            "EventBridge → target role",
            "EventBridge → rule target (role)",
            "Step Functions → Athena workgroup",
            "Athena → Glue database",
            "Athena → Glue table",
            "Athena → table data in S3",
            "Athena → query results in S3",
            "Athena → the results' KMS key",
        }
        if _has_shadow(finder):
            expected -= ROLLOUT_AND_SRM_KINDS
        if _has_rollback_alarms(finder):
            expected.add("SageMaker → rollback alarm")
        assert expected <= kinds, f"{stack}: missing {sorted(expected - kinds)}"


def _alarms_of(finder: FlowFinder, namespace: str, metric: str) -> set[str]:
    return {
        lid
        for lid, r in finder.t.of_type("AWS::CloudWatch::Alarm").items()
        if r["Properties"].get("Namespace") == namespace and r["Properties"].get("MetricName") == metric
    }


def test_the_composite_and_the_long_lasting_alarms_are_the_ones_that_notify(finders: dict[str, FlowFinder]):
    """The settle queue's alarm can stay in ALARM for 14 days, and live quality's "has not succeeded" alarm
    until a run succeeds: rolled up, either would hold the composite in ALARM and swallow every later page,
    so each notifies on its own; every other alarm is rolled up. full.json enables live quality's schedule,
    so its alarm's flows to the topic are among those checked here and above."""
    for stack, finder in finders.items():
        notifying = {f.actor for f in finder.all() if f.kind == "CloudWatch alarm → SNS topic"}
        composites = set(finder.t.of_type("AWS::CloudWatch::CompositeAlarm"))
        settle_alarms = _alarms_of(finder, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
        not_succeeded = _alarms_of(finder, "AWS/States", "ExecutionsSucceeded")
        # Beside a shadow, its alarms roll up into a second composite that notifies nobody (a shadow answers nobody).
        shadow_composites = {lid for lid in composites if lid.startswith("AlarmsShadowProblem")}
        assert len(shadow_composites) == (1 if _has_shadow(finder) else 0), stack
        assert len(composites - shadow_composites) == 1, stack
        assert len(settle_alarms) == (0 if _has_shadow(finder) else 1), stack  # no rollout beside a shadow
        assert notifying == (composites - shadow_composites) | settle_alarms | not_succeeded, stack


def test_a_shipped_config_enables_live_quality_s_schedule_so_its_alarm_is_checked():
    """Guards the flows above and the synth matrix: the "has not succeeded" alarm exists only with the
    schedule on, and without a shipped config that enables it no environment would ever synthesize it."""
    assert any(e.live_quality.schedule_enabled for path in CONFIGS for e in load_config(path).endpoints)


def test_a_created_topic_key_lets_the_alarm_in_and_an_imported_one_is_named(finders: dict[str, FlowFinder]):
    for stack, finder in finders.items():
        key_flows = [f for f in finder.all() if f.kind == "CloudWatch alarm → the topic's KMS key"]
        assert key_flows, stack
        for flow in key_flows:
            if flow.decision is None:  # an imported key: only its own policy can allow this
                assert "is not created here" in flow.unchecked, flow.describe()
            else:
                assert flow.decision.allowed, flow.describe()


def test_no_policy_a_service_relies_on_has_only_denies(finders: dict[str, FlowFinder]):
    """A Deny-only resource policy lets no service principal in (a topic policy also replaces SNS's
    default one). Only S3 bucket policies may be Deny-only: buckets have no default policy to
    replace, and their same-account readers and writers are allowed by their roles' policies."""
    for stack, finder in finders.items():
        service_targets = {
            f.request.resource
            for f in finder.all()
            if f.request is not None and f.request.principal[0] == "Service" and f.kind in SERVICE_PRINCIPAL_KINDS
        }
        for lid in finder.deny_only_policies():
            resource = finder.t.resources[lid]
            assert resource["Type"] == "AWS::S3::BucketPolicy", f"{stack}: {lid} has only Deny statements"
            bucket_arn = f"arn:{finder.env.partition}:s3:::{finder.t.resolve(resource['Properties']['Bucket'])}"
            assert not any(t.startswith(bucket_arn + "/") for t in service_targets), (
                f"{stack}: {lid} has only Deny statements, yet a service writes to that bucket"
            )


def test_only_this_stacks_alarm_in_this_account_may_publish(finders: dict[str, FlowFinder]):
    """The topic's Allow is scoped: another alarm (of another stack) or another account is refused.

    The key's statement for CloudWatch is AWS's documented one, unconditioned (AWS does not document
    that those KMS calls carry the source keys): the topic policy is the gate."""
    for stack, finder in finders.items():
        alarm_flows = [f for f in finder.all() if f.kind == "CloudWatch alarm → SNS topic" and f.decision is not None]
        assert alarm_flows, stack
        for flow in alarm_flows:
            assert flow.request is not None
            source_arn = flow.request.key("aws:SourceArn")
            assert source_arn is not None
            foreign = {
                "aws:SourceArn": source_arn.rsplit(":", 1)[0] + ":SomeoneElses-Alarm",
                "aws:SourceAccount": "999999999999",
            }
            for changed in foreign.items():
                request = replace(flow.request, context={**flow.request.context, changed[0]: changed[1]})
                policy = finder.policies.topic(request.resource)
                assert policy is not None
                assert not evaluate(policy, request, finder.env).allowed, f"{stack}: {changed} {flow.describe()}"


def test_captures_are_written_and_read_for_this_endpoint_only(finders: dict[str, FlowFinder]):
    """The execution role writes, and the live-quality role reads, ``<destination>/<this endpoint>/`` only
    (SageMaker's capture layout): another endpoint capturing to the same destination is out of reach."""
    for stack, finder in finders.items():
        writes = [f for f in finder.all() if f.kind == "SageMaker → data-capture bucket"]
        reads = [f for f in finder.all() if f.kind == "Athena → table data in S3" and f.request is not None]
        reads = [f for f in reads if f.request is not None and f.request.action == "s3:GetObject"]
        if not writes:
            continue  # data capture off
        (config_id,) = finder.t.of_type("AWS::SageMaker::EndpointConfig")
        own = _s3_arn(finder.capture_object_uri(config_id), finder.env.partition)
        other = _s3_arn(finder.capture_object_uri(config_id, endpoint="another-endpoint"), finder.env.partition)
        endpoint_prefix = (
            own.rsplit("/", 6)[0] + "/"
        )  # <destination>/<endpoint>/, before <variant>/yyyy/mm/dd/hh/<file>
        capture_reads = [f for f in reads if f.request is not None and f.request.resource.startswith(endpoint_prefix)]
        assert capture_reads, f"{stack}: no flow reads the captures the endpoint writes"
        for flow in [*writes, *capture_reads]:
            assert flow.request is not None and flow.decision is not None and flow.decision.allowed, flow.describe()
            elsewhere = replace(flow.request, resource=other)
            bucket_policy = finder.policies.bucket(other.split(":::", 1)[1].split("/", 1)[0])
            decision = same_account_allows(
                finder.policies.identity(flow.request.principal[1]), bucket_policy, elsewhere, finder.env
            )
            assert not decision.allowed, f"{stack}: {flow.kind} reaches {other}"


def _s3_arn(uri: str, partition: str) -> str:
    return f"arn:{partition}:s3:::{uri.removeprefix('s3://')}"
