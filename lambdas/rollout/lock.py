"""One rollout per endpoint: a lease in a DynamoDB table, taken with a conditional write.

Step Functions' ListExecutions is eventually consistent (a just-started execution may not be
listed yet), so two rollouts started together could both see "none running". A conditional
PutItem is atomic: of two prepares racing for the same endpoint exactly one wins.

One item per endpoint under rollout::

    {"endpoint": <endpoint name>, "owner": <execution ARN>, "acquired_at": <ISO time>,
     "expires_at": <epoch seconds>}

The owner releases it at every end: the state machine's own end states delete it, and the
function that settles every finished execution deletes it if it is still there. ``expires_at``
bounds a lost release: after it, the next prepare takes the lease over. It is also the table's
TTL attribute, so DynamoDB eventually removes stale items; TTL deletion can lag by days, so the
condition checks the time itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

PARTITION_KEY = "endpoint"
OWNER = "owner"
EXPIRES_AT = "expires_at"  # also the table's TimeToLiveSpecification attribute
_CONDITION_FAILED = "ConditionalCheckFailedException"


class LockHeld(RuntimeError):
    """Another rollout holds the endpoint's lease; nothing was changed."""


def _failed_condition(err: ClientError) -> bool:
    return bool(err.response.get("Error", {}).get("Code") == _CONDITION_FAILED)


def acquire(client: Any, table: str, endpoint: str, owner: str, now: datetime, lifetime: timedelta) -> None:
    """Take ``endpoint``'s lease for ``owner`` until ``now + lifetime``, or raise :class:`LockHeld`.

    Succeeds when no one holds it, when the holder's lease has expired, or when ``owner`` already
    holds it (a retried prepare of the same execution).
    """
    expires = now + lifetime
    try:
        client.put_item(
            TableName=table,
            Item={
                PARTITION_KEY: {"S": endpoint},
                OWNER: {"S": owner},
                "acquired_at": {"S": now.isoformat()},
                EXPIRES_AT: {"N": str(int(expires.timestamp()))},
            },
            ConditionExpression="attribute_not_exists(#key) OR #expires < :now OR #owner = :me",
            ExpressionAttributeNames={"#key": PARTITION_KEY, "#expires": EXPIRES_AT, "#owner": OWNER},
            ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}, ":me": {"S": owner}},
        )
    except ClientError as err:
        if not _failed_condition(err):
            raise
        holder = holder_of(client, table, endpoint)
        who = holder[0] if holder else "another execution"
        until = f" until {holder[1].isoformat()}" if holder else ""
        raise LockHeld(
            f"another rollout holds endpoint {endpoint}: {who}{until}; stop it first (its end releases the lock)"
        ) from err


def holder_of(client: Any, table: str, endpoint: str) -> tuple[str, datetime] | None:
    """The lease's owner and expiry (strongly consistent read), or None when no one holds it."""
    item = client.get_item(TableName=table, Key={PARTITION_KEY: {"S": endpoint}}, ConsistentRead=True).get("Item")
    if not item:
        return None
    return item[OWNER]["S"], datetime.fromtimestamp(int(item[EXPIRES_AT]["N"]), UTC)


def held_by(client: Any, table: str, endpoint: str, owner: str) -> bool:
    """Whether ``owner`` still holds ``endpoint``'s lease (expired or not: no one took it over)."""
    holder = holder_of(client, table, endpoint)
    return holder is not None and holder[0] == owner


def release(client: Any, table: str, endpoint: str, owner: str) -> bool:
    """Give up ``owner``'s lease; False (and nothing deleted) when someone else holds it or no one does."""
    try:
        client.delete_item(
            TableName=table,
            Key={PARTITION_KEY: {"S": endpoint}},
            ConditionExpression="#owner = :me",
            ExpressionAttributeNames={"#owner": OWNER},
            ExpressionAttributeValues={":me": {"S": owner}},
        )
    except ClientError as err:
        if _failed_condition(err):
            return False
        raise
    return True
