"""SageMaker's rules for an endpoint with a shadow variant, in one table (STYLE habit 11).

A shadow variant (``ShadowProductionVariants`` in the endpoint config) receives a copy of a share of
the production variant's requests; its answers reach nobody. Its count rule is stated only in prose:
botocore's ``ProductionVariantList`` (and the CloudFormation schema) allow 10 items in either list, so
neither botocore nor cfn-lint enforces it, and the config loader must. The sentence below is the
documentation of ``CreateEndpointConfigInput.ShadowProductionVariants`` in botocore's SageMaker model
(the API reference page is generated from the same text); a test fails when that documentation no
longer contains it (tests/constructs_lib/test_shadow_config.py), so a changed rule cannot drift by.

The sampling percentage's maximum is botocore's ``Percentage`` shape (the shape of the inference-experiment
API's ``ShadowModelVariantConfig.SamplingPercentage``, the only place SageMaker names a sampling percentage);
its minimum (1) is ours: ``Percentage`` has none, and 0 would run a paid fleet that sees nothing.

Nothing here imports the CDK or calls AWS: the loader and the tests read it.
"""

from __future__ import annotations

from constructs_lib.config import service_model
from constructs_lib.config.deployment_limits import API_REFERENCE, DocumentedRule, cite
from constructs_lib.config.model import VariantSpec

ONE_AND_ONE = DocumentedRule(
    "shadow-one-and-one",
    "If you use this field, you can only specify one variant for ProductionVariants and one variant for "
    "ShadowProductionVariants.",
    f"{API_REFERENCE}/API_CreateEndpointConfig.html",
    "CreateEndpointConfigInput",
    "ShadowProductionVariants",
)
# The same rule on the developer guide's page ("Create a shadow test"), which botocore does not carry.
ONE_AND_ONE_GUIDE = DocumentedRule(
    "shadow-one-and-one-guide",
    "SageMaker AI supports a maximum of one shadow variant per endpoint. For an endpoint with a shadow variant, "
    "there can be a maximum of one production variant.",
    "https://docs.aws.amazon.com/sagemaker/latest/dg/shadow-tests-create.html",
)
# How the production variant's weight decides its traffic: with one production variant, it takes all
# of it whatever its weight (the weight over the sum of all production weights is 1).
WEIGHT_RATIO = DocumentedRule(
    "variant-weight-ratio",
    "The traffic to a production variant is determined by the ratio of the VariantWeight to the sum of all "
    "VariantWeight values across all ProductionVariants.",
    f"{API_REFERENCE}/API_ProductionVariant.html",
    "ProductionVariant",
    "InitialVariantWeight",
)

RULES = (ONE_AND_ONE, WEIGHT_RATIO)

MAX_SHADOW_VARIANTS = 1
PRODUCTION_VARIANTS_WITH_SHADOW = 1
MIN_SAMPLING_PERCENTAGE = 1
PERCENTAGE_SHAPE = "Percentage"


def max_sampling_percentage() -> int:
    """botocore's ``Percentage`` maximum (100)."""
    _, high = service_model.numeric_range(PERCENTAGE_SHAPE)
    assert high is not None
    return int(high)


def count_problem(shadows: int, productions: int) -> str | None:
    """What SageMaker has against this many shadow and production variants, or None."""
    if shadows == 0:
        return None
    if shadows > MAX_SHADOW_VARIANTS or productions != PRODUCTION_VARIANTS_WITH_SHADOW:
        return (
            f"an endpoint with a shadow variant has exactly {PRODUCTION_VARIANTS_WITH_SHADOW} production variant and "
            f"at most {MAX_SHADOW_VARIANTS} shadow (got {productions} production, {shadows} shadow): "
            f"{cite(ONE_AND_ONE)}"
        )
    return None


SCALING_BEYOND_SHADOW = "ab-test:productionScalesBeyondShadow"


def scaling_beyond_shadow(production: VariantSpec, shadow: VariantSpec) -> str | None:
    """Why a production variant that autoscales beyond the shadow's fixed instance count deserves a warning, or None.

    The shadow receives a copy of a share of *production's* requests (F4: "replicated from the production
    variant"), so its load follows production's traffic, while its own instance count is fixed here (the loader
    refuses autoscaling on a shadow, UNVERIFIED for shadows). Scaled out, production may send it copies of more
    requests than its fleet was sized for; its latency and errors then measure the overload, not the model.
    """
    scaling = production.autoscaling
    assert shadow.shadow is not None
    if scaling is None or scaling.max_capacity <= shadow.initial_instance_count:
        return None
    return (
        f"{production.name} autoscales up to {scaling.max_capacity} instance(s), beyond shadow variant "
        f"{shadow.name}'s fixed {shadow.initial_instance_count} (a shadow does not autoscale here). The shadow "
        f"receives copies of {shadow.shadow.sampling_percentage} % of production's requests: scaled out, production "
        "can take more traffic than the shadow's fleet was sized to mirror, and the shadow's latency and errors then "
        "measure that load, not the model. Give the shadow instances for production's max_capacity, or read its "
        "dashboard row with production's instance count in mind."
    )
