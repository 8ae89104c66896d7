"""The InvokeEndpoint stub on an endpoint with a shadow variant (scripts/stub_shadow.py): callers get the
production variant's answer; the sampled share of requests is copied to the shadow and captured beside the
production record (same eventId and InferenceId, the shadow's folder and answer). H1 and Q4 are UNVERIFIED
assumptions (design §5); these tests pin what the stub does under them."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from endpoint_weights.shadow_sampling import shadow_weight
from scripts.generate_churn_data import MODELS, generate
from scripts.stub_capture import CaptureSettings, DataCapture, fixed_capture
from scripts.stub_sagemaker_runtime import Misbehaviour, StubRuntime
from scripts.stub_shadow import ShadowRoute, fixed_shadow, route_from_describe_endpoint
from tests.test_stub_capture import ENDPOINT, decoded, records, runtime

MODELS_BY_VARIANT = {"Current": MODELS["baseline"], "Candidate": MODELS["challenger"]}


@pytest.fixture
def shadow_stub(tmp_path: Path) -> Iterator[tuple[StubRuntime, Path]]:
    settings = CaptureSettings(destination=str(tmp_path), csv_content_types=frozenset({"text/csv"}))
    stub = StubRuntime(
        ENDPOINT,
        models=MODELS_BY_VARIANT,
        weights={"Current": 1.0, "Candidate": 1.0},  # the shadow must be left out of the routing
        misbehaviour=Misbehaviour(seed=4),
        capture=DataCapture(fixed_capture(settings), seed=4),
        shadow=fixed_shadow(ShadowRoute("Candidate", 20.0)),
    )
    with stub:
        yield stub, tmp_path


def invoke(stub: StubRuntime, requests: int, **extra: Any) -> list[tuple[str, float, tuple[float, ...]]]:
    client = runtime(stub)
    answers = []
    for n, (_, features) in enumerate(generate(requests, seed=8)):
        answer = client.invoke_endpoint(
            EndpointName=ENDPOINT,
            ContentType="text/csv",
            Body=",".join(str(v) for v in features).encode(),
            InferenceId=f"req-{n:05d}",
            **extra,
        )
        answers.append((answer["InvokedProductionVariant"], float(answer["Body"].read()), features))
    return answers


def test_callers_get_the_production_answer_and_the_sampled_share_is_captured_in_pairs(shadow_stub) -> None:
    stub, folder = shadow_stub
    requests = 1000
    answers = invoke(stub, requests)
    stub.flush_capture()
    assert {variant for variant, _, _ in answers} == {"Current"}
    assert all(score == pytest.approx(MODELS["baseline"](features), abs=1e-6) for _, score, features in answers)
    assert {p.name for p in (folder / ENDPOINT).iterdir()} == {"Current", "Candidate"}  # <endpoint>/<variant>/…
    production = {r["eventMetadata"]["eventId"]: r for r in records(folder / ENDPOINT / "Current")}
    shadow = records(folder / ENDPOINT / "Candidate")
    assert len(production) == requests  # capture at 100 %: every answered request
    # Binomial(1000, 0.2): mean 200, standard deviation 12.6; 5 of them either side.
    assert abs(len(shadow) - 200) < 5 * math.sqrt(requests * 0.2 * 0.8)
    assert stub.shadow_copies == Counter({"Candidate": len(shadow)})
    for copy in shadow:
        original = production[copy["eventMetadata"]["eventId"]]  # the same eventId (Q4, assumed)
        assert copy["eventMetadata"]["inferenceId"] == original["eventMetadata"]["inferenceId"]
        assert decoded(copy["captureData"]["endpointInput"]) == decoded(original["captureData"]["endpointInput"])
        features = [float(cell) for cell in decoded(copy["captureData"]["endpointInput"]).split(",")]
        assert float(decoded(copy["captureData"]["endpointOutput"])) == pytest.approx(
            MODELS["challenger"](features), abs=1e-6
        )


def test_the_copies_are_reproducible_with_the_seed(tmp_path: Path) -> None:
    def copied(seed: int) -> int:
        stub = StubRuntime(
            ENDPOINT,
            models=MODELS_BY_VARIANT,
            weights={"Current": 1.0},
            misbehaviour=Misbehaviour(seed=seed),
            shadow=fixed_shadow(ShadowRoute("Candidate", 50.0)),
        )
        with stub:
            invoke(stub, 60)
        return stub.shadow_copies["Candidate"]

    assert copied(1) == copied(1)
    assert 0 < copied(1) < 60


def test_target_variant_naming_the_shadow_is_refused(shadow_stub) -> None:
    stub, _ = shadow_stub
    client = runtime(stub)
    with pytest.raises(client.exceptions.ValidationError, match="Candidate is the shadow variant"):
        client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv", Body=b"1,2", TargetVariant="Candidate")


def describe_endpoint_answer(shadow_current_weight: float | None) -> dict[str, Any]:
    """A DescribeEndpoint answer, its members checked against botocore's model of the operation."""
    shadow: dict[str, Any] = {"VariantName": "Candidate", "CurrentInstanceCount": 1, "DesiredInstanceCount": 1}
    if shadow_current_weight is not None:
        shadow |= {"CurrentWeight": shadow_current_weight, "DesiredWeight": shadow_current_weight}
    answer = {
        "EndpointName": ENDPOINT,
        "ProductionVariants": [{"VariantName": "Current", "CurrentWeight": 1.0, "DesiredWeight": 1.0}],
        "ShadowProductionVariants": [shadow],
    }
    output = botocore.session.get_session().get_service_model("sagemaker").operation_model("DescribeEndpoint")
    summary = output.output_shape.members["ShadowProductionVariants"].member
    assert summary.name == "ProductionVariantSummary"
    assert set(shadow) <= set(summary.members)
    return answer


def test_the_deployed_shadow_weight_is_read_under_h1_by_the_shared_formula() -> None:
    route = route_from_describe_endpoint(describe_endpoint_answer(shadow_weight(20, 1.0)))
    assert route == ShadowRoute("Candidate", pytest.approx(20.0))
    assert route_from_describe_endpoint(describe_endpoint_answer(None)) == ShadowRoute("Candidate", 0.0)
    assert route_from_describe_endpoint(describe_endpoint_answer(3.0)) == ShadowRoute("Candidate", 100.0)
    no_shadow = {**describe_endpoint_answer(1.0), "ShadowProductionVariants": []}
    assert route_from_describe_endpoint(no_shadow) is None
