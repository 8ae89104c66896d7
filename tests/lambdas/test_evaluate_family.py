"""The evaluation with more than two variants, in-process: every candidate against the baseline,
with the family-wise error held at alpha over all of them.

The runtime here is a plain object with ``invoke_endpoint`` (what ``evaluate`` calls), so hundreds
of simulated evaluations run in seconds; the HTTP path is covered by test_evaluate_runner.py.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from evaluate.runner import LiveVariants, evaluate, parse_request

VARIANTS = ("Variant1", "Variant2", "Variant3", "Variant4", "Variant5")


class NoisyModels:
    """Each variant scores a row as sigmoid(true logit + its own noise): same quality, different errors.

    A row is ``"<row id>,<true logit>"``; the noise is drawn once per (variant, row id).
    """

    def __init__(self, variants: Sequence[str], rows: int, rng: random.Random, noise: Mapping[str, float]) -> None:
        self.noise = {v: [rng.gauss(0.0, noise.get(v, 1.0)) for _ in range(rows)] for v in variants}

    def invoke_endpoint(self, *, EndpointName: str, TargetVariant: str, ContentType: str, Body: bytes) -> Any:
        scores = []
        for line in Body.decode().splitlines():
            row_id, logit = line.split(",")
            scores.append(1 / (1 + math.exp(-(float(logit) + self.noise[TargetVariant][int(row_id)]))))
        return {"Body": io.BytesIO("\n".join(f"{s:.6f}" for s in scores).encode())}


def dataset(rows: int, rng: random.Random) -> str:
    lines = []
    for row_id in range(rows):
        logit = rng.gauss(-0.5, 1.5)
        label = int(rng.random() < 1 / (1 + math.exp(-logit)))
        lines.append(f"{label},{row_id},{logit:.6f}")
    return "\n".join(lines) + "\n"


def run(text: str, models: NoisyModels, event: Mapping[str, Any] | None = None) -> dict[str, Any]:
    request = parse_request(
        {"data_uri": "s3://bucket/datasets/sim.csv", "bootstrap_resamples": 0, **(event or {})}, "sim"
    )
    return evaluate(
        request, read_text=lambda _: text, describe_variants=lambda _: LiveVariants(VARIANTS), runtime=models
    )


def test_five_identical_variants_name_a_false_winner_at_most_alpha_of_the_time():
    # Five variants of equal quality, 200 simulated evaluations at a fixed seed. Testing each pair at
    # alpha (the old rule) named a false winner in about 12 % of evaluations; the family-wise rule must
    # stay within alpha plus two binomial standard errors.
    rng = random.Random(20261202)
    runs, rows, alpha = 200, 300, 0.05
    false_winners = 0
    for _ in range(runs):
        report = run(dataset(rows, rng), NoisyModels(VARIANTS, rows, rng, {}))
        assert report["family_tests"] == 8
        false_winners += any(c["verdict"]["winner"] for c in report["comparisons"])
    assert false_winners / runs <= alpha + 2 * math.sqrt(alpha * (1 - alpha) / runs), false_winners


def test_the_first_variant_is_the_baseline_and_every_verdict_knows_the_family():
    rng = random.Random(3)
    rows = 2000
    # Variant3 is much less noisy: a clear winner over the baseline even after the adjustment.
    models = NoisyModels(VARIANTS, rows, rng, {"Variant3": 0.1})
    report = run(dataset(rows, rng), models, {"variants": ["Variant2", "Variant3", "Variant4"]})
    assert report["baseline"] == "Variant2" and report["family_tests"] == 4
    assert [(c["variant_a"], c["variant_b"]) for c in report["comparisons"]] == [
        ("Variant2", "Variant3"),
        ("Variant2", "Variant4"),
    ]
    first, second = (c["verdict"] for c in report["comparisons"])
    assert first["winner"] == "Variant3" and first["family_tests"] == 4
    assert second["family_tests"] == 4 and "sample_size_needed" not in second


class OneVariantFails(NoisyModels):
    """Like :class:`NoisyModels`, but every request to ``broken`` gets an unreadable answer."""

    def __init__(self, broken: str, *args: Any) -> None:
        super().__init__(*args)
        self.broken = broken

    def invoke_endpoint(self, *, EndpointName: str, TargetVariant: str, ContentType: str, Body: bytes) -> Any:
        if TargetVariant == self.broken:
            return {"Body": io.BytesIO(b"not a score")}
        return super().invoke_endpoint(
            EndpointName=EndpointName, TargetVariant=TargetVariant, ContentType=ContentType, Body=Body
        )


def test_a_candidate_that_could_not_be_tested_leaves_the_family():
    # Three candidates, one of which fails every request: it gets no verdict and adds no p-value, so
    # the family is the other two candidates' 4 tests, not 6 (the adjustment would be needlessly strict).
    rng = random.Random(12)
    rows = 400
    models = OneVariantFails("Variant3", VARIANTS, rows, rng, {"Variant4": 0.1})
    report = run(dataset(rows, rng), models, {"variants": ["Variant1", "Variant2", "Variant3", "Variant4"]})
    verdicts = {c["variant_b"]: c["verdict"] for c in report["comparisons"]}
    assert "too many failed requests on Variant3" in verdicts["Variant3"]["reason"]
    assert report["family_tests"] == 4
    assert verdicts["Variant2"]["family_tests"] == verdicts["Variant4"]["family_tests"] == 4
    assert "Holm over 4 tests" in verdicts["Variant4"]["reason"]


def test_a_candidate_whose_auc_cannot_be_tested_keeps_its_accuracy_test():
    # 25 positives among 400 rows: too few for DeLong's p-value (DELONG_MIN_PER_CLASS), so each
    # candidate enters the family with its McNemar test alone.
    rng = random.Random(13)
    rows = 400
    lines = [f"{int(i < 25)},{i},{(2.0 if i < 25 else -2.0) + rng.gauss(0, 1.5):.6f}" for i in range(rows)]
    models = NoisyModels(VARIANTS, rows, rng, {})
    report = run("\n".join(lines) + "\n", models, {"variants": ["Variant1", "Variant2", "Variant3"]})
    assert report["family_tests"] == 2
    for comparison in report["comparisons"]:
        assert "delong" not in comparison and "mcnemar" in comparison
        assert "25 positive and 375 negative rows" in comparison["auc_not_tested"]
        assert comparison["verdict"]["p_auc_adjusted"] is None
        assert "ROC AUC not tested" in comparison["verdict"]["reason"]
