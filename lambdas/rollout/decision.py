"""The rollout judge: after each bake, promote, hold, or roll back, and what the state machine does next.

No AWS in here: ``rollout.observe`` reads CloudWatch into an :class:`Observation`; this module only
decides, so every rule is testable with plain numbers and replayable (``scripts/rollout_replay.py``).

Rules, first match wins (:func:`judge`):

1. any of the candidate's alarms is in ALARM → rollback;
2. the sequential error-rate test finds the candidate worse → rollback;
3. the candidate's p99 latency exceeds the baselines' × ``latency_tolerance`` → rollback;
4. the step's split fails the sample-ratio-mismatch check → hold;
5. the candidate got fewer than ``min_requests`` requests in this step → hold;
6. otherwise → promote.

Rollbacks come first because they are safe whatever the split: errors and latency measured on a
skewed split are still real errors and latency. Promotion is the one verdict that needs sound data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rollout.plan import JudgeSettings, RolloutPlan
from rollout.sequential import SequentialResult, msprt_two_proportions

Action = Literal["promote", "hold", "rollback"]
NextAction = Literal["next_step", "complete", "judge_again", "rollback", "stop"]


@dataclass(frozen=True)
class Observation:
    """What the judge sees after one bake.

    Request and error counts are **cumulative since the rollout started**: the sequential test is
    valid at every look over the growing sample. ``step_candidate_requests`` and the p99 latencies
    cover **this step's window** only, so an earlier, lighter step cannot hide a slow candidate now.
    ``None`` means "no data" (no datapoint, or too little traffic for an SRM check).
    """

    candidate_requests: int
    candidate_errors: int
    baseline_requests: int
    baseline_errors: int
    step_candidate_requests: int
    candidate_p99_ms: float | None = None
    baseline_p99_ms: float | None = None
    alarms_in_alarm: tuple[str, ...] = ()
    srm_p_value: float | None = None


@dataclass(frozen=True)
class Decision:
    """The judge's verdict. ``reasons`` are sentences for people, the decisive one first.

    ``always_valid_p`` is the sequential test's p-value after this look; pass it as ``previous_p``
    to the next :func:`judge` call of the same rollout. The rates are cumulative 5XX error rates.
    """

    action: Action
    reasons: tuple[str, ...]
    always_valid_p: float
    candidate_rate: float
    baseline_rate: float


def _percent(rate: float) -> str:
    return f"{100 * rate:.2f} %"


def _error_rates(observation: Observation, result: SequentialResult) -> str:
    return (
        f"candidate error rate {_percent(result.candidate_rate)} "
        f"({observation.candidate_errors} of {observation.candidate_requests} requests) vs baseline "
        f"{_percent(result.baseline_rate)} ({observation.baseline_errors} of {observation.baseline_requests})"
    )


def judge(observation: Observation, settings: JudgeSettings, previous_p: float = 1.0) -> Decision:
    """Decide one step (rules in the module docstring): the first rule that applies decides.

    ``reasons`` lists every rule of the deciding kind that applies, in rule order (an alarm *and*
    a worse error rate both show in a rollback); a promotion lists the checks it passed. Raises
    ``ValueError`` for impossible counts (errors above requests, negative or fractional counts).
    """
    result = msprt_two_proportions(
        observation.candidate_errors,
        observation.candidate_requests,
        observation.baseline_errors,
        observation.baseline_requests,
        alpha=settings.alpha,
        previous_p=previous_p,
    )
    rates = _error_rates(observation, result)
    enough_traffic = observation.step_candidate_requests >= settings.min_requests
    rollback: list[str] = []
    hold: list[str] = []
    passed: list[str] = []

    if observation.alarms_in_alarm:
        rollback.append(f"Alarm(s) in ALARM: {', '.join(observation.alarms_in_alarm)}.")
    else:
        passed.append("No alarm in ALARM.")

    tolerated = settings.max_error_rate_increase
    if result.candidate_worse and (tolerated is None or result.difference > tolerated):
        limit = "" if tolerated is None else f", more than the tolerated {100 * tolerated:.2f} points"
        rollback.append(
            f"The sequential test finds the candidate worse: {rates}, +{100 * result.difference:.2f} points"
            f"{limit} (always-valid p = {result.always_valid_p:.3g} <= alpha {settings.alpha:g})."
        )
    elif result.candidate_worse:
        passed.append(
            f"The candidate's error rate is higher but within tolerance: {rates}, "
            f"+{100 * result.difference:.2f} points <= {100 * (tolerated or 0.0):.2f} "
            f"(always-valid p = {result.always_valid_p:.3g})."
        )
    else:
        verdict = "better" if result.candidate_better else "not worse"
        passed.append(f"Error rate {verdict}: {rates} (always-valid p = {result.always_valid_p:.3g}).")

    candidate_p99, baseline_p99 = observation.candidate_p99_ms, observation.baseline_p99_ms
    if not enough_traffic:
        pass  # a few slow requests are noise, and this step cannot be promoted anyway (rule 5)
    elif candidate_p99 is None or baseline_p99 is None:
        passed.append("p99 latency not judged: no datapoint for both the candidate and the baselines in this step.")
    elif candidate_p99 > baseline_p99 * settings.latency_tolerance:
        rollback.append(
            f"Candidate p99 latency {candidate_p99:.1f} ms is above {settings.latency_tolerance:g} × "
            f"the baseline's {baseline_p99:.1f} ms (limit {baseline_p99 * settings.latency_tolerance:.1f} ms)."
        )
    else:
        passed.append(
            f"Candidate p99 latency {candidate_p99:.1f} ms is within {settings.latency_tolerance:g} × "
            f"the baseline's {baseline_p99:.1f} ms."
        )

    srm = observation.srm_p_value
    if srm is not None and srm < settings.srm_p_value:
        # The variants are not getting the shares the weights ask for (routing, clients pinning a
        # variant, a variant failing before it is counted): they see different populations, and a
        # comparison between them cannot justify a promotion. Wait for a clean window instead.
        hold.append(
            f"Sample-ratio mismatch in this step (p = {srm:.3g} < {settings.srm_p_value:g}): traffic is not "
            "split the way the weights say, so comparing the variants would be unsound."
        )

    if not enough_traffic:
        hold.append(
            f"Not enough traffic yet: the candidate got {observation.step_candidate_requests} requests in this "
            f"step, {settings.min_requests} needed."
        )
    else:
        passed.append(
            f"The candidate got {observation.step_candidate_requests} requests in this step "
            f"(minimum {settings.min_requests})."
        )

    action: Action
    if rollback:
        action, reasons = "rollback", rollback
    elif hold:
        action, reasons = "hold", hold
    else:
        action, reasons = "promote", passed
    return Decision(
        action=action,
        reasons=tuple(reasons),
        always_valid_p=result.always_valid_p,
        candidate_rate=result.candidate_rate,
        baseline_rate=result.baseline_rate,
    )


def next_action(decision: Decision, holds_so_far: int, plan: RolloutPlan, step_index: int) -> NextAction:
    """What the state machine does after ``decision`` at ``plan.steps[step_index]``.

    - rollback → "rollback" (restore the weights from before the rollout);
    - promote → "next_step", or "complete" at the last step (the candidate serves 100 %);
    - hold → "judge_again" (bake once more, same weights) while ``holds_so_far``, the holds already
      taken *at this step*, is below ``plan.max_holds``; then ``plan.on_hold_limit``: "rollback",
      or "stop" (keep this step's weights and end, for a person to decide).

    The caller resets ``holds_so_far`` to 0 when it moves to the next step.
    """
    if not 0 <= step_index < len(plan.steps):
        raise ValueError(f"step_index: must be >= 0 and < {len(plan.steps)} (got {step_index})")
    if holds_so_far < 0:
        raise ValueError(f"holds_so_far: must be >= 0 (got {holds_so_far})")
    if decision.action == "rollback":
        return "rollback"
    if decision.action == "promote":
        return "complete" if step_index == len(plan.steps) - 1 else "next_step"
    if holds_so_far < plan.max_holds:
        return "judge_again"
    return plan.on_hold_limit
