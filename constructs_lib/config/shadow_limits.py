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


def shadow_instances_needed(production: VariantSpec, sampling_percentage: int) -> int:
    """Instances the shadow needs to take its copies at production's peak, counted in production's instances:
    ``ceil(peak × sampling_percentage / 100)``, ``peak`` being production's ``autoscaling.max_capacity``, or its
    ``initial_instance_count`` when it does not autoscale. It assumes both variants use the same instance type
    (one shadow instance takes what one production instance takes) and that the shadow receives
    ``sampling_percentage`` % of production's requests (hypothesis H1, UNVERIFIED)."""
    return -(-_peak(production) * sampling_percentage // 100)  # ceil, in integers


def _peak(production: VariantSpec) -> int:
    """Production's instances at its peak: ``autoscaling.max_capacity``, else ``initial_instance_count``."""
    return production.autoscaling.max_capacity if production.autoscaling else production.initial_instance_count


def sampling_parameter_max(production: VariantSpec, shadow: VariantSpec) -> int:
    """The sampling parameter's MaxValue: the largest percentage whose copies the shadow's fleet takes at
    production's peak (:func:`shadow_instances_needed` ≤ its ``initial_instance_count``, i.e.
    ``floor(100 × count / peak)``), so a pipeline cannot raise the sampling past what the config was sized for;
    CloudFormation refuses a larger value before any resource changes.

    Never below the config's own ``sampling_percentage`` (the parameter's default: a config the sizing warning
    let through still deploys) and never above the API's maximum. With different instance types the count says
    nothing about capacity (:func:`scaling_beyond_shadow` says so too), so only the API's maximum applies.
    """
    assert shadow.shadow is not None
    api_max = max_sampling_percentage()
    if shadow.instance_type != production.instance_type:
        return api_max
    fleet_takes = 100 * shadow.initial_instance_count // _peak(production)
    return min(api_max, max(shadow.shadow.sampling_percentage, fleet_takes))


def scaling_beyond_shadow(production: VariantSpec, shadow: VariantSpec) -> str | None:
    """Why a shadow whose fixed instance count cannot take its share of production's peak deserves a warning, or None.

    The shadow receives a copy of a share of *production's* requests (F4: "replicated from the production
    variant"), so its load follows production's traffic, while its own instance count is fixed here (the loader
    refuses autoscaling on a shadow, UNVERIFIED for shadows). When production at its peak sends it copies of more
    requests than its fleet can take (:func:`shadow_instances_needed`), its latency and errors measure the overload,
    not the model. At 1 % sampling one shadow instance mirrors a production fleet of up to 100.
    """
    assert shadow.shadow is not None
    sampling = shadow.shadow.sampling_percentage
    needed = shadow_instances_needed(production, sampling)
    if needed <= shadow.initial_instance_count:
        return None
    peak = (
        f"autoscales up to {production.autoscaling.max_capacity} instance(s)"
        if production.autoscaling
        else f"runs {production.initial_instance_count} instance(s)"
    )
    types = (
        f"both are {shadow.instance_type}"
        if shadow.instance_type == production.instance_type
        else f"here {production.name} is {production.instance_type} and {shadow.name} {shadow.instance_type}: "
        "compare their capacity yourself"
    )
    return (
        f"{production.name} {peak}; shadow variant {shadow.name} receives copies of {sampling} % of its requests, "
        f"which take about {needed} instance(s), and has {shadow.initial_instance_count} (a shadow does not "
        "autoscale here). At production's peak the shadow's latency and errors then measure that overload, not the "
        f"model. Give the shadow initial_instance_count {needed}, or lower sampling_percentage. The count assumes "
        f"the same instance type for both ({types})."
    )
