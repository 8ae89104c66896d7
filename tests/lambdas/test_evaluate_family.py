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

from evaluate.runner import evaluate, parse_request

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
    return evaluate(request, read_text=lambda _: text, describe_variants=lambda _: VARIANTS, runtime=models)


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
