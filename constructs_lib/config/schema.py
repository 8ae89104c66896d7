"""The config file's JSON Schema (draft 2020-12), generated from the loader's field tables.

``scripts/config_schema.py`` (``make schema``) writes it to ``config/schema.json``, which the shipped
configs name in ``$schema`` so that editors complete keys, show descriptions and flag mistakes while
typing. It is generated, never edited: rules from :mod:`~constructs_lib.config.rules`, keys from the
section tables in :mod:`~constructs_lib.config.loader`, descriptions and defaults from the field
metadata in :mod:`~constructs_lib.config.model`. Synth never builds it (the loader is the check that
counts); a test compares the committed file with a fresh one.

JSON Schema states rules about one value and about which keys an object has. The loader checks more;
:data:`LOADER_ONLY_RULES` is the one list of what only the loader checks, and a test makes sure that
list is exactly where the two disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs_lib.config import loader, rules, service_model

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# No public URL hosts the file; a URN names it without pretending one does.
SCHEMA_ID = "urn:sagemaker-ab-cdk:config-schema"


@dataclass(frozen=True)
class LoaderOnlyRule:
    """A rule the loader enforces that the schema does not state, and why JSON Schema cannot."""

    name: str
    rule: str
    why: str


LOADER_ONLY_RULES: tuple[LoaderOnlyRule, ...] = (
    LoaderOnlyRule(
        "unique-endpoint-names",
        "endpoint names are unique, also ignoring case (SageMaker endpoint names are case-insensitive)",
        "uniqueItems compares whole items, not one key of them, and never ignores case",
    ),
    LoaderOnlyRule(
        "unique-variant-names",
        "variant names are unique within an endpoint",
        "uniqueItems compares whole items, not one key of them",
    ),
    LoaderOnlyRule(
        "distinct-weight-parameters",
        "no two variants share a weight parameter (Weight + the name without non-alphanumerics)",
        "compares values derived from two items",
    ),
    LoaderOnlyRule("autoscaling-min-le-max", "autoscaling min_capacity <= max_capacity", "compares two keys' values"),
    LoaderOnlyRule(
        "initial-count-within-autoscaling",
        "initial_instance_count lies within the variant's autoscaling min_capacity..max_capacity",
        "compares values of two objects",
    ),
    LoaderOnlyRule(
        "datapoints-le-evaluation-periods",
        "monitoring datapoints_to_alarm <= evaluation_periods (defaults included)",
        "compares two keys' values, one of them possibly a default",
    ),
    LoaderOnlyRule(
        "alarm-window-limit",
        "period_seconds × evaluation_periods <= 86,400 s for periods under an hour, 604,800 s otherwise",
        "a product of two keys' values",
    ),
    LoaderOnlyRule(
        "srm-window-ge-schedule",
        "monitoring srm_window_minutes >= srm_schedule_minutes (defaults included)",
        "compares two keys' values",
    ),
    LoaderOnlyRule(
        "capture-retention-covers-window",
        "data_capture retention_days >= live_quality lookback_days + 1 (defaults included)",
        "compares keys of two sections, one of them possibly a default",
    ),
    LoaderOnlyRule(
        "enabled-schedule-alarm-window",
        "with live_quality schedule_enabled, schedule_hours <= 166 (its alarm must see a run within CloudWatch's "
        "seven days)",
        "relates a key's value to another key's value",
    ),
    LoaderOnlyRule(
        "deployment-size-per-variant",
        "a deployment size in instances lies within the strategy's share (canary <= 50 %, linear 10-50 %, rolling "
        "5-50 %) of every production variant's initial_instance_count",
        "compares a value with a share of every item of another list",
    ),
    LoaderOnlyRule(
        "deployment-rolling-single-variant",
        "a rolling deployment needs exactly one production variant",
        "relates a key's value to the length of another key's list",
    ),
    LoaderOnlyRule(
        "deployment-inf1-no-guardrails",
        "with a variant on an Inf1 instance, deployment asks for nothing guardrails would do (SageMaker falls back "
        "to all at once without baking)",
        "relates a key's value to a prefix of a value in another list's items",
    ),
    LoaderOnlyRule(
        "deployment-rollback-alarm-limit",
        "auto_rollback with at most 5 production variants (2 alarms each, at most 10 in AlarmList)",
        "relates a key's value to the length of another key's list",
    ),
    LoaderOnlyRule(
        "deployment-timeout-above-waits",
        "a blue/green timeout_seconds is larger than termination_wait_seconds + wait_seconds (defaults included)",
        "compares a key's value with a sum of two others, one possibly a default",
    ),
    LoaderOnlyRule(
        "shadow-no-rolling",
        "a rolling deployment is refused on an endpoint with a shadow variant",
        "relates a key's value to what another key's list contains",
    ),
    LoaderOnlyRule(
        rules.ARN_PARTITION,
        "an ARN's partition is the one its region belongs to (botocore's partition table)",
        "relates two parts of one string through a table; a pattern per partition would copy that table",
    ),
    LoaderOnlyRule(
        "image-region-fits-host",
        "an ECR image URI's region fits its host name (amazonaws.com.cn exactly for China regions)",
        "relates two parts of one string through botocore's partition table",
    ),
    LoaderOnlyRule(
        rules.NON_FINITE,
        "numbers are finite: Python's json module reads NaN and Infinity, which JSON has not",
        "a JSON Schema validator only ever sees JSON numbers",
    ),
    LoaderOnlyRule(
        rules.WHOLE_FLOAT,
        "integer keys refuse decimals with a zero fraction such as 1.0",
        'JSON Schema defines 1.0 as an "integer"',
    ),
)


def _loader_only_comment() -> str:
    listed = "; ".join(r.rule for r in LOADER_ONLY_RULES)
    return f"Checked when the app loads the file, not by this schema: {listed}."


def build_schema() -> dict[str, Any]:
    """The config's JSON Schema, as ``config/schema.json`` holds it."""
    defs: dict[str, Any] = {}
    loader.ROOT.json_schema(defs)
    root = defs.pop(loader.ROOT.name)
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "SageMaker A/B test config",
        "description": (
            "The endpoints and variants the CDK app deploys (cdk synth -c config=<file>). Generated by "
            "scripts/config_schema.py (make schema) from constructs_lib/config; do not edit. Instance types and "
            f"SageMaker name rules from botocore {service_model.BOTOCORE_VERSION}."
        ),
        "$comment": _loader_only_comment(),
        **root,
        "$defs": defs,
    }
