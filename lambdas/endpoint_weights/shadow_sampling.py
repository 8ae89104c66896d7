"""A shadow variant's weight from its sampling percentage: the one place that formula lives.

Standard library only: synth loads this file by path (``constructs_lib.lambda_shared``) to write the
shadow's InitialVariantWeight into the endpoint config, and a later slice may call it at run time.

What is documented (docs/design/shadow-and-guardrails.md §1.1):

* a shadow variant is an ordinary ProductionVariant in ``ShadowProductionVariants`` and has an
  ``InitialVariantWeight`` like any variant (CreateEndpointConfig API reference; the developer guide's
  only example, "Testing models with shadow variants", sets weight 1 on both variants and says nothing
  about what that means);
* it "receives a percentage of the incoming requests, replicated from the production variant"
  ("Create a shadow test", https://docs.aws.amazon.com/sagemaker/latest/dg/shadow-tests-create.html);
* the percentage as a number exists only in the inference-experiment API
  (``ShadowModelVariantConfig.SamplingPercentage``, max 100).

**UNVERIFIED (design §5, Q1):** how SageMaker turns a shadow's weight into that percentage. No page says.
This module implements hypothesis **H1**: the replicated share is the shadow's weight over the production
variant's weight (so weight 1 beside production weight 1 is 100 %, which is how the guide's example reads).
The alternative **H2** (share = shadow / (shadow + production), the production-variant ratio rule applied
to both) is kept in the tests' table (tests/lambdas/test_shadow_sampling.py) so that switching is this
function plus a snapshot refresh. Settle Q1 on a real account (design §5: production weight 1, shadow
weights 1 → 0.2 → 0, 2,000 requests each, compare Invocations) before trusting any sampling figure.

Which production weight the shadow's weight is relative to. The production variant is written into the
endpoint config with a fixed weight (``SHADOW_PRODUCTION_WEIGHT`` in constructs_lib/ab_endpoint.py), not the
project's placeholder, and that weight never changes afterwards:

* With one production variant its weight does not change who is served: "The traffic to a production
  variant is determined by the ratio of the VariantWeight to the sum of all VariantWeight values across all
  ProductionVariants" (ProductionVariant.InitialVariantWeight, API reference) — w / w = 1, whatever w is. So
  the stack declares no weight parameter on a shadow endpoint, and the weights custom resource holds the
  production weight at that same fixed value instead of applying a parameter.
* Under H1, changing the production weight in place (UpdateEndpointWeightsAndCapacities) would change the
  shadow's share; holding it fixed keeps share = this function's answer.
* The placeholder (0.001) is the weight a variant *added* to a live A/B endpoint runs at until the custom
  resource applies its parameter. Were the production variant of a shadow endpoint at 0.001, promotion
  (a new config where the shadow becomes a production variant at the placeholder, and the live production
  weight is retained) would split traffic 50/50 until the custom resource ran. At 1.0 the promoted variant
  gets 0.1 % in that window, as any added variant does.
* A config change on a shadow endpoint excludes DesiredWeight from retained properties (ab_endpoint.py), so
  both weights come from the new config: a sampling change takes effect, and a production weight left over
  from an A/B stage does not scale the share. UNVERIFIED for the shadow: whether retention applies to
  ShadowProductionVariants is not documented (VariantProperty's text speaks of ProductionVariants).
"""

from __future__ import annotations

import math

PERCENT = 100.0


def shadow_weight(sampling_percentage: float, production_weight: float) -> float:
    """The shadow's InitialVariantWeight that replicates ``sampling_percentage`` % of production requests,
    beside a production variant of weight ``production_weight`` — under hypothesis H1 (UNVERIFIED, Q1):
    replicated share = shadow weight / production weight."""
    if not (math.isfinite(sampling_percentage) and 0 <= sampling_percentage <= PERCENT):
        raise ValueError(f"sampling_percentage must be 0..100 (got {sampling_percentage!r})")
    if not (math.isfinite(production_weight) and production_weight > 0):
        raise ValueError(f"production_weight must be a finite number > 0 (got {production_weight!r})")
    return sampling_percentage / PERCENT * production_weight


def replicated_percentage(shadow_weight: float, production_weight: float) -> float:
    """The inverse under H1: the percentage of production requests a shadow of this weight receives."""
    return PERCENT * shadow_weight / production_weight
