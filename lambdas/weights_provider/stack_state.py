"""Whether CloudFormation is rolling this request's stack back, asked once per Update beside a shadow.

The shadow's sampling rules (weights_provider.shadow_request) fail a request to keep the recorded percentage
equal to the live weight. Inside a rollback that can never help: a failed rollback leaves the stack in
``UPDATE_ROLLBACK_FAILED``, which only ``ContinueUpdateRollback`` (skipping this resource) clears. So a sampling
error during ``UPDATE_ROLLBACK_IN_PROGRESS`` is logged instead, whatever the event looks like: a rollback's event
(old properties as the new, the failed ones as the old) can take the shape of a forward request.

``DescribeStacks`` with the event's ``StackId`` (the stack's ARN) returns ``StackStatus``
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html;
``UPDATE_ROLLBACK_IN_PROGRESS`` is one of the values listed under API_Stack.html's StackStatus). The grant is on
that one stack (constructs_lib/variant_weights.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from endpoint_weights.endpoint import BOUNDED_CALL_CONFIG

LOG = logging.getLogger(__name__)

# The field on_event adds to its response, which the Provider framework passes to is_complete.
ROLLING_BACK = "StackRollingBack"
ROLLBACK_STATUS = "UPDATE_ROLLBACK_IN_PROGRESS"


def stack_rolling_back(event: Mapping[str, Any], cloudformation: Any = None) -> bool:
    """True when the request's stack is ``UPDATE_ROLLBACK_IN_PROGRESS``; False when it is not or cannot be told
    (logged: the request then keeps the forward rules, which fail loudly rather than record a wrong value)."""
    stack_id = event.get("StackId")
    if not stack_id:
        return False
    client = cloudformation or boto3.client("cloudformation", config=BOUNDED_CALL_CONFIG)
    try:
        stacks = client.describe_stacks(StackName=stack_id)["Stacks"]
    except (ClientError, BotoCoreError) as err:
        LOG.warning("could not read the stack's status", extra={"stack": stack_id, "error": str(err)})
        return False
    return bool(stacks) and stacks[0].get("StackStatus") == ROLLBACK_STATUS
