"""The shadow's sampling percentage applied in place (UpdateEndpointWeightsAndCapacities), failing loudly.

The stack parameter ``<Shadow>SamplingPercentage`` reaches the weights custom resource as ``ShadowSampling``
({shadow name: percentage}, a string as CloudFormation sends it). The weight it stands for is
``shadow_weight(percentage, production weight)`` (hypothesis H1, UNVERIFIED, Q1: shadow_sampling.py).

What AWS documents, and what it does not:

* ``DesiredWeightAndCapacity`` "Specifies weight and capacity values for a production variant"
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DesiredWeightAndCapacity.html), and
  UpdateEndpointWeightsAndCapacities "Updates variant weight of one or more variants associated with an
  existing endpoint" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpointWeightsAndCapacities.html).
  Whether it takes a *shadow* variant's name is **UNVERIFIED** (design Q2, F16). This module assumes yes and
  fails the request, with the way out, when SageMaker says no.
* DescribeEndpoint lists the shadow under ``ShadowProductionVariants`` as ``ProductionVariantSummary``
  objects, whose ``DesiredWeight`` is "The requested weight, as specified in the
  UpdateEndpointWeightsAndCapacities request" and whose ``CurrentWeight`` is "The weight associated with
  the variant" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantSummary.html).
  So, once the endpoint is ready again: CurrentWeight at the wanted value means done; DesiredWeight at the
  wanted value but CurrentWeight elsewhere means the call was taken and did not take effect (fail); neither
  means no call yet (make it). That the shadow's summary follows the call as a production variant's does is
  **UNVERIFIED** (Q2's second half).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from endpoint_weights.endpoint import Busy, EndpointState, EndpointUnavailable, update
from endpoint_weights.shadow_sampling import shadow_weight
from endpoint_weights.validation import InvalidRequest, parse_weights, weights_match

LOG = logging.getLogger(__name__)

REFUSED_ADVICE = (
    "SageMaker refused to change the shadow's weight in place (Q2, undocumented). This request fails and "
    "CloudFormation rolls it back: on a first deploy the stack's creation is undone; on an update the shadow keeps "
    "the weight it had, and an update that also replaced the endpoint config swaps the fleet back. To change the "
    "sampling, change shadow.sampling_percentage in the config instead (a new endpoint config, a fleet swap) and "
    "deploy that edit with the sampling parameter at the same value (--parameters, or --no-previous-parameters): "
    "cdk deploy otherwise keeps the parameter's previous value, and the edit is refused"
)


class ShadowSamplingRefused(EndpointUnavailable):
    """SageMaker refused the shadow's weight in place, or took the call and left CurrentWeight elsewhere."""


def parse_sampling(raw: Any) -> dict[str, float]:
    """The ShadowSampling property: shadow name → percentage (0..100; strings as CloudFormation sends them)."""
    percentages = parse_weights(raw)
    outside = sorted(name for name, value in percentages.items() if value > 100)
    if outside:
        raise InvalidRequest(f"sampling percentage must be 0..100; above 100 for: {', '.join(outside)}")
    return percentages


def wanted_shadow_weights(sampling: Mapping[str, float], production: Mapping[str, float]) -> dict[str, float]:
    """Each shadow's weight for its percentage, beside the (single) production variant's declared weight."""
    if not sampling:
        return {}
    if len(production) != 1:
        raise InvalidRequest(f"a shadow sits beside exactly one production variant (got {sorted(production)})")
    (production_weight,) = production.values()
    return {name: shadow_weight(percentage, production_weight) for name, percentage in sampling.items()}


def apply_in_place(
    client: Any, state: EndpointState, wanted: Mapping[str, float], *, trust_desired_weight: bool = True
) -> bool:
    """One step towards the shadows' ``wanted`` weights on a ready endpoint; True once they are in place.

    A shadow missing from DescribeEndpoint is left to ``require_shadow_weights`` (a warning): there is
    nothing to call. Raises :class:`ShadowSamplingRefused` when SageMaker refuses the call, or (with
    ``trust_desired_weight``) took it and the CurrentWeight did not follow.

    ``trust_desired_weight``: read a DesiredWeight at the wanted value as "this request's call was taken".
    Only true while the endpoint stays on one fleet: after a fleet swap the DesiredWeight may be the old
    fleet's (whether SageMaker retains a shadow's variant properties is UNVERIFIED), so the call is made
    again instead (it is idempotent). Without that trust a call taken whose CurrentWeight never follows is
    asked again each poll, until the waiter's total timeout fails the request.
    """
    in_place = True
    for name, weight in sorted(wanted.items()):
        live = state.shadow_variants.get(name)
        if live is None or weights_match({name: weight}, {name: live.current_weight}):
            continue
        if trust_desired_weight and weights_match({name: weight}, {name: live.desired_weight}):
            raise ShadowSamplingRefused(
                f"endpoint {state.name}: shadow variant {name} has CurrentWeight {live.current_weight:g} after "
                f"UpdateEndpointWeightsAndCapacities asked for {weight:g} (its DesiredWeight): {REFUSED_ADVICE}"
            )
        in_place = False
        try:
            update(client, state.name, {name: weight})
        except Busy as err:
            LOG.warning("could not apply the shadow's weight yet", extra={"endpoint": state.name, "reason": str(err)})
        except ClientError as err:
            error = err.response.get("Error", {})
            code, message = str(error.get("Code", "")), str(error.get("Message", ""))
            # A refusal is a ValidationException (moto's: "not present within endpoint configuration"); the
            # in-progress one is Busy above. Anything else (AccessDenied, ...) is not a refusal and fails as is.
            if code != "ValidationException":
                raise
            raise ShadowSamplingRefused(
                f"endpoint {state.name}: shadow variant {name} to weight {weight:g} (from CurrentWeight "
                f"{live.current_weight:g}): {code}: {message}. {REFUSED_ADVICE}"
            ) from err
    return in_place
