"""Shadow variants for the InvokeEndpoint stub (``scripts/stub_sagemaker_runtime.py``): which variant is the
endpoint's shadow and what share of production requests it receives, as the deployed endpoint says.

What SageMaker documents (docs/design/shadow-and-guardrails.md §1.1):

* "A shadow variant that receives a percentage of the incoming requests, replicated from the production
  variant, but does not return any responses" ("Create a shadow test",
  https://docs.aws.amazon.com/sagemaker/latest/dg/shadow-tests-create.html): the caller always gets the
  production variant's answer, and InvokeEndpoint's ``InvokedProductionVariant`` "Identifies the production
  variant that was invoked" (InvokeEndpoint API reference,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html).
* DescribeEndpoint lists the shadow under ``ShadowProductionVariants`` with its ``CurrentWeight``
  (ProductionVariantSummary), beside exactly one production variant.
* "You can also optionally turn on Data Capture to log requests and responses of your production and shadow
  variants" (same page).

What is assumed, each UNVERIFIED (design §5):

* **Q1**: the replicated share comes from the shadow's weight by hypothesis H1, through
  ``replicated_percentage`` in ``lambdas/endpoint_weights/shadow_sampling.py`` (the one place that formula
  lives; not re-derived here). A weight above production's would mean more than every request: capped at 100 %.
* **Q4**: the shadow's copy is captured under the shadow's own variant folder (the capture path pattern
  ``{endpoint-name}/{variant-name}/…`` implies it), with the production record's ``eventId`` and the caller's
  ``InferenceId``, and it is captured exactly when the production record is (one sampling draw per
  request): so the pair can be matched. Whether SageMaker shares the ``eventId``, and whether it samples
  the copy on its own, is not documented.
* ``TargetVariant`` naming the shadow is refused (the parameter "Specify[s] the production variant";
  what SageMaker does with a shadow's name is not documented, design F11).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambdas"))

from endpoint_weights.shadow_sampling import PERCENT, replicated_percentage
from scripts.stub_capture import EndpointNotFound


@dataclass(frozen=True)
class ShadowRoute:
    """The endpoint's shadow variant and the percentage (0-100) of production requests copied to it."""

    variant: str
    sampling_percentage: float


ShadowSource = Callable[[str], "ShadowRoute | None"]


def route_from_describe_endpoint(described: Mapping[str, Any]) -> ShadowRoute | None:
    """The shadow route a DescribeEndpoint answer implies; None without a shadow. A shadow without a
    ``CurrentWeight`` (moto omits a weight of 0) receives nothing."""
    shadows = described.get("ShadowProductionVariants") or []
    if not shadows:
        return None
    (shadow,) = shadows  # "a maximum of one shadow variant per endpoint"
    (production,) = described["ProductionVariants"]  # "a maximum of one production variant" beside it
    percentage = replicated_percentage(float(shadow.get("CurrentWeight", 0.0)), float(production["CurrentWeight"]))
    return ShadowRoute(shadow["VariantName"], min(PERCENT, percentage))


def fixed_shadow(route: ShadowRoute | None) -> ShadowSource:
    """The same shadow for every endpoint: for tests that need no server."""
    return lambda endpoint: route


class DeployedShadow:
    """The shadow of an endpoint as deployed: DescribeEndpoint on every request (a config change can add,
    remove or re-weigh the shadow). ``sagemaker`` is a boto3 SageMaker client (the local server's)."""

    def __init__(self, sagemaker: Any) -> None:
        self.sagemaker = sagemaker

    def __call__(self, endpoint: str) -> ShadowRoute | None:
        try:
            described = self.sagemaker.describe_endpoint(EndpointName=endpoint)
        except self.sagemaker.exceptions.ClientError as err:
            raise EndpointNotFound(f"Endpoint {endpoint} not found ({err.response['Error']['Message']})") from None
        return route_from_describe_endpoint(described)
