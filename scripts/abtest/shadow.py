"""The shadow stage as ``abtest`` sees it. No AWS in here.

An endpoint is in the shadow stage when DescribeEndpoint lists ShadowProductionVariants (API reference:
"one for each model that you want to host at this endpoint in shadow mode"). Its stack then declares no
weight parameter and has no rollout state machine (README, "Shadow stage"): there is one production
variant and nothing to split, so drift, the sample-ratio check and rollouts do not apply, and the
commands that change weights or run rollouts refuse with a message that names the stage.
"""

from __future__ import annotations

from typing import Any

from endpoint_weights.endpoint import EndpointState
from endpoint_weights.shadow_sampling import replicated_percentage
from scripts.abtest.errors import BadInput

NOTE = (
    "shadow stage: one production variant serves every request and the shadow gets copies, so there is "
    "no weight to declare (no drift), no traffic split to check (no SRM) and no rollout; promote the "
    "shadow to an A/B variant first (README, Shadow stage)"
)


def in_shadow_stage(state: EndpointState) -> bool:
    return bool(state.shadow_variants)


def shadow_rows(state: EndpointState) -> list[dict[str, Any]]:
    """One row per shadow variant: its instances, its CurrentWeight, and the share of production's
    requests that weight implies under hypothesis H1 (UNVERIFIED, Q1: shadow weight / production weight;
    lambdas/endpoint_weights/shadow_sampling.py). ``sampling_percentage`` is None unless there is exactly
    one production variant with a weight above 0 (the only shape CreateEndpointConfig allows beside a
    shadow)."""
    production = [v.current_weight for v in state.variants.values()]
    production_weight = production[0] if len(production) == 1 and production[0] > 0 else None
    return [
        {
            "variant": v.name,
            "instances": v.current_instance_count,
            "desired_instances": v.desired_instance_count,
            "current_weight": v.current_weight,
            "sampling_percentage": (
                replicated_percentage(v.current_weight, production_weight) if production_weight else None
            ),
            "sampling_rule": "H1 (unverified): shadow weight / production weight",
        }
        for v in state.shadow_variants.values()
    ]


def refuse_in_shadow_stage(state: EndpointState, endpoint: str, what: str) -> None:
    """BadInput naming the shadow stage when ``state`` has a shadow variant."""
    if in_shadow_stage(state):
        names = ", ".join(state.shadow_variants)
        raise BadInput(
            f"{endpoint} is in the shadow stage (shadow variant {names}): {what} does not apply; its one "
            "production variant takes every request and the shadow's sampling lives in the endpoint config "
            "(change `shadow.sampling_percentage` in the config and deploy). Promote the shadow to an A/B "
            "variant first (README, Shadow stage)"
        )
