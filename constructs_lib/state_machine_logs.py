"""How this project's state machines log: every event with its data, to an encrypted group with retention."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from constructs_lib.python_function import LOG_RETENTION


def execution_logs(scope: Construct, *, key: kms.IKey) -> sfn.LogOptions:
    """LogOptions for a state machine in ``scope``: a log group ``ExecutionLogs`` there (ALL, with data).

    Step Functions logs nothing by default; the executions' inputs and outputs are what a failed
    rollout or live-quality run is debugged from, so they are kept (encrypted, with the project's retention).
    """
    return sfn.LogOptions(
        destination=logs.LogGroup(scope, "ExecutionLogs", retention=LOG_RETENTION, encryption_key=key),
        level=sfn.LogLevel.ALL,
        include_execution_data=True,
    )
