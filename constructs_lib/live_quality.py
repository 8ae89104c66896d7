"""Live quality: captured requests joined with late labels, per variant, on Athena, on a schedule.

::

    EventBridge schedule ─► Step Functions: Plan (Lambda) ─► Query (Athena .sync) ─► Publish (Lambda)
                                            the window       the committed Athena    report.json/.md,
                                                             text over the Glue      Live* metrics
                                                             tables (projection)

Beside a shadow, the query and publish run in one branch of a Parallel state and the shadow agreement (the
agreement query over a third Glue table that projects the production and the shadow variant, then its publish)
in the other: both fit in the run's timeout, and a failed agreement neither stops live quality's report nor
passes silently, nor pages: the run still succeeds and the failure is a ``ShadowAgreementFailures`` datapoint,
whose alarm (:attr:`LiveQuality.agreement_failures_alarm`) rolls up into the shadow's composite that notifies
nobody (``EndpointAlarms.add_shadow_composite``).

The Glue tables have one string column (the JSON Lines line, read whole) and the partition columns
of SageMaker's capture layout and of the label layout (``lambdas/live_quality/tables.py``, shared
with the query). The Athena workgroup enforces its configuration: engine version 3, results under
``athena-results/`` encrypted with the stack's key, a bytes-scanned cutoff per query. Athena reads
with the caller's credentials, here the state machine's role ("Identity and access management in
Athena": https://docs.aws.amazon.com/athena/latest/ug/security-iam-athena.html), so that role may
read the capture and label prefixes, use the Glue tables and write the results; the publish
function may read the results (GetQueryResults reads the result object with its caller's credentials).
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType

from aws_cdk import Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from constructs_lib.ab_endpoint import AbEndpoint
from constructs_lib.acknowledge import acknowledge, wildcard_resource_finding
from constructs_lib.config.alarm_limits import MAX_HOURLY_EVALUATION_PERIODS
from constructs_lib.config.model import LIVE_QUALITY_RUN_TIMEOUT_HOURS, LiveQualitySpec
from constructs_lib.lambda_shared import live_quality_tables, live_quality_threshold
from constructs_lib.metric_catalog import PROJECT_NAMESPACE, grant_put_project_metrics, metric
from constructs_lib.python_function import LAMBDAS_DIR, PythonFunction
from constructs_lib.s3_location import S3Location
from constructs_lib.state_machine_logs import execution_logs
from constructs_lib.task_retries import retry_lambda_throttling

ATHENA_SQL = LAMBDAS_DIR / "live_quality" / "sql" / "live_quality.athena.sql"
# Beside a shadow only: the agreement query's committed Athena text (generated as live quality's).
AGREEMENT_ATHENA_SQL = LAMBDAS_DIR / "live_quality" / "sql" / "shadow_agreement.athena.sql"
# A failed agreement step (its query or its publish) publishes 1 to this metric (VariantName = the shadow) and the
# run goes on: the shadow pages nobody (constructs_lib/alarms.py), so its failure must not fail the run, whose
# alarms page.
AGREEMENT_FAILURES_METRIC = "ShadowAgreementFailures"
# The failure count's PutMetricData call is retried, and each try may take at most this long: the branch must fit
# in the run's timeout with it, with about a minute to spare after the longest query and publish.
AGREEMENT_FAILURE_COUNT_TIMEOUT = Duration.seconds(10)
REPORT_PREFIX = "live-quality/"
ATHENA_RESULTS_PREFIX = "athena-results/"
# The publish step reads a run's results within the hour; a week leaves time to redrive a failed
# publish, and no run ever reads another run's results (the stack's lifecycle rule, constructs_lib/retention.py).
ATHENA_RESULTS_RETENTION = Duration.days(7)
GROUND_TRUTH_PREFIX = "ground-truth/"
# "Athena engine version 3" is the SelectedEngineVersion value (AWS::Athena::WorkGroup EngineVersion).
ENGINE_VERSION = "Athena engine version 3"
# Hourly partitions are projected over the last two years (lookback_days, the longest window a run
# reads, is capped at a year: MAX_LOOKBACK_DAYS in lambdas/live_quality/tables.py).
# Relative ranges are evaluated when a query runs, so the text stays the same at every synth
# ("Supported types for partition projection", date type:
# https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html).
HOUR_RANGE = "NOW-2YEARS,NOW"
# Java DateTimeFormatter pattern of the 'yyyy/mm/dd/hh' path segments (UTC, as SageMaker writes them).
HOUR_FORMAT = "yyyy/MM/dd/HH"
# LazySimpleSerDe splits a line into columns at field.delim. JSON text never holds a raw control
# character (RFC 8259, section 7: U+0000 to U+001F must be escaped inside strings, and are not
# whitespace outside them), so with U+0001 (Hive's own default delimiter) as the delimiter every JSON
# Lines line is one field: the one `line` column gets the whole line, unparsed. Malformed lines stay
# rows and the query reports them. RegexSerDe with (.*) would do the same with a regex per line.
# (LazySimpleSerDe: https://docs.aws.amazon.com/athena/latest/ug/lazy-simple-serde.html)
LINE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
FIELD_DELIMITER = "\u0001"
TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
# StartQueryExecution's throttling (Athena API reference, Errors: TooManyRequestsException, "Indicates
# that the request was throttled"; botocore's athena model lists it), named as Step Functions names a
# service's errors: "ServiceName.ErrorName", both in Pascal case, the exception suffix included
# ("Learning to use AWS service SDK integrations":
# https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html). The optimized
# Athena integration's page (connect-athena.html) lists no error names of its own.
ATHENA_THROTTLED = "Athena.TooManyRequestsException"
# The plan's "not one whole hour since the endpoint config was created" (live_quality.window.NothingToReadYet):
# a Python Lambda's unhandled exception reaches Step Functions with its class name as the error name
# (errorType; "Error handling in Step Functions":
# https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html). Every deploy that
# replaces the endpoint config makes the next run within the hour hit it: the run ends as succeeded,
# saying why, instead of failing and paging.
NOTHING_TO_READ_YET = "NothingToReadYet"
# The plan's "a new endpoint config is being deployed" (live_quality.endpoint_anchor.DeploymentInProgress):
# Creating, or a PendingDeploymentSummary. Two fleets may serve and the config that will serve is not
# settled. Retried (PLAN_RETRY), then the run ends as succeeded, saying why, for the same reason. A weight
# or capacity change (Updating without a pending deployment) is not one: the plan proceeds.
DEPLOYMENT_IN_PROGRESS = "DeploymentInProgress"
# The plan's "DescribeEndpointConfig was refused" (live_quality.endpoint_anchor.EndpointConfigNotGranted):
# the endpoint serves another config than the plan's policy names, mostly for the moments of a stack
# update or rollback, or while IAM propagates a changed policy. Retried (PLAN_RETRY), then the run fails.
ENDPOINT_CONFIG_NOT_GRANTED = "EndpointConfigNotGranted"
# EventBridge's count of target invocations that failed for good, after the target's retries (a role
# that may not start the state machine, throttling); sent only when not zero ("Monitoring Amazon
# EventBridge", FailedInvocations, dimension RuleName:
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html).
EVENTS_NAMESPACE = "AWS/Events"
FAILED_INVOCATIONS = "FailedInvocations"
# A run reads at most a year of hours; Athena's DML queries time out after 30 minutes by default
# (Service Quotas, "DML query timeout": "The maximum amount of time in minutes a DML query can run before
# it gets cancelled", https://docs.aws.amazon.com/athena/latest/ug/service-limits.html; the default is on
# https://docs.aws.amazon.com/general/latest/gr/athena.html), the Lambdas after minutes.
RUN_TIMEOUT = Duration.hours(LIVE_QUALITY_RUN_TIMEOUT_HOURS)
ATHENA_DML_QUERY_TIMEOUT = Duration.minutes(30)
# The plan's retries on a deployment in progress or a config not (yet) granted: one retrier for both, so
# their waits share one budget. Everything a run may take -- the plan's attempts and every retrier's waits,
# the query up to Athena's DML timeout, publish -- fits in RUN_TIMEOUT (a test adds it up from the
# definition): five minutes twice covers the grant's gaps and IAM propagation, and the end of a short
# deployment. A longer deployment still ends the run as succeeded; after a config deployment the anchor
# moves to the new config anyway, so a retried plan would mostly find nothing to read yet.
PLAN_RETRY_INTERVAL = Duration.minutes(5)
PLAN_RETRY_ATTEMPTS = 2
# Step Functions' count of an execution that succeeded, per state machine ("Monitoring Step Functions
# metrics using Amazon CloudWatch", execution metrics, dimension StateMachineArn:
# https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html); CDK's
# StateMachine.metric_succeeded() is that metric (AWS/States, ExecutionsSucceeded, Sum). Sent only when
# an execution ends, so an hour without a success has no datapoint: missing data is what this alarm is about.
NOT_SUCCEEDED_PERIOD = Duration.hours(1)
# The account's Glue Data Catalog as Athena names it (QueryExecutionContext Catalog default).
DATA_CATALOG = "AwsDataCatalog"
PUBLISH_TIMEOUT = Duration.minutes(5)
# The stack output with the state machine's ARN: a run by hand is
# aws stepfunctions start-execution --state-machine-arn <this output>.
STATE_MACHINE_OUTPUT = "LiveQualityStateMachineArn"
SCHEDULE_RETRY_ATTEMPTS = 2


def _retry_athena_throttling(task: sfn.TaskStateBase) -> None:
    """Only a throttled query start is retried: a query that failed would fail, and scan, again."""
    task.add_retry(
        errors=[ATHENA_THROTTLED],
        interval=Duration.seconds(5),
        max_attempts=5,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )


def shared_names() -> ModuleType:
    """``lambdas/live_quality/tables.py``, loaded by path (``constructs_lib.lambda_shared``): the table,
    column and partition names the query uses."""
    return live_quality_tables()


@functools.cache
def _committed_athena_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def athena_query_text(threshold: float, path: Path = ATHENA_SQL) -> str:
    """The committed Athena text (generated from the DuckDB source) with ``threshold`` written in as a
    checked number literal. Athena takes execution parameters (``?``) in the WHERE clause only
    ("Currently, ? parameters can be placed only in the WHERE clause. Syntax like SELECT ? FROM table
    is not supported.": https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html),
    and the threshold is compared in a SELECT list; it is a setting of the deployment, so it is part of
    the state machine's QueryString. The publish step checks that the query ran with this text."""
    text: str = live_quality_threshold().with_threshold(_committed_athena_text(path), threshold)
    return text


def glue_database_name(endpoint_name: str) -> str:
    """``sagemaker_ab_<endpoint>``: Glue and Athena database names are lowercase letters, digits and
    underscores ("Names for databases, tables, and columns":
    https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html). Endpoint names
    are letters, digits and hyphens, unique ignoring case, so the name is unique per endpoint."""
    return "sagemaker_ab_" + endpoint_name.lower().replace("-", "_")


def workgroup_name(endpoint_name: str) -> str:
    """``sagemaker-ab-<endpoint>-live-quality`` (workgroup names: 1 to 128 letters, digits, ``-``, ``_``)."""
    return f"sagemaker-ab-{endpoint_name}-live-quality"


class LiveQuality(Construct):
    """The Glue tables, Athena workgroup, functions, state machine, schedule and alarm of one endpoint.

    :param endpoint: the endpoint whose captures are read (its name, its variants).
    :param capture: where SageMaker writes the endpoint's captures (the endpoint config's destination).
    :param ground_truth: where the labels are uploaded, by hour.
    :param results: the bucket for ``athena-results/`` and the reports under ``live-quality/``.
    :param settings: schedule, window, threshold, alpha and the bytes-scanned cutoff.
    :param key: encrypts the query results, the logs, and (as the bucket key) the objects read.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: AbEndpoint,
        capture: S3Location,
        ground_truth: S3Location,
        results: S3Location,
        settings: LiveQualitySpec,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        names = shared_names()
        spec = endpoint.spec
        self.settings = settings
        self.endpoint_name = spec.name
        self.capture, self.ground_truth = capture, ground_truth
        # Athena reads this endpoint's captures only (the Glue table's location template starts there too).
        self.endpoint_captures = capture.child(spec.name)
        self.athena_results = results.child(ATHENA_RESULTS_PREFIX)
        self.reports = results.child(REPORT_PREFIX)
        # Production variants only. A shadow receives copies of production's requests, with the same
        # InferenceId if SageMaker keeps it (UNVERIFIED, Q4 in docs/design/shadow-and-guardrails.md): read
        # beside production, every copied id would count as captured twice and production would lose the
        # sampled share of its requests (capture_duplicate_id leaves out all copies). The shadow is compared
        # with production by the agreement step (its own table, below; design §2.6).
        variants = [v.name for v in spec.production_variants]
        shadow = spec.shadow_variant
        # (production, shadow) beside a shadow, which has exactly one production variant; None otherwise.
        self.agreement_variants: tuple[str, str] | None = (variants[0], shadow.name) if shadow is not None else None

        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=glue_database_name(spec.name),
                description=f"Live quality of SageMaker endpoint {spec.name}: captured requests and their labels",
            ),
        )
        self.database_name = glue_database_name(spec.name)
        self.capture_table = self._line_table(
            "CaptureTable",
            names.ATHENA_CAPTURE_TABLE,
            location=capture.folder_uri,
            partitions=names.CAPTURE_PARTITIONS,
            projection={
                # Only this endpoint's folder and the config's production variants are read: a retired
                # variant's captures are no longer projected, and labels for its requests then show as
                # labels for unknown ids (reported, never dropped); a shadow's are never read (above).
                "projection.endpoint.type": "enum",
                "projection.endpoint.values": spec.name,
                "projection.variant.type": "enum",
                "projection.variant.values": ",".join(variants),
                "storage.location.template": f"{capture.folder_uri}${{endpoint}}/${{variant}}/${{hour}}/",
            },
            description=f"SageMaker data capture of {spec.name}, one JSON line per row",
        )
        self.shadow_capture_table = (
            self._line_table(
                "ShadowCaptureTable",
                names.ATHENA_SHADOW_CAPTURE_TABLE,
                location=capture.folder_uri,
                partitions=names.CAPTURE_PARTITIONS,
                projection={
                    # The production variant's and the shadow's folders: what the agreement query pairs.
                    "projection.endpoint.type": "enum",
                    "projection.endpoint.values": spec.name,
                    "projection.variant.type": "enum",
                    "projection.variant.values": ",".join(self.agreement_variants),
                    "storage.location.template": f"{capture.folder_uri}${{endpoint}}/${{variant}}/${{hour}}/",
                },
                description=f"SageMaker data capture of {spec.name}, production and shadow, one JSON line per row",
            )
            if self.agreement_variants is not None
            else None
        )
        self.label_table = self._line_table(
            "GroundTruthTable",
            names.ATHENA_LABEL_TABLE,
            location=ground_truth.folder_uri,
            partitions=names.LABEL_PARTITIONS,
            projection={"storage.location.template": f"{ground_truth.folder_uri}${{hour}}/"},
            description=f"Ground-truth labels of {spec.name} (SageMaker's merge format), by collection hour",
        )

        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=workgroup_name(spec.name),
            description=f"Live-quality query of SageMaker endpoint {spec.name}",
            state="ENABLED",
            # Deleting the stack deletes the workgroup with its saved queries and history.
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(selected_engine_version=ENGINE_VERSION),
                # Client-side settings cannot move results elsewhere or drop their encryption.
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=settings.bytes_scanned_cutoff,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.athena_results.folder_uri,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                ),
            ),
        )
        stack = Stack.of(self)
        self.workgroup_arn = stack.format_arn(service="athena", resource="workgroup", resource_name=self.workgroup.name)

        self.plan_function = PythonFunction(
            self,
            "PlanFunction",
            handler="live_quality.handler.plan",
            key=key,
            description=f"Live quality of {spec.name}: the hours of captures and labels one run reads, from when "
            "the endpoint's config began to serve alone",
            environment={
                "ENDPOINT_NAME": endpoint.endpoint_name,
                "LOOKBACK_DAYS": str(settings.lookback_days),
                "THRESHOLD": repr(settings.threshold),
                **self._agreement_variant_environment(),
            },
        ).function
        # The window starts when the endpoint's current config began to serve alone: its creation, or the
        # serving-since tag on the endpoint (lambdas/live_quality/endpoint_anchor.py).
        endpoint.grant_describe_current_config(self.plan_function)
        endpoint.grant_read_serving_since(self.plan_function)
        self.publish_function = PythonFunction(
            self,
            "PublishFunction",
            handler="live_quality.handler.publish",
            key=key,
            description=f"Live quality of {spec.name}: report and per-variant metrics from the query's results",
            timeout=PUBLISH_TIMEOUT,
            memory_size=512,
            environment={
                "ENDPOINT_NAME": endpoint.endpoint_name,
                "VARIANTS": stack.to_json_string(variants),
                "ALPHA": repr(settings.alpha),
                "REPORT_BUCKET": results.bucket_name,
                "REPORT_PREFIX": self.reports.prefix,
                "METRICS_NAMESPACE": PROJECT_NAMESPACE,
                # Labels for requests capture did not sample are expected, not an issue (report.py).
                "CAPTURE_SAMPLING_PERCENTAGE": str(spec.data_capture.sampling_percentage),
                # How much of an input issue's line the report quotes (request data, possibly personal).
                "SAMPLE_EXCERPT_CHARS": str(settings.sample_excerpt_chars),
            },
        ).function
        self._grant_publish(self.publish_function, key)
        self.agreement_function = (
            PythonFunction(
                self,
                "AgreementFunction",
                handler="live_quality.handler.publish_agreement",
                key=key,
                description=f"Shadow agreement of {spec.name}: report and ShadowPairs/ShadowAgreement from the "
                "agreement query's results",
                timeout=PUBLISH_TIMEOUT,
                memory_size=512,
                environment={
                    "ENDPOINT_NAME": endpoint.endpoint_name,
                    **self._agreement_variant_environment(),
                    "REPORT_BUCKET": results.bucket_name,
                    "REPORT_PREFIX": self.reports.prefix,
                    "METRICS_NAMESPACE": PROJECT_NAMESPACE,
                },
            ).function
            if self.agreement_variants is not None
            else None
        )
        if self.agreement_function is not None:
            self._grant_publish(self.agreement_function, key)

        # The state machine's role is written here, statement by statement, and handed over without
        # policy updates: CDK's AthenaStartQueryExecution would add s3:GetObject/s3:ListBucket/
        # s3:CreateBucket on "*" and glue:Create*/Delete*/Update* on the whole database, and it leaves
        # out athena:StopQueryExecution, which the .sync pattern calls when a run is stopped.
        self.role = iam.Role(
            self,
            "StateMachineRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"Runs the live-quality state machine of {spec.name}: its Lambdas, and Athena as this role",
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            role=self.role.without_policy_updates(),
            definition_body=sfn.DefinitionBody.from_chainable(self._definition()),
            timeout=RUN_TIMEOUT,
            tracing_enabled=True,
            logs=execution_logs(self, key=key),
            comment=f"Live quality of SageMaker endpoint {spec.name}: plan, Athena query, report and metrics",
        )
        self._grant_state_machine(key)
        # CreateStateMachine checks the role's permissions for log delivery: the policy comes first.
        self.state_machine.node.add_dependency(self.role)

        # A fixed, empty input: EventBridge would otherwise pass its scheduled event, whose keys the plan
        # function does not take. A manual run may pass the window's hours (README).
        # DISABLED unless the config says live_quality.schedule_enabled: the Athena path has not run in a real
        # account yet (issue 12; the README's status lists what is still open). The config is the one switch: a
        # rule enabled by hand stays enabled only until a deploy changes the rule's resource. "AWS CloudFormation
        # compares the changes you submit with the current state of your stack and updates only the changed
        # resources" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks.html),
        # and an update of the rule writes the template's State (UNVERIFIED: that an update of another of its
        # properties re-applies an unchanged State), so a hand-set state would last until some unrelated edit.
        self.schedule = events.Rule(
            self,
            "Schedule",
            enabled=settings.schedule_enabled,
            schedule=events.Schedule.rate(Duration.hours(settings.schedule_hours)),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    input=events.RuleTargetInput.from_object({}),
                    retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                )
            ],
            description=f"Runs the live-quality query of {spec.name} every {settings.schedule_hours} h",
        )
        events_policy = self.state_machine.node.find_child("EventsRole").node.find_child("DefaultPolicy")
        acknowledge(
            events_policy,
            "Generated by the EventBridge target for this one rule: states:StartExecution on this state machine only.",
            "HIPAA.Security-IAMNoInlinePolicy",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )

        # Failed and timed-out runs are summed: either means no report for that run. The metric has a
        # datapoint only when a run ends, so missing data is not breaching.
        failed = self.state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum")
        timed_out = self.state_machine.metric_timed_out(period=Duration.minutes(5), statistic="Sum")
        self.alarm = cw.MathExpression(
            expression="FILL(failed, 0) + FILL(timed_out, 0)",
            using_metrics={"failed": failed, "timed_out": timed_out},
            label="live-quality runs failed or timed out",
            period=Duration.minutes(5),
        ).create_alarm(
            self,
            "RunFailedAlarm",
            alarm_description=f"A live-quality run of {spec.name} failed or timed out: no report for it. See the "
            "state machine's execution history (the Athena query's error, or the bytes-scanned cutoff).",
            threshold=0,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )

        # A run that never starts raises no Step Functions metric: the schedule's own failures alarm too.
        # Missing data is the normal case (the metric is only sent when not zero).
        self.schedule_alarm = cw.Metric(
            namespace=EVENTS_NAMESPACE,
            metric_name=FAILED_INVOCATIONS,
            dimensions_map={"RuleName": self.schedule.rule_name},
            statistic="Sum",
            period=Duration.minutes(5),
        ).create_alarm(
            self,
            "ScheduleFailedAlarm",
            alarm_description=f"The live-quality schedule of {spec.name} could not start its state machine "
            f"(EventBridge FailedInvocations, after {SCHEDULE_RETRY_ATTEMPTS} retries): no run, no report. Check "
            "the rule's role (states:StartExecution on the state machine) and Step Functions throttling.",
            threshold=0,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )

        self.not_succeeded_alarm = self._not_succeeded_alarm() if settings.schedule_enabled else None
        self.agreement_failures_alarm = self._agreement_failures_alarm() if self.agreement_variants else None

        CfnOutput(
            stack,
            STATE_MACHINE_OUTPUT,
            value=self.state_machine.state_machine_arn,
            description="aws stepfunctions start-execution --state-machine-arn <this> runs the live-quality query now",
        )
        CfnOutput(
            stack,
            "GroundTruthS3Uri",
            value=ground_truth.folder_uri,
            description="Upload labels here as <yyyy>/<mm>/<dd>/<hh>/<file>.jsonl (scripts/labels_to_ground_truth.py)",
        )
        CfnOutput(stack, "CaptureS3Uri", value=capture.uri, description="Where SageMaker writes the captured requests")

    @property
    def alarms(self) -> list[cw.Alarm]:
        """Runs that failed or timed out, and scheduled runs that never started: both roll up into the
        endpoint's composite alarm (both clear by themselves). Not :attr:`not_succeeded_alarm`, which stays
        in ALARM until a run succeeds and so notifies on its own."""
        return [self.alarm, self.schedule_alarm]

    def _agreement_failures_alarm(self) -> cw.Alarm:
        """ALARM while a shadow-agreement step failed within about the last ``schedule_hours`` (one run's interval
        and a run's length, at most CloudWatch's seven days of hourly periods): any hour with a
        ``ShadowAgreementFailures`` datapoint.

        For the shadow's composite (``EndpointAlarms.add_shadow_composite``), which notifies nobody: live quality
        published, and only the shadow's comparison is missing. The metric has a datapoint only when a step
        fails, so missing data is not breaching (OK: no failure seen, or no run).
        """
        assert self.agreement_variants is not None
        # One run's interval, plus how late in its run a failure may be counted (up to the run's timeout) and the
        # hour a datapoint may straddle: two failing runs in a row never leave an hour of OK between them.
        periods = min(self.settings.schedule_hours + LIVE_QUALITY_RUN_TIMEOUT_HOURS + 1, MAX_HOURLY_EVALUATION_PERIODS)
        shadow = self.agreement_variants[1]
        return metric(
            PROJECT_NAMESPACE,
            AGREEMENT_FAILURES_METRIC,
            endpoint_name=self.endpoint_name,
            variant_name=shadow,
            statistic="Sum",
            period=NOT_SUCCEEDED_PERIOD,
        ).create_alarm(
            self,
            "AgreementFailuresAlarm",
            alarm_description=f"shadow variant {shadow} (answers nobody; does not page): its agreement step (query "
            f"or publish) failed in a live-quality run of {self.endpoint_name} in the last {periods} h. Live "
            "quality's report and metrics were published; ShadowAgreement and ShadowPairs were not. The error is in "
            "the execution's history ($.agreement_error): the bytes-scanned cutoff, a query error, or the publish.",
            threshold=0,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=periods,
            datapoints_to_alarm=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )

    def _not_succeeded_alarm(self) -> cw.Alarm:
        """ALARM when no run succeeded in the last 2 × ``schedule_hours`` (at least ``schedule_hours`` + 2,
        at most seven days: ``LiveQualitySpec.not_succeeded_evaluation_periods``).

        The silent failures the other two alarms cannot see: a rule disabled by hand, a state machine that
        is never started, runs stopped by hand, metrics that stop. Hourly periods, every one of them missing
        or zero to alarm (datapoints to alarm = evaluation periods); missing data is breaching, as an hour
        without a run has no datapoint at all. It stays in ALARM until a run succeeds, so it is not rolled
        into the composite (it would hold the composite in ALARM and swallow later pages): the stack lets it
        notify the topic itself (``EndpointAlarms.notify_directly``). Right after it is created every period
        is missing, so expect ALARM unless a run succeeds first (UNVERIFIED: how CloudWatch evaluates a new
        alarm with no datapoint at all is not spelled out for "breaching"): start one by hand when you enable
        the schedule (README).
        """
        periods = self.settings.not_succeeded_evaluation_periods
        # The loader refuses an enabled schedule whose alarm window CloudWatch cannot hold.
        assert periods is not None, "config loader let an enabled schedule through without an alarm window"
        name = self.endpoint_name
        return self.state_machine.metric_succeeded(period=NOT_SUCCEEDED_PERIOD, statistic="Sum").create_alarm(
            self,
            "NotSucceededAlarm",
            alarm_description=f"No live-quality run of {name} has succeeded for {periods} hours (the schedule runs "
            f"every {self.settings.schedule_hours} h): no fresh report or Live* metrics. Check that the schedule rule "
            "is enabled, the state machine's recent executions, and the run-failed and schedule alarms. Right after "
            "the schedule is enabled this alarm has no data and is expected until a first run succeeds: start one "
            f"with aws stepfunctions start-execution --state-machine-arn {self.state_machine.state_machine_arn}",
            threshold=1,
            comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=cw.TreatMissingData.BREACHING,
        )

    # --- Glue ----------------------------------------------------------------------------------------

    def _line_table(
        self,
        construct_id: str,
        name: str,
        *,
        location: str,
        partitions: tuple[str, ...],
        projection: dict[str, str],
        description: str,
    ) -> glue.CfnTable:
        """A table of one string column holding each line whole, partitioned by projection
        ("Use partition projection with Amazon Athena":
        https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html): Athena computes the
        partitions from these properties instead of asking Glue, so no crawler or MSCK REPAIR is needed
        and new hours are readable as soon as their files exist."""
        names = shared_names()
        table = glue.CfnTable(
            self,
            construct_id,
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.database.ref,  # Ref of AWS::Glue::Database is its name
            table_input=glue.CfnTable.TableInputProperty(
                name=name,
                description=description,
                table_type="EXTERNAL_TABLE",
                parameters={
                    "projection.enabled": "true",
                    "projection.hour.type": "date",
                    "projection.hour.format": HOUR_FORMAT,
                    "projection.hour.range": HOUR_RANGE,
                    "projection.hour.interval": "1",
                    "projection.hour.interval.unit": "HOURS",
                    **projection,
                },
                partition_keys=[glue.CfnTable.ColumnProperty(name=p, type="string") for p in partitions],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[glue.CfnTable.ColumnProperty(name=names.LINE_COLUMN, type="string")],
                    location=location,
                    input_format=TEXT_INPUT_FORMAT,
                    output_format=TEXT_OUTPUT_FORMAT,
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library=LINE_SERDE,
                        parameters={"field.delim": FIELD_DELIMITER, "serialization.format": FIELD_DELIMITER},
                    ),
                ),
            ),
        )
        return table

    def _glue_arns(self) -> list[str]:
        stack = Stack.of(self)
        names = shared_names()
        return [
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=self.database_name),
            *(
                stack.format_arn(service="glue", resource="table", resource_name=f"{self.database_name}/{table}")
                for table in (
                    names.ATHENA_CAPTURE_TABLE,
                    names.ATHENA_LABEL_TABLE,
                    *([names.ATHENA_SHADOW_CAPTURE_TABLE] if self.agreement_variants else []),
                )
            ),
        ]

    # --- the state machine ---------------------------------------------------------------------------

    def _definition(self) -> sfn.IChainable:
        # The execution's input (empty from the schedule; a manual run's window overrides) merged with
        # the run's start time, which the plan turns into the window.
        start = sfn.Pass(
            self,
            "Run start",
            parameters={
                "input": sfn.JsonPath.object_at("$"),
                "start": {"time": sfn.JsonPath.string_at("$$.Execution.StartTime")},
            },
        )
        plan = tasks.LambdaInvoke(
            self,
            "Plan",
            lambda_function=self.plan_function,
            payload=sfn.TaskInput.from_json_path_at("States.JsonMerge($.input, $.start, false)"),
            result_selector={"plan": sfn.JsonPath.object_at("$.Payload")},
            comment="The hours of captures and labels this run reads, and the query's parameters",
        )
        query = self._query_task(
            "Query",
            ATHENA_SQL,
            parameters_key="execution_parameters",
            result_key="query",
            comment="The live-quality query (lambdas/live_quality/sql/live_quality.athena.sql); waits for it",
        )
        publish = self._publish_task(
            "Publish",
            self.publish_function,
            query_key="query",
            result_key="published",
            comment="Report (JSON, Markdown) and per-variant Live* metrics",
        )
        for task in (plan, publish):
            retry_lambda_throttling(task)
        # Only the throttled start is retried: a query that failed (bad data never fails it; the
        # bytes-scanned cutoff does) would fail again and scan again.
        # A query that ends FAILED with AthenaError.Retryable true ("True if the query might succeed if
        # resubmitted": https://docs.aws.amazon.com/athena/latest/APIReference/API_AthenaError.html) is not
        # resubmitted here: with .sync the task itself fails, and neither the error name nor the Cause it
        # carries (where the query's id would be) is documented for the Athena integration
        # (https://docs.aws.amazon.com/step-functions/latest/dg/connect-athena.html lists none), so a Choice
        # on Retryable would need the request-response pattern and a polling loop instead of .sync. Such a
        # run fails, its alarm pages, and the next scheduled (or a manual) run reads the same window again.
        _retry_athena_throttling(query)
        # Retriers come before catchers, and one retrier's MaxAttempts counts all its errors together
        # ("Error handling in Step Functions", above: its example's ErrorA/ErrorB retrier, then the Catch).
        plan.add_retry(
            errors=[DEPLOYMENT_IN_PROGRESS, ENDPOINT_CONFIG_NOT_GRANTED],
            interval=PLAN_RETRY_INTERVAL,
            max_attempts=PLAN_RETRY_ATTEMPTS,
            backoff_rate=1,
        )
        plan.add_catch(
            sfn.Succeed(self, "Nothing to read yet", comment="The endpoint config is less than a whole hour old"),
            errors=[NOTHING_TO_READ_YET],
            result_path="$.nothing_to_read_yet",
        )
        plan.add_catch(
            sfn.Succeed(self, "Deployment in progress", comment="The endpoint is being deployed; nothing was read"),
            errors=[DEPLOYMENT_IN_PROGRESS],
            result_path="$.deployment_in_progress",
        )
        if self.agreement_function is None:
            return start.next(plan).next(query).next(publish)
        return start.next(plan).next(self._with_agreement(query.next(publish)))

    def _query_task(
        self, construct_id: str, athena_sql: Path, *, parameters_key: str, result_key: str, comment: str
    ) -> tasks.AthenaStartQueryExecution:
        """Start ``athena_sql`` (the threshold written in) with the plan's ``parameters_key`` and wait for it;
        the query's id lands at ``$.<result_key>.query_execution_id``."""
        return tasks.AthenaStartQueryExecution(
            self,
            construct_id,
            query_string=athena_query_text(self.settings.threshold, athena_sql),
            execution_parameters=sfn.JsonPath.list_at(f"$.plan.{parameters_key}"),
            work_group=self.workgroup.name,
            query_execution_context=tasks.QueryExecutionContext(database_name=self.database_name),
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            result_selector={"query_execution_id": sfn.JsonPath.string_at("$.QueryExecution.QueryExecutionId")},
            result_path=f"$.{result_key}",
            comment=comment,
        )

    def _publish_task(
        self, construct_id: str, function: lambda_.IFunction, *, query_key: str, result_key: str, comment: str
    ) -> tasks.LambdaInvoke:
        """Invoke ``function`` with the finished query's id and the plan; its answer lands at ``$.<result_key>``."""
        return tasks.LambdaInvoke(
            self,
            construct_id,
            lambda_function=function,
            payload=sfn.TaskInput.from_object(
                {
                    "query_execution_id": sfn.JsonPath.string_at(f"$.{query_key}.query_execution_id"),
                    "plan": sfn.JsonPath.object_at("$.plan"),
                }
            ),
            result_selector={result_key: sfn.JsonPath.object_at("$.Payload")},
            comment=comment,
        )

    def _with_agreement(self, live_quality: sfn.IChainable) -> sfn.IChainable:
        """Live quality's query and publish beside the shadow agreement's, in a Parallel state.

        In parallel because each query may take up to Athena's DML timeout and the run's timeout holds one.
        "If any branch fails, because of an unhandled error or by transitioning to a Fail state, the entire
        Parallel state is considered to have failed and all its branches are stopped" ("Parallel workflow
        state": https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html): so the agreement's
        errors are caught inside its branch (live quality's report and metrics still come out) and counted in
        ``ShadowAgreementFailures``; the run succeeds (a shadow's failure pages nobody).
        """
        agreement_query = self._query_task(
            "Agreement query",
            AGREEMENT_ATHENA_SQL,
            parameters_key="agreement_execution_parameters",
            result_key="agreement_query",
            comment="The shadow-agreement query (lambdas/live_quality/sql/shadow_agreement.athena.sql); waits for it",
        )
        assert self.agreement_function is not None
        publish_agreement = self._publish_task(
            "Publish agreement",
            self.agreement_function,
            query_key="agreement_query",
            result_key="agreement",
            comment="agreement.json/.md and the shadow's ShadowPairs, ShadowAgreement",
        )
        _retry_athena_throttling(agreement_query)
        retry_lambda_throttling(publish_agreement)
        assert self.agreement_variants is not None
        # The failure, counted where the shadow's other problems are (ShadowProblem, which pages nobody), not as a
        # failed run (RunFailedAlarm and "has not succeeded" page). Step Functions' SDK integration calls
        # CloudWatch's PutMetricData directly, parameters in PascalCase ("AWS SDK service integrations":
        # https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html). Dated now, not at the
        # window's end: it says when the step failed.
        count_failure = tasks.CallAwsService(
            self,
            "Count agreement failure",
            service="cloudwatch",
            action="putMetricData",
            iam_action="cloudwatch:PutMetricData",
            iam_resources=["*"],
            parameters={
                "Namespace": PROJECT_NAMESPACE,
                "MetricData": [
                    {
                        "MetricName": AGREEMENT_FAILURES_METRIC,
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": self.endpoint_name},
                            {"Name": "VariantName", "Value": self.agreement_variants[1]},
                        ],
                        "Value": 1,
                        "Unit": "Count",
                    }
                ],
            },
            result_path=sfn.JsonPath.DISCARD,
            task_timeout=sfn.Timeout.duration(AGREEMENT_FAILURE_COUNT_TIMEOUT),
            comment="ShadowAgreementFailures = 1 for the shadow; the run goes on and succeeds (the error stays in "
            "$.agreement_error and the execution's history)",
        )
        # Not caught: if CloudWatch refuses the count after the retries, the run fails (and pages), as it would for
        # live quality's own publish.
        count_failure.add_retry(
            errors=["States.ALL"],
            interval=Duration.seconds(1),
            max_attempts=2,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        # States.ALL catches every error but two: "States.ALL ... cannot catch the States.DataLimitExceeded terminal
        # error or the Runtime error types" (Error names, "Handling errors in Step Functions workflows":
        # https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html). So a run whose plan
        # lacks agreement_execution_parameters (a plan function of the previous deployment, during an update) fails
        # as a whole, as any run-level error does (UNVERIFIED: that a missing ".$" path raises States.Runtime is not
        # spelled out there).
        for task in (agreement_query, publish_agreement):
            task.add_catch(count_failure, errors=["States.ALL"], result_path="$.agreement_error")
        both = sfn.Parallel(
            self,
            "Live quality and shadow agreement",
            result_path="$.branches",
            comment="Live quality's query and publish; beside them the shadow's agreement query and publish (a "
            "failure of which is counted in ShadowAgreementFailures, not a failed run)",
        )
        both.branch(live_quality)
        both.branch(agreement_query.next(publish_agreement))
        return both

    # --- permissions ---------------------------------------------------------------------------------

    def _grant_state_machine(self, key: kms.IKey) -> None:
        """Exactly what the state machine's role does.

        Its two Lambda tasks; log delivery and X-Ray (no resource-level permissions: "*"). Athena's
        .sync task starts, polls and (when the run is stopped) stops the query on this workgroup, and
        Athena then runs as this role: it reads the capture and label prefixes and the two Glue tables
        and writes the results ("IAM policies for Amazon Athena" in Step Functions:
        https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html lists the actions Step
        Functions' own generated policy holds for StartQueryExecution.sync; here scoped to this
        endpoint's workgroup, tables and prefixes, without its Glue writes and s3:CreateBucket).
        """
        role = self.role
        if self.agreement_function is not None:
            # The agreement branch's "Count agreement failure" task: the role takes no policy updates, so the
            # statement CallAwsService would add is written here (this namespace only).
            grant_put_project_metrics(role)
        stack = Stack.of(self)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[
                    self.plan_function.function_arn,
                    self.publish_function.function_arn,
                    *([self.agreement_function.function_arn] if self.agreement_function else []),
                ],
            )
        )
        # What CDK's StateMachine adds for logging and tracing (CloudWatch Logs' vended log delivery and
        # X-Ray have no resource-level permissions).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:StopQueryExecution",
                    "athena:GetDataCatalog",
                ],
                resources=[
                    self.workgroup_arn,
                    stack.format_arn(service="athena", resource="datacatalog", resource_name=DATA_CATALOG),
                ],
            )
        )
        # Objects: this endpoint's captures only (<destination><endpoint>/, the layout SageMaker writes; see
        # AbEndpoint.endpoint_captures). Listing stays on the destination prefix, the capture table's location:
        # it reveals key names, not data, and whether Athena lists the table's location besides the projected
        # partitions' is not documented (UNVERIFIED), so narrowing it could fail every query.
        reads = [self.endpoint_captures, self.ground_truth]
        role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[loc.objects_arn for loc in reads]))
        # Athena lists the output location too (Knowledge Center "athena-output-bucket-error").
        for location in (self.capture, self.ground_truth, self.athena_results):
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[location.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{location.prefix}*"]}},
                )
            )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                resources=sorted({loc.bucket_arn for loc in (*reads, self.athena_results)}, key=str),
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                resources=[self.athena_results.objects_arn],
            )
        )
        # Read-only; with partition projection Athena ignores the tables' registered partitions, the
        # partition reads only ever see none.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                ],
                resources=self._glue_arns(),
            )
        )
        # Lake Formation vends credentials only for S3 locations registered with it and granted to this
        # role; it has no resource-level permissions. Without it, a Data Catalog governed by Lake
        # Formation refuses the query.
        role.add_to_policy(iam.PolicyStatement(actions=["lakeformation:GetDataAccess"], resources=["*"]))
        key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        policy = role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "'*' only for log delivery, X-Ray and Lake Formation's GetDataAccess (no resource-level permissions); "
            "objects only under this endpoint's capture, ground-truth and athena-results prefixes.",
            "AwsSolutions-IAM5[Resource::*]",
            *(wildcard_resource_finding(policy, loc.objects_arn) for loc in (*reads, self.athena_results)),
        )
        acknowledge(
            policy,
            "The policy belongs to this one state machine's role and names this stack's own resources; "
            "a shared managed policy could not.",
            "HIPAA.Security-IAMNoInlinePolicy",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )

    def _agreement_variant_environment(self) -> dict[str, str]:
        """PRODUCTION_VARIANT and SHADOW_VARIANT beside a shadow (``live_quality.settings``); nothing otherwise."""
        if self.agreement_variants is None:
            return {}
        production, shadow = self.agreement_variants
        return {"PRODUCTION_VARIANT": production, "SHADOW_VARIANT": shadow}

    def _grant_publish(self, function: lambda_.IFunction, key: kms.IKey) -> None:
        """GetQueryExecution and GetQueryResults on this workgroup (Athena reads the result object as the
        caller), and the reports. ``function`` (live quality's publish, or the agreement's) checks that the
        query succeeded with the plan's parameters and records the bytes it scanned
        (``lambdas/live_quality/athena_results.py``)."""
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["athena:GetQueryExecution", "athena:GetQueryResults"],
            resource_arns=[self.workgroup_arn],
        )
        iam.Grant.add_to_principal(
            grantee=function, actions=["s3:GetObject"], resource_arns=[self.athena_results.objects_arn]
        )
        iam.Grant.add_to_principal(grantee=function, actions=["s3:PutObject"], resource_arns=[self.reports.objects_arn])
        key.grant(function, "kms:Decrypt", "kms:GenerateDataKey")
        grant_put_project_metrics(function)
        policy = function.role.node.find_child("DefaultPolicy")  # type: ignore[union-attr]
        acknowledge(
            policy,
            "Object prefixes of this endpoint only: the Athena results it reads and the reports it writes.",
            wildcard_resource_finding(policy, self.athena_results.objects_arn),
            wildcard_resource_finding(policy, self.reports.objects_arn),
        )
