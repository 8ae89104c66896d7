"""The shadow stage and its promotion, with the real CDK CLI against `scripts/local_aws.py serve`:

1. `npx cdk deploy` of config/examples/shadow.json: DescribeEndpoint lists the shadow apart from the
   production variant (the server's shadow_variants adaptation; moto drops it otherwise:
   test_cli_adaptations_necessary.py);
2. requests to the InvokeEndpoint stub, which reads the deployed shadow: every caller gets the production
   variant's answer, and about the sampled share (20 %, H1, UNVERIFIED) is copied to the shadow and captured
   under its folder beside the production record (same eventId, Q4, UNVERIFIED);
3. the promotion the README documents (one config edit: remove `shadow`, `initial_weight` 0, rename) and
   `npx cdk deploy`: a new endpoint config with two production variants and no shadow;
4. `npx cdk deploy --parameters`: the A/B weights in place, on that same config.

Between 2 and 3: the config's sampling edited to 10 %: a plain `cdk deploy` (parameter kept at 20) is refused and
rolled back, and `--parameters …=10` swaps to it; then `--parameters CandidateSamplingPercentage=5`: moto
refuses the shadow's name (Q2 "no"), so the update fails with the reason and rolls back cleanly, nothing changed.

Slow by nature: seven CLI commands (bootstrap and six deploys) and 500 stub requests; 170 s measured on
2 busy cores.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from endpoint_weights.shadow_sampling import shadow_weight
from scripts.generate_churn_data import MODELS, generate
from scripts.local_cli_demo import ROOT
from scripts.stub_capture import DataCapture, DeployedCaptureConfig, split_s3_uri
from scripts.stub_sagemaker_runtime import Misbehaviour, StubRuntime
from scripts.stub_shadow import DeployedShadow
from tests.e2e.conftest import local_lifecycle

pytestmark = pytest.mark.e2e

EXAMPLE = ROOT / "config" / "examples" / "shadow.json"
STACK = "AbTest-churn-shadow"
SAMPLING_PERCENTAGE = 20  # shadow.json's
SAMPLING_PARAMETER = "CandidateSamplingPercentage"
EDITED_SAMPLING = 10
REQUESTS = 500
SEED = 13


def sampling_edited(source: Path, outdir: Path, percentage: int) -> Path:
    """The config edit that changes the shadow's sampling (a new endpoint config, a fleet swap)."""
    config = json.loads(source.read_text())
    for endpoint in config["endpoints"]:
        for variant in endpoint["variants"]:
            if "shadow" in variant:
                variant["shadow"]["sampling_percentage"] = percentage
    path = outdir / "sampling-edited.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def promoted(source: Path, outdir: Path) -> Path:
    """The promotion as the README documents it: the shadow loses `shadow`, gets `initial_weight` 0 and a
    new name (what SageMaker keeps for a variant moving from shadow to production is undocumented)."""
    config = json.loads(source.read_text())
    for endpoint in config["endpoints"]:
        for variant in endpoint["variants"]:
            if variant.pop("shadow", None) is not None:
                variant["initial_weight"] = 0
                variant["name"] += "AB"
    path = outdir / "promoted.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def captured_records(lifecycle: Any, endpoint: str) -> dict[str, list[dict[str, Any]]]:
    """Every capture record the stub delivered for ``endpoint``, by the variant folder it lies in."""
    sagemaker, s3 = lifecycle.client("sagemaker"), lifecycle.client("s3")
    config = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    bucket, prefix = split_s3_uri(
        sagemaker.describe_endpoint_config(EndpointConfigName=config)["DataCaptureConfig"]["DestinationS3Uri"]
    )
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/{endpoint}/"):
        for item in page.get("Contents", []):
            variant = item["Key"].removeprefix(f"{prefix}/{endpoint}/").split("/", 1)[0]
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
            by_variant.setdefault(variant, []).extend(json.loads(line) for line in body.splitlines())
    return by_variant


@pytest.fixture(scope="module")
def run() -> Iterator[dict[str, Any]]:
    models = {"Current": MODELS["baseline"], "Candidate": MODELS["challenger"]}
    # The shadow is in the stub's weights on purpose: the deployed endpoint, not this table, says it is the shadow.
    stub = StubRuntime(
        "not-deployed-yet", models=models, weights=dict.fromkeys(models, 1.0), misbehaviour=Misbehaviour(seed=SEED)
    )
    deploy = ["deploy", STACK, "--require-approval", "never"]
    with (
        stub,
        local_lifecycle("e2e-shadow-", ["bootstrap"], stack=STACK) as (lifecycle, observed),
        stub.capture_delivered(),
    ):
        observed["shadow"] = lifecycle.cdk(*deploy, "-c", f"config={EXAMPLE}")
        assert observed["shadow"]["returncode"] == 0, observed["shadow"]["output"][-2000:]  # nothing to invoke
        endpoint = stub.endpoint_name = lifecycle.endpoint
        sagemaker = lifecycle.client("sagemaker")
        observed["shadow_config"] = sagemaker.describe_endpoint_config(
            EndpointConfigName=observed["shadow"]["endpoint"]["config"]
        )
        stub.capture = DataCapture(DeployedCaptureConfig(sagemaker), lifecycle.client("s3"), seed=SEED)
        stub.shadow = DeployedShadow(sagemaker)
        runtime = boto3.client(
            "sagemaker-runtime",
            endpoint_url=stub.url,
            region_name=lifecycle.env["AWS_REGION"],
            aws_access_key_id=lifecycle.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=lifecycle.env["AWS_SECRET_ACCESS_KEY"],
        )
        answers = []
        for n, (_, features) in enumerate(generate(REQUESTS, seed=SEED)):
            answer = runtime.invoke_endpoint(
                EndpointName=endpoint,
                ContentType="text/csv",
                Body=",".join(str(v) for v in features).encode(),
                InferenceId=f"shadow-{n:05d}",
            )
            answers.append((answer["InvokedProductionVariant"], float(answer["Body"].read()), features))
        stub.flush_capture()
        observed["answers"] = answers
        observed["captured"] = captured_records(lifecycle, endpoint)
        edit = sampling_edited(EXAMPLE, lifecycle.workdir, EDITED_SAMPLING)
        observed["edit_kept"] = lifecycle.cdk(*deploy, "-c", f"config={edit}")
        # The README's command. Its alternative, --no-previous-parameters, still deployed 20 in local mode: moto
        # 5.2.5 keeps a stack's previous parameter values when an update names none (ResourceMap.update).
        at_new_value = ("--parameters", f"{STACK}:{SAMPLING_PARAMETER}={EDITED_SAMPLING}")
        observed["edit_fresh"] = lifecycle.cdk(*deploy, *at_new_value, "-c", f"config={edit}")
        sampling = ("--parameters", f"{STACK}:{SAMPLING_PARAMETER}=5")
        observed["sampling_refused"] = lifecycle.cdk(*deploy, *sampling, "-c", f"config={edit}")
        promotion = promoted(EXAMPLE, lifecycle.workdir)
        observed["promoted"] = lifecycle.cdk(*deploy, "-c", f"config={promotion}")
        observed["promoted_shadow_route"] = DeployedShadow(sagemaker)(endpoint)
        weights = ("--parameters", f"{STACK}:WeightCurrent=90", "--parameters", f"{STACK}:WeightCandidateAB=10")
        observed["weights"] = lifecycle.cdk(*deploy, *weights, "-c", f"config={promotion}")
    yield observed


def test_the_shadow_deploys_and_describe_endpoint_lists_it_apart(run):
    step = run["shadow"]
    assert step["returncode"] == 0, step["output"][-2000:]
    assert step["stack_status"] == "CREATE_COMPLETE"
    assert step["custom_resource"] == ["CREATE_COMPLETE"]
    assert step["endpoint"]["weights"] == {"Current": 1.0}
    assert step["endpoint"]["shadow"] == {"Candidate": pytest.approx(shadow_weight(SAMPLING_PERCENTAGE, 1.0))}
    (shadow,) = run["shadow_config"]["ShadowProductionVariants"]
    assert (shadow["VariantName"], shadow["InitialInstanceCount"]) == ("Candidate", 1)


def test_callers_get_only_the_production_variants_answers(run):
    assert {variant for variant, _, _ in run["answers"]} == {"Current"}
    assert all(score == pytest.approx(MODELS["baseline"](f), abs=1e-6) for _, score, f in run["answers"])


def test_the_sampled_share_is_copied_to_the_shadow_and_captured_beside_production(run):
    production = {r["eventMetadata"]["eventId"]: r for r in run["captured"]["Current"]}
    copies = run["captured"].get("Candidate", [])
    assert len(production) == REQUESTS  # shadow.json captures 100 %
    # Binomial(500, 0.2) under H1: mean 100, standard deviation 8.9; the seed fixes the draw, 5 sd either side.
    share = SAMPLING_PERCENTAGE / 100
    assert abs(len(copies) - REQUESTS * share) < 5 * math.sqrt(REQUESTS * share * (1 - share))
    for copy in copies:
        original = production[copy["eventMetadata"]["eventId"]]
        assert copy["eventMetadata"]["inferenceId"] == original["eventMetadata"]["inferenceId"]
        assert copy["captureData"]["endpointInput"] == original["captureData"]["endpointInput"]
        assert copy["captureData"]["endpointOutput"] != original["captureData"]["endpointOutput"]


def test_a_sampling_parameter_change_that_sagemaker_refuses_rolls_back_and_changes_nothing(run):
    """Local mode is Q2 "no": moto refuses the shadow's name in UpdateEndpointWeightsAndCapacities (whether
    SageMaker does is undocumented, README "The sampling: a stack parameter, tried in place"). The update fails
    with the reason, and its rollback, which sends the old percentage (still live), makes no call and completes:
    the stack is not wedged (UPDATE_ROLLBACK_FAILED was the first version's blocker), the fleet and both weights
    are as before."""
    step = run["sampling_refused"]
    assert step["returncode"] != 0
    assert "SageMaker refused to change the shadow's weight in place" in step["output"]
    assert step["stack_status"] == "UPDATE_ROLLBACK_COMPLETE"
    assert step["custom_resource"][0].startswith("UPDATE_FAILED")
    assert {k: v for k, v in step["endpoint"].items() if k != "config"} == {
        k: v for k, v in run["edit_fresh"]["endpoint"].items() if k != "config"
    }


def test_a_config_edit_of_the_sampling_with_the_parameter_kept_is_refused_and_rolled_back(run):
    """A plain `cdk deploy` keeps the parameter's previous value (20) beside the edited config (10): the custom
    resource refuses it before calling SageMaker, naming the command, and the stack returns to the previous
    endpoint config (a fleet swap there and back, README "The sampling: a stack parameter, tried in place")."""
    step = run["edit_kept"]
    assert step["returncode"] != 0
    assert f"changed in the config ({SAMPLING_PERCENTAGE} → {EDITED_SAMPLING})" in step["output"]
    assert "--no-previous-parameters" in step["output"]
    assert step["stack_status"] == "UPDATE_ROLLBACK_COMPLETE"
    # Moto's rollback re-creates the previous endpoint config under a new physical name (CloudFormation returns
    # to the old one, kept until cleanup), so the weights, not the name, are compared.
    assert {k: v for k, v in step["endpoint"].items() if k != "config"} == {
        k: v for k, v in run["shadow"]["endpoint"].items() if k != "config"
    }


def test_the_edit_deployed_with_the_parameter_at_the_new_value_swaps_to_the_new_sampling(run):
    """The way out the refusal names: the parameter at the new config's value, which the new endpoint config
    already carries, so the custom resource makes no call."""
    step = run["edit_fresh"]
    assert step["returncode"] == 0, step["output"][-2000:]
    assert step["stack_status"] == "UPDATE_COMPLETE"
    assert step["endpoint"]["config"] != run["shadow"]["endpoint"]["config"], "a sampling edit is a new fleet"
    assert step["endpoint"]["shadow"] == {"Candidate": pytest.approx(shadow_weight(EDITED_SAMPLING, 1.0))}
    assert step["endpoint"]["weights"] == {"Current": 1.0}


def test_promotion_is_a_new_endpoint_config_with_two_production_variants_and_no_shadow(run):
    step = run["promoted"]
    assert step["returncode"] == 0, step["output"][-2000:]
    assert step["stack_status"] == "UPDATE_COMPLETE"
    assert step["endpoint"]["config"] != run["shadow"]["endpoint"]["config"], "promotion swaps the fleet"
    assert "shadow" not in step["endpoint"]
    assert set(step["endpoint"]["weights"]) == {"Current", "CandidateAB"}
    assert run["promoted_shadow_route"] is None


def test_ab_weights_then_move_in_place_through_the_stack_parameters(run):
    step = run["weights"]
    assert step["returncode"] == 0, step["output"][-2000:]
    assert step["stack_status"] == "UPDATE_COMPLETE"
    assert step["custom_resource"] == ["UPDATE_COMPLETE"]
    assert step["endpoint"]["weights"] == {"Current": 90.0, "CandidateAB": 10.0}
    assert step["endpoint"]["config"] == run["promoted"]["endpoint"]["config"], "a weight change rebuilt the fleet"
