"""The "serving since" marker: which endpoint config alone serves the endpoint, and since when (an endpoint tag).

Why: an endpoint config is created minutes to hours before its fleet serves (blue/green provisioning,
canary or linear steps, baking), and after an automatic rollback the endpoint serves its *old* config
again, whose CreationTime is old. Capture records name only the endpoint and the variant (the same in
both fleets), so a live-quality window anchored at the config's creation mixes fleets. DescribeEndpoint
has no time of the last finished deployment (``LastModifiedTime`` also moves with every weight change;
``PendingDeploymentSummary.StartTime`` exists only while a deployment runs), so the weights custom
resource records it: when it finds the endpoint ready on the config the stack declared after a config
change, and when it finds a rolled-back deployment.

The tag: key :data:`TAG_KEY`, value ``<endpoint config name>@<UTC time, ISO-8601>``. SageMaker tag rules
(Tag, SageMaker API reference: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Tag.html):
key 1-128 and value 0-256 characters of ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``; config names are letters,
digits and hyphens (at most 63), a time ``2026-11-04T10:17:05Z`` uses digits, ``-``, ``:``; ``@``
separates them. The ``aws:`` prefix is reserved (sagemaker-python-sdk#1301 shows SageMaker refusing it).
AddTags "Adds or overwrites one or more tags" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AddTags.html),
so one key holds the latest marker; ListTags pages with NextToken
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListTags.html).

UNVERIFIED: what CloudFormation does to a tag it did not set on an ``AWS::SageMaker::Endpoint`` (the
stack declares no endpoint tags). Nothing found documents that an update removes such tags; if it did,
the plan finds no marker and falls back to the config's creation time, and says so (``anchor_source``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TAG_KEY = "abtest:serving-since"
# The tag value as written; the time has whole seconds (SageMaker's own times have milliseconds, but
# the anchor is a whole hour after it anyway).
_VALUE = re.compile(r"^(?P<config>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))@(?P<since>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)$")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ServingSince:
    """Endpoint config ``config_name`` has served the endpoint alone since ``since`` (aware, UTC)."""

    config_name: str
    since: datetime

    def names(self, config_name: str) -> bool:
        """Whether the marker is about ``config_name`` (SageMaker names are case-insensitive)."""
        return self.config_name.casefold() == config_name.casefold()

    @property
    def value(self) -> str:
        return f"{self.config_name}@{self.since.astimezone(UTC).strftime(_TIME_FORMAT)}"


def parse_marker(value: str) -> ServingSince | None:
    """The marker from the tag's value; ``None`` when it is not one this project wrote."""
    match = _VALUE.match(value)
    if not match:
        return None
    try:
        since = datetime.strptime(match["since"], _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:  # well shaped, but no such time (month 13)
        return None
    return ServingSince(match["config"], since)


def marker_moves(previous_config: str | None, serving_config: str) -> bool:
    """Whether the weights custom resource, having found its weights in place, writes a new marker.

    ``previous_config``: the endpoint config the stack declared before this request (the event's
    ``OldResourceProperties``; ``None`` on Create). Yes when the endpoint was created and when the request
    moved it to another config. A request that changes weights only keeps the config and must not move
    the window's start: a rollout shifts weights step by step, and the comparison's within-day strata
    already handle a split that changes. (A rolled-back deployment is always marked: the old config
    serves again, but the failed fleet served some of the traffic since the config's creation.)
    """
    return previous_config is None or previous_config.casefold() != serving_config.casefold()


def read_marker(sagemaker: Any, endpoint_arn: str) -> tuple[ServingSince | None, str | None]:
    """The endpoint's marker (ListTags, every page) and, when there is none usable, why."""
    raw = None
    for page in sagemaker.get_paginator("list_tags").paginate(ResourceArn=endpoint_arn):
        for tag in page.get("Tags", []):
            if tag.get("Key") == TAG_KEY:
                raw = str(tag.get("Value", ""))
    if raw is None:
        return None, f"the endpoint has no {TAG_KEY} tag"
    marker = parse_marker(raw)
    return (marker, None) if marker else (None, f"its {TAG_KEY} tag {raw!r} is not <config>@<yyyy-mm-ddThh:mm:ssZ>")


def write_marker(sagemaker: Any, endpoint_arn: str, marker: ServingSince) -> None:
    """AddTags with the marker (overwrites the previous one)."""
    sagemaker.add_tags(ResourceArn=endpoint_arn, Tags=[{"Key": TAG_KEY, "Value": marker.value}])
