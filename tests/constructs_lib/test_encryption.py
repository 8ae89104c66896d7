"""The created key lets CloudWatch Logs in under the principal its partition uses."""

from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack, region_info
from aws_cdk.assertions import Template

from constructs_lib.encryption import EndpointKey
from tests.policy_eval import Env
from tests.policy_eval import Template as Resolver

# region → (partition, URL suffix): the values CloudFormation's pseudo parameters take there.
REGIONS = {
    "us-east-1": ("aws", "amazonaws.com"),
    "us-gov-west-1": ("aws-us-gov", "amazonaws.com"),
    "cn-north-1": ("aws-cn", "amazonaws.com.cn"),
}


@pytest.mark.parametrize("region", sorted(REGIONS))
@pytest.mark.parametrize("pinned", [True, False], ids=["pinned", "agnostic"])
def test_the_log_statement_names_cloudwatch_logs_as_cdks_table_spells_it_in_that_partition(region: str, pinned: bool):
    partition, url_suffix = REGIONS[region]
    stack = Stack(App(), "Keys", env=Environment(account="111122223333", region=region) if pinned else None)
    EndpointKey(stack, "Encryption", key_arn=None, alias_name="alias/ab-test/x")
    body = Template.from_stack(stack).to_json()
    resolved = Resolver(body, Env(account="111122223333", region=region, partition=partition, url_suffix=url_suffix))
    (key,) = [r for r in body["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    statements = resolved.resolve(key["Properties"]["KeyPolicy"])["Statement"]
    (logs,) = [s for s in statements if s.get("Sid") == "AllowCloudWatchLogsOfThisAccount"]
    # CDK's (deprecated but still shipped) service-principal table, as the oracle.
    expected = region_info.Default.service_principal("logs", region, url_suffix)
    assert logs["Principal"] == {"Service": expected}
