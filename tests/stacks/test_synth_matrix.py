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

from tests.conftest import ROOT
from tests.synth import FAKE_ACCOUNT, synth_templates

CONFIGS = sorted((ROOT / "config").rglob("*.json"))
CONFIG_IDS = [str(path.relative_to(ROOT)) for path in CONFIGS]

# Partition of each pinned region (AWS General Reference, "Amazon Resource Names": aws, aws-cn, aws-us-gov).
PARTITION_OF_REGION = {"us-east-1": "aws", "eu-west-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov"}
FOREIGN_ARN = {
    partition: re.compile(rf'"arn:(?!{re.escape(partition)}:)[a-z-]+:') for partition in PARTITION_OF_REGION.values()
}


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
    templates = _synth(path, region)  # raises ValidationFailed on any unacknowledged cdk-nag finding
    partition = PARTITION_OF_REGION[region]
    # ARNs in the accounts the config names (a key, a model package, an image repository) are the
    # user's to get right; every other ARN is built by the stacks and must be in the stack's partition.
    users_accounts = set(re.findall(r"\b\d{12}\b", path.read_text()))
    for name, body in templates.items():
        text = json.dumps(body)
        ours = re.sub(r'"arn:[^"]*:(\d{12}):[^"]*"', lambda m: "" if m[1] in users_accounts else m[0], text)
        assert FAKE_ACCOUNT in text, f"{name}: the stack was not pinned to the account"
        foreign = FOREIGN_ARN[partition].findall(ours)
        assert not foreign, f"{name}: ARNs of another partition in a {partition} stack: {sorted(set(foreign))}"
        matches = lint(text, config=ManualArgs(regions=[region], ignore_checks=["W3005"]))
        assert not matches, f"{name} ({region}):\n" + "\n".join(str(m) for m in matches)


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
