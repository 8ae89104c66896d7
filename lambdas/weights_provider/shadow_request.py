"""What one CloudFormation request asks of the shadow's sampling, read from the event alone.

The invariant these rules keep: after every request that succeeds, the percentage CloudFormation records
(``ShadowSampling``, the stack parameter) is the shadow's live weight. Were it not, then under Q2 "no"
(SageMaker refusing a shadow's name in UpdateEndpointWeightsAndCapacities, undocumented) a later update would
ask for the recorded value again, fail, and so would its rollback, which sends the same old value:
``UPDATE_ROLLBACK_FAILED``. The rules below keep it on the way forward; inside a rollback no sampling error
fails the request at all (weights_provider.stack_state), since event-shaped rules cannot tell a rollback apart.

* On a **fresh fleet** (Create, or an Update that replaced the endpoint config) the endpoint config itself set the
  shadow's weight from the config's sampling (``ConfigSampling``). A wanted percentage equal to it needs no call,
  so a first deploy at the default never depends on how DescribeEndpoint reports a shadow (UNVERIFIED). Any
  other percentage is set in place, and a refusal there **fails** the request: its rollback returns to the old
  fleet, whose recorded percentage is its config's.
* On the **same fleet**, a request that did not change ``ShadowSampling`` (an unrelated update, or the rollback of
  one) only warns on a refusal: failing could not help, its rollback would ask for the same weight.
* A **config edit of the sampling deployed with the parameter kept** (``cdk deploy`` keeps a parameter's previous
  value) is refused before any call: under Q2 yes the old percentage would be set back in place, silently
  undoing the edit; under Q2 no the recorded percentage would no longer be live.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from endpoint_weights.shadow_in_place import parse_sampling
from endpoint_weights.validation import InvalidRequest


@dataclass(frozen=True)
class ShadowRequest:
    """The facts about one request that decide how the shadow's sampling is applied."""

    fresh_fleet: bool
    sampling_unchanged: bool
    config_sampling: dict[str, float] | None  # what the endpoint config carries; None from older templates
    sampling: dict[str, float]  # what the parameter asks for

    @property
    def as_configured(self) -> frozenset[str]:
        """The shadows whose wanted percentage is the endpoint config's own."""
        configured = self.config_sampling or {}
        return frozenset(name for name, value in self.sampling.items() if configured.get(name) == value)


def read(event: Mapping[str, Any]) -> ShadowRequest:
    props = event["ResourceProperties"]
    config_sampling = props.get("ConfigSampling")
    return ShadowRequest(
        fresh_fleet=not _same_fleet(event),
        sampling_unchanged=_unchanged(event, "ShadowSampling"),
        config_sampling=None if config_sampling is None else parse_sampling(config_sampling),
        sampling={} if props.get("ShadowSampling") is None else parse_sampling(props["ShadowSampling"]),
    )


def refuse_a_kept_parameter_through_a_config_edit(event: Mapping[str, Any]) -> None:
    """Raise when the config's sampling changed and the parameter kept the old config's value.

    Only when the parameter *was* the old config's value: a parameter set apart from the config on purpose (a
    trial) stays what it is. Never in a rollback of this refusal, whose old properties are the refused ones
    (their ConfigSampling is the new config's, which the kept parameter does not equal).
    """
    if event["RequestType"] != "Update":
        return
    props, old = event["ResourceProperties"], event.get("OldResourceProperties", {})
    if any(old.get(key) is None or props.get(key) is None for key in ("ShadowSampling", "ConfigSampling")):
        return
    kept = parse_sampling(props["ShadowSampling"])
    old_config, new_config = parse_sampling(old["ConfigSampling"]), parse_sampling(props["ConfigSampling"])
    if new_config == old_config or kept != parse_sampling(old["ShadowSampling"]) or kept != old_config:
        return
    name, percentage = next(iter(kept.items()))
    new = new_config.get(name, percentage)
    parameter = sampling_parameter_name(name)
    raise InvalidRequest(
        f"shadow.sampling_percentage of {name} changed in the config ({percentage:g} → {new:g}) but the stack "
        f"parameter {parameter} kept {percentage:g} (cdk deploy keeps a parameter's previous value), "
        "which would set the old percentage back in place (or, where SageMaker refuses a shadow's name, leave the "
        "stack recording a percentage that is not live). Nothing was asked of SageMaker; the stack rolls back to "
        f"the previous endpoint config. Deploy the edit with --parameters <stack>:{parameter}={new:g}, "
        "or with --no-previous-parameters (beside a shadow it resets only the sampling and CDK's BootstrapVersion "
        "to their defaults)."
    )


def _same_fleet(event: Mapping[str, Any]) -> bool:
    """An Update whose endpoint config did not change (SageMaker names are case-insensitive); not a Create."""
    if event["RequestType"] != "Update":
        return False
    previous = str(event.get("OldResourceProperties", {}).get("EndpointConfigName", ""))
    return previous.casefold() == str(event["ResourceProperties"].get("EndpointConfigName", "")).casefold()


def _unchanged(event: Mapping[str, Any], key: str) -> bool:
    """An Update whose ``key`` is the one CloudFormation recorded before (OldResourceProperties)."""
    if event["RequestType"] != "Update":
        return False
    old, new = event.get("OldResourceProperties", {}).get(key), event["ResourceProperties"].get(key)
    return old is not None and new is not None and parse_sampling(old) == parse_sampling(new)


def sampling_parameter_name(shadow: str) -> str:
    """The stack parameter carrying ``shadow``'s sampling, as the stack names it
    (``constructs_lib.config.model.sampling_parameter_name``; a test keeps the two equal)."""
    return re.sub(r"[^A-Za-z0-9]", "", shadow) + "SamplingPercentage"
