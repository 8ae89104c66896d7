"""Every shipped config synthesizes wherever a user can run it: environment-agnostic, and pinned the way the
CDK CLI pins stacks when it finds credentials (``CDK_DEFAULT_ACCOUNT``/``CDK_DEFAULT_REGION``), in the
commercial, China and GovCloud partitions.

A pinned synth resolves account, region and (with ``@aws-cdk/core:enablePartitionLiterals``) partition to
concrete values, so cdk-nag's finding ids change spelling; an acknowledgement spelled with ``<AWS::Region>``
by hand then stops matching and the gate fails the synth (issue "Works in a real account", item 1). The
gate runs in every synth here, so a mismatch fails these tests. One class per environment lets
pytest-xdist (``--dist loadscope``) spread the synths over the workers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint

from constructs_lib.config import ConfigError, load_config
from constructs_lib.config.partitions import check_pinned_references
from constructs_lib.config.service_model import partition_of_region
from tests.conftest import ROOT, SHIPPED_CONFIGS
from tests.synth import FAKE_ACCOUNT, synth_templates

CONFIGS = SHIPPED_CONFIGS
CONFIG_IDS = [str(path.relative_to(ROOT)) for path in CONFIGS]

# Partition of each pinned region (AWS General Reference, "Amazon Resource Names": aws, aws-cn, aws-us-gov).
PARTITION_OF_REGION = {"us-east-1": "aws", "eu-west-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov"}


def _synth(path: Path, region: str | None) -> dict[str, dict]:
    return {
        name: t.to_json() for name, t in synth_templates(json.loads(path.read_text()), str(path), region=region).items()
    }


class TestEnvironmentAgnostic:
    @pytest.mark.parametrize("path", CONFIGS, ids=CONFIG_IDS)
    def test_synthesizes_with_tokens_for_account_and_region(self, path: Path):
        templates = _synth(path, None)
        assert templates
        for body in templates.values():
            text = json.dumps(body)
            assert FAKE_ACCOUNT not in text
            assert '"AWS::Region"' in text and '"AWS::AccountId"' in text


def _assert_pinned(path: Path, region: str) -> None:
    """What ``app.py`` does for a pinned CLI run: refuse references to another partition (located), or
    synthesize with the gate on, every stack-built ARN in the stack's partition, cfn-lint clean."""
    config = load_config(path)
    partition = PARTITION_OF_REGION[region]
    foreign = [value for value, found in config_references(path) if found != partition]
    foreign += [  # KMS keys are regional: one in another region of the same partition is refused too
        key
        for key in re.findall(r'"kms_key_arn":\s*"(arn:[^"]+)"', path.read_text())
        if key.split(":")[1] == partition and key.split(":")[3] != region
    ]
    if foreign:
        with pytest.raises(ConfigError) as refused:
            check_pinned_references(config, region)
        for value in foreign:
            assert value in str(refused.value), f"{value} of another partition was not named"
        return
    check_pinned_references(config, region)
    templates = _synth(path, region)  # raises ValidationFailed on any unacknowledged cdk-nag finding
    own_arns = {value for value, _ in config_references(path)}
    for name, body in templates.items():
        text = json.dumps(body)
        assert FAKE_ACCOUNT in text, f"{name}: the stack was not pinned to the account"
        built = [arn for arn in re.findall(r'"(arn:[a-z-]+:[^"]*)"', text) if arn not in own_arns]
        wrong = sorted({arn for arn in built if not arn.startswith(f"arn:{partition}:")})
        assert not wrong, f"{name}: ARNs of another partition in a {partition} stack: {wrong}"
        matches = lint(text, config=ManualArgs(regions=[region], ignore_checks=["W3005"]))
        assert not matches, f"{name} ({region}):\n" + "\n".join(str(m) for m in matches)


def config_references(path: Path) -> list[tuple[str, str | None]]:
    """Every ARN and ECR image URI written in the config, with the partition it lives in."""
    text = path.read_text()
    found: list[tuple[str, str | None]] = [(arn, arn.split(":")[1]) for arn in re.findall(r'"(arn:[^"]+)"', text)]
    for uri, region in re.findall(r'"(\d{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/[^"]+)"', text):
        found.append((uri, partition_of_region(region)))
    return found


class TestPinnedUsEast1:
    @pytest.mark.parametrize("path", CONFIGS, ids=CONFIG_IDS)
    def test_synthesizes_and_lints(self, path: Path):
        _assert_pinned(path, "us-east-1")


class TestPinnedEuWest1:
    @pytest.mark.parametrize("path", CONFIGS, ids=CONFIG_IDS)
    def test_synthesizes_and_lints(self, path: Path):
        _assert_pinned(path, "eu-west-1")


class TestPinnedChina:
    @pytest.mark.parametrize("path", CONFIGS, ids=CONFIG_IDS)
    def test_synthesizes_and_lints(self, path: Path):
        _assert_pinned(path, "cn-north-1")


class TestPinnedGovCloud:
    @pytest.mark.parametrize("path", CONFIGS, ids=CONFIG_IDS)
    def test_synthesizes_and_lints(self, path: Path):
        _assert_pinned(path, "us-gov-west-1")
