"""The rollout lock table as constructs_lib/rollout_lock.py declares it, for moto."""

from __future__ import annotations

from typing import Any

from rollout import lock


def create_lock_table(client: Any, table_name: str) -> None:
    """Create the on-demand table keyed by ``lock.PARTITION_KEY`` (the endpoint name)."""
    client.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": lock.PARTITION_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": lock.PARTITION_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
